-- The demo tenant and a second one for isolation tests (idempotent).
INSERT INTO sites (id, domain, timezone, status) VALUES
    ('demo', 'demo.example', 'UTC', 'active'),
    ('other', 'other.example', 'Europe/Berlin', 'active'),
    ('paused', 'paused.example', 'UTC', 'inactive')
ON CONFLICT (id) DO UPDATE SET domain = excluded.domain, timezone = excluded.timezone, status = excluded.status;

INSERT INTO hostnames (hostname, site_id, status) VALUES
    ('t.demo.localhost', 'demo', 'active'),
    ('t.other.localhost', 'other', 'active'),
    ('t.paused.localhost', 'paused', 'active'),
    ('t.pending.localhost', 'demo', 'pending')
ON CONFLICT (hostname) DO UPDATE SET site_id = excluded.site_id, status = excluded.status;
