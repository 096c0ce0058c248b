"""Sampled rows: Analytics Engine keeps one data point for many when a site
writes fast, and says so in `_sample_interval`. Locally nothing is sampled,
so this module sends a data set through ingest, asks the Stats API, then
has the stand-in mark every row of that set as standing for K data points
and asks again. Counts and sums must grow K-fold and ratios stay put; a
metric that forgot the weight would not move, and this test would fail.

Distinct counts (visitors, and visits where they rest on a distinct count)
stay as they are: AE SQL has no weighted distinct count, a known
approximation the Stats API notes. Time on page and scroll depth count
visits per session, weighted, so they stay put."""

import json

import pytest

from beacon import ENV, request
from stats_data import at, golden, ok, query

K = 10


def ask(data, **body):
    return ok(query(dict({"site_id": ENV["DEMO_DOMAIN"], "date_range": data["range"]}, **body)))["results"]


SCALED = {"visits", "pageviews", "events", "total_revenue"}
QUERIES = {
    "aggregate": {"metrics": ["visitors", "visits", "pageviews", "events", "views_per_visit", "bounce_rate",
                              "visit_duration"]},
    "pages": {"metrics": ["visitors", "pageviews", "events", "scroll_depth", "time_on_page"], "dimensions": ["event:page"]},
    "sources": {"metrics": ["visitors", "visits", "bounce_rate", "visit_duration"],
                "dimensions": ["visit:source"]},
    "goals": {"metrics": ["visitors", "events", "conversion_rate", "group_conversion_rate", "total_revenue", "average_revenue"],
              "dimensions": ["event:goal"]},
    "days": {"metrics": ["visitors", "visits", "pageviews"], "dimensions": ["time:day"]},
}


@pytest.fixture(scope="module")
def answers():
    data = golden()
    before = {name: ask(data, **body) for name, body in QUERIES.items()}
    # Session rows are written up to a day after their events.
    span = {"index": ENV["DEMO_SITE_ID"], "from_s": at(data["d0"], 0) // 1000,
            "to_s": (at(data["d1"], 0) + 2 * 86_400_000) // 1000, "interval": K}
    r = request("POST", ENV["AE_LOCAL_URL"] + "/sample", json.dumps(span), {"content-type": "application/json"})
    assert r.status == 200, r.body
    after = {name: ask(data, **body) for name, body in QUERIES.items()}
    return before, after


@pytest.mark.parametrize("name", list(QUERIES))
def test_weighted_metrics_grow_k_fold_and_ratios_stay(answers, name):
    before, after = answers
    metrics = QUERIES[name]["metrics"]
    assert before[name], "the data set answers this query"
    assert [row["dimensions"] for row in after[name]] == [row["dimensions"] for row in before[name]]
    # Breakdowns with event dimensions count visits as distinct sessions.
    scaled = SCALED - ({"visits"} if name in ("pages", "goals") else set())
    for old, new in zip(before[name], after[name]):
        for metric, was, now in zip(metrics, old["metrics"], new["metrics"]):
            if isinstance(was, dict):  # revenue, as money
                assert now["currency"] == was["currency"], (name, old["dimensions"], metric)
                was, now = was["value"], now["value"]
            want = round(was * K, 2) if metric in scaled and was is not None else was
            assert now == (pytest.approx(want) if want is not None else None), (name, old["dimensions"], metric, was, now)
    assert any(was for row in before[name] for metric, was in zip(metrics, row["metrics"]) if metric in scaled)
