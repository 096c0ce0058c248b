-- The demo tenant (a team with two sites) and a second tenant for
-- isolation tests (idempotent).
INSERT INTO teams (id, name) VALUES ('team_demo', 'Demo'), ('team_other', 'Other'), ('team_paused', 'Paused')
ON CONFLICT (id) DO NOTHING;

INSERT INTO sites (id, domain, timezone, status, team_id) VALUES
    ('demo', 'demo.example', 'UTC', 'active', 'team_demo'),
    ('demo2', 'second.demo.example', 'America/New_York', 'active', 'team_demo'),
    ('other', 'other.example', 'Europe/Berlin', 'active', 'team_other'),
    ('paused', 'paused.example', 'UTC', 'inactive', 'team_paused')
ON CONFLICT (id) DO UPDATE SET domain = excluded.domain, timezone = excluded.timezone, status = excluded.status,
    team_id = excluded.team_id;

INSERT INTO hostnames (hostname, site_id, status) VALUES
    ('t.demo.localhost', 'demo', 'active'),
    ('t.demo2.localhost', 'demo2', 'active'),
    ('t.other.localhost', 'other', 'active'),
    ('t.paused.localhost', 'paused', 'active'),
    ('t.pending.localhost', 'demo', 'pending')
ON CONFLICT (hostname) DO UPDATE SET site_id = excluded.site_id, status = excluded.status;

-- Dev-only API keys (the plain keys are in .beacon/dev.env; only hashes are stored).
INSERT INTO api_keys (id, key_hash, team_id, scope, name, revoked_at) VALUES
    ('key_demo', 'c9918599fd6decdee618b782b8ac70f843cab4c73c7d54bee8b5d85f62cb7849', 'team_demo', 'read', 'demo read key', NULL),
    ('key_other', '52c3f1abfd2c38e3d724930c458e386e2da8c71f71e3a1cd4f5997d6f872f94a', 'team_other', 'read', 'other read key', NULL),
    ('key_demo_revoked', '9d0c2b19800c2af3a8bc36083bc5a0e4031ae56ce04fd9dccc4c84d8fa760867', 'team_demo', 'read', 'revoked demo key', 1700000000)
ON CONFLICT (id) DO UPDATE SET key_hash = excluded.key_hash, team_id = excluded.team_id, revoked_at = excluded.revoked_at;
-- Test suites run hundreds of queries an hour with these; the limit itself
-- is tested with the limited key below.
UPDATE api_keys SET hourly_limit = 1000000 WHERE id IN ('key_demo', 'key_other');

-- A key with a tiny hourly limit, for the rate-limit test.
INSERT INTO api_keys (id, key_hash, team_id, scope, name, hourly_limit) VALUES
    ('key_demo_limited', '8400dcae79b7eebb77f92a6ce836629de7f75510ad86bbd485063444818e8789', 'team_demo', 'read', 'rate-limited demo key', 3)
ON CONFLICT (id) DO UPDATE SET key_hash = excluded.key_hash, hourly_limit = excluded.hourly_limit;

-- Goals of the demo site: custom event and page goals, revenue goals in
-- two currencies, a goal that requires a custom property (under a display
-- name) and a scroll goal (its default name, "Scroll 55% on /blog/**").
INSERT INTO goals (site_id, event_name, page_path, currency, display_name, custom_props, scroll_threshold) VALUES
    ('demo', 'Signup', '', NULL, '', '{}', -1),
    ('demo', '', '/thanks', NULL, '', '{}', -1),
    ('demo', '', '/blog/**', NULL, '', '{}', -1),
    ('demo', 'Purchase', '', 'EUR', '', '{}', -1),
    ('demo', 'Upgrade', '', 'USD', '', '{}', -1),
    ('demo', 'Signup', '', NULL, 'Pro signup', '{"plan":"pro"}', -1),
    ('demo', '', '/blog/**', NULL, '', '{}', 55),
    ('other', 'Purchase', '', NULL, '', '{}', -1)
ON CONFLICT (site_id, event_name, page_path, scroll_threshold, custom_props)
    DO UPDATE SET currency = excluded.currency, display_name = excluded.display_name;
