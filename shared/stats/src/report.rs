//! Answers a validated [`Query`]: plans Analytics Engine queries, runs
//! them through a [`Runner`], merges and shapes the results as Plausible's
//! Stats API v2 does.
//!
//! AE SQL has no joins or regular expressions, and subqueries only as
//! `FROM (SELECT …)`, so:
//! - event metrics read event rows and session metrics read session sign
//!   rows, in separate queries merged here by dimension values;
//! - visitors of session rows (by exit page) are counted in one nested
//!   SELECT as those whose sign rows net out positive;
//! - session metrics under an event filter read both kinds in one nested
//!   SELECT that groups rows by session and keeps the sessions with a
//!   matching event ([`Select::render_touched`]);
//! - where that cannot work (the exit page, or either page's hostname, for
//!   event metrics, or as a dimension with an event filter: event rows do
//!   not hold them, and the exit changes within a session), the
//!   filter is first turned into the matching session ids (at most
//!   [`MAX_IDS`], listed [`IDS_PER_QUERY`] to a statement, each visitor's
//!   in one; sessions by their current state), as is a `has_done` filter;
//! - a `matches` filter is turned into the list of matching values seen in
//!   the period (at most [`MAX_VALUES`]), matched here with an RE2-style
//!   engine.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};

use beacon_types::slots::{Blob, Double, RowKind};
use beacon_types::{Device, SiteId, LIVE_WINDOW_MS};
use futures_util::future::{try_join, try_join_all, LocalBoxFuture, Shared};
use futures_util::FutureExt;
use jiff::tz::TimeZone;
use serde_json::{json, Map, Value};

use crate::goal::Goal;
use crate::period::{self, Comparison, Period};
use crate::query::{DateRange, Dimension, Filter, Metric, Query};
use crate::revenue::{self, Revenue};
use crate::sql::{Column, Cond, Expr, Select, Unit, ENGAGED_VISITS, SURVIVING, VISIT_ENGAGED_MS, VISIT_SCROLL};
use crate::StatsError;
use crate::{country, region};

mod comparison;
mod filter;
mod goal_breakdown;
mod pattern;
use comparison::{compute_pair, paired_buckets, shares_statements};
use filter::{decoded, device_name, filters_for, resolve_regex, Filters};
use goal_breakdown::{by_goal, goals_in_play};

/// Longest statement sent: ClickHouse refuses SQL over 256 KiB by default
/// (`max_query_size`), and so does the stand-in; this leaves room.
pub const MAX_SQL: usize = 240_000;

/// Most distinct values a regular expression is matched against.
pub const MAX_VALUES: usize = 10_000;
/// Most sessions an event filter may select for session metrics.
pub const MAX_IDS: usize = 100_000;
/// Most session ids one SQL statement lists; longer lists are split into
/// statements, each visitor's visits in one, whose answers are added.
pub const IDS_PER_QUERY: usize = 10_000;
/// Most groups read from one AE query.
pub const MAX_GROUPS: u32 = 100_000;
/// Longest regular expression accepted.
pub const MAX_REGEX: usize = 512;

/// Runs SQL on Analytics Engine; rows come back as `{"c0": …, "c1": …}`.
#[allow(async_fn_in_trait)]
pub trait Runner {
    /// Runs one SELECT.
    async fn rows(&self, sql: String) -> Result<Vec<Map<String, Value>>, StatsError>;
}

/// The site a query is answered for, from the caller's rights.
#[derive(Clone, Debug)]
pub struct SiteInfo {
    /// The tenant key (`index1`).
    pub id: SiteId,
    /// IANA time zone of the site's reports.
    pub timezone: String,
}

/// Raw aggregates a query reads; metrics are computed from them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Raw {
    Visitors,
    Visits,
    Pageviews,
    Events,
    Bounces,
    Duration,
    Revenue,
    RevenueEvents,
    EngagementMs,
    ScrollSum,
    /// Visits with engagement on the group's pages (time on page and
    /// scroll depth divide by it).
    EngagedVisits,
    /// Session-side pageviews (for views_per_visit).
    SessionPageviews,
    /// Session-side visits: the denominator of session metrics.
    SessionVisits,
    /// Visits that entered on a page the top-level `event:page` filter
    /// keeps: bounce_rate's denominator under such a filter.
    EnteredVisits,
    /// Visitors of the sign rows read, every state counted: right only
    /// where a visit's states agree on every group and filter.
    StateVisitors,
    /// Share of all visitors (percentage).
    Share,
    /// Converted visitors over all visitors without the goal and property
    /// filters (conversion_rate).
    Converted,
    /// The same over the group's own visitors (group_conversion_rate).
    GroupConverted,
}

/// What one dimension groups by.
#[derive(Clone, Debug, PartialEq)]
enum Dim {
    Time(Unit),
    Col(Column),
    Device,
    Goal,
}

type Key = Vec<String>;
type Table = HashMap<Key, BTreeMap<Raw, f64>>;
type Rows = Vec<(Key, BTreeMap<Raw, f64>)>;

/// One statement's answer, shared by every part of a query that asks it.
type Answer<'a> = Shared<LocalBoxFuture<'a, Result<Vec<Map<String, Value>>, StatsError>>>;

struct Ctx<'a, R> {
    runner: &'a R,
    site: &'a SiteInfo,
    tz: TimeZone,
    goals: &'a [Goal],
    /// How revenue metrics are answered, when asked.
    revenue: Option<Revenue>,
    /// Filter pre-queries sent so far, by their text: both kinds of rows
    /// resolve the same filters (a pattern's values, a `has_done`'s visits)
    /// at once, and a conversion rate's denominator again.
    resolving: RefCell<HashMap<String, Answer<'a>>>,
}

impl<'a, R: Runner> Ctx<'a, R> {
    /// The site's zone as SQL names it (time buckets are cut there).
    fn tz_name(&self) -> &str {
        self.tz.iana_name().unwrap_or("UTC")
    }

    /// Runs one statement, refusing up front one AE would refuse for its
    /// size: that is the caller's 400, not an engine failure.
    async fn rows(&self, sql: String) -> Result<Vec<Map<String, Value>>, StatsError> {
        fits(&sql)?;
        self.runner.rows(sql).await
    }

    /// [`Ctx::rows`] for a filter's pre-query (one small column, bounded),
    /// sent once per query however many parts ask it, even at once.
    async fn resolving_rows(&self, sql: String) -> Result<Vec<Map<String, Value>>, StatsError> {
        fits(&sql)?;
        let answer = {
            let runner = self.runner;
            let mut sent = self.resolving.borrow_mut();
            sent.entry(sql).or_insert_with_key(|sql| runner.rows(sql.clone()).boxed_local().shared()).clone()
        };
        answer.await
    }
}

/// The Unix second of the site's earliest event in `p`, if any: where
/// Plausible's `all` starts (its site's stats start date).
async fn first_data<R: Runner>(ctx: &Ctx<'_, R>, p: &Period) -> Result<Option<u64>, StatsError> {
    let mut s = Select::events(ctx.site.id.clone(), p.from_s, p.to_s);
    s.column(Expr::Earliest);
    let rows = ctx.rows(s.render()).await?;
    // No rows: an empty result, or ClickHouse's 0 for min() over none.
    let first = number(rows.first().and_then(|r| r.get("c0")));
    Ok((first >= 1.0).then_some(first as u64))
}

/// Refuses a statement AE would refuse for its size.
fn fits(sql: &str) -> Result<(), StatsError> {
    if sql.len() > MAX_SQL {
        return Err(StatsError::Invalid(format!(
            "#/filters: these filters make a query of {} KB, over the {} KB Analytics Engine accepts; use fewer or shorter values, or a narrower pattern or date range",
            sql.len() / 1000,
            MAX_SQL / 1000
        )));
    }
    Ok(())
}

/// Plausible's current visitors read from Analytics Engine: the distinct
/// visitors with an event other than engagement in the last five minutes
/// up to `now_ms` (the site object's window, [`LIVE_WINDOW_MS`]). Realtime's
/// answer while the object (which counts them without a statement) is
/// unreachable.
pub async fn current_visitors<R: Runner>(runner: &R, site: &SiteId, now_ms: u64) -> Result<u64, StatsError> {
    // The range ends before its last second: this one is included.
    let to_s = (now_ms / 1000).saturating_add(1);
    let mut select = Select::events(site.clone(), to_s.saturating_sub(LIVE_WINDOW_MS / 1000), to_s);
    select.filter(Cond::Not(Box::new(name_is("engagement"))));
    let col = select.column(Expr::Distinct(Double::VisitorId));
    let rows = runner.rows(select.render()).await?;
    // One row, a whole number (ClickHouse quotes 64-bit integers in
    // JSON): anything else is AE misanswering, not zero visitors.
    match rows.first().and_then(|r| r.get(&format!("c{col}"))) {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| StatsError::Upstream(format!("current visitors: not a count: {rows:?}")))
}

/// Answers `q` for `site` at `now_ms` with the site's `goals`.
pub async fn run<R: Runner>(runner: &R, q: &Query, site: &SiteInfo, goals: &[Goal], now_ms: u64) -> Result<Value, StatsError> {
    let revenue = match q.metrics.iter().any(|m| m.is_revenue()) {
        true => Some(Revenue::of(&goals_in_play(q, goals)?, q.dimensions.iter().any(|d| d.0 == "event:goal"))),
        false => None,
    };
    let ctx = Ctx { runner, site, tz: period::zone(&site.timezone), goals, revenue, resolving: RefCell::new(HashMap::new()) };
    let mut main = period::resolve(&q.date_range, &ctx.tz, now_ms)?;
    if matches!(&q.date_range, DateRange::Named(name) if name == "all") {
        main = period::all_since(&main, first_data(&ctx, &main).await?, &ctx.tz)?;
    }
    if let (true, DateRange::Named(name)) = (q.trim_relative_date_range, &q.date_range) {
        main = period::trim_to_today(main, name, &ctx.tz, now_ms)?;
    }
    let dims = q.dimensions.iter().map(|d| dimension(d, &main, q.from_v1)).collect::<Vec<_>>();
    // The comparison period is independent of the main one: both at once.
    let today = matches!(&q.date_range, DateRange::Named(name) if name == "day");
    let other = q.comparison.as_ref().map(|how| period::compare(&main, how, &ctx.tz, now_ms, today)).transpose()?;
    let (mut rows, mut cmp) = match &other {
        Some(o) if shares_statements(q, &dims, &main, o) => {
            let [mine, theirs] = compute_pair(&ctx, q, &main, o).await?;
            (mine, Some(theirs))
        }
        _ => {
            let compared_rows = async {
                match &other {
                    Some(o) => compute(&ctx, q, &dims, o).await.map(Some),
                    None => Ok(None),
                }
            };
            try_join(compute(&ctx, q, &dims, &main), compared_rows).await?
        }
    };
    for rows in std::iter::once(&mut rows).chain(cmp.as_mut()) {
        name_places(rows, q);
    }
    sort(&mut rows, q, &dims);
    let total_rows = rows.len();
    let compared = match (other, cmp) {
        (Some(o), Some(mut c)) => {
            sort(&mut c, q, &dims);
            Some((o, c))
        }
        _ => None,
    };

    let time_at = dims.iter().position(|d| matches!(d, Dim::Time(_)));
    // A time bucket pairs with the bucket at the same place among the
    // other period's labels (Plausible's time lookup), whether or not
    // either has data; other dimensions pair by value.
    let buckets = match (time_at.and_then(|at| dims.get(at).map(|d| (at, d))), &compared) {
        (Some((at, Dim::Time(unit))), Some((other, _))) => {
            let mine = period::labels(&main, *unit, &ctx.tz);
            let place: HashMap<String, usize> = mine.iter().enumerate().map(|(i, l)| (l.clone(), i)).collect();
            Some((at, *unit, place, mine, period::labels(other, *unit, &ctx.tz)))
        }
        _ => None,
    };
    // The other period's rows by key, their buckets as labelled (looked up
    // once, not scanned per row: both sides can have 10,000 buckets).
    let compared_by_key: HashMap<Key, usize> = match (&compared, &buckets) {
        (Some((other, cmp)), Some((at, unit, _, _, _))) => cmp
            .iter()
            .enumerate()
            .map(|(i, (k, _))| {
                let mut k = k.clone();
                if let Some(slot) = k.get_mut(*at) {
                    *slot = period::label(slot, *unit, other);
                }
                (k, i)
            })
            .collect(),
        (Some((_, cmp)), None) => cmp.iter().enumerate().map(|(i, (k, _))| (k.clone(), i)).collect(),
        _ => HashMap::new(),
    };
    // The revenue currency of a row: its goal's in a goal breakdown.
    let goal_at = dims.iter().position(|d| matches!(d, Dim::Goal));
    let currency_of = |goal: Option<&str>| ctx.revenue.as_ref().and_then(|r| r.currency(goal));
    let currency = |key: &Key| currency_of(goal_at.and_then(|at| key.get(at)).map(String::as_str));
    let start = usize::try_from(q.offset).unwrap_or(usize::MAX);
    let page = usize::try_from(q.limit).unwrap_or(usize::MAX);
    let mut results = Vec::new();
    if let ([Dim::Time(_)], Some((_, unit, _, mine, theirs)), Some((other, cmp))) = (dims.as_slice(), &buckets, &compared) {
        let sides = [(&rows, &main, mine), (cmp, other, theirs)];
        results.extend(paired_buckets(q, *unit, sides, currency_of(None)).into_iter().skip(start).take(page));
    } else {
        for (key, metrics) in rows.iter().skip(start).take(page) {
            let now_vals = metric_values(q, metrics, currency(key));
            let mut row = Map::new();
            row.insert("metrics".into(), json!(now_vals));
            row.insert("dimensions".into(), json!(dim_values(key, &dims, &q.dimensions, &main)));
            if let Some((other, cmp)) = &compared {
                let mut want = key.clone();
                if let Some((at, unit, place, _, theirs)) = &buckets {
                    let paired = key.get(*at).and_then(|raw| place.get(&period::label(raw, *unit, &main))).and_then(|i| theirs.get(*i));
                    if let (Some(slot), Some(paired)) = (want.get_mut(*at), paired) {
                        // A label is its own bucket key (labelling a label
                        // gives it back).
                        *slot = paired.clone();
                    }
                }
                let empty = BTreeMap::new();
                let (ck, cm) = match compared_by_key.get(&want).and_then(|i| cmp.get(*i)) {
                    Some((k, m)) => (k.clone(), m),
                    None => (want, &empty),
                };
                let then_vals = metric_values(q, cm, currency(&ck));
                let change = changes(q, &now_vals, &then_vals);
                row.insert(
                    "comparison".into(),
                    json!({ "dimensions": dim_values(&ck, &dims, &q.dimensions, other), "metrics": then_vals, "change": change }),
                );
            }
            results.push(Value::Object(row));
        }
    }

    let mut meta = Map::new();
    if q.time_labels {
        if let Some(Dim::Time(unit)) = time_at.and_then(|i| dims.get(i)) {
            meta.insert("time_labels".into(), json!(period::labels(&main, *unit, &ctx.tz)));
        }
    }
    if q.total_rows {
        meta.insert("total_rows".into(), json!(total_rows));
    }
    if let Some(warning) = ctx.revenue.as_ref().and_then(Revenue::warning) {
        let warnings: Map<String, Value> =
            q.metrics.iter().filter(|m| m.is_revenue()).map(|m| (m.name().to_owned(), warning.to_json())).collect();
        meta.insert("metric_warnings".into(), Value::Object(warnings));
    }
    if q.imports {
        // Beacon holds no imported data, as Plausible says of a site without.
        meta.insert("imports_included".into(), json!(false));
        meta.insert("imports_skip_reason".into(), json!("no_imported_data"));
    }
    let other = compared.as_ref().map(|(o, _)| o);
    Ok(json!({ "results": results, "meta": meta, "query": echo(q, &dims, &main, other, &ctx.tz) }))
}

/// The code-to-name table of a dimension that shows names of stored codes
/// (`visit:country_name`, `visit:region_name`), with the column of the codes.
fn place_names(dimension: &str) -> Option<(&'static [(&'static str, &'static str)], Blob)> {
    match dimension {
        "visit:country_name" => Some((country::COUNTRIES, Blob::Country)),
        "visit:region_name" => Some((region::regions(), Blob::Region)),
        _ => None,
    }
}

/// Country and region names group by code; the name replaces it before rows
/// are sorted, paged and paired with the comparison. A code without a name
/// stays as it is.
fn name_places(rows: &mut Rows, q: &Query) {
    for (i, d) in q.dimensions.iter().enumerate() {
        let Some((table, _)) = place_names(&d.0) else { continue };
        for (key, _) in rows.iter_mut() {
            if let Some(k) = key.get_mut(i) {
                if let Some(name) = country::lookup(table, k) {
                    *k = name.to_owned();
                }
            }
        }
    }
}

fn dimension(d: &Dimension, p: &Period, from_v1: bool) -> Dim {
    let blob = |b| Dim::Col(Column::Blob(b));
    match d.0.as_str() {
        "time" if from_v1 => Dim::Time(period::v1_unit(p)),
        "time" => Dim::Time(period::auto_unit(p)),
        "time:hour" => Dim::Time(Unit::Hour),
        "time:day" => Dim::Time(Unit::Day),
        "time:week" => Dim::Time(Unit::Week),
        "time:month" => Dim::Time(Unit::Month),
        "event:goal" => Dim::Goal,
        "visit:device" | "visit:screen" => Dim::Device,
        other => match other.strip_prefix("event:props:") {
            Some(key) => Dim::Col(Column::Prop(key.to_owned())),
            None => column_of(other).map(blob).unwrap_or(Dim::Col(Column::Blob(Blob::Name))),
        },
    }
}

/// The blob of a non-special dimension, on event rows (the session-only
/// exit page and page hostnames: on session rows).
fn column_of(name: &str) -> Option<Blob> {
    Some(match name {
        "event:page" => Blob::Pathname,
        "event:hostname" => Blob::Hostname,
        "event:name" => Blob::Name,
        "visit:source" => Blob::Source,
        "visit:referrer" => Blob::Referrer,
        "visit:channel" => Blob::Channel,
        "visit:utm_medium" => Blob::UtmMedium,
        "visit:utm_source" => Blob::UtmSource,
        "visit:utm_campaign" => Blob::UtmCampaign,
        "visit:utm_content" => Blob::UtmContent,
        "visit:utm_term" => Blob::UtmTerm,
        "visit:browser" => Blob::Browser,
        "visit:browser_version" => Blob::BrowserVersion,
        "visit:os" => Blob::Os,
        "visit:os_version" => Blob::OsVersion,
        "visit:country" | "visit:country_name" => Blob::Country,
        "visit:region" | "visit:region_name" => Blob::Region,
        "visit:city" | "visit:city_name" => Blob::City,
        "visit:entry_page" => Blob::EntryPage,
        "visit:exit_page" => Blob::Pathname,
        "visit:entry_page_hostname" => Blob::Hostname,
        "visit:exit_page_hostname" => Blob::Name,
        _ => return None,
    })
}

/// What a blank value of a dimension reads as (Plausible's wording).
fn blank(name: &str) -> Option<&'static str> {
    match name {
        "visit:source" => Some("Direct / None"),
        n if n.starts_with("visit:") && !n.ends_with("_page") => Some("(not set)"),
        _ => None,
    }
}

/// Whether `value`, in an `is`/`is_not` filter on `name`, stands for a blank
/// (Plausible's list: "(not set)" anywhere, "Direct / None" for the source,
/// referrer and UTM fields).
fn names_blank(name: &str, value: &str) -> bool {
    value == "(not set)"
        || (value == "Direct / None" && (name == "visit:source" || name == "visit:referrer" || name.starts_with("visit:utm_")))
}

/// Dimensions only event rows hold. Sign rows keep the entry page's
/// hostname in the hostname slot, but `event:hostname` is about events: a
/// visit matches it by any of its events (or, in a breakdown Plausible maps
/// to a page hostname, by that page: `filter::session_filters`).
fn event_only(name: &str) -> bool {
    name.starts_with("event:")
}

/// Dimensions only session rows hold.
fn session_only(name: &str) -> bool {
    matches!(name, "visit:exit_page" | "visit:entry_page_hostname" | "visit:exit_page_hostname")
}

/// Dimensions rows of `kind` do not hold.
fn foreign(kind: RowKind) -> fn(&str) -> bool {
    match kind {
        RowKind::Event => session_only,
        RowKind::Session => event_only,
    }
}

fn other_kind(kind: RowKind) -> RowKind {
    match kind {
        RowKind::Event => RowKind::Session,
        RowKind::Session => RowKind::Event,
    }
}

fn uses(f: &Filter, test: fn(&str) -> bool) -> bool {
    let mut dims = Vec::new();
    f.dimensions(0, &mut dims);
    dims.iter().any(|(d, _)| test(d))
}

/// Which kind of rows each requested metric is read from.
struct Plan {
    /// Everything from session rows (a session-only dimension is asked).
    sessions_only: bool,
    /// An event dimension other than time/visit ones is asked: visits are
    /// then the sessions with an event in each group, from event rows.
    event_dims: bool,
}

/// Which kinds of rows a query reads.
struct Needs {
    events: bool,
    sessions: bool,
    /// Visitors are counted on the sign rows ([`visitors_of_visits`]).
    visitors_from_sessions: bool,
}

/// Whether `q` asks any of `ms`.
fn wants(q: &Query, ms: &[Metric]) -> bool {
    q.metrics.iter().any(|m| ms.contains(m))
}

impl Plan {
    fn of(q: &Query) -> Self {
        Plan { sessions_only: q.dimensions.iter().any(|d| session_only(&d.0)), event_dims: q.dimensions.iter().any(|d| event_only(&d.0)) }
    }

    fn needs(&self, q: &Query) -> Needs {
        let wants = |ms: &[Metric]| wants(q, ms);
        let sessions = self.sessions_only
            || wants(&[Metric::BounceRate, Metric::VisitDuration, Metric::ViewsPerVisit])
            || (wants(&[Metric::Visits]) && !self.event_dims);
        let visitors_from_sessions = sessions && visitors_of_visits(q);
        let events = !self.sessions_only
            && !visitors_from_sessions
            && (wants(&[
                Metric::Visitors,
                Metric::Pageviews,
                Metric::Events,
                Metric::TotalRevenue,
                Metric::AverageRevenue,
                Metric::TimeOnPage,
                Metric::ScrollDepth,
                Metric::Percentage,
                Metric::ConversionRate,
                Metric::GroupConversionRate,
            ]) || (wants(&[Metric::Visits]) && self.event_dims));
        Needs { events, sessions, visitors_from_sessions }
    }

    /// What event rows are read for.
    fn event_raws(&self, q: &Query) -> Vec<Raw> {
        let mut raws = vec![];
        for m in &q.metrics {
            raws.extend(event_raws(*m));
            if *m == Metric::Visits && self.event_dims {
                raws.push(Raw::Visits);
            }
        }
        raws.sort();
        raws.dedup();
        raws
    }

    /// What sign rows are read for (`entered`: bounce rate's denominator
    /// is the visits entering on the filtered pages).
    fn session_raws(&self, q: &Query, visitors_from_sessions: bool, entered: bool) -> Vec<Raw> {
        let mut raws = vec![Raw::Visits];
        if self.sessions_only {
            raws.extend([Raw::Visitors, Raw::Pageviews, Raw::Events]);
        }
        if visitors_from_sessions {
            raws.push(Raw::StateVisitors);
        }
        if wants(q, &[Metric::BounceRate]) {
            raws.push(Raw::Bounces);
            if entered {
                raws.push(Raw::EnteredVisits);
            }
        }
        if wants(q, &[Metric::VisitDuration]) {
            raws.push(Raw::Duration);
        }
        if wants(q, &[Metric::ViewsPerVisit]) {
            raws.push(Raw::Pageviews);
        }
        raws.dedup();
        raws
    }

    /// Sign rows' figures under the names they answer: event rows answer
    /// pageviews and visits when they are read; the session side keeps its
    /// own as denominators.
    fn session_slots(&self, rows: Rows) -> Rows {
        let slot = |raw| match raw {
            Raw::Visits => Raw::SessionVisits,
            Raw::StateVisitors => Raw::Visitors,
            Raw::Pageviews if !self.sessions_only => Raw::SessionPageviews,
            other => other,
        };
        rows.into_iter().map(|(key, vals)| (key, vals.into_iter().map(|(r, v)| (slot(r), v)).collect())).collect()
    }
}

/// Both kinds' rows merged by key: an aggregate always answers one row,
/// and groups whose sign rows cancel out are not visits at all.
fn merged(events: Rows, sessions: Rows, dims: &[Dim]) -> Table {
    let mut table: Table = HashMap::new();
    for (key, vals) in events.into_iter().chain(sessions) {
        merge(&mut table, key, vals);
    }
    if dims.is_empty() {
        // Zeros when nothing matched (not empty: an empty row is one a
        // comparison lacks).
        table.entry(Vec::new()).or_insert_with(|| BTreeMap::from([(Raw::Visitors, 0.0)]));
    }
    table.retain(|k, v| {
        k.is_empty()
            || v.iter().any(|(r, x)| {
                *x != 0.0
                    && matches!(
                        r,
                        Raw::Visitors
                            | Raw::Visits
                            | Raw::SessionVisits
                            | Raw::Pageviews
                            | Raw::Events
                            | Raw::EngagedVisits
                            | Raw::RevenueEvents
                    )
            })
    });
    table
}

async fn compute<R: Runner>(ctx: &Ctx<'_, R>, q: &Query, dims: &[Dim], p: &Period) -> Result<Vec<(Key, BTreeMap<Raw, f64>)>, StatsError> {
    let plan = Plan::of(q);
    if plan.sessions_only {
        // Sign rows hold no event's page, name, goal or props (their slots
        // mean other things there), and event rows no visit's exit page:
        // answering both would take a join AE SQL lacks.
        let first = |test: fn(&str) -> bool| q.dimensions.iter().position(|d| test(&d.0));
        if let (Some(e), Some(s)) = (first(event_only), first(session_only)) {
            let name = |i: usize| q.dimensions.get(i).map_or("", |d| d.0.as_str());
            return Err(StatsError::Invalid(format!(
                "#/dimensions/{}: Dimension `{}` cannot be combined with `{}`",
                e.max(s),
                name(e.max(s)),
                name(e.min(s))
            )));
        }
        if let Some(m) = q.metrics.iter().find(|m| {
            !matches!(
                m,
                Metric::Visitors
                    | Metric::Visits
                    | Metric::Pageviews
                    | Metric::Events
                    | Metric::BounceRate
                    | Metric::VisitDuration
                    | Metric::Percentage
            )
        }) {
            let d = q.dimensions.iter().find(|d| session_only(&d.0)).map_or("visit:exit_page", |d| d.0.as_str());
            return Err(StatsError::Invalid(format!("#/metrics: Metric `{}` cannot be queried with {d}", m.name())));
        }
    }
    let wants = |ms: &[Metric]| wants(q, ms);
    let Needs { events: needs_events, sessions: needs_sessions, visitors_from_sessions } = plan.needs(q);

    // Each kind's filters are resolved once (their pre-queries are I/O),
    // both kinds at once.
    // Session metrics with event filters read both kinds in one nested
    // statement, unless a key varies within a session (the exit page).
    let nest = !plan.sessions_only;
    let resolve = |needed: bool, kind| async move {
        if needed {
            filters_for(ctx, q, kind, p, nest).await
        } else {
            Ok(Filters::default())
        }
    };
    let (ev_conds, se_conds) = try_join(resolve(needs_events, RowKind::Event), resolve(needs_sessions, RowKind::Session)).await?;

    let goal_dim = dims.iter().position(|d| matches!(d, Dim::Goal));
    // A plain "top N by visitors" from event rows alone can rank and cut in
    // SQL: AE then returns one page, not every group.
    let by_visitors = q.order_by.is_empty() || q.order_by == [("visitors".to_owned(), true)];
    let top = (!needs_sessions
        && goal_dim.is_none()
        && !dims.is_empty()
        && !dims.iter().any(|d| matches!(d, Dim::Time(_)))
        && q.metrics.first() == Some(&Metric::Visitors)
        && !q.dimensions.iter().any(|d| place_names(&d.0).is_some())
        && by_visitors
        && !q.total_rows
        && q.comparison.is_none())
    .then(|| u32::try_from(q.offset.saturating_add(q.limit)).unwrap_or(MAX_GROUPS));
    // The event side and the session side are independent: AE gets both
    // questions at once.
    let events = async {
        if !needs_events {
            return Ok::<Rows, StatsError>(Vec::new());
        }
        let raws = plan.event_raws(q);
        match goal_dim {
            None => query_kind(ctx, &ev_conds, RowKind::Event, dims, &raws, p, None, top).await,
            Some(at) => by_goal(ctx, &ev_conds, dims, at, &raws, p).await,
        }
    };
    let sessions = async {
        if !needs_sessions {
            return Ok::<Rows, StatsError>(Vec::new());
        }
        let raws = plan.session_raws(q, visitors_from_sessions, se_conds.entered.is_some());
        // Session rows group event:page by entry page (Plausible's bounce
        // rate of a page is that of visits entering on it).
        let sdims: Vec<Dim> = dims
            .iter()
            .map(|d| match d {
                Dim::Col(Column::Blob(Blob::Pathname)) if !plan.sessions_only => Dim::Col(Column::Blob(Blob::EntryPage)),
                other => other.clone(),
            })
            .collect();
        let rows = query_kind(ctx, &se_conds, RowKind::Session, &sdims, &raws, p, None, None).await?;
        Ok(plan.session_slots(rows))
    };
    let (events, sessions) = try_join(events, sessions).await?;
    // When both kinds are read, the event side's groups are the rows, as in
    // Plausible's left join of the session side onto it: sessions grouped
    // by entry page add no row for a page the filtered events never saw.
    let groups: Option<HashSet<Key>> =
        (needs_events && needs_sessions && !dims.is_empty()).then(|| events.iter().map(|(k, _)| k.clone()).collect());
    let mut table = merged(events, sessions, dims);
    if let Some(groups) = groups {
        table.retain(|k, _| groups.contains(k));
    }

    if wants(&[Metric::Percentage]) {
        let (kind, conds) = if plan.sessions_only { (RowKind::Session, &se_conds) } else { (RowKind::Event, &ev_conds) };
        let total = query_kind(ctx, conds, kind, &[], &[Raw::Visitors], p, None, None).await?;
        let all = total.first().and_then(|(_, v)| v.get(&Raw::Visitors)).copied().unwrap_or(0.0);
        // No share of nobody: Plausible's percentage is null then.
        if all > 0.0 {
            for v in table.values_mut() {
                let mine = get(v, Raw::Visitors);
                v.insert(Raw::Share, ratio(mine, all));
            }
        }
    }
    if wants(&[Metric::ConversionRate, Metric::GroupConversionRate]) {
        // Plausible's denominators: the visitors of the same query without
        // its top-level goal and property filters (validation keeps both
        // at the top level), over every group (conversion_rate) or per
        // group, goal included (group_conversion_rate).
        let mut bare = q.clone();
        bare.filters.retain(
            |f| !matches!(f, Filter::Leaf { dimension, .. } if dimension.0 == "event:goal" || dimension.0.starts_with("event:props:")),
        );
        let bare_conds = filters_for(ctx, &bare, RowKind::Event, p, false).await?;
        let visitors = |rows: Rows| -> HashMap<Key, f64> {
            rows.into_iter().map(|(k, v)| (k, v.get(&Raw::Visitors).copied().unwrap_or(0.0))).collect()
        };
        if wants(&[Metric::ConversionRate]) {
            let all = visitors(query_kind(ctx, &bare_conds, RowKind::Event, &[], &[Raw::Visitors], p, None, None).await?);
            let all = all.values().next().copied().unwrap_or(0.0);
            for v in table.values_mut() {
                v.insert(Raw::Converted, ratio(get(v, Raw::Visitors), all));
            }
        }
        if wants(&[Metric::GroupConversionRate]) {
            let groups = visitors(match goal_dim {
                None => query_kind(ctx, &bare_conds, RowKind::Event, dims, &[Raw::Visitors], p, None, None).await?,
                Some(at) => by_goal(ctx, &bare_conds, dims, at, &[Raw::Visitors], p).await?,
            });
            for (key, v) in table.iter_mut() {
                let all = groups.get(key).copied().unwrap_or(0.0);
                v.insert(Raw::GroupConverted, ratio(get(v, Raw::Visitors), all));
            }
        }
    }
    Ok(table.into_iter().collect())
}

/// The column of a group key; `day`: it holds a day as a Unix second.
#[derive(Clone, Copy)]
struct KeyCol {
    at: usize,
    day: bool,
}

/// Groups `select` by `dims` (the goal aside: it is counted per goal);
/// returns their columns, in order.
fn group_by_dims(select: &mut Select, dims: &[Dim], tz: &str) -> Vec<KeyCol> {
    let mut cols = Vec::new();
    for d in dims {
        let expr = match d {
            Dim::Time(unit) => Expr::Bucket(*unit, tz.to_owned()),
            Dim::Col(c) => Expr::Col(c.clone()),
            Dim::Device => Expr::Col(Column::Double(Double::Device)),
            Dim::Goal => continue,
        };
        let at = select.column(expr);
        select.group_by(at);
        cols.push(KeyCol { at, day: *d == Dim::Time(Unit::Day) });
    }
    cols
}

/// A row's group key: the values of its dimension columns `cols`, a day
/// as its date in `tz`.
fn key_of(row: &Map<String, Value>, cols: &[KeyCol], tz: &TimeZone) -> Key {
    cols.iter()
        .map(|c| {
            let value = text(row.get(&format!("c{}", c.at)));
            if c.day {
                period::day_label(&value, tz)
            } else {
                value
            }
        })
        .collect()
}

/// Adds `vals` to the figures of a group.
fn add(group: &mut BTreeMap<Raw, f64>, vals: impl IntoIterator<Item = (Raw, f64)>) {
    for (raw, v) in vals {
        *group.entry(raw).or_insert(0.0) += v;
    }
}

/// Whether `q`'s visitors can come from the sign rows its session metrics
/// read, in the same statement, as Plausible takes them from its sessions
/// table when no metric, dimension or filter needs events (`TableDecider`).
/// Every state of a visit active in a period overlaps it too (a state's end
/// only grows), so a distinct count over the states read counts the
/// visitors of the active visits; that holds only where all of a visit's
/// states fall in one group and pass the same filters: visit fields that
/// never change, no time buckets (states end in different ones), no exit
/// page.
fn visitors_of_visits(q: &Query) -> bool {
    let steady = |d: &str| d.starts_with("visit:") && !session_only(d);
    let mut filtered = Vec::new();
    q.filters.iter().for_each(|f| f.dimensions(0, &mut filtered));
    q.metrics.contains(&Metric::Visitors)
        && q.metrics
            .iter()
            .all(|m| matches!(m, Metric::Visitors | Metric::Visits | Metric::BounceRate | Metric::VisitDuration | Metric::ViewsPerVisit))
        && q.dimensions.iter().all(|d| steady(&d.0))
        && filtered.iter().all(|(d, _)| steady(d))
}

/// Raw aggregates event rows give for `m`.
fn event_raws(m: Metric) -> Vec<Raw> {
    match m {
        Metric::Visitors | Metric::Percentage | Metric::ConversionRate | Metric::GroupConversionRate => vec![Raw::Visitors],
        Metric::Pageviews => vec![Raw::Pageviews],
        Metric::Events => vec![Raw::Events],
        // Events too: a group with events but no revenue is still a row.
        Metric::TotalRevenue | Metric::AverageRevenue => vec![Raw::Revenue, Raw::RevenueEvents, Raw::Events],
        Metric::TimeOnPage => vec![Raw::EngagementMs, Raw::EngagedVisits],
        Metric::ScrollDepth => vec![Raw::ScrollSum, Raw::EngagedVisits],
        _ => vec![],
    }
}

fn name_is(v: &str) -> Cond {
    Cond::In(Column::Blob(Blob::Name), vec![v.to_owned()], true)
}

fn raw_expr(raw: Raw, kind: RowKind) -> Expr {
    match (kind, raw) {
        (_, Raw::Visitors | Raw::StateVisitors) => Expr::Distinct(Double::VisitorId),
        (RowKind::Event, Raw::Visits) => Expr::Distinct(Double::SessionId),
        // Event rows hold their own 1 or 0 there (no name to compare).
        (RowKind::Event, Raw::Pageviews) => Expr::Sum(vec![Double::Pageviews], None),
        (RowKind::Event, Raw::Events) => Expr::Sum(vec![Double::Events], None),
        // Counted only over the revenue goals' events (`query_kind`).
        (RowKind::Event, Raw::Revenue) => Expr::Sum(vec![Double::RevenueAmount], None),
        (RowKind::Event, Raw::RevenueEvents) => Expr::Sum(vec![], None),
        (RowKind::Session, Raw::Pageviews) => Expr::Sum(vec![Double::Sign, Double::Pageviews], None),
        (RowKind::Session, Raw::Events) => Expr::Sum(vec![Double::Sign, Double::Events], None),
        (RowKind::Session, Raw::Bounces) => Expr::Sum(vec![Double::Sign, Double::IsBounce], None),
        (RowKind::Session, Raw::Duration) => Expr::Sum(vec![Double::Sign, Double::Duration], None),
        // Engagement figures are never columns of a select: `query_kind`
        // asks them per visit (`Select::render_per_visit`).
        (_, _) => Expr::Sum(vec![Double::Sign], None),
    }
}

/// One aggregate query over one kind of rows, with `conds` (the query's
/// filters as [`filters_for`] resolved them) and `extra`, grouped by `dims`.
/// Session rows touched by event filters are read in one nested statement.
#[allow(clippy::too_many_arguments)]
async fn query_kind<R: Runner>(
    ctx: &Ctx<'_, R>,
    filters: &Filters,
    kind: RowKind,
    dims: &[Dim],
    raws: &[Raw],
    p: &Period,
    extra: Option<Cond>,
    top: Option<u32>,
) -> Result<Vec<(Key, BTreeMap<Raw, f64>)>, StatsError> {
    let extra = match extra {
        Some(mut cond) => {
            resolve_regex(ctx, &mut cond, kind, p).await?;
            Some(cond)
        }
        None => None,
    };
    let conds = &filters.own;
    // A long list of visits becomes several statements, one part each.
    let mut chunks: Vec<Vec<Cond>> = vec![conds.to_vec()];
    if let Some((at, parts)) = conds.iter().enumerate().find_map(|(at, c)| match c {
        Cond::Visits(parts) if parts.len() > 1 => Some((at, parts)),
        _ => None,
    }) {
        chunks = parts
            .iter()
            .map(|part| {
                let mut c = conds.to_vec();
                if let Some(slot) = c.get_mut(at) {
                    *slot = Cond::Visits(vec![part.clone()]);
                }
                c
            })
            .collect();
    }
    let single = chunks.len() == 1;
    let tz = ctx.tz_name();
    let by_hour = match dims.iter().position(|d| *d == Dim::Time(Unit::Hour)) {
        Some(at) if kind == RowKind::Session => Some(Hours::of(p, at, &ctx.tz)),
        _ => None,
    };
    // Visitors of session rows count only states not since cancelled.
    let net_visitors = kind == RowKind::Session && raws.contains(&Raw::Visitors);
    // Scroll depth and time on page are per visit with engagement, as
    // Plausible's are: one nested statement answers both.
    let per_visit = kind == RowKind::Event && raws.contains(&Raw::EngagedVisits);
    let parts = chunks.iter().map(|conds| {
        let by_hour = by_hour.as_ref();
        let mut select = Select::of(kind, ctx.site.id.clone(), p.from_s, p.to_s);
        for cond in conds.iter().chain(&extra) {
            select.filter(cond.clone());
        }
        let dim_cols = group_by_dims(&mut select, dims, tz);
        let keys_only = net_visitors.then(|| select.clone());
        // Session sums by hour also group by the hour each visit's time in
        // the range starts, to spread the visit over every hour it was
        // active (below). Visitors (`keys_only`) stay in their last hour: a
        // distinct count cannot be spread.
        let start_col = by_hour.map(|_| {
            let col = select.column(Expr::StartBucket(Unit::Hour, tz.to_owned()));
            select.group_by(col);
            col
        });
        let engaged = per_visit.then(|| {
            let mut s = select.clone();
            s.filter(name_is("engagement"));
            // Rows of no visit (written while the site object was down)
            // have session id 0: grouped by session they would pool into
            // one made-up visit.
            s.filter(Cond::Not(Box::new(Cond::NumberIn(Column::Double(Double::SessionId), vec![0.0]))));
            s
        });
        let apart = |r: &Raw| {
            (net_visitors && *r == Raw::Visitors) || (per_visit && matches!(r, Raw::ScrollSum | Raw::EngagementMs | Raw::EngagedVisits))
        };
        let revenue_events = ctx.revenue.as_ref().and_then(|r| r.cond.as_ref());
        let expr = |r: Raw| match (r, raw_expr(r, kind), &filters.entered) {
            (Raw::Bounces | Raw::EnteredVisits, Expr::Sum(factors, None), Some(entered)) => Expr::Sum(factors, Some(entered.clone())),
            (Raw::Revenue | Raw::RevenueEvents, Expr::Sum(factors, None), _) => Expr::Sum(factors, revenue_events.cloned()),
            (_, e, _) => e,
        };
        // Revenue is not read at all when its metrics are null.
        let counted = |r: &&Raw| !matches!(r, Raw::Revenue | Raw::RevenueEvents) || revenue_events.is_some();
        let raw_cols: Vec<(Raw, usize)> =
            raws.iter().filter(|r| !apart(r)).filter(counted).map(|r| (*r, select.column(expr(*r)))).collect();
        // Largest first, ties by the dimensions (as `sort` orders them), so
        // a LIMIT keeps exactly the rows the full ranking would.
        if let Some((_, first)) = raw_cols.first() {
            select.order_by(*first, true);
        }
        for c in &dim_cols {
            select.order_by(c.at, false);
        }
        let limit = if single { top.unwrap_or(MAX_GROUPS) } else { MAX_GROUPS };
        select.limit(limit.min(MAX_GROUPS));
        let sql = match &filters.touched_by {
            Some(events) => select.render_touched(events, MAX_GROUPS),
            None => select.render(),
        };
        async move {
            let main = async {
                if raw_cols.is_empty() {
                    Ok(Vec::new())
                } else {
                    ctx.rows(sql).await
                }
            };
            let visitors = async {
                match &keys_only {
                    Some(keys) => ctx.rows(keys.render_surviving(Double::VisitorId, MAX_GROUPS)).await,
                    None => Ok(Vec::new()),
                }
            };
            let engagement = async {
                match &engaged {
                    Some(s) => ctx.rows(s.render_per_visit(MAX_GROUPS)).await,
                    None => Ok(Vec::new()),
                }
            };
            let ((rows, visitor_rows), engagement_rows) = try_join(try_join(main, visitors), engagement).await?;
            let mut out: HashMap<Key, BTreeMap<Raw, f64>> = HashMap::new();
            for row in &rows {
                let vals: Vec<(Raw, f64)> = raw_cols.iter().map(|(r, c)| (*r, number(row.get(&format!("c{c}"))))).collect();
                let key = key_of(row, &dim_cols, &ctx.tz);
                let keys = match (by_hour, start_col) {
                    (Some(hours), Some(c)) => hours.spread(key, &text(row.get(&format!("c{c}")))),
                    _ => vec![key],
                };
                for key in keys {
                    add(out.entry(key).or_default(), vals.iter().copied());
                }
            }
            for row in &visitor_rows {
                out.entry(key_of(row, &dim_cols, &ctx.tz)).or_default().insert(Raw::Visitors, number(row.get(SURVIVING)));
            }
            for row in &engagement_rows {
                let entry = out.entry(key_of(row, &dim_cols, &ctx.tz)).or_default();
                entry.insert(Raw::ScrollSum, number(row.get(VISIT_SCROLL)));
                entry.insert(Raw::EngagementMs, number(row.get(VISIT_ENGAGED_MS)));
                entry.insert(Raw::EngagedVisits, number(row.get(ENGAGED_VISITS)));
            }
            Ok::<Rows, StatsError>(out.into_iter().collect())
        }
    });
    let mut parts = try_join_all(parts).await?;
    if single {
        return Ok(parts.pop().unwrap_or_default());
    }
    // Parts hold disjoint visits and visitors: every aggregate here, the
    // distinct counts too, adds up over them.
    let mut sums: HashMap<Key, BTreeMap<Raw, f64>> = HashMap::new();
    for (key, vals) in parts.into_iter().flatten() {
        add(sums.entry(key).or_default(), vals);
    }
    Ok(sums.into_iter().collect())
}

/// A period's hour labels, to spread a visit's sums over every hour it
/// was active in, as Plausible's sessions are by hour: the hour dimension
/// is the `at`-th key.
struct Hours {
    at: usize,
    labels: Vec<String>,
    place: HashMap<String, usize>,
}

impl Hours {
    fn of(p: &Period, at: usize, tz: &TimeZone) -> Self {
        let labels = period::labels(p, Unit::Hour, tz);
        let place = labels.iter().enumerate().map(|(i, l)| (l.clone(), i)).collect();
        Hours { at, labels, place }
    }

    /// `key` (whose hour is where a group's visits end) once for every
    /// hour from `start` to that one; just `key` when either is unlisted.
    fn spread(&self, key: Key, start: &str) -> Vec<Key> {
        let span = key.get(self.at).and_then(|end| Some((*self.place.get(start)?, *self.place.get(end)?)));
        match span.and_then(|(first, last)| self.labels.get(first..=last)) {
            Some(hours) if !hours.is_empty() => hours
                .iter()
                .map(|h| {
                    let mut k = key.clone();
                    if let Some(slot) = k.get_mut(self.at) {
                        slot.clone_from(h);
                    }
                    k
                })
                .collect(),
            _ => vec![key],
        }
    }
}

fn merge(table: &mut Table, key: Key, vals: BTreeMap<Raw, f64>) {
    table.entry(key).or_default().extend(vals);
}

/// A cell as text (AE returns 64-bit integers as strings).
fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn number(v: Option<&Value>) -> f64 {
    match v {
        Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
        Some(Value::String(s)) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Plausible's default order: time ascending, else the first metric
/// descending; explicit `order_by` first. Ties break on the dimensions.
fn sort(rows: &mut [(Key, BTreeMap<Raw, f64>)], q: &Query, dims: &[Dim]) {
    let metric_of = |vals: &BTreeMap<Raw, f64>, m: Metric| metric_number(m, vals);
    let mut order: Vec<(Result<usize, Metric>, bool)> = Vec::new();
    for (name, desc) in &q.order_by {
        if let Some(i) = q.dimensions.iter().position(|d| &d.0 == name) {
            order.push((Ok(i), *desc));
        } else if let Some(m) = q.metrics.iter().find(|m| m.name() == name) {
            order.push((Err(*m), *desc));
        }
    }
    if let Some(i) = dims.iter().position(|d| matches!(d, Dim::Time(_))) {
        order.push((Ok(i), false));
    }
    if let Some(m) = q.metrics.first() {
        order.push((Err(*m), true));
    }
    for i in 0..dims.len() {
        order.push((Ok(i), false));
    }
    rows.sort_by(|(ka, va), (kb, vb)| {
        for (by, desc) in &order {
            let o = match by {
                // As text, as Plausible's SQL orders them (device codes are
                // single digits: text order is their order).
                Ok(i) => ka.get(*i).map(String::as_str).unwrap_or("").cmp(kb.get(*i).map(String::as_str).unwrap_or("")),
                Err(m) => metric_of(va, *m).total_cmp(&metric_of(vb, *m)),
            };
            let o = if *desc { o.reverse() } else { o };
            if o.is_ne() {
                return o;
            }
        }
        std::cmp::Ordering::Equal
    });
}

fn get(vals: &BTreeMap<Raw, f64>, r: Raw) -> f64 {
    vals.get(&r).copied().unwrap_or(0.0)
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

fn round_to(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

/// ClickHouse's `round(x, places)` on a Float64, which Plausible's SQL
/// applies to its rates and averages: scaled, then a tie goes to the even
/// neighbour (a bounce rate of 12.5 is 12, a share of 6.25 is 6.2).
fn round_sql(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round_ties_even() / f
}

/// A metric's value from the raw aggregates of its group.
fn metric_number(m: Metric, v: &BTreeMap<Raw, f64>) -> f64 {
    let visits = get(v, Raw::SessionVisits);
    match m {
        Metric::Visitors => get(v, Raw::Visitors).round(),
        Metric::Visits => v.get(&Raw::Visits).copied().unwrap_or(visits).round(),
        Metric::Pageviews => get(v, Raw::Pageviews).round(),
        Metric::Events => get(v, Raw::Events).round(),
        // Rounded where Plausible's SQL rounds them (`round_sql`), rates of
        // conversion to two places as its current special metrics do.
        Metric::ViewsPerVisit => round_sql(ratio(get(v, Raw::SessionPageviews), visits), 2),
        Metric::BounceRate => round_sql(ratio(get(v, Raw::Bounces), v.get(&Raw::EnteredVisits).copied().unwrap_or(visits)) * 100.0, 0),
        Metric::VisitDuration => round_sql(ratio(get(v, Raw::Duration), visits), 0),
        Metric::Percentage => round_sql(get(v, Raw::Share) * 100.0, 1),
        Metric::ConversionRate => round_sql(get(v, Raw::Converted) * 100.0, 2),
        Metric::GroupConversionRate => round_sql(get(v, Raw::GroupConverted) * 100.0, 2),
        // Plausible's revenue columns are decimals to three places.
        Metric::TotalRevenue => round_to(get(v, Raw::Revenue), 3),
        Metric::AverageRevenue => revenue::average(get(v, Raw::Revenue), get(v, Raw::RevenueEvents)),
        Metric::TimeOnPage => ratio(get(v, Raw::EngagementMs) / 1000.0, get(v, Raw::EngagedVisits)).round(),
        Metric::ScrollDepth => round_sql(ratio(get(v, Raw::ScrollSum), get(v, Raw::EngagedVisits)), 0),
    }
}

/// A row's metrics as JSON, revenue as money in the row's `currency`.
/// Scroll depth and time on page of a group with no engaged visit are
/// null, as Plausible's SQL makes them, and so is the percentage of no
/// visitors at all; revenue without a currency is null too. A row a
/// period lacks (`v` empty) reads Plausible's defaults: zeros, but null
/// visit duration, scroll depth and time on page.
fn metric_values(q: &Query, v: &BTreeMap<Raw, f64>, currency: Option<&str>) -> Vec<Value> {
    // A row the period lacks: Plausible's defaults (`Metrics.default_value`).
    let missing = v.is_empty();
    let unengaged = !missing && get(v, Raw::EngagedVisits) == 0.0;
    let unshared = !missing && !v.contains_key(&Raw::Share);
    q.metrics
        .iter()
        .map(|m| {
            let x = metric_number(*m, v);
            match m {
                Metric::ScrollDepth | Metric::TimeOnPage if unengaged => Value::Null,
                Metric::ScrollDepth | Metric::TimeOnPage | Metric::VisitDuration if missing => Value::Null,
                Metric::Percentage if unshared => Value::Null,
                Metric::TotalRevenue | Metric::AverageRevenue => currency.map_or(Value::Null, |c| revenue::money(x, c)),
                Metric::ViewsPerVisit | Metric::Percentage | Metric::ConversionRate | Metric::GroupConversionRate => json!(x),
                _ => json!(x as i64),
            }
        })
        .collect()
}

/// Plausible's `change` (its `Compare`): the difference for the bounce
/// rate (none from a rate of 0) and the conversion rate, else the percent
/// change, the group conversion rate and percentage included.
fn change(m: Metric, now: &Value, then: &Value) -> Value {
    let (Some(a), Some(b)) = (revenue::amount(now), revenue::amount(then)) else { return Value::Null };
    match m {
        Metric::ConversionRate => json!(round_to(a - b, 1)),
        Metric::BounceRate if b > 0.0 => json!((a - b).round() as i64),
        Metric::BounceRate => Value::Null,
        _ if b == 0.0 && a > 0.0 => json!(100),
        _ if b == 0.0 => json!(0),
        _ => json!(((a - b) / b * 100.0).round() as i64),
    }
}

/// The change of each of `q`'s metrics from `then` to `now`.
fn changes(q: &Query, now: &[Value], then: &[Value]) -> Vec<Value> {
    q.metrics.iter().zip(now.iter().zip(then)).map(|(m, (a, b))| change(*m, a, b)).collect()
}

fn dim_values(key: &Key, dims: &[Dim], names: &[Dimension], p: &Period) -> Vec<Value> {
    dims.iter()
        .zip(key)
        .zip(names)
        .map(|((d, raw), name)| match d {
            Dim::Col(_) if raw.is_empty() && blank(&name.0).is_some() => json!(blank(&name.0)),
            Dim::Time(unit) => json!(period::label(raw, *unit, p)),
            Dim::Device => json!(device_name(Device::from_code(raw.parse::<f64>().unwrap_or(0.0)))),
            Dim::Col(c) => json!(decoded(c, raw)),
            Dim::Goal => json!(raw),
        })
        .collect()
}

/// The query as answered, echoed the way Plausible does.
fn echo(q: &Query, dims: &[Dim], p: &Period, other: Option<&Period>, tz: &TimeZone) -> Value {
    // Elixir writes the offset as `Z` for `Etc/UTC` alone (its
    // `offset_to_string`), so a site in `UTC` reads `+00:00`.
    let utc = tz.iana_name() == Some("Etc/UTC");
    let format = if utc { "%Y-%m-%dT%H:%M:%SZ" } else { "%Y-%m-%dT%H:%M:%S%:z" };
    let iso = |s: u64| {
        jiff::Timestamp::from_second(s as i64).map(|t| t.to_zoned_datetime(tz.clone()).strftime(format).to_string()).unwrap_or_default()
    };
    // A period as its first and last second.
    let range = |p: &Period| json!([iso(p.from_s), iso(p.to_s.saturating_sub(1))]);
    // As Plausible's optimizer leaves them: `time` as the unit it stands
    // for, and the default order when none was asked.
    let names: Vec<String> = q
        .dimensions
        .iter()
        .zip(dims)
        .map(|(d, dim)| match (d.0.as_str(), dim) {
            ("time", Dim::Time(unit)) => format!("time:{}", unit.name()),
            (name, _) => name.to_owned(),
        })
        .collect();
    let time = names.iter().find(|n| n.starts_with("time:"));
    let mut order_by: Vec<(String, bool)> = q
        .order_by
        .iter()
        .map(|(k, desc)| (if k == "time" { time.cloned().unwrap_or_else(|| k.clone()) } else { k.clone() }, *desc))
        .collect();
    if order_by.is_empty() {
        order_by.extend(time.map(|t| (t.clone(), false)));
        order_by.extend(q.metrics.first().map(|m| (m.name().to_owned(), true)));
    }
    // Plausible echoes the `include` options that are set, a custom
    // comparison with its range as it read it.
    let mut include = Map::new();
    for (key, set) in [
        ("total_rows", q.total_rows),
        ("time_labels", q.time_labels),
        ("imports", q.imports),
        ("trim_relative_date_range", q.trim_relative_date_range),
    ] {
        if set {
            include.insert(key.into(), json!(true));
        }
    }
    if let Some(how) = &q.comparison {
        let echoed = match (how, other) {
            (Comparison::PreviousPeriod { match_day_of_week }, _) => {
                json!({"mode": "previous_period", "match_day_of_week": match_day_of_week})
            }
            (Comparison::YearOverYear { match_day_of_week }, _) => {
                json!({"mode": "year_over_year", "match_day_of_week": match_day_of_week})
            }
            (Comparison::Custom(_), Some(o)) => json!({"mode": "custom", "date_range": range(o)}),
            (Comparison::Custom(_), None) => json!({"mode": "custom"}),
        };
        include.insert("comparisons".into(), echoed);
    }
    json!({
        "site_id": q.site_id,
        "metrics": q.metrics.iter().map(|m| m.name()).collect::<Vec<_>>(),
        "date_range": range(p),
        "filters": q.filters.iter().map(Filter::to_json).collect::<Vec<_>>(),
        "dimensions": names,
        "order_by": order_by.iter().map(|(k, d)| json!([k, if *d { "desc" } else { "asc" }])).collect::<Vec<_>>(),
        "include": include,
        "pagination": { "limit": q.limit, "offset": q.offset },
    })
}

#[cfg(test)]
mod tests;

/// An Analytics Engine with no rows, for other modules' (native-only) property tests.
#[cfg(all(test, not(target_arch = "wasm32")))]
pub(crate) struct NoRows;

#[cfg(all(test, not(target_arch = "wasm32")))]
impl Runner for NoRows {
    async fn rows(&self, _sql: String) -> Result<Vec<Map<String, Value>>, StatsError> {
        Ok(Vec::new())
    }
}
