-- Sites, the hostnames that route to them, and the daily visitor-id salts.

CREATE TABLE sites (
    id         TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    domain     TEXT NOT NULL UNIQUE,
    timezone   TEXT NOT NULL DEFAULT 'UTC',
    status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    created_at INTEGER NOT NULL DEFAULT (unixepoch())
);

-- A customer CNAME (t.example.com) pointing at Beacon. Only `active`
-- hostnames accept events; `pending` waits for Cloudflare for SaaS.
CREATE TABLE hostnames (
    hostname   TEXT PRIMARY KEY,
    site_id    TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    status     TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'inactive')),
    created_at INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX hostnames_by_site ON hostnames (site_id);

-- One random salt per UTC day (days since the Unix epoch), hex encoded.
-- The cron worker deletes all but the current and previous day's.
CREATE TABLE salts (
    day        INTEGER PRIMARY KEY,
    salt       TEXT NOT NULL CHECK (length(salt) = 32),
    created_at INTEGER NOT NULL DEFAULT (unixepoch())
);
