//! The typed AE SQL builder and the one escaping function.
//!
//! Only functions Cloudflare documents for Analytics Engine SQL are emitted
//! (`position(… IN …)`, `substring`, `lowerUTF8`, `sumIf`, `count(DISTINCT)`,
//! `toStartOfInterval` and `formatDateTime` with a time zone, `toDateTime`,
//! `toUnixTimestamp`, `if`). AE has no regular expressions: `matches`
//! filters are resolved to `IN` lists before rendering (see `report`).

use std::fmt::Write as _;

use beacon_types::slots::{json_inner, Blob, Double, RowKind};
use beacon_types::SiteId;

/// A ClickHouse string literal for `value`: single-quoted, with backslash,
/// quote and every control character escaped, so no input can end the
/// literal early. The only way user text reaches SQL.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push_str("\\0"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\x{b:02X}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// What a custom property reads as when the event does not have it.
pub const NONE: &str = "(none)";

/// A column of the dataset, by meaning; never built from request text
/// except a prop key, which reaches SQL only through [`quote`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    /// A blob slot.
    Blob(Blob),
    /// A double slot.
    Double(Double),
    /// One custom property's value (still JSON-escaped), `(none)` if absent.
    Prop(String),
}

impl Column {
    fn sql(&self) -> String {
        match self {
            Column::Blob(b) => b.column(),
            Column::Double(d) => d.column(),
            Column::Prop(key) => {
                // Props are `{"k":"v",…}` with every inner quote escaped as
                // \u0022 (slots::json_inner), so `"k":"` marks the start of
                // the value and the next raw quote its end.
                let needle = format!("\"{}\":\"", json_inner(key));
                let at = format!("position({} IN {})", quote(&needle), Blob::Props.column());
                let tail = format!("substring({}, {at} + {})", Blob::Props.column(), needle.chars().count());
                format!("if({at} > 0, substring({tail}, 1, position('\"' IN {tail}) - 1), {})", quote(NONE))
            }
        }
    }

    /// Whether values of this column must be JSON-escaped to compare.
    fn escaped(&self) -> bool {
        matches!(self, Column::Prop(_))
    }

    /// `value` as stored in this column.
    pub fn stored(&self, value: &str) -> String {
        if self.escaped() && value != NONE {
            json_inner(value)
        } else {
            value.to_owned()
        }
    }
}

/// A condition on rows. Values are as the user gave them; the renderer
/// escapes them for the column.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    /// Column equals one of the values (optionally ignoring case).
    In(Column, Vec<String>, bool),
    /// Column contains one of the texts (optionally ignoring case).
    Contains(Column, Vec<String>, bool),
    /// Column matches one of the RE2 patterns (case flag). AE SQL has no
    /// regular expressions: `report` replaces every one with an `In` of the
    /// matching values before rendering; an unresolved one matches nothing.
    Matches(Column, Vec<String>, bool),
    /// Column is `LIKE` one of the patterns (case-sensitive): the
    /// `Matches` that [`like_pattern`] could say without a regex.
    Like(Column, Vec<String>),
    /// A double equals one of the numbers.
    NumberIn(Column, Vec<f64>),
    /// A double is within `[low, high]`.
    Between(Column, f64, f64),
    /// Rows of these visits (session ids), in parts that never split one
    /// visitor's visits: statements over each part count disjoint visits
    /// and visitors, so their answers add up, distinct counts included.
    Visits(Vec<Vec<f64>>),
    /// All of them.
    And(Vec<Cond>),
    /// Any of them.
    Or(Vec<Cond>),
    /// Not this.
    Not(Box<Cond>),
    /// Rows of the visits that have an event row the condition holds for
    /// (`has_done`). AE SQL has no subqueries in conditions: `report`
    /// replaces every one with the list of those visits' session ids
    /// before rendering; an unresolved one matches nothing.
    VisitDid(Box<Cond>),
    /// Rows of a kind that [`Select::of`] reads for `[from_s, to_s)`: one
    /// period's share of a statement that reads two.
    Period(RowKind, u64, u64),
}

impl Cond {
    fn sql(&self) -> String {
        match self {
            Cond::In(_, values, _) if values.is_empty() => "1 = 0".to_owned(),
            Cond::In(c, values, case_sensitive) => {
                let (col, list) = cased(c, values, *case_sensitive);
                format!("{col} IN ({})", list.iter().map(|v| quote(v)).collect::<Vec<_>>().join(", "))
            }
            Cond::Contains(c, values, case_sensitive) => {
                let (col, list) = cased(c, values, *case_sensitive);
                any_of(list.iter().map(|v| format!("position({} IN {col}) > 0", quote(v))))
            }
            Cond::Matches(..) | Cond::VisitDid(_) => "1 = 0".to_owned(),
            Cond::Like(c, patterns) => {
                let col = c.sql();
                any_of(patterns.iter().map(|p| format!("{col} LIKE {}", quote(p))))
            }
            Cond::Visits(parts) => number_in(&Column::Double(Double::SessionId), parts.iter().flatten()),
            Cond::NumberIn(c, values) => number_in(c, values),
            Cond::Between(c, low, high) => format!("({col} >= {} AND {col} <= {})", finite(*low), finite(*high), col = c.sql()),
            Cond::And(parts) if parts.is_empty() => "1 = 1".to_owned(),
            Cond::And(parts) => format!("({})", parts.iter().map(Cond::sql).collect::<Vec<_>>().join(" AND ")),
            Cond::Or(parts) => any_of(parts.iter().map(Cond::sql)),
            Cond::Not(inner) => format!("NOT ({})", inner.sql()),
            Cond::Period(kind, from_s, to_s) => format!("({})", range(*kind, *from_s, *to_s)),
        }
    }

    /// Rewrites every `Matches` leaf with `f` (children first).
    pub fn rewrite_matches(&mut self, f: &mut impl FnMut(&Column, &[String], bool) -> Cond) {
        match self {
            Cond::Matches(c, patterns, cs) => *self = f(c, patterns, *cs),
            Cond::And(parts) | Cond::Or(parts) => parts.iter_mut().for_each(|p| p.rewrite_matches(f)),
            Cond::Not(inner) => inner.rewrite_matches(f),
            _ => {}
        }
    }

    /// Rewrites every `VisitDid` with `f` (left to right, as
    /// [`Cond::visit_did_conds`] lists them). `f` is told whether the
    /// `VisitDid` is negated right above it, and then replaces the `Not` too.
    pub fn rewrite_visit_did(&mut self, f: &mut impl FnMut(&Cond, bool) -> Cond) {
        match self {
            Cond::VisitDid(inner) => *self = f(inner, false),
            Cond::Not(not) => match &**not {
                Cond::VisitDid(inner) => *self = f(inner, true),
                _ => not.rewrite_visit_did(f),
            },
            Cond::And(parts) | Cond::Or(parts) => parts.iter_mut().for_each(|p| p.rewrite_visit_did(f)),
            _ => {}
        }
    }

    /// Every `VisitDid`'s event-row condition, left to right, and whether
    /// it is negated right above it.
    pub fn visit_did_conds<'a>(&'a self, out: &mut Vec<(&'a Cond, bool)>) {
        match self {
            Cond::VisitDid(inner) => out.push((inner, false)),
            Cond::Not(not) => match &**not {
                Cond::VisitDid(inner) => out.push((inner, true)),
                other => other.visit_did_conds(out),
            },
            Cond::And(parts) | Cond::Or(parts) => parts.iter().for_each(|p| p.visit_did_conds(out)),
            _ => {}
        }
    }

    /// Every `Matches` leaf's column.
    pub fn regex_columns(&self, out: &mut Vec<Column>) {
        match self {
            Cond::Matches(c, ..) if !out.contains(c) => out.push(c.clone()),
            Cond::And(parts) | Cond::Or(parts) => parts.iter().for_each(|p| p.regex_columns(out)),
            Cond::Not(inner) => inner.regex_columns(out),
            _ => {}
        }
    }
}

/// A regular expression (as ClickHouse's `multiMatchAny` reads it, where
/// `.` also matches a line break and `$` the end or a last line break) as
/// the `LIKE` patterns that together match the same strings, when there
/// are some: literal text, `.`, `.*`, and the `^` and `$` anchors (a `$`
/// after literal text asks for it with and without a line break after).
/// `None` for anything else, and for a literal `%`, `_` or backslash,
/// which `LIKE` would need escaped.
pub fn like_pattern(pattern: &str) -> Option<Vec<String>> {
    let (body, anchored_start) = match pattern.strip_prefix('^') {
        Some(rest) => (rest, true),
        None => (pattern, false),
    };
    let mut out = String::with_capacity(pattern.len() + 2);
    if !anchored_start {
        out.push('%');
    }
    let mut chars = body.chars().peekable();
    let mut anchored_end = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) if e.is_ascii_punctuation() && !matches!(e, '%' | '_' | '\\') => out.push(e),
                _ => return None,
            },
            '.' if chars.peek() == Some(&'*') => {
                chars.next();
                out.push('%');
            }
            '.' => out.push('_'),
            '$' if chars.peek().is_none() => anchored_end = true,
            '%' | '_' | '^' | '$' | '*' | '+' | '?' | '(' | ')' | '[' | ']' | '{' | '}' | '|' => return None,
            c => out.push(c),
        }
    }
    if !anchored_end {
        out.push('%');
        return Some(vec![out]);
    }
    if out.ends_with('%') {
        return Some(vec![out]);
    }
    let with_break = format!("{out}\n");
    Some(vec![out, with_break])
}

/// `(a OR b …)`, or false for no conditions.
fn any_of(conds: impl Iterator<Item = String>) -> String {
    let parts: Vec<String> = conds.collect();
    if parts.is_empty() {
        return "1 = 0".to_owned();
    }
    format!("({})", parts.join(" OR "))
}

/// `column IN (n, …)`, or false for no numbers.
fn number_in<'a>(column: &Column, numbers: impl IntoIterator<Item = &'a f64>) -> String {
    let list: Vec<String> = numbers.into_iter().map(|n| finite(*n)).collect();
    if list.is_empty() {
        return "1 = 0".to_owned();
    }
    format!("{} IN ({})", column.sql(), list.join(", "))
}

/// The column expression and values, lower-cased together when case is ignored.
fn cased(c: &Column, values: &[String], case_sensitive: bool) -> (String, Vec<String>) {
    let stored = values.iter().map(|v| c.stored(v));
    if case_sensitive {
        (c.sql(), stored.collect())
    } else {
        (format!("lowerUTF8({})", c.sql()), stored.map(|v| v.to_lowercase()).collect())
    }
}

fn finite(n: f64) -> String {
    if n.is_finite() {
        format!("{n}")
    } else {
        "0".to_owned()
    }
}

/// A calendar unit for time buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// An hour.
    Hour,
    /// A calendar day.
    Day,
    /// A week starting on Monday.
    Week,
    /// A calendar month.
    Month,
}

impl Unit {
    /// The unit's name in a `time:` dimension.
    pub fn name(self) -> &'static str {
        match self {
            Unit::Hour => "hour",
            Unit::Day => "day",
            Unit::Week => "week",
            Unit::Month => "month",
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Unit::Hour => "HOUR",
            Unit::Day => "DAY",
            Unit::Week => "WEEK",
            Unit::Month => "MONTH",
        }
    }
}

/// An output expression of the builder's own vocabulary.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A plain column (a group key).
    Col(Column),
    /// `sum(_sample_interval * f1 * f2 …)`, or `sumIf(…, cond)`: weighted sums.
    Sum(Vec<Double>, Option<Cond>),
    /// `count(DISTINCT col)` (AE: approximate at high volume).
    Distinct(Double),
    /// Start of the row's time bucket in the site's zone: local text
    /// (`2024-01-31` or `2024-01-31 10:00:00`), for a day its Unix second
    /// (see `bucket`). Session rows are bucketed by the state's last event,
    /// capped at the range's last second, as Plausible buckets sessions by
    /// their `timestamp`: a state's -1 and +1 rows share a bucket, and a
    /// later state's is never earlier.
    Bucket(Unit, String),
    /// Start of the time bucket where a session state's time in the range
    /// begins: its start, or the range's start for a visit already going
    /// (event rows: their own bucket). With [`Expr::Bucket`], where it ends,
    /// it spans the buckets the visit was active in: Plausible spreads a
    /// visit over every hour it was active (`timeSlots`).
    StartBucket(Unit, String),
    /// `max(col)`: the largest value in the group.
    Max(Double),
    /// `max(_sample_interval)`: how many data points one row of the group
    /// stands for (one visit's rows are sampled alike).
    Weight,
    /// `min(toUnixTimestamp(timestamp))`: the earliest row's Unix second.
    Earliest,
    /// `if(cond, 1, 0)`: which side of a condition a row is on (a group key).
    Flag(Cond),
}

impl Expr {
    /// Whether the values are numbers (else text): a double or a day.
    pub fn is_number(&self) -> bool {
        match self {
            Expr::Col(c) => matches!(c, Column::Double(_)),
            Expr::Bucket(unit, _) | Expr::StartBucket(unit, _) => *unit == Unit::Day,
            Expr::Sum(..) | Expr::Distinct(_) | Expr::Max(_) | Expr::Weight | Expr::Earliest | Expr::Flag(_) => true,
        }
    }
}

/// One SELECT over `EVENTS`: one site, one kind of row, one time range.
#[derive(Clone, Debug, PartialEq)]
pub struct Select {
    site: SiteId,
    kind: RowKind,
    from_s: u64,
    to_s: u64,
    columns: Vec<Expr>,
    filters: Vec<Cond>,
    group_by: Vec<usize>,
    order_by: Vec<(usize, bool)>,
    having_positive: Option<Expr>,
    limit: Option<u32>,
}

/// The column [`Select::render_surviving`] answers its count in.
pub const SURVIVING: &str = "surviving";
/// Visits' deepest scrolls, summed ([`Select::render_per_visit`]).
pub const VISIT_SCROLL: &str = "visit_scroll";
/// Visits' engagement time in ms, summed ([`Select::render_per_visit`]).
pub const VISIT_ENGAGED_MS: &str = "visit_engaged_ms";
/// Visits with engagement, counted ([`Select::render_per_visit`]).
pub const ENGAGED_VISITS: &str = "engaged_visits";

/// How far past a range's end session rows are still read: a session that
/// started in the range may change later (each change writes its -1 and
/// +1 rows at one instant, so any cut is a consistent state).
pub const SESSION_TAIL_S: u64 = 86_400;

/// A session state's last event in Unix ms: its start plus its duration
/// (whole seconds, so never past the event that wrote the state).
fn session_end() -> String {
    format!("{} + {} * 1000", Double::Time.column(), Double::Duration.column())
}

/// The time conditions of rows of `kind` in `[from_s, to_s)`: events by
/// their time, session states by the visit being active in it.
fn range(kind: RowKind, from_s: u64, to_s: u64) -> String {
    match kind {
        RowKind::Event => format!("timestamp >= toDateTime({from_s}) AND timestamp < toDateTime({to_s})"),
        // A state whose last event is in the range was written then (rows
        // are stamped when written), and so was the -1 row that later
        // cancels it: reading from the range's start keeps both of every
        // state it selects.
        RowKind::Session => format!(
            "timestamp >= toDateTime({from_s}) AND timestamp < toDateTime({}) AND {} < {} AND {} >= {}",
            to_s.saturating_add(SESSION_TAIL_S),
            Double::Time.column(),
            to_s.saturating_mul(1000),
            session_end(),
            from_s.saturating_mul(1000),
        ),
    }
}

impl Select {
    /// Event rows of `site` with `from_s <= timestamp < to_s` (Unix seconds).
    pub fn events(site: SiteId, from_s: u64, to_s: u64) -> Self {
        Self::of(RowKind::Event, site, from_s, to_s)
    }

    /// Session sign rows of `site` for the sessions active in `[from_s,
    /// to_s)`: started before its end, last event at or after its start
    /// (Plausible's `timestamp >= first AND start < last`).
    pub fn sessions(site: SiteId, from_s: u64, to_s: u64) -> Self {
        Self::of(RowKind::Session, site, from_s, to_s)
    }

    /// Rows of `kind` of `site` in `[from_s, to_s)`: [`Select::events`] or [`Select::sessions`].
    pub fn of(kind: RowKind, site: SiteId, from_s: u64, to_s: u64) -> Self {
        Select {
            site,
            kind,
            from_s,
            to_s,
            columns: Vec::new(),
            filters: Vec::new(),
            group_by: Vec::new(),
            order_by: Vec::new(),
            having_positive: None,
            limit: None,
        }
    }

    /// Adds an output column; returns its position (`c0`, `c1`… in results).
    pub fn column(&mut self, expr: Expr) -> usize {
        self.columns.push(expr);
        self.columns.len() - 1
    }

    /// The kind of rows read.
    pub fn kind(&self) -> RowKind {
        self.kind
    }

    /// Adds a condition (ANDed with the site, kind and time filters).
    pub fn filter(&mut self, cond: Cond) -> &mut Self {
        self.filters.push(cond);
        self
    }

    /// Groups by the output column at `position`.
    pub fn group_by(&mut self, position: usize) -> &mut Self {
        self.group_by.push(position);
        self
    }

    /// Orders by the output column at `position`.
    pub fn order_by(&mut self, position: usize, descending: bool) -> &mut Self {
        self.order_by.push((position, descending));
        self
    }

    /// Keeps only the groups where the aggregate `expr` is above zero
    /// (`HAVING`): with a sum of signs, the states not since cancelled.
    pub fn having_positive(&mut self, expr: Expr) -> &mut Self {
        self.having_positive = Some(expr);
        self
    }

    /// At most `limit` rows.
    pub fn limit(&mut self, limit: u32) -> &mut Self {
        self.limit = Some(limit);
        self
    }

    /// The time a row is bucketed by: an event's own, a session state's
    /// last event capped at the range's last second.
    fn bucket_time(&self) -> String {
        match self.kind {
            RowKind::Event => "timestamp".to_owned(),
            RowKind::Session => {
                let cap = self.to_s.saturating_sub(1).saturating_mul(1000);
                format!("toDateTime(if({end} < {cap}, {end}, {cap}) / 1000)", end = session_end())
            }
        }
    }

    /// The time a row's span of buckets starts at: an event's own, a
    /// session state's start, or the range's start if that is later.
    fn start_time(&self) -> String {
        match self.kind {
            RowKind::Event => "timestamp".to_owned(),
            RowKind::Session => {
                let from = self.from_s.saturating_mul(1000);
                format!("toDateTime(if({start} > {from}, {start}, {from}) / 1000)", start = Double::Time.column())
            }
        }
    }

    fn expr(&self, e: &Expr) -> String {
        match e {
            Expr::Col(c) => c.sql(),
            Expr::Sum(factors, when) => {
                let mut product = "_sample_interval".to_owned();
                for f in factors {
                    let _ = write!(product, " * {}", f.column());
                }
                match when {
                    None => format!("sum({product})"),
                    Some(cond) => format!("sumIf({product}, {})", cond.sql()),
                }
            }
            Expr::Distinct(d) => format!("count(DISTINCT {})", d.column()),
            Expr::Max(d) => format!("max({})", d.column()),
            Expr::Weight => "max(_sample_interval)".to_owned(),
            Expr::Earliest => "min(toUnixTimestamp(timestamp))".to_owned(),
            Expr::Flag(cond) => format!("if({}, 1, 0)", cond.sql()),
            Expr::Bucket(unit, tz) => bucket(*unit, tz, &self.bucket_time()),
            Expr::StartBucket(unit, tz) => bucket(*unit, tz, &self.start_time()),
        }
    }

    /// The conditions after the site filter: kind, time range, filters.
    fn rows(&self) -> String {
        let mut sql = format!("{} = {} AND {}", Double::Kind.column(), self.kind as u8, range(self.kind, self.from_s, self.to_s));
        for f in &self.filters {
            let _ = write!(sql, " AND {}", f.sql());
        }
        sql
    }

    /// The SQL text. The site filter is always the first condition.
    pub fn render(&self) -> String {
        let cols: Vec<String> = if self.columns.is_empty() {
            vec!["sum(_sample_interval) AS c0".to_owned()]
        } else {
            self.columns.iter().enumerate().map(|(i, e)| format!("{} AS c{i}", self.expr(e))).collect()
        };
        let mut sql = format!("SELECT {} FROM EVENTS WHERE index1 = {} AND {}", cols.join(", "), quote(self.site.as_str()), self.rows());
        let valid = |p: &usize| *p < self.columns.len().max(1);
        let groups: Vec<String> = self.group_by.iter().filter(|p| valid(p)).map(|p| format!("c{p}")).collect();
        if !groups.is_empty() {
            let _ = write!(sql, " GROUP BY {}", groups.join(", "));
        }
        if let Some(e) = &self.having_positive {
            let _ = write!(sql, " HAVING {} > 0", self.expr(e));
        }
        let orders: Vec<String> =
            self.order_by.iter().filter(|(p, _)| valid(p)).map(|(p, d)| format!("c{p} {}", if *d { "DESC" } else { "ASC" })).collect();
        if !orders.is_empty() {
            let _ = write!(sql, " ORDER BY {}", orders.join(", "));
        }
        if let Some(limit) = self.limit {
            let _ = write!(sql, " LIMIT {limit}");
        }
        sql
    }

    /// Per group of this select, how many `identity` values have sign rows
    /// that add up above zero: visitors of the sessions whose current state
    /// is in the group, not of states since cancelled (a distinct count
    /// cannot net signs out). One `FROM (subquery)` level, which AE SQL
    /// documents; the inner SELECT is this one, site filter first. The
    /// count is column [`SURVIVING`] (no inner alias shares its name).
    pub fn render_surviving(&self, identity: Double, limit: u32) -> String {
        let (mut inner, keys) = self.per(identity);
        let net = inner.column(Expr::Sum(vec![Double::Sign], None));
        let order = format!(" ORDER BY {SURVIVING} DESC");
        nest(&keys, &format!("count() AS {SURVIVING}"), &inner, &format!(" WHERE c{net} > 0"), &order, limit)
    }

    /// Per group of this select (engagement event rows), Plausible's
    /// per-visit engagement figures: each visit's deepest scroll, summed;
    /// its engagement time, summed; and the visits counted. Each visit
    /// counts as many times as its rows stand for (`_sample_interval`), so
    /// the ratios hold under sampling. One `FROM (subquery)` level; the
    /// inner SELECT is this one, grouped by its keys and the session id.
    /// Columns [`VISIT_SCROLL`], [`VISIT_ENGAGED_MS`] and [`ENGAGED_VISITS`].
    pub fn render_per_visit(&self, limit: u32) -> String {
        let (mut inner, keys) = self.per(Double::SessionId);
        let scroll = inner.column(Expr::Max(Double::ScrollDepth));
        let weight = inner.column(Expr::Weight);
        let engaged = inner.column(Expr::Sum(vec![Double::EngagementMs], None));
        let sums = format!(
            "sum(c{scroll} * c{weight}) AS {VISIT_SCROLL}, sum(c{engaged}) AS {VISIT_ENGAGED_MS}, sum(c{weight}) AS {ENGAGED_VISITS}"
        );
        nest(&keys, &sums, &inner, "", "", limit)
    }

    /// Per group of this select, from each visitor's rows: for each of
    /// `sums` (sums over the rows, as [`Expr::Sum`]), either how many
    /// visitors have it above zero (`true`: a distinct count of the rows
    /// a condition holds for, which AE's `count(DISTINCT column)` cannot
    /// say) or its total (`false`). One `FROM (subquery)` level; the inner
    /// SELECT is this one grouped by its keys and the visitor. The answers
    /// are columns `v0`, `v1`… in the order of `sums`.
    pub fn render_per_visitor(&self, sums: &[(Expr, bool)], limit: u32) -> String {
        let (mut inner, keys) = self.per(Double::VisitorId);
        let outer: Vec<String> = sums
            .iter()
            .enumerate()
            .map(|(i, (sum, visitors))| {
                let c = inner.column(sum.clone());
                if *visitors {
                    format!("countIf(c{c} > 0) AS v{i}")
                } else {
                    format!("sum(c{c}) AS v{i}")
                }
            })
            .collect();
        nest(&keys, &outer.join(", "), &inner, "", "", limit)
    }

    /// This select grouped further by `id` (unordered, unlimited), as the
    /// inner SELECT of a nested statement, and its group keys for the outer.
    fn per(&self, id: Double) -> (Select, Vec<String>) {
        let mut inner = self.clone();
        inner.order_by.clear();
        inner.limit = None;
        let keys = self.group_by.iter().filter(|p| **p < self.columns.len()).map(|p| format!("c{p}")).collect();
        let col = inner.column(Expr::Col(Column::Double(id)));
        inner.group_by(col);
        (inner, keys)
    }

    /// This select (session rows: group keys and sums) over only the
    /// sessions that had at least one row of `events`, in one statement
    /// instead of a list of session ids: the nested SELECT reads both kinds
    /// and groups them by session, taking the keys and sums from the sign
    /// rows and counting the matching event rows; the outer one keeps the
    /// sessions with a match and sums them by key. Both kinds' conditions
    /// come from their own selects; the site filter comes first.
    pub fn render_touched(&self, events: &Select, limit: u32) -> String {
        let on_sign_rows = Cond::NumberIn(Column::Double(Double::Kind), vec![f64::from(RowKind::Session as u8)]);
        let session = on_sign_rows.sql();
        let mut inner = vec![format!("{} AS s", Double::SessionId.column())];
        let mut outer = Vec::new();
        let mut keys = Vec::new();
        for (i, e) in self.columns.iter().enumerate() {
            if self.group_by.contains(&i) {
                let blank = if e.is_number() { "0" } else { "''" };
                inner.push(format!("max(if({session}, {}, {blank})) AS k{i}", self.expr(e)));
                outer.push(format!("k{i} AS c{i}"));
                keys.push(format!("c{i}"));
            } else {
                let sum = match e {
                    Expr::Sum(factors, when) => {
                        let only = match when {
                            Some(c) => Cond::And(vec![on_sign_rows.clone(), c.clone()]),
                            None => on_sign_rows.clone(),
                        };
                        self.expr(&Expr::Sum(factors.clone(), Some(only)))
                    }
                    // Only sums add up over sessions; nothing else is asked here.
                    _ => "0".to_owned(),
                };
                inner.push(format!("{sum} AS k{i}"));
                outer.push(format!("sum(k{i}) AS c{i}"));
            }
        }
        if outer.is_empty() {
            outer.push("count() AS c0".to_owned());
        }
        let on_event_rows = Cond::NumberIn(Column::Double(Double::Kind), vec![f64::from(RowKind::Event as u8)]);
        inner.push(format!("{} AS hit", self.expr(&Expr::Sum(vec![], Some(on_event_rows)))));
        let mut sql = format!(
            "SELECT {} FROM (SELECT {} FROM EVENTS WHERE index1 = {} AND (({}) OR ({})) GROUP BY s) WHERE hit > 0",
            outer.join(", "),
            inner.join(", "),
            quote(self.site.as_str()),
            events.rows(),
            self.rows()
        );
        if !keys.is_empty() {
            let _ = write!(sql, " GROUP BY {}", keys.join(", "));
        }
        let _ = write!(sql, " LIMIT {limit}");
        sql
    }
}

/// The local start of `time`'s bucket. A day is a Unix second, which
/// readers name (`period::day_label`): text made on every row took about a
/// third of a daily timeseries' time in AE's engine. (`toStartOfInterval`
/// is the rounding AE documents with a time zone; `toStartOfDay` it
/// documents without.) Hours, weeks and months are text made in SQL
/// (`2024-01-31 10:00:00`, `2024-01-31`): the hour a clock repeats stays
/// one bucket, as Plausible shows it, and week and month starts are dates.
fn bucket(unit: Unit, tz: &str, time: &str) -> String {
    let format = match unit {
        Unit::Day => return format!("toUnixTimestamp(toStartOfInterval({time}, INTERVAL '1' DAY, {}))", quote(tz)),
        Unit::Hour => "%Y-%m-%d %H:00:00",
        Unit::Week | Unit::Month => "%Y-%m-%d",
    };
    format!("formatDateTime(toStartOfInterval({time}, INTERVAL '1' {}, {tz}), '{format}', {tz})", unit.sql(), tz = quote(tz))
}

/// `SELECT keys…, outer FROM (inner)[where] [GROUP BY keys[order]] LIMIT n`:
/// one nesting level over `inner`, grouped again by its keys.
fn nest(keys: &[String], outer: &str, inner: &Select, filter: &str, order: &str, limit: u32) -> String {
    let mut sql = format!("SELECT {}{outer} FROM ({}){filter}", keys.iter().map(|k| format!("{k}, ")).collect::<String>(), inner.render());
    if !keys.is_empty() {
        let _ = write!(sql, " GROUP BY {}{order}", keys.join(", "));
    }
    let _ = write!(sql, " LIMIT {limit}");
    sql
}

#[cfg(test)]
mod tests;
