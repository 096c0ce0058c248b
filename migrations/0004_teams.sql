-- Teams own sites and API keys: a key reads every site of its team and
-- nothing else. Existing sites each get a team of their own; existing keys
-- join their site's team.

CREATE TABLE teams (
    id         TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    name       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL DEFAULT (unixepoch())
);

ALTER TABLE sites ADD COLUMN team_id TEXT REFERENCES teams (id);
INSERT INTO teams (id, name) SELECT 'team_' || id, domain FROM sites WHERE team_id IS NULL;
UPDATE sites SET team_id = 'team_' || id WHERE team_id IS NULL;
CREATE INDEX sites_by_team ON sites (team_id);

-- SQLite cannot change a column's constraints: rebuild api_keys with
-- team_id in place of site_id.
CREATE TABLE api_keys_new (
    id           TEXT PRIMARY KEY,
    key_hash     TEXT NOT NULL UNIQUE CHECK (length(key_hash) = 64),
    team_id      TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    scope        TEXT NOT NULL DEFAULT 'read' CHECK (scope IN ('read', 'admin')),
    name         TEXT NOT NULL DEFAULT '',
    hourly_limit INTEGER NOT NULL DEFAULT 600,
    created_at   INTEGER NOT NULL DEFAULT (unixepoch()),
    revoked_at   INTEGER
);
INSERT INTO api_keys_new (id, key_hash, team_id, scope, name, hourly_limit, created_at, revoked_at)
    SELECT k.id, k.key_hash, s.team_id, k.scope, k.name, k.hourly_limit, k.created_at, k.revoked_at
    FROM api_keys k JOIN sites s ON s.id = k.site_id;
DROP TABLE api_keys;
ALTER TABLE api_keys_new RENAME TO api_keys;
CREATE INDEX api_keys_by_team ON api_keys (team_id);
