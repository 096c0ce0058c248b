//! The engine against a fake Analytics Engine that records every SQL text
//! and answers from canned rows: what it asks, and how it merges.

use std::cell::RefCell;

use beacon_types::slots::hostname_key;
use serde_json::{json, Map, Value};
use wasm_bindgen_test::wasm_bindgen_test;

use super::filter::visitor_parts;
use super::*;
use crate::query::parse;

/// Answers by the first matching fragment of the SQL; records every query.
struct Fake {
    answers: Vec<(&'static str, Value)>,
    seen: RefCell<Vec<String>>,
}

impl Fake {
    fn new(answers: Vec<(&'static str, Value)>) -> Self {
        Fake { answers, seen: RefCell::new(Vec::new()) }
    }
}

impl Runner for Fake {
    async fn rows(&self, sql: String) -> Result<Vec<Map<String, Value>>, StatsError> {
        self.seen.borrow_mut().push(sql.clone());
        if sql.contains("FAIL") {
            return Err(StatsError::Upstream("boom".into()));
        }
        if sql.contains("BUSY") {
            return Err(StatsError::Busy(7));
        }
        if sql.contains("HEAVY") {
            return Err(StatsError::TooHeavy(None));
        }
        let rows = self.answers.iter().find(|(frag, _)| sql.contains(frag)).map(|(_, v)| v.clone()).unwrap_or(json!([]));
        Ok(rows.as_array().into_iter().flatten().filter_map(|r| r.as_object().cloned()).collect())
    }
}

fn site() -> SiteInfo {
    SiteInfo { id: SiteId::parse("demo").unwrap(), timezone: "Europe/Berlin".into() }
}

const NOW: u64 = 1_706_745_600_000; // 2024-02-01T00:00:00Z
/// The condition entry and exit page breakdowns add: visits with a pageview.
const BLANK_ENTRY: &str = " AND NOT (blob4 IN (''))";

fn run_q(fake: &Fake, body: Value, goals: &[Goal]) -> Result<Value, StatsError> {
    let q = parse(body.to_string().as_bytes())?;
    pollster::block_on(run(fake, &q, &site(), goals, NOW))
}

/// The SQL a query sends, in order, to an Analytics Engine with no rows.
fn statements(body: Value, goals: &[Goal]) -> Result<Vec<String>, StatsError> {
    let fake = Fake::new(vec![]);
    run_q(&fake, body, goals)?;
    Ok(fake.seen.into_inner())
}

/// The last SQL a query sends to an Analytics Engine with no rows.
fn last_statement(body: Value, goals: &[Goal]) -> Result<String, StatsError> {
    statements(body, goals).map(|seen| seen.last().cloned().unwrap_or_default())
}

/// A day's visitors of the demo site under these filters.
fn visitors_where(filters: Value) -> Value {
    json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "filters": filters})
}

#[test]
#[wasm_bindgen_test]
fn event_and_session_rows_merge_by_dimension() {
    let fake = Fake::new(vec![
        ("double1 = 1", json!([{"c0": "DE", "c1": "3", "c2": 5}, {"c0": "FR", "c1": 1, "c2": 2}])),
        ("double1 = 2", json!([{"c0": "DE", "c1": 4, "c2": 1}, {"c0": "FR", "c1": 0, "c2": 0}])),
    ]);
    let body = json!({"site_id": "demo", "metrics": ["visitors", "pageviews", "bounce_rate"], "date_range": "day",
                      "dimensions": ["visit:country"]});
    let out = run_q(&fake, body, &[]).unwrap();
    assert_eq!(out["results"], json!([{"metrics": [3, 5, 25], "dimensions": ["DE"]}, {"metrics": [1, 2, 0], "dimensions": ["FR"]}]));
    let seen = fake.seen.borrow();
    assert_eq!(seen.len(), 2);
    for sql in seen.iter() {
        assert!(sql.contains("WHERE index1 = 'demo' AND double1 = "), "{sql}");
        // "day" in Berlin at 2024-02-01T00:00Z is Feb 1, from 23:00 UTC.
        assert!(sql.contains("timestamp >= toDateTime(1706742000)"), "{sql}");
    }
}

#[test]
#[wasm_bindgen_test]
fn visitors_beside_only_session_metrics_come_from_the_same_sign_rows() {
    // Plausible's TableDecider: nothing needs events, so its sessions table
    // answers visitors too. Here: one statement over sign rows.
    let fake = Fake::new(vec![("double1 = 2", json!([{"c0": "DE", "c1": 4, "c2": 3, "c3": 1}]))]);
    let body = json!({"site_id": "demo", "metrics": ["visitors", "bounce_rate"], "date_range": "day", "dimensions": ["visit:country"],
                      "filters": [["is", "visit:source", ["Google"]], ["has_done", ["is", "event:name", ["Signup"]]]]});
    let out = run_q(&fake, body, &[]).unwrap();
    assert_eq!(out["results"], json!([{"metrics": [3, 25], "dimensions": ["DE"]}]));
    let seen = fake.seen.borrow();
    let main = seen.last().map(String::as_str).unwrap_or_default();
    assert!(main.contains("double1 = 2") && main.contains("count(DISTINCT double4)"), "{main}");
    // The has_done list is read first; no event rows are counted.
    assert_eq!(seen.len(), 2, "{seen:#?}");
    drop(seen);
    let one = |extra: Value| {
        let mut body = json!({"site_id": "demo", "metrics": ["visitors", "visits", "visit_duration"], "date_range": "day"});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        let seen = statements(body, &[]).unwrap();
        seen.len() == 1 && seen.iter().all(|sql| sql.contains("double1 = 2"))
    };
    assert!(one(json!({})));
    assert!(one(json!({"dimensions": ["visit:entry_page", "visit:utm_source"]})));
    assert!(one(json!({"filters": [["not", ["contains", "visit:referrer", ["x"]]]]})));
    // Not where a visit's states can differ in a group or a filter, nor
    // beside a metric of events.
    assert!(!one(json!({"dimensions": ["time:day"]})));
    assert!(!one(json!({"dimensions": ["visit:exit_page"]})));
    assert!(!one(json!({"filters": [["is", "visit:exit_page", ["/a"]]]})));
    assert!(!one(json!({"filters": [["is", "event:page", ["/a"]]]})));
    assert!(!one(json!({"dimensions": ["event:page"]})));
    assert!(!one(json!({"metrics": ["visitors", "visits", "pageviews"]})));
    assert!(!one(json!({"metrics": ["visitors", "percentage", "visits"], "dimensions": ["visit:source"]})));
}

#[test]
#[wasm_bindgen_test]
fn a_blank_placeholder_names_blanks_for_is_only() {
    let filtered = |op: &str| {
        let fake = Fake::new(vec![("GROUP BY c0 LIMIT 10001", json!([{"c0": "Direct / None x"}, {"c0": "Google"}]))]);
        let body =
            json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "filters": [[op, "visit:source", ["Direct / None"]]]});
        let out = run_q(&fake, body, &[]);
        let last = fake.seen.borrow().last().cloned().unwrap_or_default();
        (out.map(|_| ()), last)
    };
    let (out, sql) = filtered("is");
    assert!(out.is_ok() && sql.contains("blob6 IN ('Direct / None', '')"), "{sql}");
    // A substring or a pattern is taken as written: "" would match every row.
    let (out, sql) = filtered("contains");
    assert!(out.is_ok() && !sql.contains("''") && sql.contains("'Direct / None'"), "{sql}");
    let (out, sql) = filtered("matches");
    assert!(out.is_ok() && sql.contains("(blob6 LIKE '%Direct / None%')"), "{sql}");
}

#[test]
#[wasm_bindgen_test]
fn property_substrings_and_patterns_need_the_property() {
    let sql_of = |leaf: Value| last_statement(visitors_where(json!([leaf])), &[]).unwrap();
    // "(none)" reads absent; contains_not must not keep events without the key.
    let sql = sql_of(json!(["contains_not", "event:props:plan", ["pro"]]));
    assert!(sql.contains("(NOT (if(") && sql.contains("IN ('(none)')) AND NOT ((position('pro' IN if("), "{sql}");
    let sql = sql_of(json!(["contains", "event:props:plan", ["(none)"]]));
    assert!(sql.contains("(NOT (if(") && sql.contains("IN ('(none)')) AND (position('(none)' IN if("), "{sql}");
    // `is` / `is_not` with "(none)" name the absence itself.
    let sql = sql_of(json!(["is_not", "event:props:plan", ["(none)"]]));
    assert!(sql.matches("IN ('(none)')").count() == 1 && sql.contains("AND NOT (if("), "{sql}");
}

#[test]
#[wasm_bindgen_test]
fn a_regex_becomes_the_matching_values_seen() {
    let fake = Fake::new(vec![
        ("GROUP BY c0 LIMIT 10001", json!([{"c0": "/blog/a"}, {"c0": "/other/and/longer"}, {"c0": "/blog/b's"}])),
        ("count(DISTINCT double4)", json!([{"c0": 5}])),
    ]);
    let out = run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "filters": [["matches", "event:page", ["^/blog/[a-z]"]]]}),
        &[],
    )
    .unwrap();
    assert_eq!(out["results"][0]["metrics"], json!([5]));
    let seen = fake.seen.borrow();
    assert!(seen[0].starts_with("SELECT blob2 AS c0 FROM EVENTS WHERE index1 = 'demo'"), "{}", seen[0]);
    assert!(seen[1].contains("blob2 IN ('/blog/a', '/blog/b\\'s')"), "{}", seen[1]);
    assert!(!seen.iter().any(|s| s.contains("match(")));
    // When the values that do not match are the shorter list, those are sent.
    let fake =
        Fake::new(vec![("GROUP BY c0 LIMIT 10001", json!([{"c0": "/blog/a-long-post"}, {"c0": "/x"}, {"c0": "/blog/b-long-post"}]))]);
    run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "filters": [["matches", "event:page", ["^/blog/[a-z]"]]]}),
        &[],
    )
    .unwrap();
    let seen = fake.seen.borrow();
    assert!(seen[1].contains(" AND NOT (blob2 IN ('/x'))"), "{}", seen[1]);
}

#[test]
#[wasm_bindgen_test]
fn a_pattern_like_can_say_is_sent_as_like_with_no_read_of_the_values() {
    let sent = |leaf: Value, goals: &[Goal]| statements(visitors_where(json!([leaf])), goals).unwrap();
    let seen = sent(json!(["matches", "event:page", ["^/blog/.*-1$", "/shop"]]), &[]);
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert!(seen[0].contains(" AND (blob2 LIKE '/blog/%-1' OR blob2 LIKE '/blog/%-1\\n' OR blob2 LIKE '%/shop%')"), "{}", seen[0]);
    let seen = sent(json!(["matches_not", "visit:source", ["^Goo"]]), &[]);
    assert!(seen.len() == 1 && seen[0].contains(" AND NOT ((blob6 LIKE 'Goo%'))"), "{seen:#?}");
    // A page goal's `**` too.
    let goals = vec![Goal::page("/blog/**")];
    let seen = sent(json!(["is", "event:goal", ["Visit /blog/**"]]), &goals);
    assert!(seen.len() == 1 && seen[0].contains("blob2 LIKE '/blog/%'"), "{seen:#?}");
    // Ignoring case, on a property, or with one pattern LIKE cannot say:
    // the values are read and matched here, as before.
    for leaf in [
        json!(["matches", "event:page", ["^/blog"], {"case_sensitive": false}]),
        json!(["matches", "event:props:plan", ["^pro"]]),
        json!(["matches", "event:page", ["^/blog", "^/(a|b)"]]),
    ] {
        let seen = sent(leaf.clone(), &[]);
        assert!(seen.len() == 2 && seen[0].contains("GROUP BY c0 LIMIT 10001") && !seen[1].contains("LIKE"), "{leaf}: {seen:#?}");
    }
    // Too long a pattern is still the 400 it was.
    let long = format!("^/{}", "a".repeat(MAX_REGEX));
    let err = statements(visitors_where(json!([["matches", "event:page", [long]]])), &[]);
    assert!(matches!(err, Err(StatsError::BadRegex(_))), "{err:?}");
}

#[test]
#[wasm_bindgen_test]
fn props_are_read_back_unescaped_and_other_columns_as_stored() {
    use super::filter::decoded;
    use crate::sql::NONE;
    let escaped = r"say \u0022hi\u0022 \\ bye";
    assert_eq!(decoded(&Column::Prop("k".into()), escaped), r#"say "hi" \ bye"#);
    assert_eq!(decoded(&Column::Blob(Blob::Pathname), escaped), escaped);
    // The blank marker, and text that is not valid JSON escaping, stay as stored.
    assert_eq!(decoded(&Column::Prop("k".into()), NONE), NONE);
    assert_eq!(decoded(&Column::Prop("k".into()), r"bad \x"), r"bad \x");
}

#[test]
#[wasm_bindgen_test]
fn a_bad_pattern_is_a_400_on_every_dimension_even_those_matched_here() {
    let goals = vec![Goal::event("Signup")];
    for dim in ["visit:device", "event:goal", "visit:country_name", "event:page"] {
        let err = statements(visitors_where(json!([["matches", dim, ["(unclosed"]]])), &goals);
        assert!(matches!(err, Err(StatsError::BadRegex(_))), "{dim}: {err:?}");
    }
    // A good one picks devices and goals by name.
    let filters = json!([["matches", "visit:device", ["^(Mob|Tab)"]], ["matches_not", "event:goal", ["^Sign"]]]);
    let seen = statements(visitors_where(filters), &goals).unwrap();
    assert!(seen[0].contains("AND double3 IN (2, 3) AND NOT ((blob1 IN ('Signup')))"), "{}", seen[0]);
}

#[test]
#[wasm_bindgen_test]
fn pre_queries_run_once_per_period() {
    let fake = Fake::new(vec![("GROUP BY c0 LIMIT 10001", json!([{"c0": "/blog/a"}, {"c0": "/a/longer/page"}]))]);
    let body = json!({"site_id": "demo", "metrics": ["visitors", "percentage", "bounce_rate"], "date_range": "day",
                      "dimensions": ["visit:country"], "filters": [["matches", "event:page", ["^/blog/[a-z]"]]],
                      "include": {"comparisons": {"mode": "previous_period"}}});
    run_q(&fake, body, &[]).unwrap();
    let seen = fake.seen.borrow();
    // Event rows and the sessions' nested read ask the same values at once:
    // sent once, then once for the comparison's own period.
    // Bounce rate also reads the entry pages the pattern keeps (Plausible's
    // bounces of visits entering there): one more read per period.
    for column in ["SELECT blob2 AS c0", "SELECT blob4 AS c0"] {
        let pre: Vec<&String> = seen.iter().filter(|sql| sql.contains("GROUP BY c0 LIMIT 10001") && sql.starts_with(column)).collect();
        assert_eq!(pre.len(), 2, "{column}: {seen:#?}");
        assert_ne!(pre[0], pre[1]);
    }
    assert_eq!(seen.iter().filter(|sql| sql.contains("GROUP BY c0 LIMIT 10001")).count(), 4, "{seen:#?}");
    // The breakdown, the percentage total and the sessions' read all use
    // the resolved list, in both periods.
    assert_eq!(seen.iter().filter(|sql| sql.contains("blob2 IN ('/blog/a')")).count(), 6, "{seen:#?}");
}

#[test]
#[wasm_bindgen_test]
fn an_event_filter_picks_sessions_for_session_metrics_in_one_nested_statement() {
    // Visits 4, of which 2 entered on /x, 1 of those a bounce: 50%.
    let fake = Fake::new(vec![("FROM (SELECT double5 AS s", json!([{"c0": "DE", "c1": 4, "c2": 1, "c3": 2}]))]);
    let out = run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["bounce_rate"], "date_range": ["2024-02-01", "2024-02-01"], "dimensions": ["visit:country"],
                                  "filters": [["is", "event:page", ["/x"]], ["is", "visit:source", ["Google"]]]}),
        &[],
    )
    .unwrap();
    assert_eq!(out["results"], json!([{"metrics": [50], "dimensions": ["DE"]}]));
    let seen = fake.seen.borrow();
    assert_eq!(seen.len(), 1, "no session-id list: {seen:#?}");
    let sql = &seen[0];
    // Keys and sums from the sign rows, matches counted on event rows that
    // pass the event filter; a visit filter holds on the sign rows.
    assert!(
        sql.starts_with(
            "SELECT k0 AS c0, sum(k1) AS c1, sum(k2) AS c2, sum(k3) AS c3 FROM (SELECT double5 AS s, max(if(double1 IN (2), blob13, '')) AS k0, "
        ),
        "{sql}"
    );
    // Bounces and their denominator count only visits entering on /x.
    assert!(
        sql.contains(
            "sumIf(_sample_interval * double2 * double12, (double1 IN (2) AND blob4 IN ('/x'))) AS k2, \
             sumIf(_sample_interval * double2, (double1 IN (2) AND blob4 IN ('/x'))) AS k3"
        ),
        "{sql}"
    );
    assert!(
        sql.contains("sumIf(_sample_interval, double1 IN (1)) AS hit FROM EVENTS WHERE index1 = 'demo' AND ((double1 = 1 AND "),
        "{sql}"
    );
    assert!(sql.contains("blob2 IN ('/x')) OR (double1 = 2 AND "), "{sql}");
    assert!(
        sql.contains("double11 < 1706828400000 AND double11 + double13 * 1000 >= 1706742000000 AND blob6 IN ('Google'))) GROUP BY s)"),
        "{sql}"
    );
    assert!(sql.ends_with(" GROUP BY s) WHERE hit > 0 GROUP BY c0 LIMIT 100000"), "{sql}");
}

#[test]
#[wasm_bindgen_test]
fn a_page_breakdown_reads_its_page_filter_as_an_entry_page_filter_on_sign_rows_and_keeps_only_the_pages_seen() {
    // As Plausible: sessions grouped by entry page take the top-level page
    // filter as an entry-page one, and join onto the event side's groups,
    // so a page the filtered events never saw is no row.
    let fake = Fake::new(vec![
        ("double1 = 2", json!([{"c0": "/home", "c1": 5, "c2": 2, "c3": 5}, {"c0": "/blog", "c1": 2, "c2": 1, "c3": 2}])),
        ("double1 = 1", json!([{"c0": "/blog", "c1": 3}])),
    ]);
    let body = json!({"site_id": "demo", "metrics": ["visitors", "bounce_rate"], "date_range": "day", "dimensions": ["event:page"],
                      "filters": [["is", "event:page", ["/blog"]]]});
    let out = run_q(&fake, body, &[]).unwrap();
    assert_eq!(out["results"], json!([{"metrics": [3, 50], "dimensions": ["/blog"]}]));
    let seen = fake.seen.borrow();
    let sessions = seen.iter().find(|sql| sql.contains("double1 = 2")).cloned().unwrap_or_default();
    assert!(sessions.starts_with("SELECT blob4 AS c0, ") && sessions.contains("AND blob4 IN ('/blog')"), "{sessions}");
    assert!(!sessions.contains("double5 AS s") && !sessions.contains("blob2"), "{sessions}");
    // Every visit read entered on /blog: bounces need no second condition.
    assert!(!sessions.contains("sumIf"), "{sessions}");
    // Beside a breakdown by where visits came from, a hostname filter still
    // becomes the entry page's hostname there.
    let body = json!({"site_id": "demo", "metrics": ["bounce_rate"], "date_range": "day", "dimensions": ["event:page", "visit:source"],
                      "filters": [["is", "event:page", ["/blog"]], ["is", "event:hostname", ["a.example"]]]});
    let seen = statements(body, &[]).unwrap();
    let sessions = seen.iter().find(|sql| sql.contains("double1 = 2")).cloned().unwrap_or_default();
    assert!(sessions.contains("blob4 IN ('/blog')") && sessions.contains("blob3 IN ('a.example')"), "{sessions}");
    assert!(!sessions.contains("double5 AS s"), "{sessions}");
}

#[test]
#[wasm_bindgen_test]
fn scroll_depth_and_time_on_page_of_a_page_nobody_engaged_with_are_null() {
    // Plausible's SQL: if(visits > 0, round(total / visits), NULL).
    let fake = Fake::new(vec![
        ("visit_scroll", json!([{"c0": "/read", "visit_scroll": 150, "visit_engaged_ms": 90000, "engaged_visits": 2}])),
        ("double1 = 1", json!([{"c0": "/read", "c1": 2}, {"c0": "/skim", "c1": 5}])),
    ]);
    let body = json!({"site_id": "demo", "metrics": ["visitors", "scroll_depth", "time_on_page"], "date_range": "day",
                      "dimensions": ["event:page"], "include": {"comparisons": {"mode": "previous_period"}}});
    let out = run_q(&fake, body, &[]).unwrap();
    let rows = out["results"].as_array().cloned().unwrap_or_default();
    let skim = rows.iter().find(|r| r["dimensions"] == json!(["/skim"])).cloned().unwrap_or_default();
    let read = rows.iter().find(|r| r["dimensions"] == json!(["/read"])).cloned().unwrap_or_default();
    assert_eq!(skim["metrics"], json!([5, null, null]), "{out}");
    assert_eq!(read["metrics"], json!([2, 75, 45]), "{out}");
    // The comparison period answers the same rows (the fake does not know
    // periods); a null on either side has no change.
    assert_eq!(skim["comparison"]["change"], json!([0, null, null]), "{out}");
    // Only rows of a visit: those written without one (session id 0)
    // would pool into one made-up visit.
    let seen = statements(json!({"site_id": "demo", "metrics": ["scroll_depth"], "date_range": "day", "dimensions": ["event:page"]}), &[])
        .unwrap_or_default();
    let per_visit = seen.iter().find(|sql| sql.contains("visit_scroll")).cloned().unwrap_or_default();
    assert!(per_visit.contains("NOT (double5 IN (0))"), "{per_visit}");
}

#[test]
#[wasm_bindgen_test]
fn bounded_pre_queries_refuse_rather_than_guess() {
    // Event metrics under an exit-page filter still list the sessions.
    let many: Vec<Value> = (0..=MAX_IDS).map(|i| json!({"c0": i})).collect();
    let fake = Fake::new(vec![("SELECT double5 AS c0", Value::Array(many))]);
    let err = run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["pageviews"], "date_range": "day", "filters": [["is", "visit:exit_page", ["/x"]]]}),
        &[],
    );
    assert!(matches!(err, Err(StatsError::Invalid(m)) if m.contains("narrow the date range")));
}

#[test]
#[wasm_bindgen_test]
fn many_selected_sessions_are_summed_over_parts_that_keep_each_visitor_whole() {
    // 25,000 visits of visitors with three visits each, listed shuffled.
    let ids: Vec<Value> = (0..25_000).map(|i| json!({"c0": (i * 7_919) % 25_000, "c1": format!("{}", (i * 7_919) % 25_000 / 3)})).collect();
    let fake = Fake::new(vec![("SELECT double5 AS c0", Value::Array(ids.clone())), ("double1 = 1", json!([{"c0": 3, "c1": 4, "c2": 7}]))]);
    let out = run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["visitors", "pageviews", "events"], "date_range": "day",
                                  "filters": [["is", "visit:exit_page", ["/x"]]]}),
        &[],
    )
    .unwrap();
    // Three parts (9,999 + 9,999 + 5,002 ids: a visitor's three visits are
    // never split), each answering 3 visitors, 4 pageviews and 7 events:
    // summed, visitors too, since no visitor is in two parts.
    assert_eq!(out["results"][0]["metrics"], json!([9, 12, 21]));
    let seen = fake.seen.borrow();
    assert!(
        seen[0].starts_with("SELECT double5 AS c0, max(double4) AS c1 FROM EVENTS WHERE index1 = 'demo' AND double1 = 2 "),
        "{}",
        seen[0]
    );
    let chunks: Vec<&String> = seen.iter().filter(|sql| sql.contains("double1 = 1")).collect();
    assert_eq!(chunks.len(), 3);
    let listed = |sql: &str| -> Vec<u64> {
        let list = sql.split("double5 IN (").nth(1).and_then(|rest| rest.split(')').next()).unwrap_or("");
        list.split(", ").filter_map(|n| n.parse().ok()).collect()
    };
    let parts: Vec<Vec<u64>> = chunks.iter().map(|sql| listed(sql)).collect();
    assert_eq!(parts.iter().map(Vec::len).collect::<Vec<_>>(), vec![9_999, 9_999, 5_002]);
    for part in &parts {
        for id in part {
            // The other visits of the same visitor are in the same part.
            assert!((id / 3 * 3..(id / 3 * 3 + 3).min(25_000)).all(|other| part.contains(&other)), "{id}");
        }
    }
    drop(seen);
    // By goal likewise: each goal is asked of each part, never of one list
    // of them all.
    let goals = vec![Goal::event("Signup"), Goal::page("/thanks")];
    let fake = Fake::new(vec![("SELECT double5 AS c0", Value::Array(ids))]);
    let body = json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "dimensions": ["event:goal"],
                      "filters": [["is", "visit:exit_page", ["/x"]]]});
    run_q(&fake, body, &goals).unwrap();
    let mut sizes: Vec<usize> = fake.seen.borrow().iter().filter(|sql| sql.contains("double1 = 1")).map(|sql| listed(sql).len()).collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [5_002, 5_002, 9_999, 9_999, 9_999, 9_999]);
}

#[test]
#[wasm_bindgen_test]
fn visitor_parts_cut_between_visitors_and_leave_a_giant_whole() {
    let visits = |spec: &[(u32, usize)]| -> Vec<(f64, f64)> {
        let mut out = Vec::new();
        for (visitor, n) in spec {
            for _ in 0..*n {
                out.push((f64::from(*visitor), out.len() as f64));
            }
        }
        out
    };
    let sizes = |v: &[(f64, f64)]| visitor_parts(v).iter().map(Vec::len).collect::<Vec<_>>();
    assert_eq!(sizes(&[]), Vec::<usize>::new());
    assert_eq!(sizes(&visits(&[(1, IDS_PER_QUERY - 1), (2, 2), (3, 1)])), vec![IDS_PER_QUERY - 1, 3]);
    assert_eq!(sizes(&visits(&[(1, IDS_PER_QUERY), (2, 1)])), vec![IDS_PER_QUERY, 1]);
    // One visitor with more visits than a statement lists is its own part.
    assert_eq!(sizes(&visits(&[(1, 1), (2, IDS_PER_QUERY + 5), (3, 1)])), vec![1, IDS_PER_QUERY + 5, 1]);
}

#[test]
#[wasm_bindgen_test]
fn goals_are_counted_in_one_statement_and_convert_against_all_visitors() {
    let goals = vec![Goal::event("Signup"), Goal::page("/thanks"), Goal::event("Unseen")];
    // Per goal, the visitors with any row of it (v0, v1, v2).
    let fake = Fake::new(vec![("countIf(", json!([{"v0": 2, "v1": 1, "v2": 0}])), ("count(DISTINCT double4)", json!([{"c0": 8}]))]);
    let out = run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["visitors", "conversion_rate"], "date_range": "day", "dimensions": ["event:goal"]}),
        &goals,
    )
    .unwrap();
    assert_eq!(
        out["results"],
        json!([{"metrics": [2, 25.0], "dimensions": ["Signup"]}, {"metrics": [1, 12.5], "dimensions": ["Visit /thanks"]}])
    );
    let seen = fake.seen.borrow();
    let by_goal: Vec<&String> = seen.iter().filter(|s| s.contains("countIf(")).collect();
    assert_eq!(by_goal.len(), 1, "{seen:?}");
    let sql = by_goal[0];
    for part in [
        "SELECT countIf(c1 > 0) AS v0, countIf(c2 > 0) AS v1, countIf(c3 > 0) AS v2 FROM (SELECT double4 AS c0, ",
        "sumIf(_sample_interval, blob1 IN ('Signup')) AS c1",
        "sumIf(_sample_interval, blob1 IN ('Unseen')) AS c3",
        "AND (blob1 IN ('Signup') OR (blob1 IN ('pageview') AND blob2 IN ('/thanks')) OR blob1 IN ('Unseen')) GROUP BY c0)",
    ] {
        assert!(sql.contains(part), "{part} in {sql}");
    }
    drop(seen);
    let err = run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "filters": [["is", "event:goal", ["Nope"]]]}),
        &goals,
    );
    assert!(matches!(err, Err(StatsError::UnknownGoal(ref g)) if g == "Nope"), "{err:?}");
}

#[test]
#[wasm_bindgen_test]
fn conversion_rate_divides_by_all_visitors_and_group_conversion_rate_by_the_groups() {
    // Plausible's own case: EE has 2 visitors, one converted; GB 1, converted.
    // Rates to two places, as Plausible's current special metrics round them.
    let goals = vec![Goal::event("Signup")];
    let fake = Fake::new(vec![
        ("IN ('Signup')", json!([{"c0": "EE", "c1": 1}, {"c0": "GB", "c1": 1}])),
        ("GROUP BY", json!([{"c0": "EE", "c1": 2}, {"c0": "GB", "c1": 1}])),
        ("count(DISTINCT double4)", json!([{"c0": 3}])),
    ]);
    let body = json!({"site_id": "demo", "metrics": ["visitors", "conversion_rate", "group_conversion_rate"], "date_range": "day",
                      "dimensions": ["visit:country"], "filters": [["is", "event:goal", ["Signup"]], ["is", "event:props:plan", ["pro"]]],
                      "order_by": [["visit:country", "asc"]]});
    let out = run_q(&fake, body, &goals).unwrap();
    assert_eq!(
        out["results"],
        json!([{"metrics": [1, 33.33, 50.0], "dimensions": ["EE"]}, {"metrics": [1, 33.33, 100.0], "dimensions": ["GB"]}])
    );
    // The denominators drop the top-level goal and property filters.
    let seen = fake.seen.borrow();
    let denominators: Vec<&String> = seen.iter().filter(|sql| !sql.contains("'Signup'")).collect();
    assert_eq!(denominators.len(), 2, "{seen:?}");
    assert!(denominators.iter().all(|sql| !sql.contains("plan")), "{denominators:?}");

    for metric in ["conversion_rate", "group_conversion_rate"] {
        let nested = json!({"site_id": "demo", "metrics": [metric], "date_range": "day",
                            "filters": [["is", "event:goal", ["Signup"]], ["not", ["is", "event:props:plan", ["pro"]]]]});
        let err = run_q(&fake, nested, &goals);
        assert!(
            matches!(&err, Err(StatsError::Invalid(m)) if m.contains("custom property filters can only be used on top level")),
            "{err:?}"
        );
        let bare = json!({"site_id": "demo", "metrics": [metric], "date_range": "day"});
        let err = run_q(&fake, bare, &goals);
        assert!(
            matches!(&err, Err(StatsError::Invalid(m)) if m.contains(&format!("`{metric}` can only be queried with event:goal"))),
            "{err:?}"
        );
    }
}

#[test]
#[wasm_bindgen_test]
fn plausibles_other_names_screen_city_name_country_name_and_region_name() {
    let fake = Fake::new(vec![("GROUP BY", json!([{"c0": "US", "c1": 2}, {"c0": "DE", "c1": 2}, {"c0": "", "c1": 1}]))]);
    let body = json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "dimensions": ["visit:country_name"],
                      "filters": [["contains", "visit:country_name", ["united"], {"case_sensitive": false}]]});
    let out = run_q(&fake, body, &[]).unwrap();
    // Sorted by name on ties (Germany before United States), blanks named.
    assert_eq!(
        out["results"],
        json!([{"metrics": [2], "dimensions": ["Germany"]}, {"metrics": [2], "dimensions": ["United States"]},
               {"metrics": [1], "dimensions": ["(not set)"]}])
    );
    let sql = fake.seen.borrow().last().cloned().unwrap_or_default();
    assert!(sql.contains("blob13 AS c0") && sql.contains("'GB'") && sql.contains("'US'") && !sql.contains("'DE'"), "{sql}");
    let names = |filter: Value| last_statement(visitors_where(json!([filter])), &[]);
    let sql = names(json!(["is", "visit:country_name", ["Estonia", "(not set)"]])).unwrap();
    assert!(sql.contains("blob13 IN ('EE', '')"), "{sql}");
    // Blanks only when "(not set)" is asked for.
    let sql = names(json!(["is", "visit:country_name", ["Estonia"]])).unwrap();
    assert!(sql.contains("blob13 IN ('EE') "), "{sql}");
    assert!(names(json!(["matches", "visit:country_name", ["("]])).is_err());
    let screen = names(json!(["is", "visit:screen", ["Mobile"]])).unwrap();
    assert_eq!(screen.replace("visit:screen", ""), names(json!(["is", "visit:device", ["Mobile"]])).unwrap());
    let city = names(json!(["is", "visit:city_name", ["Tallinn"]])).unwrap();
    assert!(city.contains("'Tallinn'"), "{city}");
    // Regions likewise, by English name; a code without one shows as stored.
    let sql = names(json!(["is_not", "visit:region_name", ["Bavaria", "(not set)"]])).unwrap();
    assert!(sql.contains("blob14 IN ('DE-BY', '')"), "{sql}");
    let sql = names(json!(["matches", "visit:region_name", ["^Californi"]])).unwrap();
    assert!(sql.contains("blob14 IN ('US-CA')"), "{sql}");
    let fake = Fake::new(vec![("GROUP BY", json!([{"c0": "DE-BY", "c1": 1}, {"c0": "XX-9", "c1": 1}, {"c0": "US-CA", "c1": 1}]))]);
    let body = json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "dimensions": ["visit:region_name"]});
    let out = run_q(&fake, body, &[]).unwrap();
    let got: Vec<&Value> = out["results"].as_array().into_iter().flatten().map(|r| &r["dimensions"][0]).collect();
    assert_eq!(got, [&json!("Bavaria"), &json!("California"), &json!("XX-9")]);
}

#[test]
#[wasm_bindgen_test]
fn time_buckets_pair_with_the_same_place_in_the_other_period_not_the_same_row() {
    // Jan 30-31 against Jan 28-29 (Berlin); each side has data on one day.
    let fake = Fake::new(vec![
        ("timestamp >= toDateTime(1706569200)", json!([{"c0": "2024-01-31", "c1": 3}])),
        ("timestamp >= toDateTime(1706396400)", json!([{"c0": "2024-01-28", "c1": 5}])),
    ]);
    let body = json!({"site_id": "demo", "metrics": ["visitors"], "date_range": ["2024-01-30", "2024-01-31"],
                      "dimensions": ["time:day"], "include": {"comparisons": {"mode": "previous_period"}}});
    let out = run_q(&fake, body, &[]).unwrap();
    // Every bucket of either period, as Plausible's; a bucket without
    // data reads zeros.
    assert_eq!(
        out["results"],
        json!([{"metrics": [0], "dimensions": ["2024-01-30"],
                "comparison": {"dimensions": ["2024-01-28"], "metrics": [5], "change": [-100]}},
               {"metrics": [3], "dimensions": ["2024-01-31"],
                "comparison": {"dimensions": ["2024-01-29"], "metrics": [0], "change": [100]}}])
    );
    // A longer comparison adds rows with no main side, a shorter one
    // leaves the main side's last rows without a comparison; a missing
    // visit duration is null (Plausible's default), so is its change.
    let fake = Fake::new(vec![
        ("double1 = 2 AND timestamp >= toDateTime(1706569200)", json!([{"c0": "2024-01-31", "c1": 3, "c2": 30}])),
        ("double1 = 2", json!([{"c0": "2024-01-28", "c1": 5, "c2": 50}])),
    ]);
    let custom = |range: Value| {
        let body = json!({"site_id": "demo", "metrics": ["visits", "visit_duration"], "date_range": ["2024-01-30", "2024-01-31"],
                          "dimensions": ["time:day"], "include": {"comparisons": {"mode": "custom", "date_range": range}}});
        run_q(&fake, body, &[]).unwrap()["results"].clone()
    };
    assert_eq!(
        custom(json!(["2024-01-26", "2024-01-28"])),
        json!([{"metrics": [0, null], "dimensions": ["2024-01-30"],
                "comparison": {"dimensions": ["2024-01-26"], "metrics": [0, null], "change": [0, null]}},
               {"metrics": [3, 10], "dimensions": ["2024-01-31"],
                "comparison": {"dimensions": ["2024-01-27"], "metrics": [0, null], "change": [100, null]}},
               {"metrics": null, "dimensions": null,
                "comparison": {"dimensions": ["2024-01-28"], "metrics": [5, 10], "change": null}}])
    );
    assert_eq!(
        custom(json!(["2024-01-28", "2024-01-28"])),
        json!([{"metrics": [0, null], "dimensions": ["2024-01-30"],
                "comparison": {"dimensions": ["2024-01-28"], "metrics": [5, 10], "change": [-100, null]}},
               {"metrics": [3, 10], "dimensions": ["2024-01-31"], "comparison": null}])
    );
    // A page of the buckets, if asked.
    let body = json!({"site_id": "demo", "metrics": ["visits"], "date_range": ["2024-01-30", "2024-01-31"], "dimensions": ["time:day"],
                      "include": {"comparisons": {"mode": "previous_period"}}, "pagination": {"limit": 1, "offset": 1}});
    let rows = run_q(&fake, body, &[]).unwrap()["results"].clone();
    assert_eq!(rows.as_array().map(|r| r.iter().map(|r| r["dimensions"].clone()).collect::<Vec<_>>()), Some(vec![json!(["2024-01-31"])]));
    let body = json!({"site_id": "demo", "metrics": ["visits"], "date_range": ["2024-01-30", "2024-01-31"], "dimensions": ["time:day"],
                      "include": {"comparisons": {"mode": "previous_period"}}, "pagination": {"limit": 5, "offset": 2}});
    assert_eq!(run_q(&fake, body, &[]).unwrap()["results"], json!([]));
}

#[test]
#[wasm_bindgen_test]
fn upstream_failures_are_not_the_callers_fault() {
    let fake = Fake::new(vec![]);
    let err = run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "filters": [["is", "event:page", ["FAIL"]]]}),
        &[],
    );
    assert_eq!(err.map_err(|e| (e.status(), e.retry_after())), Err((503, None)));
    // A statement AE turned away ends the query with AE's wait, whichever
    // of the query's statements it was.
    let err = run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["visitors", "bounce_rate"], "date_range": "7d", "dimensions": ["visit:source"],
               "filters": [["is", "event:page", ["BUSY"]]], "include": {"comparisons": {"mode": "previous_period"}}}),
        &[],
    );
    assert_eq!(err.map_err(|e| (e.status(), e.retry_after())), Err((503, Some(7))));
    // Beacon's trouble is not spelt out to the caller; a statement too
    // heavy for AE is, as only a smaller question can pass.
    assert_eq!(StatsError::Busy(7).public(), StatsError::Upstream("boom".into()).public());
    let err = run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "7d", "filters": [["is", "event:page", ["HEAVY"]]]}),
        &[],
    )
    .unwrap_err();
    assert_eq!((err.status(), err.retry_after()), (503, None));
    assert!(err.public().contains("shorter date range"), "{}", err.public());
    assert_eq!(StatsError::TooHeavy(Some(9)).retry_after(), Some(9));
}

#[test]
#[wasm_bindgen_test]
fn empty_aggregates_answer_zeros_and_labels_fill_the_period() {
    let fake = Fake::new(vec![]);
    let out = run_q(&fake, json!({"site_id": "demo", "metrics": ["visitors", "visit_duration"], "date_range": "day"}), &[]).unwrap();
    assert_eq!(out["results"], json!([{"metrics": [0, 0], "dimensions": []}]));
    let out = run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "dimensions": ["time"], "include": {"time_labels": true}}),
        &[],
    )
    .unwrap();
    // Today's hours so far (NOW is 01:00 in Berlin); a whole day has 24.
    let labels = out["meta"]["time_labels"].as_array().unwrap();
    assert_eq!((labels.len(), labels[1].as_str()), (2, Some("2024-02-01 01:00:00")));
    let out = run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["visitors"], "date_range": ["2024-01-31", "2024-01-31"], "dimensions": ["time"],
               "include": {"time_labels": true}}),
        &[],
    )
    .unwrap();
    let labels = out["meta"]["time_labels"].as_array().unwrap();
    assert_eq!((labels.len(), labels[0].as_str()), (24, Some("2024-01-31 00:00:00")));
}

#[test]
#[wasm_bindgen_test]
fn a_top_n_by_visitors_is_cut_in_sql_and_nothing_else_is() {
    let body = |extra: Value| {
        let mut b = json!({"site_id": "demo", "metrics": ["visitors", "pageviews"], "date_range": "day", "dimensions": ["event:page"],
                           "pagination": {"limit": 9, "offset": 1}});
        if let (Some(b), Value::Object(e)) = (b.as_object_mut(), extra) {
            b.extend(e);
        }
        b
    };
    let seen = statements(body(json!({})), &[]).unwrap();
    assert!(seen.first().is_some_and(|sql| sql.ends_with("ORDER BY c1 DESC, c0 ASC LIMIT 10")), "{seen:?}");
    // Anything that needs every group reads every group.
    for extra in [
        json!({"include": {"total_rows": true}}),
        json!({"order_by": [["pageviews", "desc"]]}),
        json!({"include": {"comparisons": {"mode": "previous_period"}}}),
        json!({"metrics": ["pageviews", "visitors"]}),
    ] {
        let seen = statements(body(extra.clone()), &[]).unwrap();
        assert!(seen.iter().all(|sql| sql.ends_with("LIMIT 100000")), "{extra}: {seen:?}");
    }
}

#[test]
#[wasm_bindgen_test]
fn exit_pages_count_visitors_and_match_sessions_by_their_current_state() {
    // Visits from sign rows; visitors from the nested count of visitors
    // whose signs net out positive (a page left since does not keep them).
    let fake = Fake::new(vec![
        ("count() AS surviving FROM (", json!([{"c0": "/a", "surviving": "2"}, {"c0": "/b", "surviving": 1}])),
        (
            "double1 = 2",
            json!([{"c0": "/a", "c1": 3, "c2": 30, "c3": 4}, {"c0": "/b", "c1": 1, "c2": 1, "c3": 1}, {"c0": "/gone", "c1": 0, "c2": 0, "c3": 0}]),
        ),
    ]);
    let out = run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["visitors", "visits"], "date_range": "day", "dimensions": ["visit:exit_page"]}),
        &[],
    )
    .unwrap();
    assert_eq!(out["results"], json!([{"metrics": [2, 3], "dimensions": ["/a"]}, {"metrics": [1, 1], "dimensions": ["/b"]}]));
    assert!(!fake.seen.borrow().iter().any(|sql| sql.contains("DISTINCT")), "{:?}", fake.seen.borrow());
    // Sign rows keep the exit page where events keep theirs (blob2): the
    // entry page (blob4) stands in for event:page only, and here only
    // leaves out visits without a pageview (no entry page), as Plausible's.
    assert!(
        fake.seen.borrow().iter().all(|sql| sql.contains("blob2 AS c0") && sql.matches("blob4").count() == 1 && sql.contains(BLANK_ENTRY)),
        "{:?}",
        fake.seen.borrow()
    );
    // An exit page filtering event metrics picks sessions by their current state.
    let fake = Fake::new(vec![("SELECT double5 AS c0", json!([{"c0": 7}])), ("double5 IN (7)", json!([{"c0": 1, "c1": 2}]))]);
    run_q(&fake, json!({"site_id": "demo", "metrics": ["visitors", "pageviews"], "date_range": "day", "filters": [["is", "visit:exit_page", ["/a"]]]}), &[]).unwrap();
    let seen = fake.seen.borrow();
    assert!(seen[0].contains("double1 = 2") && seen[0].contains("GROUP BY c0 HAVING sum(_sample_interval * double2) > 0"), "{}", seen[0]);
}

#[test]
#[wasm_bindgen_test]
fn page_breakdowns_leave_out_visits_without_a_pageview() {
    // Plausible's entry and exit page breakdowns skip sessions whose entry
    // page is "" (begun by a custom event, no pageview yet); others keep them.
    for (dims, metrics, kept) in [
        (json!(["visit:entry_page"]), json!(["visitors", "visits", "bounce_rate"]), false),
        (json!(["visit:exit_page"]), json!(["visits"]), false),
        (json!(["visit:source", "visit:entry_page"]), json!(["visitors"]), false),
        (json!(["visit:source"]), json!(["visitors", "visits"]), true),
        (json!(["event:page"]), json!(["visitors", "bounce_rate"]), true),
        (json!([]), json!(["visitors", "visits"]), true),
    ] {
        let fake = Fake::new(vec![]);
        let body = json!({"site_id": "demo", "metrics": metrics, "date_range": "day", "dimensions": dims});
        run_q(&fake, body, &[]).unwrap();
        let seen = fake.seen.borrow();
        assert!(!seen.is_empty());
        assert!(seen.iter().all(|sql| sql.contains(BLANK_ENTRY) != kept), "{dims}: {seen:?}");
    }
}

#[test]
#[wasm_bindgen_test]
fn event_dimensions_beside_a_session_only_one_are_a_400_not_a_misread_slot() {
    // Sign rows keep the exit page's hostname where events keep their name:
    // grouping them by event:name read hostnames as names.
    let goals = vec![Goal::event("Signup")];
    for (dims, at) in [
        (json!(["event:goal", "visit:exit_page"]), "#/dimensions/1: Dimension `visit:exit_page` cannot be combined with `event:goal`"),
        (json!(["visit:exit_page", "event:name"]), "#/dimensions/1: Dimension `event:name` cannot be combined with `visit:exit_page`"),
        (
            json!(["event:page", "visit:exit_page_hostname"]),
            "#/dimensions/1: Dimension `visit:exit_page_hostname` cannot be combined with `event:page`",
        ),
        (
            json!(["visit:entry_page_hostname", "time:day", "event:props:plan"]),
            "#/dimensions/2: Dimension `event:props:plan` cannot be combined with `visit:entry_page_hostname`",
        ),
        (
            json!(["event:hostname", "visit:exit_page"]),
            "#/dimensions/1: Dimension `visit:exit_page` cannot be combined with `event:hostname`",
        ),
    ] {
        let fake = Fake::new(vec![]);
        let body = json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "dimensions": dims});
        match run_q(&fake, body, &goals) {
            Err(StatsError::Invalid(msg)) => assert_eq!(msg, at),
            other => panic!("{dims}: {other:?}"),
        }
        assert!(fake.seen.borrow().is_empty(), "{:?}", fake.seen.borrow());
    }
    // Visit dimensions still go with the exit page.
    let fake = Fake::new(vec![("double1 = 2", json!([{"c0": "/a", "c1": "DE", "c2": 1, "c3": 1}]))]);
    let body = json!({"site_id": "demo", "metrics": ["visits"], "date_range": "day", "dimensions": ["visit:exit_page", "visit:country"]});
    assert!(run_q(&fake, body, &[]).is_ok());
}

#[test]
#[wasm_bindgen_test]
fn has_done_keeps_every_row_of_the_visits_that_did_it_and_has_not_done_the_others() {
    let did = "SELECT double5 AS c0, max(double4) AS c1 FROM EVENTS WHERE index1 = 'demo' AND double1 = 1";
    for (op, cond) in [("has_done", "double5 IN (7, 9)"), ("has_not_done", "NOT (double5 IN (7, 9))")] {
        let fake = Fake::new(vec![
            (did, json!([{"c0": 7}, {"c0": "9"}])),
            ("double1 = 1", json!([{"c0": 3, "c1": 5}])),
            ("double1 = 2", json!([{"c0": 4, "c1": 1}])),
        ]);
        let out = run_q(
            &fake,
            json!({"site_id": "demo", "metrics": ["visitors", "pageviews", "visits", "bounce_rate"], "date_range": "day",
                   "filters": [[op, ["is", "event:name", ["Signup"]]], ["is", "visit:country", ["DE"]]]}),
            &[],
        )
        .unwrap();
        assert_eq!(out["results"][0]["metrics"], json!([3, 5, 4, 25]), "{op}");
        assert_eq!(out["query"]["filters"][0], json!([op, ["is", "event:name", ["Signup"]]]), "{op}");
        let seen = fake.seen.borrow();
        // One read of the visits that did it, on event rows of the period,
        // by the inner filter alone, for both kinds of rows.
        let pre: Vec<&String> = seen.iter().filter(|sql| sql.starts_with(did)).collect();
        assert_eq!(pre.len(), 1, "{seen:#?}");
        assert!(pre[0].contains(" AND blob1 IN ('Signup') GROUP BY c0 LIMIT 100001") && !pre[0].contains("blob13"), "{}", pre[0]);
        // Then both kinds of rows of those visits (or of the others), with
        // no nested read: the ids hold on sign rows too.
        for kind in ["double1 = 1 ", "double1 = 2 "] {
            let main = seen.iter().find(|sql| sql.contains(kind) && !sql.starts_with(did)).unwrap();
            assert!(main.contains(&format!(" AND {cond} AND blob13 IN ('DE')")), "{main}");
            assert!(!main.contains("FROM (SELECT"), "{main}");
        }
    }
    // A pattern inside is matched against the event rows' values, even
    // for session metrics alone.
    let fake = Fake::new(vec![
        ("SELECT blob2 AS c0 FROM EVENTS WHERE index1 = 'demo' AND double1 = 1", json!([{"c0": "/a/longer/page"}, {"c0": "/blog/x"}])),
        (did, json!([{"c0": 7}])),
        ("double1 = 2", json!([{"c0": 1}])),
    ]);
    run_q(&fake, json!({"site_id": "demo", "metrics": ["visits"], "date_range": "day", "filters": [["has_done", ["matches", "event:page", ["^/bl[o]g"]]]]}), &[])
        .unwrap();
    let seen = fake.seen.borrow();
    assert!(seen.iter().any(|sql| sql.starts_with(did) && sql.contains("blob2 IN ('/blog/x')")), "{seen:#?}");
    assert!(seen.last().unwrap().contains("double1 = 2") && seen.last().unwrap().contains("double5 IN (7)"), "{seen:#?}");
    // Too many visits to list is the caller's 400, never a guess.
    let many: Vec<Value> = (0..=MAX_IDS).map(|i| json!({"c0": i})).collect();
    let fake = Fake::new(vec![(did, Value::Array(many))]);
    let err = run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["visits"], "date_range": "day", "filters": [["has_not_done", ["is", "event:name", ["pageview"]]]]}),
        &[],
    );
    assert!(matches!(err, Err(StatsError::Invalid(m)) if m.contains("has_done") && m.contains("narrow the date range")));
    // Exactly as many as may be listed still answer.
    let most: Vec<Value> = (0..MAX_IDS).map(|i| json!({"c0": i, "c1": i})).collect();
    let fake = Fake::new(vec![(did, Value::Array(most))]);
    let body = json!({"site_id": "demo", "metrics": ["visits"], "date_range": "day", "filters": [["has_done", ["is", "event:name", ["pageview"]]]]});
    assert!(run_q(&fake, body, &[]).is_ok());
}

#[test]
#[wasm_bindgen_test]
fn has_done_and_patterns_nested_in_and_or_not_are_resolved_and_a_column_is_read_once() {
    let did = "SELECT double5 AS c0, max(double4) AS c1 FROM EVENTS WHERE index1 = 'demo' AND double1 = 1";
    let pages = "SELECT blob2 AS c0 FROM EVENTS WHERE index1 = 'demo' AND double1 = 1";
    let names = "SELECT blob1 AS c0 FROM EVENTS WHERE index1 = 'demo' AND double1 = 1";
    let fake = Fake::new(vec![
        (pages, json!([{"c0": "/blog/x"}, {"c0": "/a"}])),
        (names, json!([{"c0": "Signup"}, {"c0": "pageview"}])),
        (did, json!([{"c0": 7}])),
    ]);
    run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["pageviews"], "date_range": "day", "filters": [["or", [
            ["and", [["has_done", ["is", "event:name", ["Signup"]]], ["is", "event:page", ["/"]]]],
            ["not", ["matches", "event:name", ["^Sign(up|in)$"]]],
            ["matches", "event:page", ["^/bl[o]g"]],
            ["matches", "event:page", ["^/(a|b)$"]]]]]}),
        &[],
    )
    .unwrap();
    let seen = fake.seen.borrow();
    // Two patterns on one column: its values are read once.
    for pre in [pages, names, did] {
        assert_eq!(seen.iter().filter(|sql| sql.starts_with(pre)).count(), 1, "{pre}: {seen:#?}");
    }
    assert_eq!(seen.len(), 4, "{seen:#?}");
    let main = seen.last().unwrap();
    // The has_done under `and` is the visits that did it, the pattern
    // under `not` its hits, negated; no leaf is left unresolved (which
    // would render as `1 = 0`).
    assert!(main.contains("(double5 IN (7) AND blob2 IN ('/'))"), "{main}");
    assert!(main.contains(" OR NOT (blob1 IN ('Signup')) OR "), "{main}");
    assert!(main.contains(" OR NOT (blob2 IN ('/a')) OR blob2 IN ('/a')"), "{main}");
    assert!(!main.contains("1 = 0"), "{main}");
}

/// Answers nothing, after yielding once; counts the reads in flight.
#[derive(Default)]
struct Slow {
    in_flight: RefCell<usize>,
    most: RefCell<usize>,
    seen: RefCell<Vec<String>>,
}

impl Runner for Slow {
    async fn rows(&self, sql: String) -> Result<Vec<Map<String, Value>>, StatsError> {
        self.seen.borrow_mut().push(sql);
        *self.in_flight.borrow_mut() += 1;
        let now = *self.in_flight.borrow();
        self.most.replace_with(|m| now.max(*m));
        let mut yielded = false;
        std::future::poll_fn(|cx| {
            if yielded {
                return std::task::Poll::Ready(());
            }
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        })
        .await;
        *self.in_flight.borrow_mut() -= 1;
        Ok(Vec::new())
    }
}

#[test]
#[wasm_bindgen_test]
fn independent_filter_pre_queries_are_sent_together() {
    // Two has_done lists and two patterns on other columns: four reads
    // that need nothing from each other go out at once.
    let slow = Slow::default();
    let q = parse(
        json!({"site_id": "demo", "metrics": ["pageviews"], "date_range": "day", "filters": [
            ["has_done", ["is", "event:name", ["Signup"]]],
            ["has_not_done", ["is", "event:name", ["Buy"]]],
            ["matches", "visit:source", ["^Go+"]],
            ["matches", "event:page", ["^/bl[o]g"]]]})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    pollster::block_on(run(&slow, &q, &site(), &[], NOW)).unwrap();
    let seen = slow.seen.borrow();
    assert_eq!(seen.len(), 5, "{seen:#?}");
    assert_eq!(*slow.most.borrow(), 4, "{seen:#?}");
}

#[test]
#[wasm_bindgen_test]
fn has_not_done_over_many_visits_lists_the_periods_other_visits() {
    // 25,000 visits did it (too many for one NOT IN), of 30,000 in the period.
    let pairs = |ids: std::ops::Range<u64>| Value::Array(ids.map(|i| json!({"c0": i, "c1": i / 2})).collect());
    let fake = Fake::new(vec![
        ("blob1 IN ('Signup') GROUP BY c0", pairs(0..25_000)),
        ("SELECT double5 AS c0, max(double4) AS c1 FROM EVENTS", pairs(0..30_000)),
        ("double1 = 1", json!([{"c0": 2, "c1": 5}])),
    ]);
    let out = run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["visitors", "pageviews"], "date_range": "day",
               "filters": [["has_not_done", ["is", "event:name", ["Signup"]]]]}),
        &[],
    )
    .unwrap();
    assert_eq!(out["results"][0]["metrics"], json!([2, 5]));
    let seen = fake.seen.borrow();
    assert_eq!(seen.len(), 3, "{seen:#?}");
    let main = &seen[2];
    assert!(main.contains(" AND double5 IN (25000, 25001, ") && main.contains(", 29999) ") && !main.contains("NOT"), "{main}");
    // A short list stays a NOT IN, with no second read.
    let fake = Fake::new(vec![("blob1 IN ('Signup') GROUP BY c0", pairs(0..3)), ("double1 = 1", json!([{"c0": 2, "c1": 5}]))]);
    run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["pageviews"], "date_range": "day", "filters": [["not", ["has_done", ["is", "event:name", ["Signup"]]]]]}),
        &[],
    )
    .unwrap();
    let seen = fake.seen.borrow();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    assert!(seen[1].contains(" AND NOT (double5 IN (0, 1, 2)) "), "{}", seen[1]);
}

#[test]
#[wasm_bindgen_test]
fn entry_and_exit_page_hostnames_read_session_rows() {
    // As dimensions: session rows only (blob3 the entry's, blob1 the exit's).
    for (dim, blob) in [("visit:entry_page_hostname", "blob3"), ("visit:exit_page_hostname", "blob1")] {
        let fake = Fake::new(vec![("double1 = 2", json!([{"c0": "blog.demo.example", "c1": 2}]))]);
        let out = run_q(&fake, json!({"site_id": "demo", "metrics": ["visits"], "date_range": "day", "dimensions": [dim]}), &[]).unwrap();
        assert_eq!(out["results"], json!([{"metrics": [2], "dimensions": ["blog.demo.example"]}]), "{dim}");
        let seen = fake.seen.borrow();
        assert!(seen.iter().all(|sql| sql.contains(&format!("{blob} AS c0")) && sql.contains("double1 = 2")), "{seen:?}");
        // Nor can metrics that need event rows beside them (as by exit page).
        let err = statements(json!({"site_id": "demo", "metrics": ["total_revenue"], "date_range": "day", "dimensions": [dim]}), &[]);
        assert!(matches!(err, Err(StatsError::Invalid(ref e)) if e.contains(dim)), "{err:?}");
    }
    // event:hostname, by contrast, counts a visit under each hostname it has events on.
    let fake = Fake::new(vec![("double1 = 1", json!([{"c0": "blog.demo.example", "c1": 3}]))]);
    let out = run_q(&fake, json!({"site_id": "demo", "metrics": ["visits"], "date_range": "day", "dimensions": ["event:hostname"]}), &[])
        .unwrap();
    assert_eq!(out["results"], json!([{"metrics": [3], "dimensions": ["blog.demo.example"]}]));
    let seen = fake.seen.borrow().clone();
    assert!(seen.iter().all(|sql| sql.contains("double1 = 1") && sql.contains("count(DISTINCT double5)")), "{seen:?}");
    // As a filter of session metrics, event:hostname keeps the visits with
    // an event there; under a breakdown by where visits came from, or by
    // exit page, the visits that entered, or left, there (as Plausible).
    let sql_of = |body: Value| statements(body, &[]);
    let host = json!([["is", "event:hostname", ["blog.demo.example"]]]);
    let seen = sql_of(json!({"site_id": "demo", "metrics": ["visits", "bounce_rate"], "date_range": "day", "filters": host})).unwrap();
    assert!(
        seen.iter().any(|sql| sql.contains("hit > 0") && sql.contains("double1 = 1 AND") && sql.contains("blob3 IN ('blog.demo.example')")),
        "{seen:?}"
    );
    for (dim, slot) in [("visit:source", "blob3"), ("visit:utm_campaign", "blob3"), ("visit:exit_page", "blob1")] {
        let body = json!({"site_id": "demo", "metrics": ["visits"], "date_range": "day", "dimensions": [dim], "filters": host});
        let seen = sql_of(body).unwrap();
        let want = format!("{slot} IN ('blog.demo.example')");
        assert!(seen.iter().all(|sql| sql.contains("double1 = 2") && sql.contains(&want) && !sql.contains("hit")), "{dim}: {seen:?}");
    }
    // Only the hostname filter moves to the entry page's hostname; the
    // others stay as they are.
    let both = json!([["is", "event:hostname", ["blog.demo.example"]], ["is", "visit:country", ["DE"]]]);
    let body = json!({"site_id": "demo", "metrics": ["visits"], "date_range": "day", "dimensions": ["visit:source"], "filters": both});
    let seen = sql_of(body).unwrap();
    assert!(seen.iter().all(|sql| sql.contains(" AND (blob3 IN ('blog.demo.example')) AND blob13 IN ('DE') ")), "{seen:?}");
    // Event metrics under such a breakdown: the events of visits that entered
    // there, by the key event rows keep of their visit's entry hostname.
    let hosts = json!([{"c0": "demo.example"}, {"c0": "blog.demo.example"}, {"c0": "shop.demo.example"}]);
    for (filter, keys) in [
        (json!(["is", "event:hostname", ["blog.demo.example"]]), format!("double16 IN ({}, 0)", hostname_key("blog.demo.example"))),
        (
            json!(["contains_not", "event:hostname", ["SHOP"], {"case_sensitive": false}]),
            format!("NOT (double16 IN ({}))", hostname_key("shop.demo.example")),
        ),
        (
            json!(["matches", "event:hostname", ["^(blog|shop)[.]"]]),
            format!("double16 IN ({}, {}, 0)", hostname_key("blog.demo.example"), hostname_key("shop.demo.example")),
        ),
    ] {
        let fake = Fake::new(vec![("SELECT blob3 AS c0", hosts.clone())]);
        // A filter on another dimension beside it narrows nothing by hostname.
        let filters = json!([filter, ["is", "visit:country", ["DE"]]]);
        let body = json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "dimensions": ["visit:utm_source"], "filters": filters});
        run_q(&fake, body, &[]).unwrap();
        let seen = fake.seen.borrow();
        let by_hostname = |sql: &&String| sql.contains("blob9 AS c0") && sql.contains(&keys) && sql.matches("double16").count() == 1;
        assert!(seen.iter().any(|sql| by_hostname(&sql)), "{keys}: {seen:?}");
    }
    // Not without a hostname filter, nor under other breakdowns.
    for body in [
        json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "dimensions": ["visit:source"]}),
        json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "dimensions": ["visit:country"], "filters": host}),
    ] {
        assert!(sql_of(body).unwrap().iter().all(|sql| !sql.contains("double16")));
    }
    // As a filter of event metrics: the matching sessions first.
    let fake = Fake::new(vec![("SELECT double5 AS c0", json!([{"c0": 7}])), ("double5 IN (7)", json!([{"c0": 1, "c1": 2}]))]);
    let body = json!({"site_id": "demo", "metrics": ["visitors", "pageviews"], "date_range": "day",
                      "filters": [["is", "visit:exit_page_hostname", ["blog.demo.example"]]]});
    run_q(&fake, body, &[]).unwrap();
    let seen = fake.seen.borrow();
    assert!(seen[0].contains("double1 = 2") && seen[0].contains("blob1 IN ('blog.demo.example')"), "{}", seen[0]);
    assert!(seen[1].contains("double1 = 1") && seen[1].contains("double5 IN (7)"), "{}", seen[1]);
}

#[test]
#[wasm_bindgen_test]
fn a_statement_too_large_for_ae_is_the_callers_400_and_never_sent() {
    // A pattern that matches half of 10,000 long paths: either list is ~400 KB.
    let paths: Vec<Value> = (0..MAX_VALUES)
        .map(|i| json!({"c0": format!("/{}/a/long/page/path/that/goes/on/and/on/and/on/for/a/while/number-{i:06}", if i % 2 == 0 { "some" } else { "else" })}))
        .collect();
    let fake = Fake::new(vec![("GROUP BY c0 LIMIT 10001", Value::Array(paths))]);
    let err = run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "filters": [["matches", "event:page", ["^/some/[a-z]"]]]}),
        &[],
    );
    assert!(matches!(&err, Err(StatsError::Invalid(m)) if m.starts_with("#/filters:") && m.contains("KB")), "{err:?}");
    assert_eq!(fake.seen.borrow().len(), 1, "only the pre-query went out");
    // Session-id chunks stay under the cap: 10,000 ids of 16 digits.
    let ids: Vec<Value> = (0..IDS_PER_QUERY).map(|i| json!({"c0": 4_503_599_627_370_000u64 + i as u64})).collect();
    let fake = Fake::new(vec![("SELECT double5 AS c0", Value::Array(ids))]);
    run_q(
        &fake,
        json!({"site_id": "demo", "metrics": ["pageviews"], "date_range": "day", "filters": [["is", "visit:exit_page", ["/x"]]]}),
        &[],
    )
    .unwrap();
    assert!(fake.seen.borrow().iter().all(|sql| sql.len() <= MAX_SQL));
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use proptest::prelude::*;

    use super::*;
    use crate::report::pattern::regex;

    const METRICS: &[&str] = &[
        "visitors",
        "visits",
        "pageviews",
        "views_per_visit",
        "bounce_rate",
        "visit_duration",
        "events",
        "percentage",
        "conversion_rate",
        "total_revenue",
        "average_revenue",
        "time_on_page",
        "scroll_depth",
    ];
    const DIMS: &[&str] = &[
        "event:page",
        "event:name",
        "event:goal",
        "event:hostname",
        "visit:source",
        "visit:device",
        "visit:exit_page",
        "visit:entry_page",
        "visit:country",
        "visit:region_name",
        "visit:exit_page_hostname",
        "time",
        "time:week",
    ];
    const OPS: &[&str] = &["is", "is_not", "contains", "contains_not", "matches", "matches_not"];

    const RANGES: &[&str] =
        &["day", "7d", "30d", "month", "12mo", "all", "2024-01-01,2024-01-31", "2024-01-31T10:00:00Z,2024-02-01T00:00:00Z"];
    /// Every column name the engine reads back.
    const KEYS: &[&str] = &["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8"];

    /// Cells AE could send back, sane or not.
    fn hostile() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            proptest::sample::select(&[0.0, -1.0, 0.5, 1e300, -1e300, f64::MAX, f64::MIN_POSITIVE][..]).prop_map(Value::from),
            "-?[0-9]{1,25}(\\.[0-9]{1,3})?(e[0-9]{1,3})?".prop_map(Value::from),
            "(2024-01-3[01]( [0-2][0-9]:00:00)?|NaN|-?inf|.{0,12})".prop_map(Value::from),
            Just(json!([1, "2"])),
            Just(json!({"c0": 1})),
        ]
    }

    /// An Analytics Engine that gives the same rows to every statement.
    struct Hostile(Vec<Map<String, Value>>);

    impl Runner for Hostile {
        async fn rows(&self, _sql: String) -> Result<Vec<Map<String, Value>>, StatsError> {
            Ok(self.0.clone())
        }
    }

    /// An independent `LIKE`: `%` any run of characters (line breaks
    /// included), `_` one character, the rest itself.
    fn like(text: &[char], pattern: &[char]) -> bool {
        match pattern.split_first() {
            None => text.is_empty(),
            Some(('%', rest)) => (0..=text.len()).any(|i| like(&text[i..], rest)),
            Some(('_', rest)) => !text.is_empty() && like(&text[1..], rest),
            Some((c, rest)) => text.first() == Some(c) && like(&text[1..], rest),
        }
    }

    proptest! {
        // The LIKE pattern matches exactly the strings the regex (as ClickHouse
        // reads it: `.` takes line breaks too) finds a match in.
        #[test]
        fn a_like_pattern_matches_what_its_regex_matches(
            pattern in "\\^?([ab/ \\n]|\\.|\\.\\*|\\\\[!-/:-@\\[-`{-~]){0,6}\\$?",
            text in "[ab/ \\n!-/:-@\\[-`{-~]{0,8}",
        ) {
            let like_of = crate::sql::like_pattern(&pattern);
            proptest::prop_assume!(like_of.is_some());
            // A pattern the regex engine refuses is a 400 before LIKE is tried.
            let re = regex(&pattern, true);
            proptest::prop_assume!(re.is_ok());
            let re = re.map_err(|e| TestCaseError::fail(e.to_string()))?;
            let chars: Vec<char> = text.chars().collect();
            let liked = like_of.unwrap_or_default().iter().any(|l| like(&chars, &l.chars().collect::<Vec<char>>()));
            proptest::prop_assert_eq!(liked, re.is_match(&text), "{:?} on {:?}", pattern, text);
        }
    }

    /// Code outside string literals (the builder's own words only).
    fn code(sql: &str) -> String {
        let mut out = String::new();
        let mut in_literal = false;
        let mut chars = sql.chars();
        while let Some(c) = chars.next() {
            match (in_literal, c) {
                (true, '\\') => {
                    chars.next();
                }
                (true, '\'') => in_literal = false,
                (true, _) => {}
                (false, '\'') => in_literal = true,
                (false, c) => out.push(c),
            }
        }
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn any_query_only_ever_reads_its_own_site(
            metrics in proptest::sample::subsequence(METRICS, 1..4),
            dims in proptest::sample::subsequence(DIMS, 0..3),
            op in proptest::sample::select(OPS),
            dim in proptest::sample::select(&["event:page", "visit:source", "visit:exit_page", "event:goal", "visit:device"][..]),
            value in ".{0,40}",
            key in ".{0,20}",
            behavioral in proptest::sample::select(&["", "has_done", "has_not_done"][..]),
        ) {
            let goals = vec![Goal::event("Signup")];
            let fake = Fake::new(vec![("c0", json!([{"c0": value.clone(), "c1": "1", "c2": 2}]))]);
            let prop = json!(["is", format!("event:props:{key}"), [value.clone()]]);
            let body = json!({
                "site_id": "demo", "metrics": metrics, "date_range": "7d", "dimensions": dims,
                "filters": [[op, dim, [value.clone()]], if behavioral.is_empty() { prop } else { json!([behavioral, prop]) }],
            });
            // Ok or a clear error; never a panic.
            // (About half the generated queries pass validation and emit SQL.)
            let _ = run_q(&fake, body, &goals);
            for sql in fake.seen.borrow().iter() {
                prop_assert!(sql.starts_with("SELECT "), "{}", sql);
                prop_assert!(sql.contains(" FROM EVENTS WHERE index1 = 'demo' AND double1 = ")
                    || sql.contains(" FROM EVENTS WHERE index1 = 'demo' AND ((double1 = 1 AND "), "{}", sql);
                let c = code(sql).to_uppercase();
                // One SELECT, or one nested as the only FROM (the surviving-visitors form).
                let selects = c.matches("SELECT").count();
                prop_assert!(selects == 1 || (selects == 2 && c.matches(" FROM (SELECT ").count() == 1), "{}", sql);
                prop_assert_eq!(c.matches("INDEX1").count(), 1, "{}", sql);
                prop_assert!(!c.contains(';') && !c.contains("--") && !c.contains("/*"), "{}", sql);
            }
        }

        #[test]
        fn any_answer_ae_gives_is_read_without_a_panic(
            metrics in proptest::sample::subsequence(METRICS, 1..5),
            dims in proptest::sample::subsequence(DIMS, 0..3),
            range in proptest::sample::select(RANGES),
            compare in proptest::sample::select(&["", "previous_period", "year_over_year"][..]),
            labels in any::<bool>(),
            offset in proptest::sample::select(&[0u64, 1, 10_000][..]),
            filter in proptest::sample::select(&["", "event:page", "event:goal", "visit:exit_page", "event:props:plan"][..]),
            rows in proptest::collection::vec(proptest::collection::btree_map(proptest::sample::select(KEYS), hostile(), 0..8), 0..6),
        ) {
            let answer = Hostile(rows.into_iter().map(|r| r.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()).collect());
            let range = match range.split_once(',') {
                Some((first, last)) => json!([first, last]),
                None => json!(range),
            };
            let mut body = json!({
                "site_id": "demo", "metrics": metrics, "date_range": range, "dimensions": dims,
                "include": {"total_rows": true, "time_labels": labels && dims.iter().any(|d| d.starts_with("time"))},
                "pagination": {"limit": 3, "offset": offset},
            });
            if !compare.is_empty() {
                body["include"]["comparisons"] = json!({"mode": compare});
            }
            if !filter.is_empty() {
                let values = if filter == "event:goal" { ["Signup", "Purchase"] } else { ["/x", "Signup"] };
                body["filters"] = json!([["is", filter, values]]);
            }
            let goals = vec![Goal::event("Signup"), Goal { currency: Some("EUR".into()), ..Goal::event("Purchase") }];
            let Ok(q) = parse(body.to_string().as_bytes()) else { return Ok(()) };
            // Ok, or an error of Beacon's (503) or the caller's (400): never a panic.
            if let Err(e) = pollster::block_on(run(&answer, &q, &site(), &goals, NOW)) {
                prop_assert!(matches!(e.status(), 400 | 503), "{e:?}");
            }
        }
    }
}

fn revenue_goals() -> Vec<Goal> {
    let eur = Goal { currency: Some("EUR".into()), ..Goal::event("Purchase") };
    let usd = Goal { currency: Some("USD".into()), ..Goal::event("Upgrade") };
    vec![eur, usd, Goal::event("Signup")]
}

#[test]
#[wasm_bindgen_test]
fn revenue_is_money_in_the_currency_of_the_goals_in_play() {
    let goals = revenue_goals();
    let fake = Fake::new(vec![
        // By goal, each goal's events, revenue and revenue events (Purchase,
        // Upgrade, Signup): only the first has revenue.
        ("AS v8", json!([{"v0": 4, "v1": 41, "v2": 2, "v6": 3}])),
        ("GROUP BY", json!([{"c0": "Purchase", "c1": 4, "c2": 41, "c3": 2}, {"c0": "Signup", "c1": 3}])),
        ("sumIf(", json!([{"c0": 4, "c1": 41, "c2": 2}])),
    ]);
    let asked = |body: Value| {
        let mut body = body;
        body["site_id"] = json!("demo");
        body["metrics"] = json!(["total_revenue", "average_revenue"]);
        body["date_range"] = json!("day");
        fake.seen.borrow_mut().clear();
        run_q(&fake, body, &goals).unwrap()
    };
    let code = |c: &str| beacon_types::Revenue { amount: 0.0, currency: c.into() }.currency_code();
    let eur = format!("sumIf(_sample_interval * double6, ((blob1 IN ('Purchase') AND double7 IN ({}))))", code("EUR"));

    // One goal in play: its revenue, in its currency, and only its events
    // with revenue in that currency.
    let out = asked(json!({"filters": [["is", "event:goal", ["Purchase"]]]}));
    assert_eq!(out["results"][0]["metrics"][0], json!({"short": "€41.0", "long": "€41.00", "value": 41.0, "currency": "EUR"}));
    assert_eq!(out["results"][0]["metrics"][1]["value"], json!(20.5));
    assert_eq!(out["meta"].get("metric_warnings"), None);
    assert!(fake.seen.borrow().iter().all(|sql| sql.contains(&eur)), "{:?}", fake.seen.borrow());

    // Goals in two currencies: null, with Plausible's warning, and no
    // revenue asked of AE.
    let out = asked(json!({"filters": [["contains", "event:goal", ["u"], {"case_sensitive": false}]]}));
    assert_eq!(out["results"][0]["metrics"], json!([null, null]));
    let warning = json!({"code": "no_single_revenue_currency",
                         "warning": "Revenue metrics are null as there are multiple currencies for the selected event:goals."});
    assert_eq!(out["meta"]["metric_warnings"], json!({"total_revenue": warning, "average_revenue": warning}));
    assert!(fake.seen.borrow().iter().all(|sql| !sql.contains("double6")), "{:?}", fake.seen.borrow());

    // Not about goals, or about goals without revenue: null.
    for body in
        [json!({}), json!({"filters": [["is", "event:name", ["Purchase"]]]}), json!({"filters": [["is", "event:goal", ["Signup"]]]})]
    {
        let out = asked(body.clone());
        assert_eq!(out["results"][0]["metrics"], json!([null, null]), "{body}");
        assert_eq!(out["meta"]["metric_warnings"]["total_revenue"]["code"], json!("no_revenue_goals_matching"), "{body}");
    }
    // Left out by a negated goal filter: the other goal's currency.
    let out = asked(json!({"filters": [["is_not", "event:goal", ["Upgrade"]]]}));
    assert_eq!(out["results"][0]["metrics"][0]["currency"], json!("EUR"));

    // By goal: each revenue goal's row in its currency, the others null.
    let out = asked(json!({"dimensions": ["event:goal"]}));
    let rows: Vec<(Value, Value)> =
        out["results"].as_array().unwrap().iter().map(|r| (r["dimensions"][0].clone(), r["metrics"][0].clone())).collect();
    assert!(rows.contains(&(json!("Purchase"), json!({"short": "€41.0", "long": "€41.00", "value": 41.0, "currency": "EUR"}))), "{rows:?}");
    assert!(rows.contains(&(json!("Signup"), Value::Null)), "{rows:?}");
    assert_eq!(out["meta"].get("metric_warnings"), None);
    // In one statement: per goal, its events (engagement events are not
    // events: their rows hold 0 in double15), and its revenue over the
    // revenue goals' events in their own currencies.
    let seen = fake.seen.borrow();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    let in_currency =
        format!("((blob1 IN ('Purchase') AND double7 IN ({})) OR (blob1 IN ('Upgrade') AND double7 IN ({})))", code("EUR"), code("USD"));
    for part in [
        "sumIf(_sample_interval * double15, blob1 IN ('Purchase'))".to_owned(),
        format!("sumIf(_sample_interval * double6, (blob1 IN ('Purchase') AND {in_currency}))"),
        format!("sumIf(_sample_interval * double6, (blob1 IN ('Signup') AND {in_currency}))"),
    ] {
        assert!(seen[0].contains(&part), "{part} in {}", seen[0]);
    }
}

#[test]
#[wasm_bindgen_test]
fn revenue_changes_are_computed_from_the_amounts() {
    let fake = Fake::new(vec![
        (">= toDateTime(1706742000)", json!([{"c0": 2, "c1": 30, "c2": 2}])),
        ("sumIf(", json!([{"c0": 2, "c1": 20, "c2": 2}])),
    ]);
    let body = json!({"site_id": "demo", "metrics": ["total_revenue"], "date_range": "day",
                      "filters": [["is", "event:goal", ["Purchase"]]], "include": {"comparisons": {"mode": "previous_period"}}});
    let out = run_q(&fake, body, &revenue_goals()).unwrap();
    let row = &out["results"][0];
    assert_eq!((&row["metrics"][0]["value"], &row["comparison"]["metrics"][0]["value"]), (&json!(30.0), &json!(20.0)));
    assert_eq!(row["comparison"]["change"], json!([50]));
}

#[test]
#[wasm_bindgen_test]
fn the_percentage_of_no_visitors_is_null() {
    let fake = Fake::new(vec![]);
    let body = json!({"site_id": "demo", "metrics": ["visitors", "percentage"], "date_range": "day"});
    assert_eq!(run_q(&fake, body, &[]).unwrap()["results"][0]["metrics"], json!([0, null]));
    let fake = Fake::new(vec![("count(DISTINCT double4)", json!([{"c0": 4}]))]);
    let body = json!({"site_id": "demo", "metrics": ["visitors", "percentage"], "date_range": "day"});
    assert_eq!(run_q(&fake, body, &[]).unwrap()["results"][0]["metrics"], json!([4, 100.0]));
}

#[test]
#[wasm_bindgen_test]
fn the_echo_names_the_include_options_set_and_imports_are_noted_absent() {
    let fake = Fake::new(vec![]);
    let body = json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day"});
    let out = run_q(&fake, body, &[]).unwrap();
    assert_eq!((&out["query"]["include"], &out["meta"]), (&json!({}), &json!({})));
    let body = json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "include": {
        "total_rows": true, "time_labels": false, "imports": true,
        "comparisons": {"mode": "custom", "date_range": ["2024-01-01", "2024-01-02"]}}});
    let out = run_q(&fake, body, &[]).unwrap();
    assert_eq!(
        out["query"]["include"],
        json!({"total_rows": true, "imports": true,
               "comparisons": {"mode": "custom", "date_range": ["2024-01-01T00:00:00+01:00", "2024-01-02T23:59:59+01:00"]}})
    );
    assert_eq!(out["meta"], json!({"total_rows": 1, "imports_included": false, "imports_skip_reason": "no_imported_data"}));
    let body = json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day",
                      "include": {"comparisons": {"mode": "year_over_year", "match_day_of_week": true}}});
    let out = run_q(&fake, body, &[]).unwrap();
    assert_eq!(out["query"]["include"], json!({"comparisons": {"mode": "year_over_year", "match_day_of_week": true}}));
}

#[test]
#[wasm_bindgen_test]
fn changes_are_plausibles() {
    let c = |m: Metric, now: Value, then: Value| change(m, &now, &then);
    // Rates: the conversion rate's difference; the bounce rate's, but none
    // from a bounce rate of 0.
    assert_eq!(c(Metric::ConversionRate, json!(12.5), json!(10.0)), json!(2.5));
    assert_eq!(c(Metric::BounceRate, json!(40), json!(50)), json!(-10));
    assert_eq!(c(Metric::BounceRate, json!(40), json!(0)), Value::Null);
    // Everything else, the group conversion rate and percentage too: the
    // percent change (Plausible's own case: 33.33 against 100.0 is -67).
    assert_eq!(c(Metric::Percentage, json!(33.33), json!(100.0)), json!(-67));
    assert_eq!(c(Metric::Percentage, json!(66.67), json!(0.0)), json!(100));
    assert_eq!(c(Metric::GroupConversionRate, json!(15.0), json!(10.0)), json!(50));
    assert_eq!(c(Metric::Visitors, json!(0), json!(0)), json!(0));
    assert_eq!(c(Metric::ScrollDepth, Value::Null, json!(3)), Value::Null);
}

#[test]
#[wasm_bindgen_test]
fn the_echo_names_time_as_resolved_and_the_default_order() {
    let fake = Fake::new(vec![]);
    let echo = |body: Value| run_q(&fake, body, &[]).unwrap()["query"].clone();
    let q = echo(json!({"site_id": "demo", "metrics": ["visitors", "visits"], "date_range": "7d", "dimensions": ["time", "visit:source"]}));
    assert_eq!(
        (&q["dimensions"], &q["order_by"]),
        (&json!(["time:day", "visit:source"]), &json!([["time:day", "asc"], ["visitors", "desc"]]))
    );
    let q = echo(json!({"site_id": "demo", "metrics": ["pageviews"], "date_range": "day", "dimensions": ["event:page"]}));
    assert_eq!((&q["dimensions"], &q["order_by"]), (&json!(["event:page"]), &json!([["pageviews", "desc"]])));
    let q = echo(
        json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "6mo", "dimensions": ["time"], "order_by": [["time", "desc"]]}),
    );
    assert_eq!((&q["dimensions"], &q["order_by"]), (&json!(["time:week"]), &json!([["time:week", "desc"]])));
}

#[test]
#[wasm_bindgen_test]
fn the_echoed_range_writes_z_for_etc_utc_alone() {
    let fake = Fake::new(vec![]);
    let q = parse(json!({"site_id": "demo", "metrics": ["visitors"], "date_range": ["2024-02-01", "2024-02-01"]}).to_string().as_bytes())
        .unwrap();
    let range = |timezone: &str| {
        let site = SiteInfo { timezone: timezone.into(), ..site() };
        pollster::block_on(run(&fake, &q, &site, &[], NOW)).unwrap()["query"]["date_range"].clone()
    };
    assert_eq!(range("Europe/Berlin"), json!(["2024-02-01T00:00:00+01:00", "2024-02-01T23:59:59+01:00"]));
    assert_eq!(range("Etc/UTC"), json!(["2024-02-01T00:00:00Z", "2024-02-01T23:59:59Z"]));
    // Any other zone at offset zero keeps its offset, `UTC` too, as Elixir
    // writes it (`Z` is for `Etc/UTC` only).
    for zero in ["UTC", "Europe/London"] {
        assert_eq!(range(zero), json!(["2024-02-01T00:00:00+00:00", "2024-02-01T23:59:59+00:00"]), "{zero}");
    }
    // Today (`day`) ends now, the second it is asked (01:00 in Berlin).
    let q = parse(json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day"}).to_string().as_bytes()).unwrap();
    let site = SiteInfo { timezone: "Europe/Berlin".into(), ..site() };
    let echo = pollster::block_on(run(&fake, &q, &site, &[], NOW)).unwrap()["query"]["date_range"].clone();
    assert_eq!(echo, json!(["2024-02-01T00:00:00+01:00", "2024-02-01T01:00:00+01:00"]));
}

#[test]
#[wasm_bindgen_test]
fn a_range_of_instants_keeps_its_last_second() {
    // Plausible reads `timestamp <= last`: the echo is the end as sent, and
    // the statement reads up to the second after it.
    let fake = Fake::new(vec![]);
    let body = json!({"site_id": "demo", "metrics": ["pageviews"], "date_range": ["2024-01-31T10:00:00Z", "2024-01-31T12:00:00Z"]});
    let out = run_q(&fake, body, &[]).unwrap();
    assert_eq!(out["query"]["date_range"], json!(["2024-01-31T11:00:00+01:00", "2024-01-31T13:00:00+01:00"]));
    let seen = fake.seen.borrow();
    assert!(seen.iter().all(|sql| sql.contains("timestamp < toDateTime(1706702401)")), "{seen:#?}");
    drop(seen);
    let body = json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "24h"});
    let out = run_q(&Fake::new(vec![]), body, &[]).unwrap();
    assert_eq!(out["query"]["date_range"], json!(["2024-01-31T01:00:00+01:00", "2024-02-01T01:00:00+01:00"]));
}

#[test]
#[wasm_bindgen_test]
fn trim_relative_date_range_ends_this_month_with_today_and_is_echoed() {
    // NOW is Feb 1, 01:00 in Berlin: this month so far is one day.
    let fake = Fake::new(vec![]);
    let body = |trim: bool| {
        json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "month", "dimensions": ["time:day"],
               "include": {"time_labels": true, "trim_relative_date_range": trim}})
    };
    let out = run_q(&fake, body(true), &[]).unwrap();
    assert_eq!(out["meta"]["time_labels"], json!(["2024-02-01"]));
    assert_eq!(out["query"]["date_range"], json!(["2024-02-01T00:00:00+01:00", "2024-02-01T23:59:59+01:00"]));
    assert_eq!(out["query"]["include"], json!({"time_labels": true, "trim_relative_date_range": true}));
    let out = run_q(&fake, body(false), &[]).unwrap();
    assert_eq!(out["meta"]["time_labels"].as_array().map(Vec::len), Some(29));
    assert_eq!(out["query"]["include"], json!({"time_labels": true}));
    let bad = json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "month", "include": {"trim_relative_date_range": 1}});
    assert!(matches!(run_q(&fake, bad, &[]), Err(StatsError::Invalid(m)) if m == "#/include/trim_relative_date_range: Must be a boolean"));
}

#[test]
#[wasm_bindgen_test]
fn all_runs_from_the_day_of_the_sites_first_data() {
    let body = json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "all", "dimensions": ["time:day"],
                      "include": {"time_labels": true}});
    // The first event at 2024-01-29T23:30:00Z, Jan 30 in Berlin.
    let fake = Fake::new(vec![("min(toUnixTimestamp(timestamp))", json!([{"c0": 1_706_571_000}]))]);
    let out = run_q(&fake, body.clone(), &[]).unwrap();
    assert_eq!(out["query"]["date_range"], json!(["2024-01-30T00:00:00+01:00", "2024-02-01T23:59:59+01:00"]));
    assert_eq!(out["meta"]["time_labels"], json!(["2024-01-30", "2024-01-31", "2024-02-01"]));
    let seen = fake.seen.borrow();
    let first = seen.first().map(String::as_str).unwrap_or_default();
    // Asked of the site's event rows within retention (92 days before today).
    assert!(
        first.starts_with("SELECT min(toUnixTimestamp(timestamp)) AS c0 FROM EVENTS WHERE index1 = 'demo' AND double1 = 1 AND timestamp >= toDateTime(1698793200)"),
        "{first}"
    );
    assert!(seen.iter().skip(1).all(|sql| sql.contains("timestamp >= toDateTime(1706569200)")), "{seen:?}");
    drop(seen);
    // v1's `time` goes by the range: days here, hours for one day.
    let mut v1 =
        parse(json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "all", "dimensions": ["time"]}).to_string().as_bytes())
            .unwrap();
    v1.from_v1 = true;
    let out = pollster::block_on(run(&fake, &v1, &site(), &[], NOW)).unwrap();
    assert_eq!(out["query"]["dimensions"], json!(["time:day"]));
    // No data yet (ClickHouse's min over no rows is 0): today alone.
    for none in [json!([{"c0": 0}]), json!([])] {
        let fake = Fake::new(vec![("min(toUnixTimestamp(timestamp))", none)]);
        let out = run_q(&fake, body.clone(), &[]).unwrap();
        assert_eq!(out["meta"]["time_labels"], json!(["2024-02-01"]));
        let out = pollster::block_on(run(&fake, &v1, &site(), &[], NOW)).unwrap();
        assert_eq!(out["query"]["dimensions"], json!(["time:hour"]));
    }
    // Since Dec 20 (six weeks): v1 goes by month once the range spans one,
    // where v2's `time` picks weeks.
    let fake = Fake::new(vec![("min(toUnixTimestamp(timestamp))", json!([{"c0": 1_703_073_600}]))]);
    let out = pollster::block_on(run(&fake, &v1, &site(), &[], NOW)).unwrap();
    assert_eq!(out["query"]["dimensions"], json!(["time:month"]));
    v1.from_v1 = false;
    let out = pollster::block_on(run(&fake, &v1, &site(), &[], NOW)).unwrap();
    assert_eq!(out["query"]["dimensions"], json!(["time:week"]));
}

#[test]
#[wasm_bindgen_test]
fn by_hour_a_visit_counts_in_every_hour_it_was_active() {
    // Plausible spreads a visit over the hours from its start (or the
    // period's) to its last event. Sign rows come grouped by the hour they
    // end in (c0) and the hour they start in (c1).
    let fake = Fake::new(vec![(
        "double1 = 2",
        json!([
            {"c0": "2024-01-31 12:00:00", "c1": "2024-01-31 10:00:00", "c2": 1, "c3": 7200},
            {"c0": "2024-01-31 11:00:00", "c1": "2024-01-31 11:00:00", "c2": 2, "c3": 60},
            // A start outside the period's hours: the visit stays where it ends.
            {"c0": "2024-01-31 15:00:00", "c1": "2024-01-30 23:00:00", "c2": 1, "c3": 0},
            // A start after the end (clocks disagreeing): likewise.
            {"c0": "2024-01-31 17:00:00", "c1": "2024-01-31 18:00:00", "c2": 1, "c3": 5},
        ]),
    )]);
    let body = json!({"site_id": "demo", "metrics": ["visits", "visit_duration"], "date_range": ["2024-01-31", "2024-01-31"],
                      "dimensions": ["time:hour"]});
    let out = run_q(&fake, body, &[]).unwrap();
    assert_eq!(
        out["results"],
        json!([
            {"dimensions": ["2024-01-31 10:00:00"], "metrics": [1, 7200]},
            {"dimensions": ["2024-01-31 11:00:00"], "metrics": [3, 2420]},
            {"dimensions": ["2024-01-31 12:00:00"], "metrics": [1, 7200]},
            {"dimensions": ["2024-01-31 15:00:00"], "metrics": [1, 0]},
            {"dimensions": ["2024-01-31 17:00:00"], "metrics": [1, 5]},
        ])
    );
    let seen = fake.seen.borrow();
    let sql = seen.iter().find(|s| s.contains("double1 = 2")).map(String::as_str).unwrap_or_default();
    // Start clamped to the period's (Berlin midnight), end capped at its last second.
    assert!(sql.contains("formatDateTime(toStartOfInterval(toDateTime(if(double11 > 1706655600000, double11, 1706655600000) / 1000), INTERVAL '1' HOUR, 'Europe/Berlin'), '%Y-%m-%d %H:00:00', 'Europe/Berlin') AS c1"), "{sql}");
    assert!(sql.contains("GROUP BY c0, c1"), "{sql}");
    drop(seen);
    // By day, a visit stays in the day it ends in: no start column.
    let body = json!({"site_id": "demo", "metrics": ["visits"], "date_range": "7d", "dimensions": ["time:day"]});
    let seen = statements(body, &[]).unwrap();
    assert!(seen.iter().all(|s| !s.contains("double11 > ")), "{seen:?}");
    // An event is in the hour it happened: event rows group by that hour
    // alone (a start column would be the same hour, read for nothing).
    let body = json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "dimensions": ["time:hour"]});
    let seen = statements(body, &[]).unwrap();
    assert!(!seen.is_empty() && seen.iter().all(|s| s.contains("double1 = 1") && s.contains(" GROUP BY c0 ORDER BY ")), "{seen:?}");
}

#[test]
#[wasm_bindgen_test]
fn goal_figures_one_statement_cannot_split_are_asked_per_goal() {
    // Engagement is per visit (a nested statement), so by goal it is still
    // one query per goal.
    let goals = vec![Goal::event("Signup"), Goal::page("/thanks")];
    let body = json!({"site_id": "demo", "metrics": ["visitors", "scroll_depth"], "date_range": "day", "dimensions": ["event:goal"],
                      "filters": [["is", "event:page", ["/thanks"]]]});
    let seen = statements(body, &goals).unwrap();
    assert!(seen.iter().all(|s| !s.contains("countIf(")), "{seen:?}");
    assert!(seen.iter().any(|s| s.contains("AND blob1 IN ('Signup')")), "{seen:?}");
    assert!(seen.iter().any(|s| s.contains("AND (blob1 IN ('pageview') AND blob2 IN ('/thanks'))")), "{seen:?}");
}

#[test]
#[wasm_bindgen_test]
fn every_visit_dimension_reads_its_own_slot_and_names_its_blanks() {
    // The slot table of beacon_types::slots, written out.
    for (dim, blob, blank) in [
        ("visit:source", "blob6", "Direct / None"),
        ("visit:referrer", "blob5", "(not set)"),
        ("visit:channel", "blob7", "(not set)"),
        ("visit:utm_medium", "blob8", "(not set)"),
        ("visit:utm_source", "blob9", "(not set)"),
        ("visit:utm_campaign", "blob10", "(not set)"),
        ("visit:utm_content", "blob11", "(not set)"),
        ("visit:utm_term", "blob12", "(not set)"),
        ("visit:country", "blob13", "(not set)"),
        ("visit:region", "blob14", "(not set)"),
        ("visit:city", "blob15", "(not set)"),
        ("visit:browser", "blob16", "(not set)"),
        ("visit:browser_version", "blob17", "(not set)"),
        ("visit:os", "blob18", "(not set)"),
        ("visit:os_version", "blob19", "(not set)"),
        ("visit:entry_page", "blob4", ""),
    ] {
        let fake = Fake::new(vec![("GROUP BY", json!([{"c0": "", "c1": 2}]))]);
        let body = json!({"site_id": "demo", "metrics": ["visits"], "date_range": "day", "dimensions": [dim]});
        let out = run_q(&fake, body, &[]).unwrap();
        let seen = fake.seen.borrow();
        assert!(seen.iter().all(|sql| sql.starts_with(&format!("SELECT {blob} AS c0,"))), "{dim}: {seen:?}");
        assert_eq!(out["results"][0]["dimensions"].as_array().and_then(|d| d.last()), Some(&json!(blank)), "{dim}: {out}");
    }
    // In an is/is_not filter, "(not set)" names a blank anywhere, and
    // "Direct / None" on the source, referrer and UTM fields only.
    let filtered = |dim: &str, value: &str| {
        let body = json!({"site_id": "demo", "metrics": ["visits"], "date_range": "day", "filters": [["is", dim, [value]]]});
        last_statement(body, &[]).unwrap()
    };
    for (dim, blob) in [("visit:source", "blob6"), ("visit:referrer", "blob5"), ("visit:utm_campaign", "blob10")] {
        let sql = filtered(dim, "Direct / None");
        assert!(sql.contains(&format!("{blob} IN ('Direct / None', '') ")), "{dim}: {sql}");
    }
    assert!(filtered("visit:browser", "Direct / None").contains("blob16 IN ('Direct / None') "));
    assert!(filtered("visit:browser", "(not set)").contains("blob16 IN ('(not set)', '') "));
}

#[test]
#[wasm_bindgen_test]
fn beside_another_dimension_a_bucket_pairs_with_the_same_value_at_the_same_place() {
    // Jan 30-31 against Jan 28-29 (Berlin), by day and source.
    let fake = Fake::new(vec![
        ("timestamp >= toDateTime(1706569200)", json!([{"c0": "2024-01-31", "c1": "Google", "c2": 3}])),
        (
            "timestamp >= toDateTime(1706396400)",
            json!([{"c0": "2024-01-29", "c1": "Google", "c2": 2}, {"c0": "2024-01-29", "c1": "Bing", "c2": 4},
                   {"c0": "2024-01-28", "c1": "Google", "c2": 7}]),
        ),
    ]);
    let body = json!({"site_id": "demo", "metrics": ["visits"], "date_range": ["2024-01-30", "2024-01-31"],
                      "dimensions": ["time:day", "visit:source"], "include": {"comparisons": {"mode": "previous_period"}}});
    let out = run_q(&fake, body, &[]).unwrap();
    // Only main rows are listed; Jan 31 is the second bucket, as Jan 29.
    assert_eq!(
        out["results"],
        json!([{"metrics": [3], "dimensions": ["2024-01-31", "Google"],
                "comparison": {"dimensions": ["2024-01-29", "Google"], "metrics": [2], "change": [50]}}])
    );
}

#[test]
#[wasm_bindgen_test]
fn a_statement_of_the_largest_size_ae_takes_is_sent() {
    assert!(fits(&"x".repeat(MAX_SQL)).is_ok());
    assert!(matches!(fits(&"x".repeat(MAX_SQL + 1)), Err(StatsError::Invalid(_))));
}

#[test]
#[wasm_bindgen_test]
fn pageviews_come_from_the_side_that_answers_them() {
    // By exit page everything is read from sign rows: their pageviews are
    // the metric.
    let fake = Fake::new(vec![
        ("surviving", json!([{"c0": "/bye", "surviving": 3}])),
        ("double14) AS c2", json!([{"c0": "/bye", "c1": 4, "c2": 9, "c3": 12}])),
    ]);
    let body = json!({"site_id": "demo", "metrics": ["visitors", "pageviews"], "date_range": "day", "dimensions": ["visit:exit_page"]});
    let out = run_q(&fake, body, &[]).unwrap();
    assert_eq!(out["results"], json!([{"metrics": [3, 9], "dimensions": ["/bye"]}]));
    // Beside event rows, the sign rows' pageviews are only views per
    // visit's numerator; the metric is the events'.
    let fake = Fake::new(vec![("double1 = 1", json!([{"c0": 20}])), ("double14) AS c1", json!([{"c0": 4, "c1": 10}]))]);
    let body = json!({"site_id": "demo", "metrics": ["pageviews", "views_per_visit"], "date_range": "day"});
    let out = run_q(&fake, body, &[]).unwrap();
    assert_eq!(out["results"], json!([{"metrics": [20, 2.5], "dimensions": []}]));
}

#[test]
#[wasm_bindgen_test]
fn time_on_page_alone_reads_the_engaged_visits() {
    let fake = Fake::new(vec![
        ("visit_engaged_ms", json!([{"c0": "/read", "visit_scroll": 150, "visit_engaged_ms": 90000, "engaged_visits": 2}])),
        ("double1 = 1", json!([{"c0": "/read", "c1": 2}])),
    ]);
    let body = json!({"site_id": "demo", "metrics": ["visitors", "time_on_page"], "date_range": "day", "dimensions": ["event:page"]});
    let out = run_q(&fake, body, &[]).unwrap();
    assert_eq!(out["results"], json!([{"metrics": [2, 45], "dimensions": ["/read"]}]));
}

#[test]
#[wasm_bindgen_test]
fn order_by_names_a_dimension_or_a_metric() {
    let fake = Fake::new(vec![("GROUP BY", json!([{"c0": "Google", "c1": 5}, {"c0": "Bing", "c1": 3}, {"c0": "DuckDuckGo", "c1": 3}]))]);
    let sources = |order: Value| {
        let body =
            json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "dimensions": ["visit:source"], "order_by": order});
        let out = run_q(&fake, body, &[]).unwrap();
        out["results"].as_array().into_iter().flatten().map(|r| r["dimensions"][0].clone()).collect::<Vec<_>>()
    };
    assert_eq!(sources(json!([["visit:source", "desc"]])), [json!("Google"), json!("DuckDuckGo"), json!("Bing")]);
    assert_eq!(sources(json!([["visitors", "asc"]])), [json!("Bing"), json!("DuckDuckGo"), json!("Google")]);
    // Ties break on the dimension as text, as Plausible's SQL orders it.
    let fake = Fake::new(vec![("GROUP BY", json!([{"c0": "9.0", "c1": 2}, {"c0": "10.0", "c1": 2}]))]);
    let body = json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "dimensions": ["visit:browser_version"]});
    let out = run_q(&fake, body, &[]).unwrap();
    assert_eq!(out["results"], json!([{"metrics": [2], "dimensions": ["10.0"]}, {"metrics": [2], "dimensions": ["9.0"]}]));
}

#[test]
#[wasm_bindgen_test]
fn a_device_code_reads_the_same_as_a_number_or_as_text() {
    let fake = Fake::new(vec![("GROUP BY", json!([{"c0": 2, "c1": 5}, {"c0": "1", "c1": 3}]))]);
    let body = json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "dimensions": ["visit:device"]});
    let out = run_q(&fake, body, &[]).unwrap();
    assert_eq!(out["results"], json!([{"metrics": [5], "dimensions": ["Mobile"]}, {"metrics": [3], "dimensions": ["Desktop"]}]));
}

#[test]
#[wasm_bindgen_test]
fn visit_averages_of_no_visits_are_zero() {
    // No visits in the period: each average is zero, as Plausible's, not
    // a division by zero.
    let fake = Fake::new(vec![("double1 = 2", json!([{"c0": 0, "c1": 0, "c2": 0, "c3": 0}]))]);
    let body = json!({"site_id": "demo", "metrics": ["visits", "bounce_rate", "visit_duration", "views_per_visit"], "date_range": "day"});
    let out = run_q(&fake, body, &[]).unwrap();
    assert_eq!(out["results"], json!([{"metrics": [0, 0, 0, 0.0], "dimensions": []}]));
}

#[test]
#[wasm_bindgen_test]
fn goals_beside_another_dimension_pair_each_group_with_each_goal() {
    let goals = vec![Goal::event("Signup"), Goal::page("/thanks")];
    // Per group: goal 0's visitors and events (v0, v1), goal 1's (v2, v3).
    let fake = Fake::new(vec![(
        "countIf(",
        json!([{"c0": "Google", "v0": 2, "v1": 5, "v2": 1, "v3": 1}, {"c0": "Bing", "v0": 0, "v1": 0, "v2": 3, "v3": 4}]),
    )]);
    let body =
        json!({"site_id": "demo", "metrics": ["visitors", "events"], "date_range": "day", "dimensions": ["visit:source", "event:goal"]});
    let out = run_q(&fake, body, &goals).unwrap();
    // A goal nobody completed in a group is no row of it.
    assert_eq!(
        out["results"],
        json!([{"metrics": [3, 4], "dimensions": ["Bing", "Visit /thanks"]},
               {"metrics": [2, 5], "dimensions": ["Google", "Signup"]},
               {"metrics": [1, 1], "dimensions": ["Google", "Visit /thanks"]}])
    );
    let seen = fake.seen.borrow();
    assert!(seen.len() == 1 && seen[0].starts_with("SELECT c0, countIf(c2 > 0) AS v0") && seen[0].contains("blob6 AS c0"), "{seen:?}");
    // With no revenue goal, revenue is null and not read at all.
    let body = json!({"site_id": "demo", "metrics": ["visitors", "total_revenue"], "date_range": "day", "dimensions": ["event:goal"]});
    let seen = statements(body, &goals).unwrap();
    assert!(seen.len() == 1 && seen[0].contains("countIf(") && !seen[0].contains("double6"), "{seen:?}");
}

#[test]
#[wasm_bindgen_test]
fn goals_too_many_for_one_statement_are_asked_one_by_one() {
    // 600 goals of 300-byte names: over the statement size AE takes at once.
    let goals: Vec<Goal> = (0..600).map(|i| Goal::event(&format!("{i:03}{}", "x".repeat(300)))).collect();
    let body = json!({"site_id": "demo", "metrics": ["visitors"], "date_range": "day", "dimensions": ["event:goal"]});
    let seen = statements(body, &goals).unwrap();
    assert_eq!(seen.len(), goals.len());
    assert!(seen.iter().all(|sql| sql.len() <= MAX_SQL && !sql.contains("countIf(")), "{}", seen.len());
}

#[test]
#[wasm_bindgen_test]
fn an_aggregates_comparison_shares_its_statements_when_the_periods_do_not_overlap() {
    let metrics = json!(["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"]);
    // Event rows grouped by period (c0: 1 for the main one); sign rows
    // summed per period: visits, bounces, duration, pageviews, main first.
    let fake = Fake::new(vec![
        ("GROUP BY c0", json!([{"c0": 1, "c1": 10, "c2": 30}, {"c0": "0", "c1": "4", "c2": 8}])),
        ("double1 = 2", json!([{"c0": 12, "c1": 6, "c2": 1200, "c3": 36, "c4": 5, "c5": 1, "c6": 500, "c7": 10}])),
    ]);
    let body = json!({"site_id": "demo", "metrics": metrics, "date_range": "7d", "include": {"comparisons": {"mode": "previous_period"}}});
    let out = run_q(&fake, body, &[]).unwrap();
    let seen = fake.seen.borrow();
    assert_eq!(seen.len(), 2, "{seen:#?}");
    // 7d is 2024-01-25 to 01-31 in Berlin (NOW is 01:00 on 02-01 there);
    // the previous period is the 7 days before. Event rows are read for
    // both and told apart by the flag; sign rows per period by sumIf.
    let (main, prev) = ("1706137200", "1705532400");
    assert!(
        seen[0].starts_with(&format!("SELECT if((timestamp >= toDateTime({main}) AND timestamp < toDateTime(1706742000)), 1, 0) AS c0")),
        "{}",
        seen[0]
    );
    assert!(seen[0].contains(&format!("timestamp >= toDateTime({prev}) AND timestamp < toDateTime({main}))) GROUP BY c0")), "{}", seen[0]);
    assert_eq!(seen[1].matches("sumIf(").count(), 8, "{}", seen[1]);
    assert_eq!(
        out["results"],
        json!([{"dimensions": [], "metrics": [10, 12, 30, 3.0, 50, 100],
                "comparison": {"dimensions": [], "metrics": [4, 5, 8, 2.0, 20, 100], "change": [150, 140, 275, 50, 30, 0]}}])
    );
    // No rows in a period: that side reads zeros, as a statement without
    // GROUP BY answers.
    let fake = Fake::new(vec![("GROUP BY c0", json!([{"c0": 1, "c1": 10, "c2": 30}]))]);
    let body = json!({"site_id": "demo", "metrics": ["visitors", "pageviews"], "date_range": "7d",
                      "include": {"comparisons": {"mode": "previous_period"}}});
    let out = run_q(&fake, body, &[]).unwrap();
    assert_eq!(out["results"][0]["comparison"]["metrics"], json!([0, 0]));
    assert_eq!(fake.seen.borrow().len(), 1);

    // Asked apart: under a filter (its pre-queries are per period), by a
    // dimension, and for periods whose events overlap.
    for (extra, sent) in [
        (json!({"filters": [["is", "visit:country", ["DE"]]]}), 4),
        (json!({"dimensions": ["visit:country"], "metrics": ["visitors", "pageviews", "bounce_rate"]}), 4),
        (
            json!({"date_range": ["2024-01-10", "2024-01-20"], "include": {"comparisons": {"mode": "custom", "date_range": ["2024-01-15", "2024-01-25"]}}}),
            4,
        ),
        (json!({"include": {"comparisons": {"mode": "year_over_year"}}}), 2),
        (
            json!({"date_range": ["2024-01-10", "2024-01-12"], "include": {"comparisons": {"mode": "custom", "date_range": ["2024-01-20", "2024-01-25"]}}}),
            2,
        ),
    ] {
        let mut body =
            json!({"site_id": "demo", "metrics": metrics, "date_range": "7d", "include": {"comparisons": {"mode": "previous_period"}}});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        assert_eq!(statements(body, &[]).unwrap().len(), sent, "{extra}");
    }
}

#[test]
#[wasm_bindgen_test]
fn current_visitors_counts_the_last_five_minutes_without_engagement() {
    let fake = Fake::new(vec![("count(DISTINCT", json!([{"c0": "3"}]))]);
    let site = SiteId::parse("demo").unwrap();
    assert_eq!(pollster::block_on(current_visitors(&fake, &site, NOW + 999)), Ok(3));
    let seen = fake.seen.borrow();
    let sql = seen.first().unwrap();
    // Site first; the five minutes up to and including this second.
    let to = NOW / 1000 + 1;
    assert!(sql.starts_with("SELECT count(DISTINCT double4) AS c0 FROM EVENTS WHERE index1 = 'demo' AND "), "{sql}");
    assert!(sql.contains(&format!("timestamp >= toDateTime({}) AND timestamp < toDateTime({to})", to - 300)), "{sql}");
    assert!(sql.ends_with("AND NOT (blob1 IN ('engagement'))"), "{sql}");
    assert_eq!(seen.len(), 1);
}

#[test]
#[wasm_bindgen_test]
fn current_visitors_are_an_error_when_ae_answers_no_count() {
    let site = SiteId::parse("demo").unwrap();
    for rows in [json!([]), json!([{"c0": "x"}]), json!([{"c0": -1}]), json!([{"c0": 1.5}]), json!([{"c1": 2}])] {
        let fake = Fake::new(vec![("count(DISTINCT", rows.clone())]);
        let got = pollster::block_on(current_visitors(&fake, &site, NOW));
        assert!(matches!(got, Err(StatsError::Upstream(_))), "{rows} {got:?}");
    }
    let fake = Fake::new(vec![("count(DISTINCT", json!([{"c0": 0}]))]);
    assert_eq!(pollster::block_on(current_visitors(&fake, &site, NOW)), Ok(0));
}

#[test]
#[wasm_bindgen_test]
fn rates_and_averages_round_ties_to_even_as_plausibles_sql_does() {
    // ClickHouse's `round` on a Float64 (checked against chDB): 12.5 is 12,
    // 13.5 is 14, and scaled values tie the same way.
    let raw = |pairs: &[(Raw, f64)]| pairs.iter().copied().collect::<BTreeMap<Raw, f64>>();
    let eight_visits = raw(&[(Raw::SessionVisits, 8.0), (Raw::Bounces, 1.0), (Raw::Duration, 100.0), (Raw::SessionPageviews, 9.0)]);
    assert_eq!(metric_number(Metric::BounceRate, &eight_visits), 12.0);
    assert_eq!(metric_number(Metric::VisitDuration, &eight_visits), 12.0);
    assert_eq!(metric_number(Metric::ViewsPerVisit, &eight_visits), 1.12);
    let odd = raw(&[(Raw::SessionVisits, 8.0), (Raw::Bounces, 3.0), (Raw::Duration, 108.0), (Raw::SessionPageviews, 11.0)]);
    assert_eq!(metric_number(Metric::BounceRate, &odd), 38.0);
    assert_eq!(metric_number(Metric::VisitDuration, &odd), 14.0);
    assert_eq!(metric_number(Metric::ViewsPerVisit, &odd), 1.38);
    // A share of 1 in 16 is 6.25%: 6.2; 5 in 16 is 31.25%: 31.2.
    assert_eq!(metric_number(Metric::Percentage, &raw(&[(Raw::Share, 1.0 / 16.0)])), 6.2);
    assert_eq!(metric_number(Metric::Percentage, &raw(&[(Raw::Share, 5.0 / 16.0)])), 31.2);
    // Conversion rates to two places: 1 in 800 is 0.125%: 0.12; 2 in 3: 66.67.
    assert_eq!(metric_number(Metric::ConversionRate, &raw(&[(Raw::Converted, 1.0 / 800.0)])), 0.12);
    assert_eq!(metric_number(Metric::GroupConversionRate, &raw(&[(Raw::GroupConverted, 2.0 / 3.0)])), 66.67);
    // Deepest scrolls of 40 and 45: 42.5 is 42.
    let scrolled = raw(&[(Raw::ScrollSum, 85.0), (Raw::EngagedVisits, 2.0)]);
    assert_eq!(metric_number(Metric::ScrollDepth, &scrolled), 42.0);
}
