//! Plausible's Stats API v1 (`/api/v1/stats/aggregate|timeseries|breakdown`)
//! on top of v2: the query string becomes a v2 body, which goes through
//! the same validation and engine, and the v2 answer is reshaped.

use serde_json::{json, Map, Value};

use crate::goal::wildcard_regex;
use crate::period::iso_date;
use crate::StatsError;

/// Which v1 endpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `/api/v1/stats/aggregate`
    Aggregate,
    /// `/api/v1/stats/timeseries`
    Timeseries,
    /// `/api/v1/stats/breakdown`
    Breakdown,
}

fn bad(msg: impl Into<String>) -> StatsError {
    StatsError::Invalid(msg.into())
}

/// v1's conversion_rate in a timeseries or breakdown: v2's group_conversion_rate.
fn per_group(metrics: &[String]) -> Value {
    json!(metrics.iter().map(|m| if m == "conversion_rate" { "group_conversion_rate" } else { m.as_str() }).collect::<Vec<_>>())
}

/// The value of query parameter `key`; the last one if it is repeated, as
/// Plausible (Phoenix) reads a query string.
pub fn param<'a>(params: &'a [(String, String)], key: &str) -> Option<&'a str> {
    params.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Properties whose v1 breakdown leaves out visits without a value.
const BLANKS_LEFT_OUT: &[&str] = &[
    "visit:city",
    "visit:country",
    "visit:region",
    "visit:utm_medium",
    "visit:utm_source",
    "visit:utm_campaign",
    "visit:utm_content",
    "visit:utm_term",
    "visit:entry_page",
    "visit:exit_page",
];

/// Plausible's words for a call that names no site.
const NO_SITE: &str = "Missing site ID. Please provide the required site_id parameter with your request.";
/// Where Plausible's v1 errors send the caller.
const PERIODS_DOCS: &str = "https://plausible.io/docs/stats-api#time-periods";
const PROPERTIES_DOCS: &str = "https://plausible.io/docs/stats-api#properties";

/// The v2 `date_range` for v1's `period` and `date`, refused in the words
/// of Plausible's `validate_period` and `validate_date`. Every name v2
/// knows is a period here, a superset of v1's seven.
fn date_range(period: &str, date: Option<&str>) -> Result<Value, StatsError> {
    let bad_period = || {
        bad(format!("Error parsing `period` parameter: invalid period `{period}`. Please find accepted values in our docs: {PERIODS_DOCS}"))
    };
    if period == "custom" {
        let d = date.ok_or_else(|| bad(format!("The `date` parameter is required when using a custom period. See {PERIODS_DOCS}")))?;
        let ends: Vec<&str> = d.split(',').map(str::trim).collect();
        return match ends.as_slice() {
            [a, b] if iso_date(a).is_ok() && iso_date(b).is_ok() => Ok(json!([a, b])),
            _ => Err(bad(format!(
                "Invalid format for `date` parameter. When using a custom period, please include two ISO-8601 formatted dates joined by a comma. See {PERIODS_DOCS}"
            ))),
        };
    }
    if !crate::period::is_named(period) {
        return Err(bad_period());
    }
    let Some(d) = date else { return Ok(json!(period)) };
    let today = iso_date(d)
        .map_err(|why| bad(format!("Error parsing `date` parameter: {why}. Please specify a valid date in ISO-8601 format.")))?;
    // `all` runs from the site's first data to today, whatever `date` says.
    if period == "all" {
        return Ok(json!("all"));
    }
    // Every period is relative to `date` when it is given, exactly as v2
    // reads the same name relative to today.
    let (first, last) = crate::period::named_dates(period, today).map_err(|_| bad_period())?;
    Ok(json!([first.to_string(), last.to_string()]))
}

/// Whether v1 may break down or filter by `name`: v2's event and visit
/// dimensions, a superset of Plausible's legacy list.
fn is_property(name: &str) -> bool {
    (name.starts_with("event:") || name.starts_with("visit:")) && crate::query::is_dimension(name)
}

/// Properties only events have: a visit has no one value of them.
fn event_only(name: &str) -> bool {
    name == "event:name" || name == "event:goal" || name.starts_with("event:props:")
}

/// Plausible's v1 rules (`validate_metric`) for one metric of a call
/// breaking down by `property` (none outside breakdowns) with filters on
/// `filtered`, in its words. v2 allows more of these pairs; v1 never did.
fn check_metric(metric: &str, property: Option<&str>, filtered: &[&str]) -> Result<(), String> {
    let on = |d: &str| filtered.contains(&d);
    let session = || match (property, filtered.iter().find(|d| event_only(d))) {
        (Some(p), _) if event_only(p) => Err(format!("Session metric `{metric}` cannot be queried for breakdown by `{p}`.")),
        (_, Some(d)) => Err(format!("Session metric `{metric}` cannot be queried when using a filter on `{d}`.")),
        _ => Ok(()),
    };
    match metric {
        "visitors" | "pageviews" | "events" => Ok(()),
        "visits" | "bounce_rate" | "visit_duration" => session(),
        "views_per_visit" if on("event:page") => Err("Metric `views_per_visit` cannot be queried with a filter on `event:page`.".into()),
        "views_per_visit" if property.is_some() => Err("Metric `views_per_visit` is not supported in breakdown queries.".into()),
        "views_per_visit" => session(),
        "conversion_rate" if property == Some("event:goal") || on("event:goal") => Ok(()),
        "conversion_rate" => Err("Metric `conversion_rate` can only be queried in a goal breakdown or with a goal filter".into()),
        "time_on_page" => match property {
            _ if on("event:goal") || on("event:name") => Err(format!(
                "Metric `time_on_page` cannot be queried when filtering by `{}`",
                if on("event:goal") { "event:goal" } else { "event:name" }
            )),
            Some("event:page") => Ok(()),
            Some(_) => Err("Metric `time_on_page` is not supported in breakdown queries (except `event:page` breakdown)".into()),
            None if on("event:page") => Ok(()),
            None => Err("Metric `time_on_page` can only be queried in a page breakdown or with a page filter.".into()),
        },
        // v1 knows fewer metrics than v2 (no revenue, which v2 answers as
        // money, nor percentage or scroll depth).
        _ => Err(format!(
            "The metric `{metric}` is not recognized. Find valid metrics from the documentation: https://plausible.io/docs/stats-api#metrics"
        )),
    }
}

/// A positive whole number parameter (`limit`, `page`), as Elixir's
/// `Integer.parse` reads it, within `max`.
fn count_param(params: &[(String, String)], key: &str, default: u64, max: u64, refusal: &str) -> Result<u64, StatsError> {
    match param(params, key) {
        None => Ok(default),
        Some(v) => v.parse::<u64>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| bad(refusal)),
    }
}

/// The v2 request body for a v1 call's query parameters, checked in the
/// order of Plausible's v1 controller: period, date, property, filters,
/// metrics, then the page.
pub fn to_v2(endpoint: Endpoint, params: &[(String, String)]) -> Result<Value, StatsError> {
    let site_id = param(params, "site_id").filter(|s| !s.is_empty()).ok_or_else(|| bad(NO_SITE))?;
    let period = param(params, "period").unwrap_or("30d");
    let date_range = date_range(period, param(params, "date"))?;
    let property = match endpoint {
        Endpoint::Breakdown => {
            let p = param(params, "property")
                .ok_or_else(|| bad("The `property` parameter is required. Please provide at least one property to show a breakdown by."))?;
            if !is_property(p) {
                return Err(bad(format!(
                    "Invalid property '{p}'. Please provide a valid property for the breakdown endpoint: {PROPERTIES_DOCS}"
                )));
            }
            Some(p)
        }
        _ => None,
    };
    let mut filter_list = match param(params, "filters").filter(|f| !f.trim().is_empty()) {
        Some(f) => filters(f)?,
        None => Vec::new(),
    };
    let filtered: Vec<&str> = filter_list.iter().filter_map(|f| f.get(1).and_then(Value::as_str)).collect();
    if let Some(d) = filtered.iter().find(|d| !is_property(d)) {
        return Err(bad(format!("Invalid filter property '{d}'. Please provide a valid filter property: {PROPERTIES_DOCS}")));
    }
    let metrics: Vec<String> = param(params, "metrics").unwrap_or("visitors").split(',').map(|m| m.trim().to_owned()).collect();
    if metrics.iter().enumerate().any(|(i, m)| metrics.iter().take(i).any(|x| x == m)) {
        return Err(bad("Metrics cannot be queried multiple times."));
    }
    for m in &metrics {
        check_metric(m, property, &filtered).map_err(bad)?;
    }
    let mut body = Map::new();
    body.insert("site_id".into(), json!(site_id));
    body.insert("metrics".into(), json!(metrics));
    body.insert("date_range".into(), date_range);
    match endpoint {
        Endpoint::Aggregate => {
            // v1 compares no `all` (Plausible's `parse_comparison_params`).
            if param(params, "compare") == Some("previous_period") && period != "all" {
                body.insert("include".into(), json!({ "comparisons": { "mode": "previous_period" } }));
            }
        }
        Endpoint::Timeseries => {
            let dim = match param(params, "interval") {
                // v1's default interval is by period name (Plausible's
                // `Interval.default_for_period`), not by length as v2's `time`.
                // `all` has no name's default but its range's: `time`,
                // which the caller marks as v1's (`Query::from_v1`).
                None => match period {
                    "day" => "time:hour",
                    "all" => "time",
                    "6mo" | "12mo" | "year" => "time:month",
                    _ => "time:day",
                }
                .to_owned(),
                // `date` is v1's older name for a day.
                Some("date") => "time:day".to_owned(),
                Some(i @ ("hour" | "day" | "week" | "month")) => format!("time:{i}"),
                // Plausible's v1 knows `day` and `month` alone; hours and
                // weeks are v2's, taken here too.
                Some(other) => {
                    return Err(bad(format!(
                        "Error parsing `interval` parameter: invalid interval `{other}`. Valid intervals are `day`, `month`"
                    )))
                }
            };
            body.insert("dimensions".into(), json!([dim]));
            body.insert("include".into(), json!({ "time_labels": true }));
            body.insert("metrics".into(), per_group(&metrics));
        }
        Endpoint::Breakdown => {
            let property = property.unwrap_or_default();
            // As Plausible's v1: a version comes with its name, conversion
            // rates are per group but by goal or property (global there),
            // and some properties leave their blanks out.
            let dims = match property {
                "visit:browser_version" => json!(["visit:browser", property]),
                "visit:os_version" => json!(["visit:os", property]),
                _ => json!([property]),
            };
            body.insert("dimensions".into(), dims);
            if !(property == "event:goal" || property.starts_with("event:props:")) {
                body.insert("metrics".into(), per_group(&metrics));
            }
            if BLANKS_LEFT_OUT.contains(&property) {
                filter_list.push(json!(["is_not", property, [""]]));
            }
            let limit = count_param(params, "limit", 100, 1000, "Please provide limit as a number between 1 and 1000.")?;
            let page = count_param(params, "page", 1, u64::MAX, "Please provide page as a number greater than 0.")?;
            body.insert("pagination".into(), json!({ "limit": limit, "offset": limit.saturating_mul(page - 1) }));
        }
    }
    if !filter_list.is_empty() {
        body.insert("filters".into(), Value::Array(filter_list));
    }
    Ok(Value::Object(body))
}

/// v1 filters (`event:page==/blog/**;visit:country!=DE|FR;visit:source~oo`)
/// as v2 filters. `;` joins with AND, `|` lists values (`\|` is a literal
/// bar), `*`/`**` are wildcards, `~` means contains. A goal is named
/// literally: `Visit /blog**` is a goal's name, not a pattern.
pub fn filters(text: &str) -> Result<Vec<Value>, StatsError> {
    let mut out = Vec::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (dim, op, rest) = if let Some((d, v)) = part.split_once("!=") {
            (d, "is_not", v)
        } else if let Some((d, v)) = part.split_once("==") {
            (d, "is", v)
        } else if let Some((d, v)) = part.split_once('~') {
            (d, "contains", v)
        } else {
            return Err(bad(format!("filters: cannot read {part:?}")));
        };
        let dim = dim.trim();
        let values: Vec<String> = split_values(rest.trim());
        let wild = dim != "event:goal" && values.iter().any(|v| v.contains('*'));
        let (op, values) = match (op, wild) {
            ("is", true) => ("matches", values.iter().map(|v| wildcard_regex(v)).collect()),
            ("is_not", true) => ("matches_not", values.iter().map(|v| wildcard_regex(v)).collect()),
            _ => (op, values),
        };
        out.push(json!([op, dim, values]));
    }
    Ok(out)
}

fn split_values(s: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'|') => {
                chars.next();
                if let Some(last) = out.last_mut() {
                    last.push('|');
                }
            }
            '|' => out.push(String::new()),
            c => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    out
}

/// A v2 error in v1's terms. The v2 engine's errors start with a JSON
/// pointer into the body [`to_v2`] built (`#/dimensions/0: …`), which a v1
/// caller never wrote: the pointer becomes the query parameter it came
/// from (`property: …`). Other errors are left as they are.
pub fn error(endpoint: Endpoint, params: &[(String, String)], e: StatsError) -> StatsError {
    let text = match e {
        StatsError::Invalid(text) => text,
        StatsError::BadRegex(_) => e.to_string(),
        // Plausible's own sentence, which its v1 says bare, naming a page
        // goal by its path (as its `goal_not_configured_message`).
        StatsError::UnknownGoal(name) => {
            let subject = match name.strip_prefix("Visit ") {
                Some(path) => format!("The pageview goal for the pathname `{path}`"),
                None => format!("The goal `{name}`"),
            };
            return StatsError::Invalid(format!("{subject} is not configured for this site. {}", crate::GOALS_DOCS));
        }
        other => return other,
    };
    let Some((pointer, message)) = text.strip_prefix("#/").and_then(|t| t.split_once(": ")) else {
        return StatsError::Invalid(text);
    };
    let name = match pointer.split('/').next().unwrap_or(pointer) {
        // A named period's range is the period's fault, a custom one's or
        // one moved by a `date` the date's.
        "date_range" if param(params, "period") == Some("custom") || param(params, "date").is_some() => "date",
        "date_range" => "period",
        "dimensions" if endpoint == Endpoint::Timeseries => "interval",
        "dimensions" => "property",
        "pagination" => "limit",
        "include" => "compare",
        other => other,
    };
    StatsError::Invalid(format!("{name}: {message}"))
}

/// The site a query-string endpoint names (`/api/v1/stats/realtime/visitors`,
/// the live view), required; the caller's rights decide whether it may read it.
pub fn site_param(params: &[(String, String)]) -> Result<String, StatsError> {
    param(params, "site_id").filter(|s| !s.is_empty()).map(str::to_owned).ok_or_else(|| bad(NO_SITE))
}

/// A metric in a v1 timeseries bucket with no data, as Plausible's
/// `Timeseries.empty_row` fills it: counts 0, rates 0.0, and no visit
/// duration (nor time on page) at all.
fn empty_bucket(metric: &str) -> Value {
    match metric {
        "views_per_visit" | "bounce_rate" | "conversion_rate" | "group_conversion_rate" => json!(0.0),
        "visit_duration" | "time_on_page" => Value::Null,
        _ => json!(0),
    }
}

/// `period=day` with the site's today as its `date` is Today, as Plausible's
/// legacy builder reads it (#6205): it ends now and is compared with the
/// same stretch of the other day. [`to_v2`] wrote it as that date, whole;
/// only the site's zone, known later, tells whether it is today.
pub fn day_is_today(params: &[(String, String)], q: &mut crate::query::Query, tz: &jiff::tz::TimeZone, now_ms: u64) {
    use crate::query::DateRange;
    let today = crate::period::local_today(tz, now_ms).map(|d| d.to_string());
    match (&q.date_range, today) {
        (DateRange::Dates(a, b), Ok(t)) if param(params, "period") == Some("day") && *a == t && *b == t => {
            q.date_range = DateRange::Named("day".into());
        }
        _ => {}
    }
}

/// The v1 answer for a v2 `answer` to the body [`to_v2`] made.
pub fn shape(endpoint: Endpoint, body: &Value, answer: &Value) -> Value {
    let metrics: Vec<&str> = body["metrics"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    let empty = Vec::new();
    let rows = answer["results"].as_array().unwrap_or(&empty);
    // v1 names its per-group rate conversion_rate (see to_v2).
    let v1_name = |m: &str| if m == "group_conversion_rate" { "conversion_rate".to_owned() } else { m.to_owned() };
    let named = |row: &Value| -> Map<String, Value> {
        metrics.iter().enumerate().map(|(i, m)| (v1_name(m), row["metrics"].get(i).cloned().unwrap_or(json!(0)))).collect()
    };
    match endpoint {
        Endpoint::Aggregate => {
            let first = rows.first().cloned().unwrap_or(json!({ "metrics": [] }));
            let mut out = Map::new();
            for (i, m) in metrics.iter().enumerate() {
                let mut entry = Map::new();
                entry.insert("value".into(), first.pointer(&format!("/metrics/{i}")).cloned().unwrap_or(json!(0)));
                if let Some(change) = first.pointer(&format!("/comparison/change/{i}")) {
                    entry.insert("change".into(), change.clone());
                    let then = first.pointer(&format!("/comparison/metrics/{i}")).cloned().unwrap_or(Value::Null);
                    entry.insert("comparison_value".into(), then);
                }
                out.insert(v1_name(m), Value::Object(entry));
            }
            json!({ "results": out })
        }
        Endpoint::Timeseries => {
            let labels = answer.pointer("/meta/time_labels").and_then(Value::as_array).cloned().unwrap_or_default();
            let results: Vec<Value> = labels
                .iter()
                .map(|label| {
                    let row = rows.iter().find(|r| r["dimensions"].get(0) == Some(label));
                    let mut m = row.map(named).unwrap_or_else(|| metrics.iter().map(|m| (v1_name(m), empty_bucket(m))).collect());
                    m.insert("date".into(), label.clone());
                    Value::Object(m)
                })
                .collect();
            json!({ "results": results })
        }
        Endpoint::Breakdown => {
            let keys: Vec<String> = body["dimensions"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).map(|d| d.rsplit(':').next().unwrap_or(d).to_owned()).collect())
                .unwrap_or_default();
            let results: Vec<Value> = rows
                .iter()
                .map(|r| {
                    let mut m = named(r);
                    for (i, key) in keys.iter().enumerate() {
                        m.insert(key.clone(), r["dimensions"].get(i).cloned().unwrap_or(Value::Null));
                    }
                    Value::Object(m)
                })
                .collect();
            json!({ "results": results })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn realtime_and_the_live_view_name_their_site_or_are_a_400() {
        assert_eq!(site_param(&p(&[("period", "day"), ("site_id", "demo.example")])).unwrap(), "demo.example");
        // Repeated, the last one counts, as in Plausible.
        assert_eq!(site_param(&p(&[("site_id", "a.example"), ("site_id", "b.example")])).unwrap(), "b.example");
        // No site named: the same 400 as a v1 query without one.
        assert!(matches!(site_param(&p(&[("period", "day")])), Err(StatsError::Invalid(e)) if e == NO_SITE));
        assert!(matches!(to_v2(Endpoint::Aggregate, &p(&[("period", "day")])), Err(StatsError::Invalid(e)) if e == NO_SITE));
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn engine_errors_name_the_v1_parameter_not_the_v2_pointer() {
        // The v2 validator's own errors on the bodies v1 builds, renamed.
        let said = |endpoint, pairs: &[(&str, &str)]| {
            let params = p(pairs);
            let body = to_v2(endpoint, &params).unwrap();
            let e = crate::query::from_value(&body).err().unwrap();
            match error(endpoint, &params, e) {
                StatsError::Invalid(text) => text,
                other => panic!("{other:?}"),
            }
        };
        let site = ("site_id", "s");
        assert_eq!(
            said(Endpoint::Aggregate, &[site, ("period", "custom"), ("date", "2024-01-05,2024-01-01")]),
            "date: Start date must not be after end date"
        );
        assert_eq!(
            said(Endpoint::Breakdown, &[site, ("property", "visit:os"), ("period", "custom"), ("date", "2024-01-05, 2024-01-01")]),
            "date: Start date must not be after end date"
        );
        // The rest of the mapping, on errors the engine gives later.
        let renamed = |endpoint, pairs: &[(&str, &str)], e: StatsError| error(endpoint, &p(pairs), e);
        let invalid = |t: &str| StatsError::Invalid(t.into());
        assert_eq!(renamed(Endpoint::Timeseries, &[], invalid("#/dimensions/0: x")), invalid("interval: x"));
        assert_eq!(renamed(Endpoint::Breakdown, &[], invalid("#/dimensions/0: x")), invalid("property: x"));
        // A named period's range is the period's fault, a custom one's the date's.
        assert_eq!(renamed(Endpoint::Aggregate, &[("period", "7d")], invalid("#/date_range: x")), invalid("period: x"));
        assert_eq!(renamed(Endpoint::Aggregate, &[("period", "custom")], invalid("#/date_range: x")), invalid("date: x"));
        assert_eq!(renamed(Endpoint::Breakdown, &[], invalid("#/pagination/limit: x")), invalid("limit: x"));
        assert_eq!(renamed(Endpoint::Aggregate, &[("period", "7d")], invalid("#/include/comparisons: x")), invalid("compare: x"));
        assert_eq!(
            renamed(Endpoint::Aggregate, &[("period", "7d"), ("date", "1970-01-01")], invalid("#/date_range: x")),
            invalid("date: x")
        );
        assert_eq!(
            renamed(Endpoint::Aggregate, &[], StatsError::BadRegex("too long".into())),
            invalid("filters: invalid regular expression: too long")
        );
        // Plausible's own sentence about goals is said bare, a page goal by its path.
        let goal = |name: &str| StatsError::UnknownGoal(name.into());
        let docs = "Find out how to configure goals here: https://plausible.io/docs/stats-api#filtering-by-goals";
        assert_eq!(goal("Signup").to_string(), format!("#/filters: The goal `Signup` is not configured for this site. {docs}"));
        assert_eq!(
            renamed(Endpoint::Aggregate, &[], goal("Signup")),
            invalid(&format!("The goal `Signup` is not configured for this site. {docs}"))
        );
        assert_eq!(
            renamed(Endpoint::Breakdown, &[], goal("Visit /register")),
            invalid(&format!("The pageview goal for the pathname `/register` is not configured for this site. {docs}"))
        );
        // Errors without a pointer, and the engine's own, are as they were.
        for e in [invalid("Metrics cannot be queried multiple times."), StatsError::Upstream("x".into()), StatsError::Busy(3)] {
            assert_eq!(renamed(Endpoint::Aggregate, &[], e.clone()), e);
        }
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn metrics_v1_lacks_or_repeated_are_refused() {
        let with = |m: &str| to_v2(Endpoint::Aggregate, &p(&[("site_id", "s"), ("metrics", m)]));
        for m in ["total_revenue", "visitors,percentage", "scroll_depth", "x", "group_conversion_rate"] {
            let name = m.rsplit(',').next().unwrap_or(m);
            assert!(
                matches!(with(m), Err(StatsError::Invalid(e)) if e.starts_with(&format!("The metric `{name}` is not recognized"))),
                "{m}"
            );
        }
        assert!(matches!(with("visitors,visitors"), Err(StatsError::Invalid(e)) if e == "Metrics cannot be queried multiple times."));
        assert!(with("visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration,events").is_ok());
    }

    /// Plausible's v1 controller tests (aggregate_test, breakdown_test):
    /// the call, and its error word for word.
    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn v1_refuses_in_plausibles_words() {
        let said = |endpoint, pairs: &[(&str, &str)]| {
            let mut params = p(&[("site_id", "s")]);
            params.extend(p(pairs));
            match to_v2(endpoint, &params) {
                Err(StatsError::Invalid(text)) => text,
                other => panic!("{pairs:?}: {other:?}"),
            }
        };
        use Endpoint::{Aggregate, Breakdown, Timeseries};
        let periods = "https://plausible.io/docs/stats-api#time-periods";
        let bad_custom = format!(
            "Invalid format for `date` parameter. When using a custom period, please include two ISO-8601 formatted dates joined by a comma. See {periods}"
        );
        let bad_date = |why: &str| format!("Error parsing `date` parameter: {why}. Please specify a valid date in ISO-8601 format.");
        let bad_limit = || "Please provide limit as a number between 1 and 1000.".to_owned();
        let bad_page = || "Please provide page as a number greater than 0.".to_owned();
        for (endpoint, pairs, want) in [
            (
                Aggregate,
                vec![("period", "month"), ("date", "2021-dkjbAS")],
                bad_date("invalid_format"),
            ),
            (
                Aggregate,
                vec![("date", "2021/01/01")],
                bad_date("invalid_format"),
            ),
            (
                Aggregate,
                vec![("period", "custom"), ("date", "2021-01-01,2021-13-01")],
                bad_custom.clone(),
            ),
            (
                Aggregate,
                vec![("period", "custom"), ("date", "bad,2021-01-01")],
                bad_custom.clone(),
            ),
            (
                Aggregate,
                vec![("date", "2021-02-30")],
                bad_date("invalid_date"),
            ),
            (
                Aggregate,
                vec![("period", "aosuhsacp")],
                format!("Error parsing `period` parameter: invalid period `aosuhsacp`. Please find accepted values in our docs: {periods}"),
            ),
            (
                Timeseries,
                vec![("period", "bad_period"), ("date", "2021-01-01")],
                format!("Error parsing `period` parameter: invalid period `bad_period`. Please find accepted values in our docs: {periods}"),
            ),
            (Aggregate, vec![("period", "custom")], format!("The `date` parameter is required when using a custom period. See {periods}")),
            (
                Aggregate,
                vec![("period", "custom"), ("date", "2020-131-2piaskj,s,a90uac")],
                bad_custom.clone(),
            ),
            (
                Aggregate,
                vec![("period", "custom"), ("date", "2021-01-01,2021-01-02,2021-01-03")],
                bad_custom.clone(),
            ),
            (
                Breakdown,
                vec![],
                "The `property` parameter is required. Please provide at least one property to show a breakdown by.".to_owned(),
            ),
            (
                Breakdown,
                vec![("property", "badproperty")],
                "Invalid property 'badproperty'. Please provide a valid property for the breakdown endpoint: https://plausible.io/docs/stats-api#properties".to_owned(),
            ),
            (
                Breakdown,
                vec![("property", "event:props:")],
                "Invalid property 'event:props:'. Please provide a valid property for the breakdown endpoint: https://plausible.io/docs/stats-api#properties".to_owned(),
            ),
            (
                Breakdown,
                vec![("property", "time:day")],
                "Invalid property 'time:day'. Please provide a valid property for the breakdown endpoint: https://plausible.io/docs/stats-api#properties".to_owned(),
            ),
            (
                Aggregate,
                vec![("filters", "badproperty==bar")],
                "Invalid filter property 'badproperty'. Please provide a valid filter property: https://plausible.io/docs/stats-api#properties".to_owned(),
            ),
            (
                Aggregate,
                vec![("metrics", "pageviews,led_zeppelin")],
                "The metric `led_zeppelin` is not recognized. Find valid metrics from the documentation: https://plausible.io/docs/stats-api#metrics".to_owned(),
            ),
            (
                Aggregate,
                vec![("metrics", "pageviews,visit_duration"), ("filters", "event:name==some_value")],
                "Session metric `visit_duration` cannot be queried when using a filter on `event:name`.".to_owned(),
            ),
            (
                Aggregate,
                vec![("metrics", "pageviews,visit_duration"), ("filters", "event:goal==some_value")],
                "Session metric `visit_duration` cannot be queried when using a filter on `event:goal`.".to_owned(),
            ),
            (
                Timeseries,
                vec![("metrics", "visits"), ("filters", "visit:country==DE;event:props:custom_prop==some_value")],
                "Session metric `visits` cannot be queried when using a filter on `event:props:custom_prop`.".to_owned(),
            ),
            (
                Breakdown,
                vec![("property", "event:name"), ("metrics", "visitors,bounce_rate")],
                "Session metric `bounce_rate` cannot be queried for breakdown by `event:name`.".to_owned(),
            ),
            (
                Breakdown,
                vec![("property", "event:props:url"), ("metrics", "visitors,bounce_rate")],
                "Session metric `bounce_rate` cannot be queried for breakdown by `event:props:url`.".to_owned(),
            ),
            (
                Breakdown,
                vec![("property", "event:page"), ("filters", "event:props:url==google.com"), ("metrics", "visitors,bounce_rate")],
                "Session metric `bounce_rate` cannot be queried when using a filter on `event:props:url`.".to_owned(),
            ),
            (
                Aggregate,
                vec![("metrics", "conversion_rate")],
                "Metric `conversion_rate` can only be queried in a goal breakdown or with a goal filter".to_owned(),
            ),
            (
                Breakdown,
                vec![("property", "event:page"), ("metrics", "conversion_rate")],
                "Metric `conversion_rate` can only be queried in a goal breakdown or with a goal filter".to_owned(),
            ),
            (
                Aggregate,
                vec![("metrics", "views_per_visit"), ("filters", "event:page==/something")],
                "Metric `views_per_visit` cannot be queried with a filter on `event:page`.".to_owned(),
            ),
            (
                Aggregate,
                vec![("metrics", "views_per_visit"), ("filters", "event:name==Something")],
                "Session metric `views_per_visit` cannot be queried when using a filter on `event:name`.".to_owned(),
            ),
            (
                Breakdown,
                vec![("property", "visit:source"), ("metrics", "views_per_visit")],
                "Metric `views_per_visit` is not supported in breakdown queries.".to_owned(),
            ),
            (
                Aggregate,
                vec![("metrics", "time_on_page")],
                "Metric `time_on_page` can only be queried in a page breakdown or with a page filter.".to_owned(),
            ),
            (
                Aggregate,
                vec![("metrics", "time_on_page"), ("filters", "event:page==/A;event:goal==Signup")],
                "Metric `time_on_page` cannot be queried when filtering by `event:goal`".to_owned(),
            ),
            (
                Aggregate,
                vec![("metrics", "time_on_page"), ("filters", "event:page==/A;event:name==Signup")],
                "Metric `time_on_page` cannot be queried when filtering by `event:name`".to_owned(),
            ),
            (
                Breakdown,
                vec![("property", "visit:source"), ("filters", "event:page==/A"), ("metrics", "time_on_page")],
                "Metric `time_on_page` is not supported in breakdown queries (except `event:page` breakdown)".to_owned(),
            ),
            (
                Timeseries,
                vec![("period", "12mo"), ("interval", "alskd")],
                "Error parsing `interval` parameter: invalid interval `alskd`. Valid intervals are `day`, `month`".to_owned(),
            ),
            (Breakdown, vec![("property", "visit:source"), ("limit", "1001")], bad_limit()),
            (Breakdown, vec![("property", "visit:source"), ("limit", "10x")], bad_limit()),
            (Breakdown, vec![("property", "visit:source"), ("page", "foo")], bad_page()),
            (Breakdown, vec![("property", "visit:source"), ("page", "0")], bad_page()),
            (Breakdown, vec![("property", "visit:source"), ("page", "1.5")], bad_page()),
        ] {
            assert_eq!(said(endpoint, &pairs), want, "{pairs:?}");
        }
        // What those rules let through.
        let fine = |endpoint, pairs: &[(&str, &str)]| {
            let mut params = p(&[("site_id", "s")]);
            params.extend(p(pairs));
            to_v2(endpoint, &params).is_ok()
        };
        assert!(fine(Aggregate, &[("metrics", "time_on_page,bounce_rate,visits"), ("filters", "event:page==/A")]));
        assert!(fine(Breakdown, &[("property", "event:page"), ("metrics", "time_on_page,visit_duration")]));
        assert!(fine(Breakdown, &[("property", "visit:source"), ("metrics", "conversion_rate,events"), ("filters", "event:goal==Signup")]));
        assert!(fine(Breakdown, &[("property", "event:goal"), ("metrics", "conversion_rate")]));
        assert!(!fine(Timeseries, &[("metrics", "views_per_visit,time_on_page"), ("filters", "event:page==/A|/B")]));
        assert!(fine(Timeseries, &[("metrics", "time_on_page"), ("filters", "event:page==/A|/B")]));
        assert!(fine(
            Timeseries,
            &[("metrics", "views_per_visit,visit_duration"), ("period", "custom"), ("date", " 2021-01-01 ,2021-01-02")]
        ));
        // `period=all` takes no date, but a broken one is still refused.
        assert!(fine(Aggregate, &[("period", "all"), ("date", "2021-01-01")]));
        assert!(!fine(Aggregate, &[("period", "all"), ("date", "2021-1-1")]));
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn filters_translate() {
        let f = filters("event:page==/blog/**;visit:country!=DE|FR;visit:source~oo;event:name==a\\|b;event:page!=/a/*|/b;event:name==c\\d")
            .unwrap();
        assert_eq!(
            Value::Array(f),
            json!([
                ["matches", "event:page", ["^/blog/.*$"]],
                ["is_not", "visit:country", ["DE", "FR"]],
                ["contains", "visit:source", ["oo"]],
                ["is", "event:name", ["a|b"]],
                // A wildcard in any value of a negated list: all are patterns.
                ["matches_not", "event:page", ["^/a/.*$", "^/b$"]],
                // A backslash before anything but a bar is itself.
                ["is", "event:name", ["c\\d"]]
            ])
        );
        assert!(filters("nonsense").is_err());
        // A goal's name is literal, stars and all (Plausible's `parse_goal_filter`).
        assert_eq!(
            Value::Array(filters("event:goal==Signup|Visit /blog**; event:goal != Visit /*").unwrap()),
            json!([["is", "event:goal", ["Signup", "Visit /blog**"]], ["is_not", "event:goal", ["Visit /*"]]])
        );
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_period_with_a_date_is_the_v2_range_of_that_day() {
        // 2024-05-10T12:00Z: v2's names resolved on that day, v1's with date=2024-05-10.
        let now_ms = 1_715_342_400_000;
        let tz = crate::period::zone("UTC");
        for name in ["day", "7d", "28d", "30d", "91d", "month", "6mo", "12mo", "year"] {
            let body = to_v2(Endpoint::Aggregate, &p(&[("site_id", "demo.example"), ("period", name), ("date", "2024-05-10")])).unwrap();
            let v2 = crate::period::resolve(&crate::query::DateRange::Named(name.into()), &tz, now_ms).unwrap();
            assert_eq!(body["date_range"], json!([v2.first.to_string(), v2.last.to_string()]), "{name}");
        }
        let bad_period = to_v2(Endpoint::Aggregate, &p(&[("site_id", "demo.example"), ("period", "bogus"), ("date", "2024-05-10")]));
        assert!(matches!(bad_period, Err(StatsError::Invalid(m)) if m.contains("period")));
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn params_become_v2_bodies_that_parse() {
        let b = to_v2(
            Endpoint::Breakdown,
            &p(&[
                ("site_id", "demo.example"),
                ("property", "visit:source"),
                ("limit", "5"),
                ("page", "3"),
                ("period", "7d"),
                ("date", "2024-03-10"),
            ]),
        )
        .unwrap();
        assert_eq!(b["pagination"], json!({"limit": 5, "offset": 10}));
        // The 7 days before `date`, as Plausible's v1 reads them now.
        assert_eq!(b["date_range"], json!(["2024-03-03", "2024-03-09"]));
        assert!(crate::query::parse(b.to_string().as_bytes()).is_ok());
        let t =
            to_v2(Endpoint::Timeseries, &p(&[("site_id", "s"), ("period", "month"), ("date", "2024-02-10"), ("interval", "day")])).unwrap();
        assert_eq!(t["date_range"], json!(["2024-02-01", "2024-02-29"]));
        assert!(crate::query::parse(t.to_string().as_bytes()).is_ok());
        // Views per visit: a timeseries takes it (v1's always did, v2's does
        // now, as Plausible's current API); a breakdown refuses it (above).
        let vpv = |endpoint, extra: (&str, &str)| {
            to_v2(endpoint, &p(&[("site_id", "s"), ("period", "7d"), ("metrics", "visits,views_per_visit"), extra])).unwrap()
        };
        let by_day = vpv(Endpoint::Timeseries, ("interval", "day"));
        assert!(crate::query::from_v1_value(&by_day).is_ok_and(|q| q.from_v1));
        assert!(crate::query::from_value(&by_day).is_ok_and(|q| !q.from_v1));
        // v1's default interval goes by the period's name; `date` is a day.
        let interval = |period: &str, interval: Option<&str>| {
            let mut pairs = vec![("site_id", "s"), ("period", period), ("date", "2024-02-10")];
            pairs.extend(interval.map(|i| ("interval", i)));
            to_v2(Endpoint::Timeseries, &p(&pairs)).unwrap()["dimensions"].clone()
        };
        assert_eq!(interval("day", None), json!(["time:hour"]));
        assert_eq!(
            (interval("7d", None), interval("30d", None), interval("month", None)),
            (json!(["time:day"]), json!(["time:day"]), json!(["time:day"]))
        );
        assert_eq!((interval("6mo", None), interval("12mo", None)), (json!(["time:month"]), json!(["time:month"])));
        assert_eq!(interval("6mo", Some("date")), json!(["time:day"]));
        // `all` goes by its range (`time`, marked v1's by the caller), from
        // the site's first data whatever `date` says, and compares nothing.
        assert_eq!(interval("all", None), json!(["time"]));
        let all = |endpoint, extra: (&'static str, &'static str)| {
            to_v2(endpoint, &p(&[("site_id", "s"), ("period", "all"), ("date", "2024-02-10"), extra])).unwrap()
        };
        assert_eq!(all(Endpoint::Timeseries, ("interval", "week"))["date_range"], json!("all"));
        assert_eq!(all(Endpoint::Aggregate, ("compare", "previous_period")).get("include"), None);
        let agg = |pairs: &[(&str, &str)]| to_v2(Endpoint::Aggregate, &p(pairs)).unwrap().get("include").cloned();
        assert_eq!(
            agg(&[("site_id", "s"), ("period", "7d"), ("compare", "previous_period")]),
            Some(json!({"comparisons": {"mode": "previous_period"}}))
        );
        assert_eq!(agg(&[("site_id", "s"), ("period", "7d")]), None);
        let v = |pairs: &[(&str, &str)]| to_v2(Endpoint::Breakdown, &p(pairs)).unwrap();
        let c = v(&[
            ("site_id", "s"),
            ("property", "visit:country"),
            ("metrics", "visitors,conversion_rate"),
            ("filters", "event:goal==Signup"),
        ]);
        assert_eq!(c["metrics"], json!(["visitors", "group_conversion_rate"]));
        assert_eq!(c["filters"], json!([["is", "event:goal", ["Signup"]], ["is_not", "visit:country", [""]]]));
        assert!(crate::query::parse(c.to_string().as_bytes()).is_ok());
        let g = v(&[("site_id", "s"), ("property", "event:goal"), ("metrics", "visitors,conversion_rate")]);
        assert_eq!((&g["metrics"], g.get("filters")), (&json!(["visitors", "conversion_rate"]), None));
        let bv = v(&[("site_id", "s"), ("property", "visit:browser_version")]);
        assert_eq!((&bv["dimensions"], bv.get("filters")), (&json!(["visit:browser", "visit:browser_version"]), None));
        let ov = v(&[("site_id", "s"), ("property", "visit:os_version")]);
        assert_eq!(ov["dimensions"], json!(["visit:os", "visit:os_version"]));
        assert!(
            to_v2(Endpoint::Breakdown, &p(&[("site_id", "s"), ("property", "visit:os"), ("metrics", "group_conversion_rate")])).is_err()
        );
        let ts = to_v2(Endpoint::Timeseries, &p(&[("site_id", "s"), ("metrics", "conversion_rate"), ("filters", "event:goal==Signup")]))
            .unwrap();
        assert_eq!(ts["metrics"], json!(["group_conversion_rate"]));
        assert!(to_v2(Endpoint::Aggregate, &p(&[("period", "7d")])).is_err());
        for (limit, page) in [("x", "1"), ("0", "1"), ("1001", "1"), ("5", "0"), ("5", "-1")] {
            let b = to_v2(Endpoint::Breakdown, &p(&[("site_id", "s"), ("property", "visit:source"), ("limit", limit), ("page", page)]));
            assert!(matches!(b, Err(StatsError::Invalid(_))), "{limit} {page}");
        }
        assert_eq!(
            v(&[("site_id", "s"), ("property", "visit:source"), ("limit", "1000")])["pagination"],
            json!({"limit": 1000, "offset": 0})
        );
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_day_dated_today_is_today() {
        use crate::query::DateRange;
        // 2024-01-31T23:30Z: Feb 1 in Berlin, still Jan 31 in UTC.
        let now = 1_706_743_800_000;
        let berlin = crate::period::zone("Europe/Berlin");
        let read = |pairs: &[(&str, &str)], tz: &jiff::tz::TimeZone| {
            let params = p(pairs);
            let mut q = crate::query::from_v1_value(&to_v2(Endpoint::Aggregate, &params).unwrap()).unwrap();
            day_is_today(&params, &mut q, tz, now);
            q.date_range
        };
        let day = |d| [("site_id", "s"), ("period", "day"), ("date", d)];
        assert_eq!(read(&day("2024-02-01"), &berlin), DateRange::Named("day".into()));
        assert_eq!(read(&day("2024-01-31"), &crate::period::zone("UTC")), DateRange::Named("day".into()));
        // Another day, another site's today, or another period stays as dated.
        assert_eq!(read(&day("2024-01-31"), &berlin), DateRange::Dates("2024-01-31".into(), "2024-01-31".into()));
        let custom = [("site_id", "s"), ("period", "custom"), ("date", "2024-02-01,2024-02-01")];
        assert_eq!(read(&custom, &berlin), DateRange::Dates("2024-02-01".into(), "2024-02-01".into()));
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn answers_are_reshaped() {
        let body = json!({"metrics": ["visitors", "pageviews"], "dimensions": ["visit:source"]});
        let answer = json!({"results": [{"metrics": [3, 7], "dimensions": ["Google"]}]});
        assert_eq!(shape(Endpoint::Breakdown, &body, &answer), json!({"results": [{"source": "Google", "visitors": 3, "pageviews": 7}]}));
        let versions = json!({"metrics": ["group_conversion_rate"], "dimensions": ["visit:browser", "visit:browser_version"]});
        let answer = json!({"results": [{"metrics": [12.5], "dimensions": ["Firefox", "120.0"]}]});
        assert_eq!(
            shape(Endpoint::Breakdown, &versions, &answer),
            json!({"results": [{"browser": "Firefox", "browser_version": "120.0", "conversion_rate": 12.5}]})
        );
        let answer = json!({"results": [{"metrics": [3, 7], "dimensions": [], "comparison": {"dimensions": [], "metrics": [2, 8], "change": [50, -10]}}]});
        assert_eq!(
            shape(Endpoint::Aggregate, &body, &answer),
            json!({"results": {"visitors": {"value": 3, "change": 50, "comparison_value": 2},
                               "pageviews": {"value": 7, "change": -10, "comparison_value": 8}}})
        );
        let rates = json!({"metrics": ["group_conversion_rate"], "dimensions": ["time:day"]});
        let answer =
            json!({"results": [{"metrics": [50.0], "dimensions": ["2024-01-02"]}], "meta": {"time_labels": ["2024-01-01", "2024-01-02"]}});
        assert_eq!(
            shape(Endpoint::Timeseries, &rates, &answer),
            json!({"results": [{"date": "2024-01-01", "conversion_rate": 0.0}, {"date": "2024-01-02", "conversion_rate": 50.0}]})
        );
        // An empty bucket as Plausible's `empty_row`: no visit duration.
        let sessions =
            json!({"metrics": ["visits", "bounce_rate", "visit_duration", "views_per_visit", "time_on_page"], "dimensions": ["time:day"]});
        let answer = json!({"results": [], "meta": {"time_labels": ["2024-01-01"]}});
        assert_eq!(
            shape(Endpoint::Timeseries, &sessions, &answer),
            json!({"results": [{"date": "2024-01-01", "visits": 0, "bounce_rate": 0.0, "visit_duration": null, "views_per_visit": 0.0,
                                "time_on_page": null}]})
        );
        let text = serde_json::to_string(&shape(Endpoint::Timeseries, &sessions, &answer)).unwrap_or_default();
        assert!(text.contains(r#""bounce_rate":0.0"#) && text.contains(r#""visits":0}"#), "{text}");
        let answer =
            json!({"results": [{"metrics": [1, 2], "dimensions": ["2024-01-02"]}], "meta": {"time_labels": ["2024-01-01", "2024-01-02"]}});
        assert_eq!(
            shape(Endpoint::Timeseries, &body, &answer),
            json!({"results": [{"date": "2024-01-01", "visitors": 0, "pageviews": 0}, {"date": "2024-01-02", "visitors": 1, "pageviews": 2}]})
        );
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use proptest::prelude::*;

        use super::*;
        use crate::report::{NoRows, SiteInfo};

        const KEYS: &[&str] = &["site_id", "period", "date", "filters", "metrics", "property", "limit", "page", "interval", "compare"];

        /// One v1 filter of a known property with any value.
        fn filter() -> impl Strategy<Value = String> {
            let property = proptest::sample::select(vec![
                "event:page",
                "event:goal",
                "event:name",
                "event:props:plan",
                "visit:source",
                "visit:country",
                "visit:city",
            ]);
            let op = proptest::sample::select(vec!["==", "!=", "~", "!~", "=", ""]);
            (property, op, "\\PC{0,12}").prop_map(|(p, o, v)| format!("{p}{o}{v}"))
        }

        /// A parameter a v1 caller might send: mostly a form v1 reads for
        /// that key, else any key with any text.
        fn param() -> impl Strategy<Value = (&'static str, String)> {
            let one = |key: &'static str, forms: Vec<&'static str>| (Just(key), proptest::sample::select(forms).prop_map(str::to_owned));
            prop_oneof![
                one("period", vec!["day", "7d", "30d", "month", "6mo", "12mo", "custom", "year", "all", "3d", "0d"]),
                one("date", vec!["2024-01-31", "2024-02-01", "2024-01-01,2024-01-31", "2024-02-30", "2024-1-1"]),
                one(
                    "metrics",
                    vec![
                        "visitors,pageviews",
                        "visits,bounce_rate,visit_duration",
                        "time_on_page",
                        "conversion_rate",
                        "events,views_per_visit",
                        "visitors,visitors",
                        ""
                    ]
                ),
                one(
                    "property",
                    vec!["event:page", "event:goal", "event:props:plan", "visit:source", "visit:city", "visit:exit_page", "time"]
                ),
                one(
                    "filters",
                    vec![
                        "event:page==/x|/y",
                        "event:page!=/x*",
                        "event:goal==Signup",
                        "visit:country==DE;event:name==Signup",
                        "event:props:plan~pro",
                        "visit:source==a\\|b",
                        "event:goal==Visit /x**",
                        "visit:city==Berlin",
                        ";;"
                    ]
                ),
                one("limit", vec!["1", "0", "10000", "10001", "100000000000000000000", "-1"]),
                one("page", vec!["1", "2", "0", "18446744073709551615", "x"]),
                one("interval", vec!["date", "day", "month", "hour", "week", "minute"]),
                one("compare", vec!["previous_period", "year_over_year", "x"]),
                (Just("filters"), proptest::collection::vec(filter(), 1..4).prop_map(|f| f.join(";"))),
                (proptest::sample::select(KEYS), prop_oneof!["\\PC{0,30}", "[=!~|;:,*\\\\a-z0-9 -]{0,30}"]),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]
            #[test]
            fn any_v1_query_string_answers_or_is_a_clear_error(
                endpoint in proptest::sample::select(&[Endpoint::Aggregate, Endpoint::Timeseries, Endpoint::Breakdown][..]),
                pairs in proptest::collection::vec(param(), 0..8),
            ) {
                let mut params: Vec<(String, String)> = pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                params.push(("site_id".into(), "demo".into()));
                let site = SiteInfo { id: beacon_types::SiteId::parse("demo").map_err(|e| TestCaseError::fail(format!("{e:?}")))?, timezone: "Europe/Berlin".into() };
                let now = 1_706_745_600_000;
                let answered = to_v2(endpoint, &params).and_then(|body| {
                    let mut q = crate::query::from_v1_value(&body)?;
                    day_is_today(&params, &mut q, &crate::period::zone("Europe/Berlin"), now);
                    let answer = pollster::block_on(crate::report::run(&NoRows, &q, &site, &[crate::goal::Goal::event("Signup")], now))?;
                    Ok(shape(endpoint, &body, &answer))
                });
                if let Err(e) = answered {
                    let e = error(endpoint, &params, e);
                    prop_assert_eq!(e.status(), 400, "{:?}", e);
                    prop_assert!(!e.public().is_empty());
                }
            }
        }
    }
}
