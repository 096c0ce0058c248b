use serde_json::json;

use super::*;

fn err(body: &str) -> String {
    match parse(body.as_bytes()) {
        Err(StatsError::Invalid(m)) => m,
        other => panic!("expected an error for {body}, got {other:?}"),
    }
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn a_full_query_parses() {
    let q = parse(
        br#"{"site_id":"demo.example","metrics":["visitors","pageviews"],"date_range":["2024-01-01","2024-01-31"],
            "dimensions":["visit:country","event:props:plan","time:day"],
            "filters":[["is","visit:browser",["Firefox","Chrome"]],["or",[["contains","event:page",["/blog"],{"case_sensitive":false}],["not",["matches","visit:source",["^Goo"]]]]]],
            "order_by":[["visitors","desc"],["visit:country","asc"]],"include":{"total_rows":true,"imports":false},
            "pagination":{"limit":100,"offset":200}}"#,
    )
    .unwrap();
    assert_eq!(q.site_id, "demo.example");
    assert_eq!(q.metrics, vec![Metric::Visitors, Metric::Pageviews]);
    assert_eq!(q.date_range, DateRange::Dates("2024-01-01".into(), "2024-01-31".into()));
    assert_eq!(q.dimensions.len(), 3);
    assert_eq!(q.filters.len(), 2);
    assert!(matches!(&q.filters[1], Filter::Or(parts) if parts.len() == 2));
    assert_eq!(q.order_by, vec![("visitors".into(), true), ("visit:country".into(), false)]);
    assert!(q.total_rows && !q.time_labels);
    assert_eq!((q.limit, q.offset), (100, 200));
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn every_named_range_and_datetimes() {
    // The issue's names, and any number of days or months (Plausible's `3d`, `3mo`).
    for r in ["day", "24h", "7d", "28d", "30d", "91d", "month", "6mo", "12mo", "year", "all", "3d", "14d", "3mo"] {
        let q = parse(format!(r#"{{"site_id":"s","metrics":["visits"],"date_range":"{r}"}}"#).as_bytes()).unwrap();
        assert_eq!(q.date_range, DateRange::Named(r.into()));
    }
    for r in ["0d", "5001d", "101mo", "week", "today"] {
        let m = parse(format!(r#"{{"site_id":"s","metrics":["visits"],"date_range":"{r}"}}"#).as_bytes()).err();
        assert!(matches!(m, Some(StatsError::Invalid(m)) if m.starts_with("#/date_range: Invalid date range")), "{r}");
    }
    let q = parse(br#"{"site_id":"s","metrics":["visits"],"date_range":["2024-01-01T10:00:00+02:00","2024-01-01T12:00:00Z"]}"#).unwrap();
    assert!(matches!(q.date_range, DateRange::DateTimes(..)));
    let q = parse(br#"{"site_id":"s","metrics":["visits"],"date_range":{"start":"2024-01-01","end":"2024-01-02"}}"#).unwrap();
    assert_eq!(q.date_range, DateRange::Dates("2024-01-01".into(), "2024-01-02".into()));
    // A pair is exactly two: a third item or key is refused, not dropped.
    for bad in [
        r#"{"start":"2024-01-01"}"#,
        r#"{"start":"2024-01-01","to":"2024-01-02"}"#,
        r#"{"start":1,"end":2}"#,
        r#"{"start":"2024-01-01","end":"2024-01-02","tz":"UTC"}"#,
        r#"["2024-01-01","2024-01-02","2024-01-03"]"#,
        r#"["2024-01-01"]"#,
        // A date beside a date-time is neither kind of pair.
        r#"["2024-01-01","2024-01-01T12:00:00Z"]"#,
        r#"["2024-01-01T12:00:00Z","2024-01-02"]"#,
        // RFC 3339 date-times only (the schema's `date-time` format): a
        // space for the `T`, no seconds, or text after them is refused.
        r#"["2024-01-01 10:00:00Z","2024-01-01 12:00:00Z"]"#,
        r#"["2024-01-01T10:00Z","2024-01-01T12:00Z"]"#,
        r#"["2024-01-01T10:00:00 UTC","2024-01-01T12:00:00 UTC"]"#,
    ] {
        let got = parse(format!(r#"{{"site_id":"s","metrics":["visits"],"date_range":{bad}}}"#).as_bytes());
        assert!(matches!(got, Err(StatsError::Invalid(ref m)) if m.starts_with("#/date_range: Invalid date range")), "{bad}: {got:?}");
    }
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn a_property_name_is_one_to_300_bytes() {
    let with = |dim: &str| {
        let body =
            format!(r#"{{"site_id":"s","metrics":["visits"],"date_range":"7d","dimensions":["{dim}"],"filters":[["is","{dim}",["x"]]]}}"#);
        parse(body.as_bytes())
    };
    let at_most = format!("event:props:{}", "k".repeat(300));
    assert!(with(&at_most).is_ok());
    for bad in ["event:props:".to_string(), format!("{at_most}k")] {
        let got = with(&bad);
        assert!(matches!(got, Err(StatsError::Invalid(ref m)) if m.contains("Invalid dimension")), "{got:?}");
    }
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn errors_point_at_the_bad_part() {
    let base = r#""site_id":"s","date_range":"7d""#;
    assert_eq!(err(&format!(r#"{{{base},"metrics":["visitors","baa"]}}"#)), "#/metrics/1: Invalid metric \"baa\"");
    assert_eq!(err(&format!(r#"{{{base},"metrics":[]}}"#)), "#/metrics: Required non-empty array");
    assert_eq!(err(&format!(r#"{{{base},"metrics":["visits","visits"]}}"#)), "#/metrics/1: Metric \"visits\" is given twice");
    assert_eq!(err(&format!(r#"{{{base},"metrics":["visits"],"extra":1}}"#)), "#: Unknown key \"extra\"");
    // Empty, not a string, or missing.
    for site in [r#""site_id":"","#, r#""site_id":1,"#, r#""site_id":null,"#, ""] {
        assert_eq!(err(&format!(r#"{{{site}"metrics":["visits"],"date_range":"7d"}}"#)), "#/site_id: Required string", "{site}");
    }
    assert_eq!(err(r#"{"site_id":"s","metrics":["visits"],"date_range":"8w"}"#), "#/date_range: Invalid date range \"8w\"");
    assert_eq!(
        err(r#"{"site_id":"s","metrics":["visits"],"date_range":["2024-02-01","2024-01-01"]}"#),
        "#/date_range: Start date must not be after end date"
    );
    assert_eq!(err(r#"{"site_id":"s","metrics":["visits"],"date_range":["2024-13-01","2024-01-01"]}"#), "#/date_range: Invalid date range");
    // Not a day of the calendar, though later than its end as text.
    assert_eq!(err(r#"{"site_id":"s","metrics":["visits"],"date_range":["2024-02-30","2024-01-31"]}"#), "#/date_range: Invalid date range");
    assert_eq!(err(r#"{"site_id":"s","metrics":["visits"],"date_range":["2023-02-29","2023-03-31"]}"#), "#/date_range: Invalid date range");
    assert_eq!(
        err(&format!(r#"{{{base},"metrics":["visits"],"dimensions":["visit:nope"]}}"#)),
        "#/dimensions/0: Invalid dimension \"visit:nope\""
    );
    assert_eq!(
        err(&format!(r#"{{{base},"metrics":["visits"],"filters":[["equals","visit:os",["x"]]]}}"#)),
        "#/filters/0/0: Invalid filter operator \"equals\""
    );
    assert_eq!(
        err(&format!(r#"{{{base},"metrics":["visits"],"filters":[["is","visit:os",["x",1.5]]]}}"#)),
        "#/filters/0/2/1: Must be a string of at most 2000 bytes"
    );
    // As in Plausible, integers are no values but city ids, which Beacon
    // does not keep: a clear 400, not a silent zero.
    assert_eq!(
        err(&format!(r#"{{{base},"metrics":["visits"],"filters":[["is","event:props:id",["x",7]]]}}"#)),
        "#/filters/0/2/1: Must be a string of at most 2000 bytes"
    );
    assert_eq!(
        err(&format!(r#"{{{base},"metrics":["visits"],"filters":[["is","visit:city",[2950159]]]}}"#)),
        "#/filters/0/2/0: visit:city takes city names here, not GeoNames ids"
    );
    assert_eq!(
        err(&format!(r#"{{{base},"metrics":["visits"],"filters":[["is_not","visit:country",["DE","Germany"]]]}}"#)),
        "#/filters/0/2/1: visit:country needs to be a valid 2-letter country code"
    );
    // The blank's names, and other operators, pass.
    for f in [
        r#"["is","visit:country",["DE","(not set)",""]]"#,
        r#"["contains","visit:country",["D"]]"#,
        r#"["is","visit:country_name",["Germany"]]"#,
    ] {
        assert!(parse(format!(r#"{{{base},"metrics":["visits"],"filters":[{f}]}}"#).as_bytes()).is_ok(), "{f}");
    }
    assert_eq!(
        err(&format!(r#"{{{base},"metrics":["visits"],"filters":[["is","time:day",["x"]]]}}"#)),
        "#/filters/0/1: Time dimensions cannot be filtered"
    );
    assert_eq!(
        err(&format!(r#"{{{base},"metrics":["visits"],"order_by":[["pageviews","desc"]]}}"#)),
        "#/order_by/0: Invalid order_by entry \"pageviews\": not among the query's metrics or dimensions"
    );
    assert_eq!(
        err(&format!(r#"{{{base},"metrics":["visits"],"pagination":{{"limit":10001}}}}"#)),
        "#/pagination/limit: Must be 1 to 10000"
    );
    assert_eq!(
        err(&format!(r#"{{{base},"metrics":["visits"],"pagination":{{"limit":-1}}}}"#)),
        "#/pagination/limit: Must be a non-negative integer"
    );
    assert_eq!(err(r#"{"metrics":["visits"],"date_range":"7d"}"#), "#/site_id: Required string");
    assert_eq!(err("[]"), "#: Request body must be a JSON object");
    assert_eq!(err("{\"a\":"), "#: Request body must be a JSON object");
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn hostile_filter_trees_are_bounded() {
    let mut deep = r#"["is","visit:os",["x"]]"#.to_owned();
    for _ in 0..20 {
        deep = format!(r#"["not",{deep}]"#);
    }
    let m = err(&format!(r#"{{"site_id":"s","metrics":["visits"],"date_range":"7d","filters":[{deep}]}}"#));
    assert!(m.contains("nest at most"), "{m}");
    let many: Vec<String> = (0..65).map(|i| format!(r#"["is","visit:os",["{i}"]]"#)).collect();
    let m = err(&format!(r#"{{"site_id":"s","metrics":["visits"],"date_range":"7d","filters":[["and",[{}]]]}}"#, many.join(",")));
    assert_eq!(m, "#/filters: At most 64 filters");
    // SQL metacharacters are just values here; the escaper handles them later.
    let q = parse(br#"{"site_id":"s","metrics":["visits"],"date_range":"7d","filters":[["is","visit:os",["' OR 1=1 --","\\'\u0000"]]]}"#)
        .unwrap();
    assert!(matches!(&q.filters[0], Filter::Leaf { values, .. } if values[0] == "' OR 1=1 --"));
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn behavioral_filters_take_event_dimensions_unnested_as_plausibles_do() {
    let body = |filters: &str, metrics: &str| format!(r#"{{"site_id":"s","metrics":[{metrics}],"date_range":"7d","filters":[{filters}]}}"#);
    let q = parse(
        body(r#"["has_done",["is","event:goal",["Signup"]]],["not",["has_not_done",["and",[["is","event:page",["/a"]],["contains","event:props:k",["v"]]]]]]"#, r#""visits""#)
            .as_bytes(),
    )
    .unwrap();
    assert!(matches!(&q.filters[0], Filter::HasDone(inner) if matches!(**inner, Filter::Leaf { .. })));
    assert!(matches!(&q.filters[1], Filter::Not(inner) if matches!(**inner, Filter::HasNotDone(_))));
    // Echoed as given.
    assert_eq!(
        q.filters[1].to_json(),
        serde_json::json!(["not", ["has_not_done", ["and", [["is", "event:page", ["/a"]], ["contains", "event:props:k", ["v"]]]]]])
    );
    // A goal or hostname inside counts as neither top-level nor nested:
    // it picks visits, not the rows counted.
    assert!(parse(
        body(r#"["or",[["has_done",["is","event:hostname",["a.example"]]],["is","visit:os",["x"]]]]"#, r#""visits""#).as_bytes()
    )
    .is_ok());
    let nested = "#/filters: Invalid filters. Behavioral filters (has_done, has_not_done) cannot be nested.";
    assert_eq!(err(&body(r#"["has_done",["has_not_done",["is","event:name",["x"]]]]"#, r#""visits""#)), nested);
    assert_eq!(err(&body(r#"["has_done",["not",["has_done",["is","event:name",["x"]]]]]"#, r#""visits""#)), nested);
    assert_eq!(
        err(&body(r#"["has_not_done",["or",[["is","event:name",["x"]],["is","visit:country",["DE"]]]]]"#, r#""visits""#)),
        "#/filters: Invalid filters. Behavioral filters (has_done, has_not_done) can only be used with event dimension filters."
    );
    for short in [r#"["has_done"]"#, r#"["has_done",["is","event:name",["x"]],1]"#, r#"["has_not_done",[]]"#] {
        assert!(err(&body(short, r#""visits""#)).starts_with("#/filters/0"), "{short}");
    }
    // A goal inside does not make a conversion rate's goal; a property
    // inside is not top-level for its denominator.
    assert_eq!(
        err(&body(r#"["has_done",["is","event:goal",["Signup"]]]"#, r#""conversion_rate""#)),
        "#/metrics/0: Metric `conversion_rate` can only be queried with event:goal filters or dimensions."
    );
    assert!(err(&body(r#"["is","event:goal",["Signup"]],["has_done",["is","event:props:k",["v"]]]"#, r#""conversion_rate""#))
        .contains("custom property filters can only be used on top level"));
    // Each is one more read: a query takes a bounded number.
    let many = |n: usize| vec![r#"["has_not_done",["is","event:name",["x"]]]"#; n].join(",");
    assert!(parse(body(&many(MAX_BEHAVIORAL), r#""visits""#).as_bytes()).is_ok());
    assert_eq!(err(&body(&many(MAX_BEHAVIORAL + 1), r#""visits""#)), "#/filters: At most 8 has_done or has_not_done filters");
    // A page inside does not stop views per visit.
    assert!(parse(body(r#"["has_done",["is","event:page",["/a"]]]"#, r#""views_per_visit""#).as_bytes()).is_ok());
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn time_on_page_takes_a_page_as_plausibles_does() {
    let q = |extra: &str| format!(r#"{{"site_id":"s","metrics":["visitors","time_on_page"],"date_range":"7d"{extra}}}"#);
    let refused = "#/metrics/1: Metric `time_on_page` can only be queried with event:page filters or dimensions.";
    assert_eq!(err(&q("")), refused);
    assert_eq!(err(&q(r#","dimensions":["visit:source"]"#)), refused);
    // Nor does a page inside a behavioral filter make one.
    assert_eq!(err(&q(r#","filters":[["has_done",["is","event:page",["/a"]]]]"#)), refused);
    for ok in [
        r#","dimensions":["event:page"]"#,
        r#","filters":[["is","event:page",["/a"]]]"#,
        r#","filters":[["or",[["is","event:page",["/a"]],["is","visit:os",["x"]]]]]"#,
    ] {
        assert!(parse(q(ok).as_bytes()).is_ok(), "{ok}");
    }
}

#[cfg(not(target_arch = "wasm32"))]
proptest::proptest! {
    #[test]
    fn arbitrary_bodies_never_panic(body in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        let _ = parse(&body);
    }

    #[test]

    fn arbitrary_json_values_in_every_field_never_panic(s in "\\PC{0,40}", n in proptest::num::i64::ANY) {
        for body in [
            serde_json::json!({"site_id": s, "metrics": [s], "date_range": [s, s], "dimensions": [s], "filters": [[s, s, [s]]], "order_by": [[s, s]], "pagination": {"limit": n}}),
            serde_json::json!({"site_id": n, "metrics": n, "date_range": n, "filters": [[n]], "include": {s.clone(): n}}),
        ] {
            let _ = parse(body.to_string().as_bytes());
        }
    }
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn filter_limits_admit_their_own_size_and_refuse_one_more() {
    let with = |filters: Value| {
        parse(json!({"site_id": "s", "metrics": ["visits"], "date_range": "7d", "filters": filters}).to_string().as_bytes())
    };
    let leaf = json!(["is", "visit:os", ["x"]]);
    // Depth: a top-level filter is 1 deep, each `not` one more.
    let nested = |n: usize| (0..n).fold(leaf.clone(), |f, _| json!(["not", f]));
    assert!(with(json!([nested(MAX_FILTER_DEPTH - 1)])).is_ok());
    assert!(with(json!([nested(MAX_FILTER_DEPTH)])).is_err());
    // `and`, `or` and behavioral filters nest one level each too.
    let deep = |f: Result<Query, StatsError>| matches!(f, Err(StatsError::Invalid(ref m)) if m.contains("nest at most"));
    for op in ["and", "or"] {
        let nested = |n: usize| (0..n).fold(leaf.clone(), |f, _| json!([op, [f]]));
        assert!(with(json!([nested(MAX_FILTER_DEPTH - 1)])).is_ok(), "{op}");
        assert!(deep(with(json!([nested(MAX_FILTER_DEPTH)]))), "{op}");
    }
    let event = json!(["is", "event:name", ["a"]]);
    let done = |n: usize| json!([["has_done", (0..n).fold(event.clone(), |f, _| json!(["not", f]))]]);
    assert!(with(done(MAX_FILTER_DEPTH - 2)).is_ok());
    assert!(deep(with(done(MAX_FILTER_DEPTH - 1))));
    // Leaves across the whole tree.
    let leaves = |n: usize| json!([["or", vec![leaf.clone(); n]]]);
    assert!(with(leaves(MAX_FILTERS)).is_ok());
    assert!(with(leaves(MAX_FILTERS + 1)).is_err());
    // Behavioral filters.
    let done = |n: usize| json!(vec![json!(["has_done", ["is", "event:name", ["a"]]]); n]);
    assert!(with(done(MAX_BEHAVIORAL)).is_ok());
    assert!(with(done(MAX_BEHAVIORAL + 1)).is_err());
    // Values per leaf, and bytes per value.
    let values = |n: usize, len: usize| json!([["is", "visit:os", vec!["v".repeat(len); n]]]);
    assert!(with(values(1000, 1)).is_ok() && with(values(1, 2000)).is_ok());
    assert!(with(values(1001, 1)).is_err() && with(values(1, 2001)).is_err() && with(values(0, 1)).is_err());
    // Logical operators take exactly one operand (a list for and/or).
    for bad in [json!(["and", [leaf], [leaf]]), json!(["or", [leaf], 1]), json!(["not", leaf, leaf]), json!(["has_done", leaf, leaf])] {
        assert!(with(json!([bad])).is_err(), "{bad}");
    }
    // Any integer on visit:city is a GeoNames id, negative ones too.
    let city = with(json!([["is", "visit:city", [-5]]]));
    assert!(matches!(city, Err(StatsError::Invalid(ref m)) if m.contains("GeoNames")), "{city:?}");
}

#[test]
#[wasm_bindgen_test::wasm_bindgen_test]
fn metrics_filters_and_dimensions_go_together_as_in_plausible() {
    let body = |metrics: &str, dims: &str, filters: &str| {
        format!(r#"{{"site_id":"s","metrics":[{metrics}],"date_range":"7d","dimensions":[{dims}],"filters":[{filters}]}}"#)
    };
    let ok = |b: String| assert!(parse(b.as_bytes()).is_ok(), "{b}");
    // Goals and hostnames are filtered at the top level only; other
    // dimensions nest.
    let or = |leaf: &str| format!(r#"["or",[{leaf},["is","visit:country",["DE"]]]]"#);
    for d in ["event:goal", "event:hostname"] {
        let leaf = format!(r#"["is","{d}",["x"]]"#);
        ok(body(r#""visitors""#, "", &leaf));
        assert_eq!(
            err(&body(r#""visitors""#, "", &or(&leaf))),
            format!("#/filters: Invalid filters. Dimension `{d}` can only be filtered at the top level.")
        );
    }
    ok(body(r#""visitors""#, "", &or(r#"["is","event:page",["/a"]]"#)));
    // Scroll depth needs the page as a dimension or a top-level filter.
    let scroll = "#/metrics/1: Metric `scroll_depth` can only be queried with event:page filters or dimensions.";
    assert_eq!(err(&body(r#""visitors","scroll_depth""#, "", "")), scroll);
    assert_eq!(err(&body(r#""visitors","scroll_depth""#, "", &or(r#"["is","event:page",["/a"]]"#))), scroll);
    ok(body(r#""visitors","scroll_depth""#, r#""event:page""#, ""));
    ok(body(r#""visitors","scroll_depth""#, "", r#"["is","event:page",["/a"]]"#));
    // Views per visit: neither a page filter nor a dimension other than time.
    assert_eq!(
        err(&body(r#""views_per_visit""#, "", r#"["is","event:page",["/a"]]"#)),
        "#/metrics/0: Metric `views_per_visit` cannot be queried with a filter on `event:page`."
    );
    assert_eq!(
        err(&body(r#""views_per_visit""#, r#""visit:source""#, "")),
        "#/metrics/0: Metric `views_per_visit` cannot be queried with `dimensions`."
    );
    ok(body(r#""views_per_visit""#, "", r#"["is","visit:source",["Google"]]"#));
    // By time it is answered, as Plausible's current API allows.
    ok(body(r#""views_per_visit""#, r#""time:day""#, ""));
    ok(body(r#""views_per_visit""#, r#""time""#, ""));
    assert_eq!(
        err(&body(r#""views_per_visit""#, r#""time:day","visit:source""#, "")),
        "#/metrics/0: Metric `views_per_visit` cannot be queried with `dimensions`."
    );
    // Session metrics go with visit dimensions and the page, no other event one.
    assert_eq!(
        err(&body(r#""bounce_rate","visit_duration","visitors""#, r#""event:name""#, "")),
        "#/metrics: Session metric(s) `bounce_rate, visit_duration` cannot be queried along with event dimensions."
    );
    ok(body(r#""bounce_rate""#, r#""event:page""#, ""));
    ok(body(r#""bounce_rate""#, r#""visit:source""#, ""));
    // A page of the largest size is allowed.
    let page = format!(r#"{{"site_id":"s","metrics":["visits"],"date_range":"7d","pagination":{{"limit":{MAX_LIMIT}}}}}"#);
    assert_eq!(parse(page.as_bytes()).map(|q| q.limit).ok(), Some(MAX_LIMIT));
}

#[cfg(not(target_arch = "wasm32"))]
mod properties {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;
    use crate::report::{NoRows, SiteInfo};

    /// Words the v2 body is made of, and some it is not (the empty one
    /// comes from any text).
    const WORDS: &str = "event:page event:goal event:name event:hostname event:props:plan event:props: visit:source visit:country
        visit:city visit:exit_page visit:entry_page visit:region_name time time:hour time:day time:week time:month time:minute
        is is_not contains contains_not matches matches_not matches_wildcard and or not has_done has_not_done segment
        case_sensitive asc desc day 24h 7d 30d 0d month 6mo 12mo year all 2024-01-01 2024-01-31 2024-02-30
        2024-01-31T10:00:00Z 2024-01-31T10:00:00+14:00 mode previous_period year_over_year custom match_day_of_week
        date_range total_rows time_labels imports comparisons trim_relative_date_range limit offset Signup ( ^/x$ DE";
    const DIMENSIONS: &str = "event:page event:goal event:name event:hostname event:props:plan visit:source visit:country
        visit:city visit:exit_page visit:entry_page visit:region_name time time:hour time:day time:week";
    const OPERATORS: &str = "is is_not contains contains_not matches matches_not";

    fn words(list: &'static str) -> Vec<&'static str> {
        list.split_whitespace().collect()
    }

    /// Every metric name the parser knows.
    fn metrics() -> Vec<&'static str> {
        METRICS.iter().map(|(name, _)| *name).collect()
    }

    /// Any word at all: the body's words and the metrics.
    fn any_word() -> impl Strategy<Value = Value> {
        proptest::sample::select([words(WORDS), metrics()].concat()).prop_map(Value::from)
    }

    /// Any JSON, its strings mostly the body's own words.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            1 => Just(Value::Null),
            1 => any::<bool>().prop_map(Value::from),
            1 => proptest::sample::select(&[0i64, 1, -1, 2, 10_000, 10_001, i64::MAX, i64::MIN][..]).prop_map(Value::from),
            1 => any::<f64>().prop_map(Value::from),
            4 => any_word(),
            1 => "\\PC{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 48, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map(any_word().prop_map(|w| w.as_str().unwrap_or_default().to_owned()), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// One of `words`, or now and then any JSON.
    fn word_or_any(words: Vec<&'static str>) -> impl Strategy<Value = Value> {
        prop_oneof![40 => proptest::sample::select(words).prop_map(Value::from), 1 => json_value()]
    }

    /// A filter tree from the v2 grammar, with any JSON now and then.
    fn filter_tree() -> impl Strategy<Value = Value> {
        let values = proptest::collection::vec(word_or_any(words(WORDS)), 0..3);
        let modifiers = proptest::option::of(proptest::collection::btree_map(
            proptest::sample::select(&["case_sensitive", "x"][..]).prop_map(str::to_owned),
            word_or_any(words("true false")).prop_map(|v| {
                if v == "true" {
                    json!(true)
                } else if v == "false" {
                    json!(false)
                } else {
                    v
                }
            }),
            0..2,
        ));
        let leaf =
            (word_or_any(words(OPERATORS)), word_or_any(words(DIMENSIONS)), values, modifiers).prop_map(|(op, dim, values, m)| match m {
                Some(m) => json!([op, dim, values, m]),
                None => json!([op, dim, values]),
            });
        let leaf = prop_oneof![40 => leaf, 1 => json_value()];
        leaf.prop_recursive(4, 24, 3, |inner| {
            prop_oneof![
                (proptest::sample::select(&["and", "or"][..]), proptest::collection::vec(inner.clone(), 0..3))
                    .prop_map(|(op, v)| json!([op, v])),
                (proptest::sample::select(&["not", "has_done", "has_not_done"][..]), inner).prop_map(|(op, t)| json!([op, t])),
            ]
        })
    }

    /// A v2 body: each part left out, well formed, or any JSON.
    fn body() -> impl Strategy<Value = Value> {
        let metrics = proptest::collection::vec(word_or_any(metrics()), 1..4);
        let range = prop_oneof![
            word_or_any(words("day 24h 7d 30d 91d 0d month 6mo 12mo year all realtime")),
            proptest::sample::select(
                &[
                    ("2024-01-01", "2024-01-31"),
                    ("2024-01-31", "2024-01-31"),
                    ("2023-01-01", "2024-02-29"),
                    ("2024-01-31T10:00:00Z", "2024-01-31T23:59:59+01:00"),
                    ("2024-01-31T10:00:00-12:00", "2024-02-01T00:00:00+14:00"),
                    ("2024-02-30", "2024-01-31"),
                    ("2024-01-31", "2024-01-01"),
                ][..]
            )
            .prop_map(|(a, b)| json!([a, b])),
        ];
        let dimensions = proptest::option::of(proptest::collection::vec(word_or_any(words(DIMENSIONS)), 0..3));
        let filters = proptest::option::of(proptest::collection::vec(filter_tree(), 0..3));
        let order_by = proptest::option::weighted(
            0.3,
            proptest::collection::vec(
                (word_or_any(words("visitors events event:page time:day visit:source")), word_or_any(words("asc desc")))
                    .prop_map(|(a, b)| json!([a, b])),
                0..3,
            ),
        );
        let include = proptest::option::of(proptest::collection::btree_map(
            proptest::sample::select(&["total_rows", "time_labels", "imports", "trim_relative_date_range", "comparisons"][..])
                .prop_map(str::to_owned),
            prop_oneof![
                any::<bool>().prop_map(Value::from),
                (word_or_any(words("previous_period year_over_year custom")), any::<bool>())
                    .prop_map(|(m, d)| json!({"mode": m, "match_day_of_week": d})),
                json_value(),
            ],
            0..4,
        ));
        let pagination = proptest::option::of(
            (
                proptest::sample::select(&[0i64, 1, 3, 10_000, 10_001, -1, i64::MAX][..]),
                proptest::sample::select(&[0i64, 1, 10_000, -1, i64::MAX][..]),
            )
                .prop_map(|(l, o)| json!({"limit": l, "offset": o})),
        );
        (metrics, range, dimensions, filters, order_by, include, pagination).prop_map(|(m, r, d, f, o, i, p)| {
            let mut body = json!({"site_id": "demo", "metrics": m, "date_range": r});
            let parts = [
                ("dimensions", d.map(Value::from)),
                ("filters", f.map(Value::from)),
                ("order_by", o.map(Value::from)),
                ("include", i.map(|i| Value::Object(i.into_iter().collect()))),
                ("pagination", p),
            ];
            for (k, v) in parts {
                if let Some(v) = v {
                    body[k] = v;
                }
            }
            body
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        #[test]
        fn any_json_body_is_a_query_or_a_400(body in body()) {
            let site = SiteInfo { id: beacon_types::SiteId::parse("demo").map_err(|e| TestCaseError::fail(format!("{e:?}")))?, timezone: "Europe/Berlin".into() };
            let goals = [crate::goal::Goal::event("Signup"), crate::goal::Goal::page("/x*")];
            let answered = parse(body.to_string().as_bytes())
                .and_then(|q| pollster::block_on(crate::report::run(&NoRows, &q, &site, &goals, 1_706_745_600_000)));
            if let Err(e) = answered {
                prop_assert_eq!(e.status(), 400, "{:?}", e);
            }
        }
    }
}
