//! The Stats API v2 query model (Plausible's shape) and its validation.
//! Errors name the offending place as a JSON pointer, as Plausible does:
//! `#/metrics/1: Invalid metric "baa"`.

use serde_json::{Map, Value};

use crate::period::Comparison;
use crate::StatsError;

/// Most rows one page may ask for.
pub const MAX_LIMIT: u64 = 10_000;
/// Deepest filter nesting accepted.
pub const MAX_FILTER_DEPTH: usize = 8;
/// Most filter leaves in one query.
pub const MAX_FILTERS: usize = 64;
/// Most `has_done`/`has_not_done` filters in one query: each is one more
/// Analytics Engine read per period.
pub const MAX_BEHAVIORAL: usize = 8;

/// A metric, as Plausible defines it.
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    Visitors,
    Visits,
    Pageviews,
    ViewsPerVisit,
    BounceRate,
    VisitDuration,
    Events,
    Percentage,
    /// Converted visitors over all visitors of the query (Plausible v2).
    ConversionRate,
    /// Converted visitors over the visitors of the same group.
    GroupConversionRate,
    TotalRevenue,
    AverageRevenue,
    TimeOnPage,
    ScrollDepth,
}

const METRICS: &[(&str, Metric)] = &[
    ("visitors", Metric::Visitors),
    ("visits", Metric::Visits),
    ("pageviews", Metric::Pageviews),
    ("views_per_visit", Metric::ViewsPerVisit),
    ("bounce_rate", Metric::BounceRate),
    ("visit_duration", Metric::VisitDuration),
    ("events", Metric::Events),
    ("percentage", Metric::Percentage),
    ("conversion_rate", Metric::ConversionRate),
    ("group_conversion_rate", Metric::GroupConversionRate),
    ("total_revenue", Metric::TotalRevenue),
    ("average_revenue", Metric::AverageRevenue),
    ("time_on_page", Metric::TimeOnPage),
    ("scroll_depth", Metric::ScrollDepth),
];

const EVENT_DIMENSIONS: &[&str] = &["page", "hostname", "name", "goal"];
const VISIT_DIMENSIONS: &[&str] = &[
    "source",
    "referrer",
    "channel",
    "utm_medium",
    "utm_source",
    "utm_campaign",
    "utm_content",
    "utm_term",
    "device",
    "browser",
    "browser_version",
    "os",
    "os_version",
    "country",
    "region",
    "city",
    "entry_page",
    "exit_page",
    "entry_page_hostname",
    "exit_page_hostname",
    // Plausible's other names: the device's size, and geo by name (Beacon's
    // cities are names already).
    "screen",
    "country_name",
    "region_name",
    "city_name",
];
const TIME_DIMENSIONS: &[&str] = &["time", "time:hour", "time:day", "time:week", "time:month"];

/// A dimension, validated (`event:page`, `visit:country`, `event:props:plan`, `time:day`…).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dimension(pub String);

/// The period asked for, before it is resolved in the site's time zone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DateRange {
    /// One of Plausible's names (`7d`, `month`…).
    Named(String),
    /// Two ISO dates (`2024-01-01`), inclusive.
    Dates(String, String),
    /// Two ISO 8601 date-times with offsets.
    DateTimes(String, String),
}

/// Filter operators.
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    Is,
    IsNot,
    Contains,
    ContainsNot,
    Matches,
    MatchesNot,
}

/// A filter tree.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// `[op, dimension, [values], {case_sensitive}]`
    Leaf {
        /// The operator.
        op: Operator,
        /// What it applies to.
        dimension: Dimension,
        /// One or more values.
        values: Vec<String>,
        /// `case_sensitive` modifier (default true).
        case_sensitive: bool,
    },
    /// `["and", [...]]`
    And(Vec<Filter>),
    /// `["or", [...]]`
    Or(Vec<Filter>),
    /// `["not", filter]`
    Not(Box<Filter>),
    /// `["has_done", filter]`: the visits with an event the (event-only)
    /// filter keeps, every event of them counted, as Plausible's behavioral
    /// filter.
    HasDone(Box<Filter>),
    /// `["has_not_done", filter]`: the visits without such an event.
    HasNotDone(Box<Filter>),
}

/// A validated query.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// The site the caller names; checked against the caller's rights, never trusted.
    pub site_id: String,
    /// Metrics, in the order asked.
    pub metrics: Vec<Metric>,
    /// The period.
    pub date_range: DateRange,
    /// Group-by dimensions.
    pub dimensions: Vec<Dimension>,
    /// Filters (implicitly ANDed).
    pub filters: Vec<Filter>,
    /// Order: (metric or dimension name, descending).
    pub order_by: Vec<(String, bool)>,
    /// `include.total_rows`.
    pub total_rows: bool,
    /// `include.time_labels`.
    pub time_labels: bool,
    /// `include.imports` (Beacon has no imported data; echoed and noted).
    pub imports: bool,
    /// `include.trim_relative_date_range`: this `month` or `year` ends with
    /// today ([`crate::period::trim_to_today`]); `day` ends now anyway.
    pub trim_relative_date_range: bool,
    /// `include.comparisons`.
    pub comparison: Option<Comparison>,
    /// Page size.
    pub limit: u64,
    /// Rows skipped.
    pub offset: u64,
    /// The body a v1 call became: `time` (v1's `period=all`) stands for
    /// v1's interval for a range rather than v2's unit. Never set by a v2
    /// body.
    pub from_v1: bool,
}

fn invalid(at: &str, msg: impl std::fmt::Display) -> StatsError {
    StatsError::Invalid(format!("{at}: {msg}"))
}

/// Parses and validates a request body.
pub fn parse(body: &[u8]) -> Result<Query, StatsError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| invalid("#", "Request body must be a JSON object"))?;
    from_value(&value)
}

/// Validates an already decoded request body.
pub fn from_value(value: &Value) -> Result<Query, StatsError> {
    from_value_as(value, false)
}

/// Validates the v2 body a v1 call became ([`crate::v1::to_v2`]), where
/// `time` stands for v1's interval ([`Query::from_v1`]).
pub fn from_v1_value(value: &Value) -> Result<Query, StatsError> {
    from_value_as(value, true)
}

fn from_value_as(value: &Value, v1: bool) -> Result<Query, StatsError> {
    let Value::Object(obj) = value else { return Err(invalid("#", "Request body must be a JSON object")) };
    const KEYS: &[&str] = &["site_id", "metrics", "date_range", "dimensions", "filters", "order_by", "include", "pagination"];
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(invalid("#", format_args!("Unknown key \"{k}\"")));
    }
    let site_id = match obj.get("site_id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => return Err(invalid("#/site_id", "Required string")),
    };
    let metrics = parse_metrics(obj)?;
    let date_range = parse_date_range(obj.get("date_range"))?;
    let dimensions = match obj.get("dimensions") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            items.iter().enumerate().map(|(i, d)| parse_dimension(d, &format!("#/dimensions/{i}"))).collect::<Result<_, _>>()?
        }
        Some(_) => return Err(invalid("#/dimensions", "Must be an array")),
    };
    let mut counts = Counts::default();
    let filters = match obj.get("filters") {
        None => Vec::new(),
        Some(Value::Array(items)) => {
            items.iter().enumerate().map(|(i, f)| parse_filter(f, &format!("#/filters/{i}"), 1, &mut counts)).collect::<Result<_, _>>()?
        }
        Some(_) => return Err(invalid("#/filters", "Must be an array")),
    };
    let order_by = parse_order_by(obj.get("order_by"), &metrics, &dimensions)?;
    let Include { total_rows, time_labels, imports, trim_relative_date_range, comparison } = parse_include(obj.get("include"))?;
    let (limit, offset) = parse_pagination(obj.get("pagination"))?;
    let query = Query {
        site_id,
        metrics,
        date_range,
        dimensions,
        filters,
        order_by,
        total_rows,
        time_labels,
        imports,
        trim_relative_date_range,
        comparison,
        limit,
        offset,
        from_v1: v1,
    };
    validate(&query)?;
    Ok(query)
}

fn parse_metrics(obj: &Map<String, Value>) -> Result<Vec<Metric>, StatsError> {
    let Some(Value::Array(items)) = obj.get("metrics") else {
        return Err(invalid("#/metrics", "Required non-empty array"));
    };
    if items.is_empty() {
        return Err(invalid("#/metrics", "Required non-empty array"));
    }
    let mut out = Vec::new();
    for (i, m) in items.iter().enumerate() {
        let at = format!("#/metrics/{i}");
        let Value::String(name) = m else { return Err(invalid(&at, "Must be a string")) };
        let metric = METRICS
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, m)| *m)
            .ok_or_else(|| invalid(&at, format_args!("Invalid metric {}", Value::from(name.as_str()))))?;
        if out.contains(&metric) {
            return Err(invalid(&at, format_args!("Metric {} is given twice", Value::from(name.as_str()))));
        }
        out.push(metric);
    }
    Ok(out)
}

/// A calendar day as `2024-01-31`: not `2024-02-30`, which would otherwise
/// be compared as text and called later than its end.
fn is_date(s: &str) -> bool {
    crate::period::iso_date(s).is_ok()
}

fn is_datetime(s: &str) -> bool {
    // 2024-01-01T10:00:00+02:00 / ...Z, seconds optional fraction
    s.len() >= 20
        && s.len() <= 35
        && s.get(..10).is_some_and(is_date)
        && s.as_bytes().get(10) == Some(&b'T')
        && s.bytes().all(|c| c.is_ascii_digit() || b"-:T+Z.".contains(&c))
}

fn parse_date_range(v: Option<&Value>) -> Result<DateRange, StatsError> {
    let at = "#/date_range";
    // `{"start": …, "end": …}` is what some clients (plausible-cli) send
    // for the `[start, end]` pair: read it the same way.
    let pair = match v {
        Some(Value::Array(pair)) if pair.len() == 2 => Some((pair.first(), pair.get(1))),
        Some(Value::Object(m)) if m.len() == 2 => Some((m.get("start"), m.get("end"))),
        _ => None,
    };
    match v {
        Some(Value::String(s)) if crate::period::is_named(s) => Ok(DateRange::Named(s.clone())),
        _ if pair.is_some() => {
            let Some((Some(Value::String(a)), Some(Value::String(b)))) = pair else {
                return Err(invalid(at, "Invalid date range"));
            };
            if is_date(a) && is_date(b) {
                if a > b {
                    return Err(invalid(at, "Start date must not be after end date"));
                }
                Ok(DateRange::Dates(a.clone(), b.clone()))
            } else if is_datetime(a) && is_datetime(b) {
                Ok(DateRange::DateTimes(a.clone(), b.clone()))
            } else {
                Err(invalid(at, "Invalid date range"))
            }
        }
        None => Err(invalid(at, "Required")),
        Some(other) => Err(invalid(at, format_args!("Invalid date range {other}"))),
    }
}

/// Whether `s` names a dimension a query may break down or filter by.
pub fn is_dimension(s: &str) -> bool {
    if let Some(rest) = s.strip_prefix("event:props:") {
        !rest.is_empty() && rest.len() <= 300
    } else if let Some(rest) = s.strip_prefix("event:") {
        EVENT_DIMENSIONS.contains(&rest)
    } else if let Some(rest) = s.strip_prefix("visit:") {
        VISIT_DIMENSIONS.contains(&rest)
    } else {
        TIME_DIMENSIONS.contains(&s)
    }
}

fn parse_dimension(v: &Value, at: &str) -> Result<Dimension, StatsError> {
    let Value::String(s) = v else { return Err(invalid(at, "Must be a string")) };
    if is_dimension(s) {
        Ok(Dimension(s.clone()))
    } else {
        Err(invalid(at, format_args!("Invalid dimension {}", Value::from(s.as_str()))))
    }
}

/// Filter nodes met so far in a query, for their bounds.
#[derive(Default)]
struct Counts {
    leaves: usize,
    behavioral: usize,
}

fn parse_filter(v: &Value, at: &str, depth: usize, counts: &mut Counts) -> Result<Filter, StatsError> {
    if depth > MAX_FILTER_DEPTH {
        return Err(invalid(at, format_args!("Filters nest at most {MAX_FILTER_DEPTH} deep")));
    }
    let Value::Array(parts) = v else { return Err(invalid(at, "Invalid filter")) };
    let Some(Value::String(op)) = parts.first() else { return Err(invalid(at, "Invalid filter")) };
    let children = |list: Option<&Value>, counts: &mut Counts| -> Result<Vec<Filter>, StatsError> {
        let Some(Value::Array(items)) = list else { return Err(invalid(at, "Invalid filter")) };
        if items.is_empty() {
            return Err(invalid(at, "Invalid filter"));
        }
        items.iter().enumerate().map(|(i, f)| parse_filter(f, &format!("{at}/1/{i}"), depth + 1, counts)).collect()
    };
    match op.as_str() {
        "and" if parts.len() == 2 => Ok(Filter::And(children(parts.get(1), counts)?)),
        "or" if parts.len() == 2 => Ok(Filter::Or(children(parts.get(1), counts)?)),
        "not" if parts.len() == 2 => {
            let inner = parts.get(1).ok_or_else(|| invalid(at, "Invalid filter"))?;
            Ok(Filter::Not(Box::new(parse_filter(inner, &format!("{at}/1"), depth + 1, counts)?)))
        }
        name @ ("has_done" | "has_not_done") if parts.len() == 2 => {
            counts.behavioral += 1;
            if counts.behavioral > MAX_BEHAVIORAL {
                return Err(invalid("#/filters", format_args!("At most {MAX_BEHAVIORAL} has_done or has_not_done filters")));
            }
            let inner = Box::new(parse_filter(parts.get(1).unwrap_or(&Value::Null), &format!("{at}/1"), depth + 1, counts)?);
            Ok(if name == "has_done" { Filter::HasDone(inner) } else { Filter::HasNotDone(inner) })
        }
        _ => {
            let op = match op.as_str() {
                "is" => Operator::Is,
                "is_not" => Operator::IsNot,
                "contains" => Operator::Contains,
                "contains_not" => Operator::ContainsNot,
                "matches" => Operator::Matches,
                "matches_not" => Operator::MatchesNot,
                other => return Err(invalid(&format!("{at}/0"), format_args!("Invalid filter operator {}", Value::from(other)))),
            };
            if !(3..=4).contains(&parts.len()) {
                return Err(invalid(at, "Invalid filter"));
            }
            counts.leaves += 1;
            if counts.leaves > MAX_FILTERS {
                return Err(invalid("#/filters", format_args!("At most {MAX_FILTERS} filters")));
            }
            let dimension = parse_dimension(parts.get(1).unwrap_or(&Value::Null), &format!("{at}/1"))?;
            if dimension.0.starts_with("time") {
                return Err(invalid(&format!("{at}/1"), "Time dimensions cannot be filtered"));
            }
            let Some(Value::Array(raw)) = parts.get(2) else { return Err(invalid(&format!("{at}/2"), "Must be an array of values")) };
            if raw.is_empty() || raw.len() > 1000 {
                return Err(invalid(&format!("{at}/2"), "Must hold 1 to 1000 values"));
            }
            let mut values = Vec::with_capacity(raw.len());
            for (i, r) in raw.iter().enumerate() {
                match r {
                    Value::String(s) if s.len() <= 2000 => values.push(s.clone()),
                    // Plausible takes integers only as GeoNames city ids
                    // (and segment ids); Beacon has Cloudflare's city names,
                    // so an id would silently match nothing.
                    Value::Number(n) if (n.is_i64() || n.is_u64()) && dimension.0 == "visit:city" => {
                        return Err(invalid(&format!("{at}/2/{i}"), "visit:city takes city names here, not GeoNames ids"))
                    }
                    _ => return Err(invalid(&format!("{at}/2/{i}"), "Must be a string of at most 2000 bytes")),
                }
            }
            // As Plausible: a country name or a typo would match nothing.
            if dimension.0 == "visit:country" && matches!(op, Operator::Is | Operator::IsNot) {
                if let Some(i) = values.iter().position(|v| v.chars().count() != 2 && !v.is_empty() && v != "(not set)") {
                    return Err(invalid(&format!("{at}/2/{i}"), "visit:country needs to be a valid 2-letter country code"));
                }
            }
            let case_sensitive = match parts.get(3) {
                None => true,
                Some(Value::Object(m)) => match (m.len(), m.get("case_sensitive")) {
                    (1, Some(Value::Bool(b))) => *b,
                    _ => return Err(invalid(&format!("{at}/3"), "Only {\"case_sensitive\": bool} is allowed")),
                },
                Some(_) => return Err(invalid(&format!("{at}/3"), "Must be an object")),
            };
            Ok(Filter::Leaf { op, dimension, values, case_sensitive })
        }
    }
}

fn parse_order_by(v: Option<&Value>, metrics: &[Metric], dims: &[Dimension]) -> Result<Vec<(String, bool)>, StatsError> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let Value::Array(items) = v else { return Err(invalid("#/order_by", "Must be an array")) };
    let metric_names: Vec<&str> = METRICS.iter().filter(|(_, m)| metrics.contains(m)).map(|(n, _)| *n).collect();
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = format!("#/order_by/{i}");
        let (Some(Value::String(key)), Some(Value::String(dir))) = (item.get(0), item.get(1)) else {
            return Err(invalid(&at, "Must be [metric or dimension, \"asc\" | \"desc\"]"));
        };
        if !(metric_names.contains(&key.as_str()) || dims.iter().any(|d| &d.0 == key)) {
            return Err(invalid(
                &at,
                format_args!("Invalid order_by entry {}: not among the query's metrics or dimensions", Value::from(key.as_str())),
            ));
        }
        let desc = match dir.as_str() {
            "desc" => true,
            "asc" => false,
            _ => return Err(invalid(&at, "Direction must be \"asc\" or \"desc\"")),
        };
        out.push((key.clone(), desc));
    }
    Ok(out)
}

/// The `include` object, each key as its [`Query`] field.
#[derive(Default)]
struct Include {
    total_rows: bool,
    time_labels: bool,
    imports: bool,
    trim_relative_date_range: bool,
    comparison: Option<Comparison>,
}

fn parse_include(v: Option<&Value>) -> Result<Include, StatsError> {
    let Some(v) = v else { return Ok(Include::default()) };
    let Value::Object(m) = v else { return Err(invalid("#/include", "Must be an object")) };
    let mut include = Include::default();
    for (k, val) in m {
        let at = format!("#/include/{k}");
        match (k.as_str(), val) {
            ("total_rows", Value::Bool(b)) => include.total_rows = *b,
            ("time_labels", Value::Bool(b)) => include.time_labels = *b,
            ("imports", Value::Bool(b)) => include.imports = *b,
            ("trim_relative_date_range", Value::Bool(b)) => include.trim_relative_date_range = *b,
            ("total_rows" | "time_labels" | "imports" | "trim_relative_date_range", _) => return Err(invalid(&at, "Must be a boolean")),
            ("comparisons", Value::Null) => {}
            ("comparisons", Value::Object(c)) => {
                let match_day_of_week = match c.get("match_day_of_week") {
                    None => false,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => return Err(invalid(&format!("{at}/match_day_of_week"), "Must be a boolean")),
                };
                if let Some(k) = c.keys().find(|k| !matches!(k.as_str(), "mode" | "date_range" | "match_day_of_week")) {
                    return Err(invalid(&at, format_args!("Unknown key \"{k}\"")));
                }
                include.comparison = Some(match c.get("mode").and_then(Value::as_str) {
                    Some("previous_period") => Comparison::PreviousPeriod { match_day_of_week },
                    Some("year_over_year") => Comparison::YearOverYear { match_day_of_week },
                    Some("custom") => Comparison::Custom(
                        parse_date_range(c.get("date_range")).map_err(|_| invalid(&format!("{at}/date_range"), "Invalid date range"))?,
                    ),
                    _ => return Err(invalid(&format!("{at}/mode"), "Must be \"previous_period\", \"year_over_year\" or \"custom\"")),
                });
            }
            ("comparisons", _) => return Err(invalid(&at, "Must be an object")),
            (other, _) => return Err(invalid("#/include", format_args!("Unknown key \"{other}\""))),
        }
    }
    Ok(include)
}

fn parse_pagination(v: Option<&Value>) -> Result<(u64, u64), StatsError> {
    let Some(v) = v else { return Ok((MAX_LIMIT, 0)) };
    let Value::Object(m) = v else { return Err(invalid("#/pagination", "Must be an object")) };
    let num = |key: &str, default: u64| -> Result<u64, StatsError> {
        match m.get(key) {
            None => Ok(default),
            Some(x) => x.as_u64().ok_or_else(|| invalid(&format!("#/pagination/{key}"), "Must be a non-negative integer")),
        }
    };
    if let Some(k) = m.keys().find(|k| *k != "limit" && *k != "offset") {
        return Err(invalid("#/pagination", format_args!("Unknown key \"{k}\"")));
    }
    let limit = num("limit", MAX_LIMIT)?;
    if limit == 0 || limit > MAX_LIMIT {
        return Err(invalid("#/pagination/limit", format_args!("Must be 1 to {MAX_LIMIT}")));
    }
    Ok((limit, num("offset", 0)?))
}

impl Metric {
    /// The metric's API name.
    pub fn name(self) -> &'static str {
        METRICS.iter().find(|(_, m)| *m == self).map(|(n, _)| *n).unwrap_or("")
    }

    /// Computed from sessions only (Plausible's "session metrics").
    pub fn session_only(self) -> bool {
        matches!(self, Metric::BounceRate | Metric::VisitDuration | Metric::ViewsPerVisit)
    }

    /// A revenue metric (answered as money, per revenue goal currency).
    pub fn is_revenue(self) -> bool {
        matches!(self, Metric::TotalRevenue | Metric::AverageRevenue)
    }
}

impl Dimension {
    /// `time`, `time:day`…
    pub fn is_time(&self) -> bool {
        self.0 == "time" || self.0.starts_with("time:")
    }
}

impl Operator {
    fn name(self) -> &'static str {
        match self {
            Operator::Is => "is",
            Operator::IsNot => "is_not",
            Operator::Contains => "contains",
            Operator::ContainsNot => "contains_not",
            Operator::Matches => "matches",
            Operator::MatchesNot => "matches_not",
        }
    }
}

impl Filter {
    /// The filter in the request's JSON shape.
    pub fn to_json(&self) -> Value {
        match self {
            Filter::Leaf { op, dimension, values, case_sensitive } => {
                let mut v = vec![Value::from(op.name()), Value::from(dimension.0.as_str()), Value::from(values.clone())];
                if !case_sensitive {
                    v.push(serde_json::json!({ "case_sensitive": false }));
                }
                Value::Array(v)
            }
            Filter::And(parts) => serde_json::json!(["and", parts.iter().map(Filter::to_json).collect::<Vec<_>>()]),
            Filter::Or(parts) => serde_json::json!(["or", parts.iter().map(Filter::to_json).collect::<Vec<_>>()]),
            Filter::Not(inner) => serde_json::json!(["not", inner.to_json()]),
            Filter::HasDone(inner) => serde_json::json!(["has_done", inner.to_json()]),
            Filter::HasNotDone(inner) => serde_json::json!(["has_not_done", inner.to_json()]),
        }
    }

    /// Every dimension a filter names, with its nesting depth (0 = top
    /// level), leaving out those inside `has_done`/`has_not_done`: they pick
    /// visits by other events, not the rows counted (Plausible's
    /// `behavioral_filters: :ignore`).
    pub fn dimensions<'a>(&'a self, depth: usize, out: &mut Vec<(&'a str, usize)>) {
        let mut all = Vec::new();
        self.leaves(depth, 0, &mut all);
        out.extend(all.into_iter().filter(|l| l.behavioral == 0).map(|l| (l.dimension, l.depth)));
    }

    /// Every leaf's dimension, nesting depth and number of behavioral
    /// filters around it.
    fn leaves<'a>(&'a self, depth: usize, behavioral: usize, out: &mut Vec<LeafAt<'a>>) {
        match self {
            Filter::Leaf { dimension, .. } => out.push(LeafAt { dimension: dimension.0.as_str(), depth, behavioral }),
            Filter::And(parts) | Filter::Or(parts) => parts.iter().for_each(|p| p.leaves(depth + 1, behavioral, out)),
            Filter::Not(inner) => inner.leaves(depth + 1, behavioral, out),
            Filter::HasDone(inner) | Filter::HasNotDone(inner) => inner.leaves(depth + 1, behavioral + 1, out),
        }
    }
}

/// Where a filter leaf sits: [`Filter::leaves`].
struct LeafAt<'a> {
    dimension: &'a str,
    depth: usize,
    behavioral: usize,
}

/// Plausible's rules on which metrics, filters and dimensions go together.
fn validate(q: &Query) -> Result<(), StatsError> {
    let mut leaves = Vec::new();
    q.filters.iter().for_each(|f| f.leaves(0, 0, &mut leaves));
    for leaf in &leaves {
        if leaf.behavioral > 1 {
            return Err(invalid("#/filters", "Invalid filters. Behavioral filters (has_done, has_not_done) cannot be nested."));
        }
        if leaf.behavioral == 1 && !leaf.dimension.starts_with("event:") {
            return Err(invalid(
                "#/filters",
                "Invalid filters. Behavioral filters (has_done, has_not_done) can only be used with event dimension filters.",
            ));
        }
    }
    let used: Vec<(&str, usize)> = leaves.iter().filter(|l| l.behavioral == 0).map(|l| (l.dimension, l.depth)).collect();
    let filtered = |d: &str| used.iter().any(|(x, _)| *x == d);
    let toplevel = |d: &str| used.iter().any(|(x, depth)| *x == d && *depth == 0);
    let has_dim = |d: &str| q.dimensions.iter().any(|x| x.0 == d);
    if let Some((d, _)) = used.iter().find(|(d, depth)| *depth > 0 && (*d == "event:goal" || *d == "event:hostname")) {
        return Err(invalid("#/filters", format_args!("Invalid filters. Dimension `{d}` can only be filtered at the top level.")));
    }
    let by_time_only = q.dimensions.iter().all(Dimension::is_time);
    for (i, m) in q.metrics.iter().enumerate() {
        let at = format!("#/metrics/{i}");
        match m {
            Metric::ConversionRate | Metric::GroupConversionRate if !(has_dim("event:goal") || filtered("event:goal")) => {
                return Err(invalid(&at, format_args!("Metric `{}` can only be queried with event:goal filters or dimensions.", m.name())));
            }
            // Their denominators drop the top-level property filters; a
            // nested one could not be dropped alone.
            Metric::ConversionRate | Metric::GroupConversionRate
                if leaves.iter().any(|l| l.depth > 0 && l.dimension.starts_with("event:props:")) =>
            {
                return Err(invalid(
                    "#/filters",
                    "Invalid filters. When `conversion_rate` or `group_conversion_rate` metrics are used, custom property filters can only be used on top level.",
                ));
            }
            Metric::ScrollDepth if !(has_dim("event:page") || toplevel("event:page")) => {
                return Err(invalid(&at, "Metric `scroll_depth` can only be queried with event:page filters or dimensions."));
            }
            // Time on page is per page: over all pages it is no page's.
            Metric::TimeOnPage if !(has_dim("event:page") || filtered("event:page")) => {
                return Err(invalid(&at, "Metric `time_on_page` can only be queried with event:page filters or dimensions."));
            }
            Metric::ViewsPerVisit if filtered("event:page") => {
                return Err(invalid(&at, "Metric `views_per_visit` cannot be queried with a filter on `event:page`."));
            }
            // By time bucket it is answered, as Plausible's current API
            // allows (and its v1 timeseries always did).
            Metric::ViewsPerVisit if !by_time_only => {
                return Err(invalid(&at, "Metric `views_per_visit` cannot be queried with `dimensions`."));
            }
            _ => {}
        }
    }
    let session: Vec<&str> = q.metrics.iter().filter(|m| m.session_only()).map(|m| m.name()).collect();
    if !session.is_empty() && q.dimensions.iter().any(|d| d.0.starts_with("event:") && d.0 != "event:page") {
        return Err(invalid(
            "#/metrics",
            format_args!("Session metric(s) `{}` cannot be queried along with event dimensions.", session.join(", ")),
        ));
    }
    if q.time_labels && !q.dimensions.iter().any(Dimension::is_time) {
        return Err(invalid("#/include/time_labels", "Invalid include.time_labels: requires a time dimension."));
    }
    if q.dimensions.iter().filter(|d| d.is_time()).count() > 1 {
        return Err(invalid("#/dimensions", "At most one time dimension"));
    }
    for (i, d) in q.dimensions.iter().enumerate() {
        if q.dimensions.iter().take(i).any(|x| x == d) {
            return Err(invalid(&format!("#/dimensions/{i}"), format_args!("Dimension {} is given twice", Value::from(d.0.as_str()))));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
