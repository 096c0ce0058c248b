"""A real Plausible Stats API client (the `plausible-cli` crate, installed
pinned by scripts/setup) pointed at Beacon's query URL gets the answers the
independent model expects."""

import json
import os
import subprocess
import tempfile

import pytest

from beacon import ENV, ROOT
from stats_data import golden

CLI = ROOT / ".beacon" / "tools" / "bin" / "plausible"


@pytest.fixture(scope="module")
def cli():
    assert CLI.exists(), "scripts/setup installs plausible-cli"
    home = tempfile.mkdtemp()
    env = dict(os.environ, HOME=home, XDG_CONFIG_HOME=f"{home}/config", XDG_DATA_HOME=f"{home}/data",
               XDG_CACHE_HOME=f"{home}/cache", PLAUSIBLE_CLI_DISABLE_KEYRING="1")
    subprocess.run([str(CLI), "accounts", "add", "--alias", "beacon", "--api-key", ENV["DEMO_API_KEY"]],
                   env=env, check=True, capture_output=True, timeout=60)

    def run(*args):
        out = subprocess.run([str(CLI), "--base-url", ENV["QUERY_URL"], "--output", "json", *args],
                             env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    run.env = env
    return run


@pytest.fixture(scope="module")
def data():
    d = golden()
    return dict(d, period=["--period", "custom", "--date", ",".join(d["range"])])


def test_aggregate(cli, data):
    a = data["model"].aggregate()
    got = cli("stats", "aggregate", "--site", ENV["DEMO_DOMAIN"], "-m", "visitors", "-m", "pageviews", "-m", "bounce_rate", *data["period"])
    assert got["results"] == {"visitors": a["visitors"], "pageviews": a["pageviews"], "bounce_rate": a["bounce_rate"]}


def test_breakdown(cli, data):
    # (plausible-cli 2.0.0 sends --limit as a top-level "limit", which
    # Plausible's v2 refuses as an unknown key, and so does Beacon.)
    m = data["model"]
    got = cli("stats", "breakdown", "--site", ENV["DEMO_DOMAIN"], "--property", "visit:country", "-m", "visitors",
              "-m", "pageviews", *data["period"])
    expected = m.breakdown(lambda e: e["country"], ["visitors", "pageviews"])
    assert {r["value"]: [r["visitors"], r["pageviews"]] for r in got["results"]} == expected


def test_its_reversed_filter_shape_is_refused_as_plausible_refuses_it(cli, data):
    # plausible-cli 2.0.0 sends [dimension, operator, values]; Plausible's
    # grammar is [operator, dimension, values]. Beacon answers as Plausible
    # does: a clear 400 naming the bad place, which the client reports.
    out = subprocess.run([str(CLI), "--base-url", ENV["QUERY_URL"], "--output", "json", "stats", "aggregate", "--site",
                          ENV["DEMO_DOMAIN"], "-m", "visitors", "--filters", "visit:country==DE", *data["period"]],
                         env=cli.env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "400" in out.stderr and "#/filters/0/0" in out.stderr


def test_timeseries(cli, data):
    got = cli("stats", "timeseries", "--site", ENV["DEMO_DOMAIN"], "-m", "pageviews", *data["period"])
    assert sum(r["pageviews"] for r in got["results"]) == data["model"].aggregate()["pageviews"]
    assert len(got["results"]) == 2
