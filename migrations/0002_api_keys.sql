-- API keys: random, shown once, stored only as SHA-256 hex, scoped,
-- revocable. Until teams exist (accounts issue) a key belongs to one site.
CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    key_hash   TEXT NOT NULL UNIQUE CHECK (length(key_hash) = 64),
    site_id    TEXT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    scope      TEXT NOT NULL DEFAULT 'read' CHECK (scope IN ('read', 'admin')),
    name       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL DEFAULT (unixepoch()),
    revoked_at INTEGER
);
CREATE INDEX api_keys_by_site ON api_keys (site_id);
