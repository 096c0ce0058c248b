-- Goals as Plausible has them now: a display name (unique per site; reports
-- and goal filters use it), custom properties a completing event must carry
-- (at most 3), and scroll goals (a page path and the least scroll depth
-- reached on it). Two goals may now share an event name (different
-- properties) or a page path (different thresholds), so the table is
-- rebuilt: SQLite cannot drop a UNIQUE constraint.

CREATE TABLE goals_new (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    site_id          TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    event_name       TEXT NOT NULL DEFAULT '' CHECK (event_name <> 'engagement'),
    page_path        TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL DEFAULT (unixepoch()),
    currency         TEXT
        CHECK (currency IS NULL OR (length(currency) = 3 AND currency = upper(currency) AND event_name <> '')),
    -- '' for the default: the event name, `Visit <path>`, or
    -- `Scroll <n>% on <path>` (goal::Goal::name says the same).
    display_name     TEXT NOT NULL DEFAULT '',
    -- A JSON object of string keys and values.
    custom_props     TEXT NOT NULL DEFAULT '{}'
        CHECK (json_valid(custom_props) AND json_type(custom_props) = 'object'),
    -- -1: not a scroll goal.
    scroll_threshold INTEGER NOT NULL DEFAULT -1
        CHECK (scroll_threshold BETWEEN -1 AND 100 AND (scroll_threshold = -1 OR page_path <> '')),
    CHECK ((event_name = '') <> (page_path = '')),
    UNIQUE (site_id, event_name, page_path, scroll_threshold, custom_props)
);
-- A goal on `engagement` (now refused, as Plausible refuses it) would count
-- every page left as a conversion: it is not carried over.
INSERT INTO goals_new (id, site_id, event_name, page_path, created_at, currency)
    SELECT id, site_id, event_name, page_path, created_at, currency FROM goals WHERE event_name <> 'engagement';
DROP TABLE goals;
ALTER TABLE goals_new RENAME TO goals;

-- The name a goal shows, default included, is unique in its site.
CREATE UNIQUE INDEX goals_name_unique ON goals (
    site_id,
    CASE
        WHEN display_name <> '' THEN display_name
        WHEN event_name <> '' THEN event_name
        WHEN scroll_threshold >= 0 THEN 'Scroll ' || scroll_threshold || '% on ' || page_path
        ELSE 'Visit ' || page_path
    END
);
