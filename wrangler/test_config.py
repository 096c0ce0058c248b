"""Checks of the wrangler configs: the top level is what production deploys,
[env.local] what the local stack runs, and wrangler copies neither bindings
nor vars from one to the other. A binding added to one side only works in
every test and breaks the other side at runtime; a dev-only variable at the
top level would open the dev routes (`/__dev/session` mints dashboard
sessions) in production.
"""

import pathlib
import tomllib

import pytest

HERE = pathlib.Path(__file__).parent
CONFIGS = {p.stem: tomllib.loads(p.read_text()) for p in sorted(HERE.glob("*.toml"))}

# Variables only the local stack may set (shared/platform reads them).
DEV_ONLY = {"BEACON_DEV", "SESSIONS_DISABLED", "AE_LOCAL_URL"}
# Production sets these with `wrangler secret put`; locally they are plain
# variables (shared/platform's `secret_or_var` reads either).
SECRETS = {"AE_SQL_TOKEN", "SESSION_SECRET"}
# Binding lists, and the fields (beyond the name) both sides must agree on.
BINDING_KINDS = {
    "d1_databases": ("database_name", "migrations_dir"),
    "kv_namespaces": (),
    "analytics_engine_datasets": ("dataset",),
    "r2_buckets": (),
    "services": (),
}


def local(cfg):
    return cfg.get("env", {}).get("local", {})


def bindings(section, kind):
    """The bindings of one kind, by name, with the fields that must agree."""
    return {b["binding"]: tuple(b.get(f) for f in BINDING_KINDS[kind]) for b in section.get(kind, [])}


def objects(section):
    return {b["name"]: b for b in section.get("durable_objects", {}).get("bindings", [])}


def test_every_worker_has_a_local_environment():
    assert set(CONFIGS) == {"hello", "ingest", "query", "site"}
    for name, cfg in CONFIGS.items():
        assert cfg["workers_dev"] is False, name
        assert local(cfg).get("name") == f"{cfg['name']}-local", name
        assert (HERE / cfg["main"]).parent.parent.is_dir(), f"{name}: {cfg['main']}"


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_production_sets_no_dev_variable_and_no_secret_in_plain_text(name):
    top = set(CONFIGS[name].get("vars", {}))
    assert not top & DEV_ONLY, f"{name}: dev-only variables at the top level: {top & DEV_ONLY}"
    assert not top & SECRETS, f"{name}: secrets as plain variables: {top & SECRETS}"


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_both_sides_have_the_same_bindings(name):
    cfg = CONFIGS[name]
    for kind in BINDING_KINDS:
        assert bindings(cfg, kind) == bindings(local(cfg), kind), f"{name}: {kind}"
    for d1 in cfg.get("d1_databases", []):
        assert (HERE / d1["migrations_dir"]).is_dir(), name
    prod, dev = objects(cfg), objects(local(cfg))
    assert set(prod) == set(dev), f"{name}: durable object bindings"
    for binding, obj in prod.items():
        assert obj["class_name"] == dev[binding]["class_name"], f"{name}: {binding}"


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_a_local_variable_is_a_production_one_a_secret_or_dev_only(name):
    cfg = CONFIGS[name]
    top, dev = set(cfg.get("vars", {})), set(local(cfg).get("vars", {}))
    assert top <= dev, f"{name}: production variables the local stack lacks: {top - dev}"
    assert dev <= top | SECRETS | DEV_ONLY, f"{name}: local variables production lacks: {dev - top - SECRETS - DEV_ONLY}"


def test_the_workers_with_dev_routes_turn_them_on_locally():
    for name in ("ingest", "query"):
        assert local(CONFIGS[name])["vars"]["BEACON_DEV"] == "1", name


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_durable_objects_point_at_the_site_script_of_the_same_side(name):
    site = CONFIGS["site"]
    cfg = CONFIGS[name]
    for section, script in ((cfg, site["name"]), (local(cfg), local(site)["name"])):
        for obj in objects(section).values():
            # The site script's own binding names no script.
            assert obj.get("script_name", script) == script, f"{name}: {obj}"
            assert obj["class_name"] == "SiteObject", f"{name}: {obj}"
