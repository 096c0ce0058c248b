//! The query's filters as conditions on each kind of row: what each row
//! kind can test itself, and what it needs read first (a pattern's values
//! seen in the period, the visits a `has_done` or an exit-page filter
//! picks, the entry hostnames a hostname filter keeps).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use beacon_types::slots::{hostname_key, Blob, Double, RowKind};
use beacon_types::Device;
use futures_util::future::try_join_all;

use super::pattern::regex;
use super::{
    column_of, foreign, names_blank, number, other_kind, place_names, session_only, text, uses, Ctx, Runner, IDS_PER_QUERY, MAX_IDS,
    MAX_VALUES,
};
use crate::goal::Goal;
use crate::period::Period;
use crate::query::{Dimension, Filter, Metric, Operator, Query};
use crate::sql::{like_pattern, Column, Cond, Expr, Select, NONE};
use crate::StatsError;

/// The page hostname Plausible filters a breakdown by `dimension` on when
/// `event:hostname` is filtered: where visits come from is where they
/// entered, and exit pages are where they left.
fn page_hostname_of(dimension: &str) -> Option<&'static str> {
    match dimension {
        "visit:source" | "visit:referrer" | "visit:entry_page" | "visit:utm_medium" | "visit:utm_source" | "visit:utm_campaign"
        | "visit:utm_content" | "visit:utm_term" => Some("visit:entry_page_hostname"),
        "visit:exit_page" => Some("visit:exit_page_hostname"),
        _ => None,
    }
}

/// The query's filters as session rows take them. Under a breakdown
/// [`page_hostname_of`] maps, a (top-level: validated) `event:hostname`
/// filter becomes that page's hostname filter, as Plausible adds it; it
/// implies the visit has an event there (the page's pageview), so it
/// replaces the event filter, which would need a nested read. Under a page
/// breakdown, top-level page filters are entry-page ones ([`as_entry_page`]).
fn session_filters(q: &Query) -> Cow<'_, [Filter]> {
    let by_page = q.dimensions.iter().any(|d| d.0 == "event:page");
    let mut pages: Vec<&str> = q.dimensions.iter().filter_map(|d| page_hostname_of(&d.0)).collect();
    if pages.is_empty() && !by_page {
        return Cow::Borrowed(&q.filters);
    }
    pages.sort_unstable();
    pages.dedup();
    q.filters
        .iter()
        .map(|f| match f {
            Filter::Leaf { op, dimension, values, case_sensitive } if dimension.0 == "event:hostname" && !pages.is_empty() => Filter::And(
                pages
                    .iter()
                    .map(|page| Filter::Leaf {
                        op: *op,
                        dimension: Dimension((*page).to_owned()),
                        values: values.clone(),
                        case_sensitive: *case_sensitive,
                    })
                    .collect(),
            ),
            other => as_entry_page(other).filter(|_| by_page).unwrap_or_else(|| other.clone()),
        })
        .collect()
}

/// A top-level `event:page` leaf as the same test of the visit's entry
/// page. Session rows group a page breakdown by entry page, so Plausible
/// reads that breakdown's top-level page filters as entry-page filters
/// there; nested ones stay event filters.
fn as_entry_page(f: &Filter) -> Option<Filter> {
    match f {
        Filter::Leaf { op, dimension, values, case_sensitive } if dimension.0 == "event:page" => Some(Filter::Leaf {
            op: *op,
            dimension: Dimension("visit:entry_page".to_owned()),
            values: values.clone(),
            case_sensitive: *case_sensitive,
        }),
        _ => None,
    }
}

/// The query's first top-level `event:page` filter, as an entry-page one.
fn entry_page_filter(q: &Query) -> Option<Filter> {
    q.filters.iter().find_map(as_entry_page)
}

/// Under a breakdown by where visits came from, Plausible counts only the
/// events of visits that entered on the `event:hostname` filter's hostname
/// ([`page_hostname_of`]; sign rows get it from [`session_filters`]). Event
/// rows keep their visit's entry hostname as a key (`double16`), so this
/// reads the hostnames of the period's events, picks those each filter
/// keeps, and matches their keys. Rows written before the key was kept
/// (0) are left in. `None` when the query asks for no such narrowing.
async fn entry_hostname_cond<R: Runner>(ctx: &Ctx<'_, R>, q: &Query, p: &Period) -> Result<Option<Cond>, StatsError> {
    let from_entry = q.dimensions.iter().any(|d| page_hostname_of(&d.0) == Some("visit:entry_page_hostname"));
    let leaves: Vec<(Operator, &[String], bool)> = q
        .filters
        .iter()
        .filter_map(|f| match f {
            Filter::Leaf { op, dimension, values, case_sensitive } if dimension.0 == "event:hostname" => {
                Some((*op, values.as_slice(), *case_sensitive))
            }
            _ => None,
        })
        .collect();
    if !from_entry || leaves.is_empty() {
        return Ok(None);
    }
    let seen = values_seen(ctx, RowKind::Event, &Column::Blob(Blob::Hostname), p, "of event:hostname to match a filter against").await?;
    let column = Column::Double(Double::EntryHostname);
    let mut conds = Vec::new();
    for (op, values, cs) in leaves {
        let matcher = Matcher::new(op, values, cs)?;
        let mut keys: Vec<f64> = seen.iter().filter(|h| matcher.hit(h)).map(|h| hostname_key(h) as f64).collect();
        conds.push(if matches!(op, Operator::IsNot | Operator::ContainsNot | Operator::MatchesNot) {
            Cond::Not(Box::new(Cond::NumberIn(column.clone(), keys)))
        } else {
            keys.push(0.0);
            Cond::NumberIn(column.clone(), keys)
        });
    }
    Ok(Some(Cond::And(conds)))
}

/// A kind's filters: conditions on its own rows and, for session rows
/// answered nested, the event rows a session must have.
#[derive(Default)]
pub(super) struct Filters {
    pub(super) own: Vec<Cond>,
    pub(super) touched_by: Option<Select>,
    /// Session rows: the first top-level `event:page` filter read as an
    /// entry-page filter. Plausible counts bounces only of the visits that
    /// entered on the filtered page.
    pub(super) entered: Option<Cond>,
}

/// The query's filters for rows of `kind`. A filter those rows cannot
/// evaluate becomes the list of matching session ids, or, for session rows
/// when `nest`, the event rows [`Select::render_touched`] matches them by.
pub(super) async fn filters_for<R: Runner>(
    ctx: &Ctx<'_, R>,
    q: &Query,
    kind: RowKind,
    p: &Period,
    nest: bool,
) -> Result<Filters, StatsError> {
    let filters = match kind {
        RowKind::Event => Cow::Borrowed(q.filters.as_slice()),
        RowKind::Session => session_filters(q),
    };
    let mut own = Vec::new();
    let mut other = Vec::new();
    for f in filters.iter() {
        if uses(f, foreign(kind)) {
            other.push(f);
        } else {
            own.push(f);
        }
    }
    // Each filter's pre-queries (patterns, has_done lists) are independent
    // reads: sent together, the request waits for the slowest, not the sum.
    let mut out = try_join_all(own.iter().map(|f| resolved(ctx, f, kind, p))).await?;
    if kind == RowKind::Event {
        out.extend(entry_hostname_cond(ctx, q, p).await?);
    }
    out.extend(paged_visits_cond(q));
    // Under a page breakdown the sign rows are already filtered by it, so
    // every visit read entered there: no second condition on the sums.
    let entered = match (kind, entry_page_filter(q)) {
        (RowKind::Session, Some(f)) if q.metrics.contains(&Metric::BounceRate) && !filters.contains(&f) => {
            Some(resolved(ctx, &f, kind, p).await?)
        }
        _ => None,
    };
    if !other.is_empty() {
        let that = other_kind(kind);
        if other.iter().any(|f| uses(f, foreign(that))) {
            return Err(StatsError::Invalid(
                "#/filters: a filter cannot mix visit:exit_page or the entry or exit page's hostname with event dimensions".into(),
            ));
        }
        let mut ids = Select::of(that, ctx.site.id.clone(), p.from_s, p.to_s);
        for cond in try_join_all(other.iter().map(|f| resolved(ctx, f, that, p))).await? {
            ids.filter(cond);
        }
        if nest && kind == RowKind::Session {
            return Ok(Filters { own: out, touched_by: Some(ids), entered });
        }
        out.push(Cond::Visits(visitor_parts(&visits_of(ctx, ids, "match these filters for the metrics asked").await?)));
    }
    Ok(Filters { own: out, touched_by: None, entered })
}

/// Under an entry or exit page breakdown, only the rows of visits with a
/// pageview (and, on event rows, written after it): a visit that began
/// with a custom event has no entry page until its first pageview, and
/// Plausible's page breakdowns leave visits without one out.
fn paged_visits_cond(q: &Query) -> Option<Cond> {
    q.dimensions
        .iter()
        .any(|d| d.0 == "visit:entry_page" || d.0 == "visit:exit_page")
        .then(|| Cond::Not(Box::new(Cond::In(Column::Blob(Blob::EntryPage), vec![String::new()], true))))
}

/// The visits of the rows `rows` selects, as `(visitor, session)` id
/// pairs sorted by visitor; at most [`MAX_IDS`] (more is the caller's 400:
/// `what` the visits do). A session of sign rows matches by its current
/// state: states it has since left (an earlier exit page) cancel out.
async fn visits_of<R: Runner>(ctx: &Ctx<'_, R>, mut rows: Select, what: &str) -> Result<Vec<(f64, f64)>, StatsError> {
    let c = rows.column(Expr::Col(Column::Double(Double::SessionId)));
    rows.column(Expr::Max(Double::VisitorId));
    rows.group_by(c).limit(u32::try_from(MAX_IDS + 1).unwrap_or(u32::MAX));
    if rows.kind() == RowKind::Session {
        rows.having_positive(Expr::Sum(vec![Double::Sign], None));
    }
    let found = ctx.resolving_rows(rows.render()).await?;
    if found.len() > MAX_IDS {
        return Err(StatsError::Invalid(format!("#/filters: more than {MAX_IDS} visits {what}; narrow the date range")));
    }
    let mut visits: Vec<(f64, f64)> = found.iter().map(|r| (number(r.get("c1")), number(r.get("c0")))).collect();
    visits.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    Ok(visits)
}

/// Session ids (of `(visitor, session)` pairs sorted by visitor) in parts
/// of at most [`IDS_PER_QUERY`] that never split a visitor (one visitor
/// with more visits than that is a part of its own).
pub(super) fn visitor_parts(visits: &[(f64, f64)]) -> Vec<Vec<f64>> {
    let mut parts: Vec<Vec<f64>> = Vec::new();
    for run in visits.chunk_by(|a, b| a.0 == b.0) {
        match parts.last_mut() {
            Some(part) if part.len() + run.len() <= IDS_PER_QUERY => part.extend(run.iter().map(|v| v.1)),
            _ => parts.push(run.iter().map(|v| v.1).collect()),
        }
    }
    parts
}

/// A filter as a condition on `kind` rows, ready to render: its
/// `has_done`s become the visits that did it (event rows of the period),
/// then its patterns the values they match. A negated one too long for one
/// statement becomes the period's other visits, which can be split.
async fn resolved<R: Runner>(ctx: &Ctx<'_, R>, f: &Filter, kind: RowKind, p: &Period) -> Result<Cond, StatsError> {
    let mut cond = compile(ctx, f, kind)?;
    let mut did = Vec::new();
    cond.visit_did_conds(&mut did);
    let lists = try_join_all(did.into_iter().map(|(inner, negated)| visits_doing(ctx, inner.clone(), negated, p))).await?;
    let mut lists = lists.into_iter();
    cond.rewrite_visit_did(&mut |_, _| lists.next().unwrap_or(Cond::Visits(Vec::new())));
    resolve_regex(ctx, &mut cond, kind, p).await?;
    Ok(cond)
}

/// The visits of the period that did what `inner` (an event-row condition)
/// picks, or with `negated` those that did not, as a condition.
async fn visits_doing<R: Runner>(ctx: &Ctx<'_, R>, mut inner: Cond, negated: bool, p: &Period) -> Result<Cond, StatsError> {
    resolve_regex(ctx, &mut inner, RowKind::Event, p).await?;
    let mut rows = Select::events(ctx.site.id.clone(), p.from_s, p.to_s);
    rows.filter(inner);
    let done = visits_of(ctx, rows, "did what a has_done or has_not_done filter names").await?;
    let parts = visitor_parts(&done);
    Ok(match (negated, parts.len()) {
        (false, _) => Cond::Visits(parts),
        (true, 0 | 1) => Cond::Not(Box::new(Cond::Visits(parts))),
        (true, _) => {
            let all = Select::events(ctx.site.id.clone(), p.from_s, p.to_s);
            let done: HashSet<u64> = done.iter().map(|(_, session)| session.to_bits()).collect();
            let mut others = visits_of(ctx, all, "are in the period, to list those a has_not_done filter keeps").await?;
            others.retain(|(_, session)| !done.contains(&session.to_bits()));
            Cond::Visits(visitor_parts(&others))
        }
    })
}

/// A filter on country or region names, as the codes whose names match;
/// "(not set)" names blanks.
fn place_filter(name: &str, op: Operator, values: &[String], cs: bool) -> Result<Cond, StatsError> {
    let Some((table, blob)) = place_names(name) else {
        return Err(StatsError::Invalid(format!("#/filters: cannot filter on {name}")));
    };
    let matcher = Matcher::new(op, values, cs)?;
    let blanks = matches!(op, Operator::Is | Operator::IsNot) && values.iter().any(|v| names_blank(name, v));
    let codes =
        table.iter().filter(|(_, place)| matcher.hit(place)).map(|(code, _)| (*code).to_owned()).chain(blanks.then(String::new)).collect();
    Ok(Cond::In(Column::Blob(blob), codes, true))
}

/// A filter as a condition on `kind` rows (before regexes are resolved).
fn compile<R: Runner>(ctx: &Ctx<'_, R>, f: &Filter, kind: RowKind) -> Result<Cond, StatsError> {
    Ok(match f {
        Filter::And(parts) => Cond::And(parts.iter().map(|p| compile(ctx, p, kind)).collect::<Result<_, _>>()?),
        Filter::Or(parts) => Cond::Or(parts.iter().map(|p| compile(ctx, p, kind)).collect::<Result<_, _>>()?),
        Filter::Not(inner) => Cond::Not(Box::new(compile(ctx, inner, kind)?)),
        // Validation keeps event dimensions alone inside, none nested.
        Filter::HasDone(inner) => Cond::VisitDid(Box::new(compile(ctx, inner, RowKind::Event)?)),
        Filter::HasNotDone(inner) => Cond::Not(Box::new(Cond::VisitDid(Box::new(compile(ctx, inner, RowKind::Event)?)))),
        Filter::Leaf { op, dimension, values, case_sensitive } => {
            let cs = *case_sensitive;
            let negate = matches!(op, Operator::IsNot | Operator::ContainsNot | Operator::MatchesNot);
            let positive = match dimension.0.as_str() {
                name @ ("visit:country_name" | "visit:region_name") => place_filter(name, *op, values, cs)?,
                "visit:device" | "visit:screen" => {
                    let names = [Device::Unknown, Device::Desktop, Device::Mobile, Device::Tablet];
                    let matcher = Matcher::new(*op, values, cs)?;
                    let codes = names.iter().filter(|d| matcher.hit(device_name(**d))).map(|d| d.code()).collect();
                    Cond::NumberIn(Column::Double(Double::Device), codes)
                }
                "event:goal" => {
                    let mut conds = Vec::new();
                    for v in values {
                        let matcher = Matcher::new(*op, std::slice::from_ref(v), cs)?;
                        let found: Vec<&Goal> = ctx.goals.iter().filter(|g| matcher.hit(&g.name())).collect();
                        if found.is_empty() && matches!(op, Operator::Is | Operator::IsNot) {
                            return Err(StatsError::UnknownGoal(v.clone()));
                        }
                        conds.extend(found.into_iter().map(Goal::cond));
                    }
                    Cond::Or(conds)
                }
                name => {
                    let column = match name.strip_prefix("event:props:") {
                        Some(key) => Column::Prop(key.to_owned()),
                        None => {
                            let blob = column_of(name).ok_or_else(|| StatsError::Invalid(format!("#/filters: cannot filter on {name}")))?;
                            // Only session rows hold the exit page and the pages' hostnames.
                            if session_only(name) && kind == RowKind::Event {
                                return Err(StatsError::Invalid(format!("#/filters: {name} cannot filter events")));
                            }
                            Column::Blob(blob)
                        }
                    };
                    let mut values = values.clone();
                    match op {
                        Operator::Is | Operator::IsNot => {
                            // The placeholder for blanks names blanks too (as
                            // Plausible's does, for `is` and `is_not` only: a
                            // substring or pattern is matched as written).
                            if !matches!(column, Column::Prop(_)) && values.iter().any(|v| names_blank(name, v)) {
                                values.push(String::new());
                            }
                            Cond::In(column, values, cs)
                        }
                        Operator::Contains | Operator::ContainsNot => Cond::Contains(column, values, cs),
                        Operator::Matches | Operator::MatchesNot => {
                            for v in &values {
                                regex(v, cs)?;
                            }
                            Cond::Matches(column, values, cs)
                        }
                    }
                }
            };
            let leaf = if negate { Cond::Not(Box::new(positive)) } else { positive };
            match dimension.0.strip_prefix("event:props:") {
                // Substrings and patterns, negated or not, only ever match
                // events that have the property (Plausible's `has_key`);
                // `(none)` names its absence for `is`/`is_not` alone.
                Some(key) if !matches!(op, Operator::Is | Operator::IsNot) => {
                    let absent = Cond::In(Column::Prop(key.to_owned()), vec![NONE.to_owned()], true);
                    Cond::And(vec![Cond::Not(Box::new(absent)), leaf])
                }
                _ => leaf,
            }
        }
    })
}

pub(super) fn device_name(d: Device) -> &'static str {
    match d {
        Device::Unknown => "(not set)",
        other => other.name(),
    }
}

/// A leaf's values, ready to test many names against in the leaf's
/// positive sense (`is_not` as `is`…): folded and compiled once.
pub(super) struct Matcher {
    op: Operator,
    case_sensitive: bool,
    values: Vec<String>,
    patterns: Vec<regex_lite::Regex>,
}

impl Matcher {
    /// Checks and compiles the patterns of a `matches` leaf.
    pub(super) fn new(op: Operator, values: &[String], case_sensitive: bool) -> Result<Self, StatsError> {
        let patterns = match op {
            Operator::Matches | Operator::MatchesNot => values.iter().map(|v| regex(v, case_sensitive)).collect::<Result<_, _>>()?,
            _ => Vec::new(),
        };
        let values = values.iter().map(|v| if case_sensitive { v.clone() } else { v.to_lowercase() }).collect();
        Ok(Self { op, case_sensitive, values, patterns })
    }

    /// Whether `value` satisfies any of the leaf's values.
    pub(super) fn hit(&self, value: &str) -> bool {
        let folded = if self.case_sensitive { Cow::Borrowed(value) } else { Cow::Owned(value.to_lowercase()) };
        match self.op {
            Operator::Is | Operator::IsNot => self.values.iter().any(|v| *v == folded),
            Operator::Contains | Operator::ContainsNot => self.values.iter().any(|v| folded.contains(v.as_str())),
            Operator::Matches | Operator::MatchesNot => self.patterns.iter().any(|r| r.is_match(value)),
        }
    }
}

/// A leaf's patterns as LIKE patterns, if every one has an exact one. Only
/// case-sensitive ones (LIKE's and RE2's case folding differ past ASCII),
/// and not on props, which are stored JSON-escaped.
fn likes(column: &Column, patterns: &[String], case_sensitive: bool) -> Option<Vec<String>> {
    if !case_sensitive || matches!(column, Column::Prop(_)) {
        return None;
    }
    // The cheap reading first: most patterns have no LIKE, and need not be
    // compiled here as well as where their values are matched.
    let likes: Option<Vec<Vec<String>>> = patterns.iter().map(|p| like_pattern(p).filter(|_| regex(p, true).is_ok())).collect();
    likes.map(|likes| likes.concat())
}

/// Replaces each `Matches` in `cond` with the matching values of its
/// column seen in the period.
pub(super) async fn resolve_regex<R: Runner>(ctx: &Ctx<'_, R>, cond: &mut Cond, kind: RowKind, p: &Period) -> Result<(), StatsError> {
    // Patterns that LIKE can say need no read of the values, and so no
    // bound on how many there are.
    cond.rewrite_matches(&mut |column, patterns, cs| match likes(column, patterns, cs) {
        Some(likes) => Cond::Like(column.clone(), likes),
        None => Cond::Matches(column.clone(), patterns.to_vec(), cs),
    });
    let mut columns = Vec::new();
    cond.regex_columns(&mut columns);
    let values = try_join_all(columns.iter().map(|column| values_seen(ctx, kind, column, p, "to match a pattern against"))).await?;
    let seen: HashMap<Column, Vec<String>> = columns.into_iter().zip(values).collect();
    let mut failure = None;
    cond.rewrite_matches(&mut |column, patterns, cs| {
        let compiled: Vec<regex_lite::Regex> = patterns.iter().filter_map(|p| regex(p, cs).map_err(|e| failure = Some(e)).ok()).collect();
        let values = seen.get(column).map(Vec::as_slice).unwrap_or(&[]);
        let (hits, misses): (Vec<String>, Vec<String>) = values.iter().cloned().partition(|v| compiled.iter().any(|r| r.is_match(v)));
        // Every row of the period holds one of the values seen, so "not one
        // of the misses" is the same set: send whichever list is shorter.
        let bytes = |list: &[String]| list.iter().map(String::len).sum::<usize>();
        if bytes(&misses) < bytes(&hits) {
            Cond::Not(Box::new(Cond::In(column.clone(), misses, true)))
        } else {
            Cond::In(column.clone(), hits, true)
        }
    });
    failure.map_or(Ok(()), Err)
}

/// The distinct values of `column` on `kind` rows in the period, as people
/// read them; more than [`MAX_VALUES`] is the caller's 400 (`purpose` says
/// what they were read for).
async fn values_seen<R: Runner>(
    ctx: &Ctx<'_, R>,
    kind: RowKind,
    column: &Column,
    p: &Period,
    purpose: &str,
) -> Result<Vec<String>, StatsError> {
    let mut s = Select::of(kind, ctx.site.id.clone(), p.from_s, p.to_s);
    let c = s.column(Expr::Col(column.clone()));
    s.group_by(c).limit(u32::try_from(MAX_VALUES + 1).unwrap_or(u32::MAX));
    let rows = ctx.resolving_rows(s.render()).await?;
    if rows.len() > MAX_VALUES {
        return Err(StatsError::Invalid(format!("#/filters: more than {MAX_VALUES} distinct values {purpose}; narrow the date range")));
    }
    Ok(rows.iter().map(|r| decoded(column, &text(r.get("c0")))).collect())
}

/// A stored value as people read it (props are kept JSON-escaped).
pub(super) fn decoded(column: &Column, raw: &str) -> String {
    match column {
        Column::Prop(_) if raw != NONE => serde_json::from_str::<String>(&format!("\"{raw}\"")).unwrap_or_else(|_| raw.to_owned()),
        _ => raw.to_owned(),
    }
}
