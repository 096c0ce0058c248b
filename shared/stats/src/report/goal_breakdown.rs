//! Goals in a report: which goals a query is about (for revenue), and
//! breakdowns by goal, where one event may complete several goals.

use std::collections::BTreeMap;

use beacon_types::slots::RowKind;
use futures_util::future::try_join_all;

use super::filter::{resolve_regex, Filters, Matcher};
use super::{group_by_dims, key_of, number, query_kind, raw_expr, uses, Ctx, Dim, Raw, Rows, Runner, MAX_GROUPS, MAX_SQL};
use crate::goal::Goal;
use crate::period::Period;
use crate::query::{Filter, Operator, Query};
use crate::sql::{Cond, Expr, Select};
use crate::StatsError;

/// The goals a query is about, as Plausible picks them for its revenue
/// currencies: none unless it groups or filters by goal; then those its
/// top-level goal filters keep.
pub(super) fn goals_in_play<'g>(q: &Query, goals: &'g [Goal]) -> Result<Vec<&'g Goal>, StatsError> {
    let is_goal = |d: &str| d == "event:goal";
    if !q.dimensions.iter().any(|d| is_goal(&d.0)) && !q.filters.iter().any(|f| uses(f, is_goal)) {
        return Ok(Vec::new());
    }
    let mut kept: Vec<&Goal> = goals.iter().collect();
    for f in &q.filters {
        if let Filter::Leaf { op, dimension, values, case_sensitive } = f {
            if is_goal(&dimension.0) {
                let matcher = Matcher::new(*op, values, *case_sensitive)?;
                let negated = matches!(op, Operator::IsNot | Operator::ContainsNot | Operator::MatchesNot);
                kept.retain(|g| matcher.hit(&g.name()) != negated);
            }
        }
    }
    Ok(kept)
}

/// Event rows grouped by `dims`, whose `at`-th is the goal. An event may
/// complete several goals, so each goal is counted apart: in one statement
/// when it can ([`goals_at_once`]), else one query per goal.
pub(super) async fn by_goal<R: Runner>(
    ctx: &Ctx<'_, R>,
    conds: &Filters,
    dims: &[Dim],
    at: usize,
    raws: &[Raw],
    p: &Period,
) -> Result<Rows, StatsError> {
    let others: Vec<Dim> = dims.iter().filter(|d| !matches!(d, Dim::Goal)).cloned().collect();
    if let Some(rows) = goals_at_once(ctx, conds, &others, at, raws, p).await? {
        return Ok(rows);
    }
    let parts = ctx.goals.iter().map(|g| query_kind(ctx, conds, RowKind::Event, &others, raws, p, Some(g.cond()), None));
    let mut out = Vec::new();
    for (goal, part) in ctx.goals.iter().zip(try_join_all(parts).await?) {
        for (mut key, vals) in part {
            key.insert(at.min(key.len()), goal.name());
            out.push((key, vals));
        }
    }
    Ok(out)
}

/// [`by_goal`] in one statement: over the rows of any goal, grouped by
/// visitor, each goal's sums as `sumIf`s over its condition, and its
/// visitors as those with any row of it ([`Select::render_per_visitor`]).
/// `None` (ask per goal) for figures a statement cannot split by goal
/// (per-visit engagement), a visit list sent in parts, or a statement
/// longer than AE takes. Fewer statements also spare the AE API's request
/// limit: a site with 20 goals asked 20 (40 compared).
async fn goals_at_once<R: Runner>(
    ctx: &Ctx<'_, R>,
    conds: &Filters,
    others: &[Dim],
    at: usize,
    raws: &[Raw],
    p: &Period,
) -> Result<Option<Rows>, StatsError> {
    let splittable = |r: &Raw| matches!(r, Raw::Visitors | Raw::Events | Raw::Pageviews | Raw::Revenue | Raw::RevenueEvents);
    let in_parts = conds.own.iter().any(|c| matches!(c, Cond::Visits(parts) if parts.len() > 1));
    if ctx.goals.is_empty() || !raws.iter().all(splittable) || in_parts || conds.touched_by.is_some() {
        return Ok(None);
    }
    let goal_conds = try_join_all(ctx.goals.iter().map(|g| async move {
        let mut cond = g.cond();
        resolve_regex(ctx, &mut cond, RowKind::Event, p).await?;
        Ok::<Cond, StatsError>(cond)
    }))
    .await?;
    let mut select = Select::events(ctx.site.id.clone(), p.from_s, p.to_s);
    for cond in &conds.own {
        select.filter(cond.clone());
    }
    select.filter(Cond::Or(goal_conds.clone()));
    let dim_cols = group_by_dims(&mut select, others, ctx.tz_name());
    let revenue_events = ctx.revenue.as_ref().and_then(|r| r.cond.as_ref());
    // Per goal, each raw and the place of its answer among `sums`.
    let mut sums: Vec<(Expr, bool)> = Vec::new();
    let mut places: Vec<Vec<(Raw, usize)>> = Vec::new();
    for goal in &goal_conds {
        let only = |when: Option<Cond>| Some(when.map_or_else(|| goal.clone(), |w| Cond::And(vec![goal.clone(), w])));
        let mut mine = Vec::new();
        for raw in raws {
            let sum = match (raw, raw_expr(*raw, RowKind::Event)) {
                (Raw::Visitors, _) => (Expr::Sum(vec![], Some(goal.clone())), true),
                (Raw::Revenue | Raw::RevenueEvents, _) if revenue_events.is_none() => continue,
                (Raw::Revenue | Raw::RevenueEvents, Expr::Sum(factors, _)) => (Expr::Sum(factors, only(revenue_events.cloned())), false),
                (_, Expr::Sum(factors, when)) => (Expr::Sum(factors, only(when)), false),
                _ => return Ok(None),
            };
            mine.push((*raw, sums.len()));
            sums.push(sum);
        }
        places.push(mine);
    }
    let sql = select.render_per_visitor(&sums, MAX_GROUPS);
    if sql.len() > MAX_SQL {
        return Ok(None);
    }
    let mut out = Vec::new();
    for row in ctx.rows(sql).await? {
        let key = key_of(&row, &dim_cols, &ctx.tz);
        for (goal, mine) in ctx.goals.iter().zip(&places) {
            let vals: BTreeMap<Raw, f64> = mine.iter().map(|(raw, i)| (*raw, number(row.get(&format!("v{i}"))))).collect();
            if vals.values().any(|v| *v != 0.0) {
                let mut key = key.clone();
                key.insert(at.min(key.len()), goal.name());
                out.push((key, vals));
            }
        }
    }
    Ok(Some(out))
}
