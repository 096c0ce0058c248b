//! Comparisons with another period: when an aggregate's two periods can
//! share statements, and how a timeseries pairs its buckets with the
//! other period's.

use std::collections::{BTreeMap, HashMap};

use beacon_types::slots::RowKind;
use futures_util::future::try_join;
use serde_json::{json, Value};

use super::{add, changes, merged, metric_values, number, raw_expr, Ctx, Dim, Plan, Raw, Rows, Runner};
use crate::period::{self, Period};
use crate::query::{Metric, Query};
use crate::sql::{Cond, Expr, Select, Unit};
use crate::StatsError;

/// Whether a comparison can share the main period's statements: an
/// aggregate without filters (no pre-query depends on the period), of
/// metrics that are plain sums and distinct counts, over event ranges that
/// do not overlap (a custom or weekday-matched comparison may). Two
/// statements then answer both periods instead of four: the AE API's
/// request budget is the tighter limit on dashboards.
pub(super) fn shares_statements(q: &Query, dims: &[Dim], main: &Period, other: &Period) -> bool {
    let plan = Plan::of(q);
    dims.is_empty()
        && q.filters.is_empty()
        && q.metrics.iter().all(|m| {
            matches!(
                m,
                Metric::Visitors
                    | Metric::Visits
                    | Metric::Pageviews
                    | Metric::Events
                    | Metric::ViewsPerVisit
                    | Metric::BounceRate
                    | Metric::VisitDuration
            )
        })
        && !plan.needs(q).visitors_from_sessions
        && plan.session_raws(q, false, false).iter().all(|r| matches!(raw_expr(*r, RowKind::Session), Expr::Sum(_, None)))
        && (other.to_s <= main.from_s || main.to_s <= other.from_s)
}

/// [`compute`](super::compute) of an aggregate for two periods (`[main, other]`) in one
/// statement per kind of rows, where [`shares_statements`]: event rows
/// grouped by period, sign rows summed per period (a visit can be active
/// in both).
pub(super) async fn compute_pair<R: Runner>(ctx: &Ctx<'_, R>, q: &Query, main: &Period, other: &Period) -> Result<[Rows; 2], StatsError> {
    let plan = Plan::of(q);
    let needs = plan.needs(q);
    let periods = [main, other];
    let (from_s, to_s) = (main.from_s.min(other.from_s), main.to_s.max(other.to_s));
    let of = |kind| {
        let mut s = Select::of(kind, ctx.site.id.clone(), from_s, to_s);
        s.filter(Cond::Or(periods.iter().map(|p| Cond::Period(kind, p.from_s, p.to_s)).collect()));
        s
    };
    // Every figure of both sides, zero without rows, as a statement
    // without GROUP BY answers them.
    let zeros = |raws: &[Raw]| -> [BTreeMap<Raw, f64>; 2] { [0, 1].map(|_| raws.iter().map(|r| (*r, 0.0)).collect()) };
    let events = async {
        if !needs.events {
            return Ok::<_, StatsError>([BTreeMap::new(), BTreeMap::new()]);
        }
        let raws = plan.event_raws(q);
        let mut s = of(RowKind::Event);
        let flag = s.column(Expr::Flag(Cond::Period(RowKind::Event, main.from_s, main.to_s)));
        s.group_by(flag);
        let cols: Vec<(Raw, usize)> = raws.iter().map(|r| (*r, s.column(raw_expr(*r, RowKind::Event)))).collect();
        let mut sides = zeros(&raws);
        for row in ctx.rows(s.render()).await? {
            let side = if number(row.get(&format!("c{flag}"))) == 1.0 { 0 } else { 1 };
            if let Some(vals) = sides.get_mut(side) {
                add(vals, cols.iter().map(|(r, c)| (*r, number(row.get(&format!("c{c}"))))));
            }
        }
        Ok(sides)
    };
    let sessions = async {
        if !needs.sessions {
            return Ok::<_, StatsError>([BTreeMap::new(), BTreeMap::new()]);
        }
        let raws = plan.session_raws(q, false, false);
        let mut s = of(RowKind::Session);
        let mut cols: Vec<(usize, Raw, usize)> = Vec::new();
        for (side, p) in periods.iter().enumerate() {
            for r in &raws {
                if let Expr::Sum(factors, None) = raw_expr(*r, RowKind::Session) {
                    cols.push((side, *r, s.column(Expr::Sum(factors, Some(Cond::Period(RowKind::Session, p.from_s, p.to_s))))));
                }
            }
        }
        let mut sides = zeros(&raws);
        for row in ctx.rows(s.render()).await? {
            for (side, r, c) in &cols {
                if let Some(vals) = sides.get_mut(*side) {
                    add(vals, [(*r, number(row.get(&format!("c{c}"))))]);
                }
            }
        }
        Ok(sides)
    };
    let (events, sessions) = try_join(events, sessions).await?;
    let mut out = [Vec::new(), Vec::new()];
    for ((slot, ev), se) in out.iter_mut().zip(events).zip(sessions) {
        let table = merged(vec![(Vec::new(), ev)], plan.session_slots(vec![(Vec::new(), se)]), &[]);
        *slot = table.into_iter().collect();
    }
    Ok(out)
}

/// A timeseries with a comparison, as Plausible's: every bucket of either
/// period (`sides`: each period's rows, the period and its bucket labels),
/// paired by place; a bucket without data reads the defaults, and past the
/// shorter period's buckets a side is null.
pub(super) fn paired_buckets(q: &Query, unit: Unit, sides: [(&Rows, &Period, &Vec<String>); 2], currency: Option<&str>) -> Vec<Value> {
    let empty = BTreeMap::new();
    let [ours, theirs] = sides.map(|(rows, p, labels)| {
        let by_label: HashMap<String, &BTreeMap<Raw, f64>> =
            rows.iter().filter_map(|(k, v)| k.first().map(|b| (period::label(b, unit, p), v))).collect();
        labels.iter().map(|l| (l, metric_values(q, by_label.get(l).copied().unwrap_or(&empty), currency))).collect::<Vec<_>>()
    });
    (0..ours.len().max(theirs.len()))
        .map(|i| {
            let now = ours.get(i);
            let then =
                theirs.get(i).map(|(l, v)| json!({ "dimensions": [l], "metrics": v, "change": now.map(|(_, now)| changes(q, now, v)) }));
            json!({ "dimensions": now.map(|(l, _)| json!([l])), "metrics": now.map(|(_, v)| json!(v)), "comparison": then })
        })
        .collect()
}
