-- Goals (a custom event name or a page path with wildcards) per site, and
-- per-key request counters for the Stats API's rate limit.

CREATE TABLE goals (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id    TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    event_name TEXT NOT NULL DEFAULT '',
    page_path  TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL DEFAULT (unixepoch()),
    CHECK ((event_name = '') <> (page_path = '')),
    UNIQUE (site_id, event_name, page_path)
);

-- One row per key and hour window; the upsert that counts is atomic in
-- D1, so concurrent requests cannot overshoot the limit.
CREATE TABLE rate_limits (
    key_id  TEXT NOT NULL,
    window  INTEGER NOT NULL,
    hits    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (key_id, window)
);

-- Requests per hour a key may make (Plausible's default is 600).
ALTER TABLE api_keys ADD COLUMN hourly_limit INTEGER NOT NULL DEFAULT 600;
