//! The typed AE SQL builder and the one escaping function.

use std::fmt::Write as _;

use beacon_types::slots::{Blob, Double};
use beacon_types::SiteId;

use crate::StatsError;

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

/// A column of the dataset, by meaning; never built from request text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    /// A blob slot.
    Blob(Blob),
    /// A double slot.
    Double(Double),
    /// AE's `timestamp`.
    Timestamp,
    /// AE's `_sample_interval`.
    SampleInterval,
}

impl Column {
    fn sql(self) -> String {
        match self {
            Column::Blob(b) => b.column(),
            Column::Double(d) => d.column(),
            Column::Timestamp => "timestamp".to_owned(),
            Column::SampleInterval => "_sample_interval".to_owned(),
        }
    }
}

/// Longest regular expression accepted.
pub const MAX_REGEX: usize = 256;

/// A condition on rows.
#[derive(Clone, Debug, PartialEq)]
pub enum Cond {
    /// Column equals one of the values.
    In(Column, Vec<String>),
    /// Column contains the text (optionally ignoring case).
    Contains(Column, String, bool),
    /// Column matches an RE2 expression (validated by [`Cond::matches`]).
    Matches(Column, String),
    /// A double compares to a number: `=`.
    NumberIs(Column, f64),
    /// All of them.
    And(Vec<Cond>),
    /// Any of them.
    Or(Vec<Cond>),
    /// Not this.
    Not(Box<Cond>),
}

impl Cond {
    /// A regex condition, if `pattern` is acceptable: bounded length and no
    /// constructs RE2 lacks (backreferences, lookaround).
    pub fn matches(column: Column, pattern: &str) -> Result<Cond, StatsError> {
        if pattern.is_empty() || pattern.len() > MAX_REGEX {
            return Err(StatsError::BadRegex(format!("must be 1 to {MAX_REGEX} bytes")));
        }
        for banned in ["(?=", "(?!", "(?<=", "(?<!", "\\1", "\\2", "\\k<"] {
            if pattern.contains(banned) {
                return Err(StatsError::BadRegex(format!("{banned} is not supported")));
            }
        }
        let mut depth = 0i32;
        let mut escaped = false;
        for c in pattern.chars() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '(') => depth += 1,
                (false, ')') => depth -= 1,
                _ => {}
            }
            if depth < 0 {
                return Err(StatsError::BadRegex("unbalanced parentheses".into()));
            }
        }
        if depth != 0 || escaped {
            return Err(StatsError::BadRegex("unbalanced parentheses or trailing backslash".into()));
        }
        Ok(Cond::Matches(column, pattern.to_owned()))
    }

    fn sql(&self) -> String {
        match self {
            Cond::In(c, values) if values.is_empty() => format!("({} != {})", c.sql(), c.sql()),
            Cond::In(c, values) => {
                let list: Vec<String> = values.iter().map(|v| quote(v)).collect();
                format!("{} IN ({})", c.sql(), list.join(", "))
            }
            Cond::Contains(c, text, true) => format!("position(lower({}), lower({})) > 0", c.sql(), quote(text)),
            Cond::Contains(c, text, false) => format!("position({}, {}) > 0", c.sql(), quote(text)),
            Cond::Matches(c, re) => format!("match({}, {})", c.sql(), quote(re)),
            Cond::NumberIs(c, n) => format!("{} = {}", c.sql(), finite(*n)),
            Cond::And(parts) if parts.is_empty() => "1 = 1".to_owned(),
            Cond::Or(parts) if parts.is_empty() => "1 = 0".to_owned(),
            Cond::And(parts) => format!("({})", parts.iter().map(Cond::sql).collect::<Vec<_>>().join(" AND ")),
            Cond::Or(parts) => format!("({})", parts.iter().map(Cond::sql).collect::<Vec<_>>().join(" OR ")),
            Cond::Not(inner) => format!("NOT ({})", inner.sql()),
        }
    }
}

fn finite(n: f64) -> String {
    if n.is_finite() {
        format!("{n}")
    } else {
        "0".to_owned()
    }
}

/// An aggregate or grouping expression of the builder's own vocabulary.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// A plain column (for GROUP BY dimensions).
    Col(Column),
    /// `sum(_sample_interval)`: weighted row count.
    Rows,
    /// `sum(_sample_interval * a)`.
    WeightedSum(Column),
    /// `sum(_sample_interval * a * b)`.
    WeightedProduct(Column, Column),
    /// `count(DISTINCT a)` (AE: approximate at high volume).
    Distinct(Column),
    /// `toStartOfInterval(timestamp, INTERVAL n SECOND)`.
    TimeBucket(u32),
}

impl Expr {
    fn sql(&self) -> String {
        match self {
            Expr::Col(c) => c.sql(),
            Expr::Rows => "sum(_sample_interval)".to_owned(),
            Expr::WeightedSum(c) => format!("sum(_sample_interval * {})", c.sql()),
            Expr::WeightedProduct(a, b) => format!("sum(_sample_interval * {} * {})", a.sql(), b.sql()),
            Expr::Distinct(c) => format!("count(DISTINCT {})", c.sql()),
            Expr::TimeBucket(s) => format!("toStartOfInterval(timestamp, INTERVAL {} SECOND)", (*s).max(1)),
        }
    }
}

/// One SELECT over `EVENTS`, scoped to one site, with a time range.
#[derive(Clone, Debug, PartialEq)]
pub struct Select {
    site: SiteId,
    from_s: u64,
    to_s: u64,
    columns: Vec<Expr>,
    filters: Vec<Cond>,
    group_by: Vec<usize>,
    order_by: Vec<(usize, bool)>,
    limit: Option<u32>,
    offset: u32,
}

impl Select {
    /// A query over the site's rows with `from_s <= timestamp < to_s` (Unix seconds).
    pub fn new(site: SiteId, from_s: u64, to_s: u64) -> Self {
        Select { site, from_s, to_s, columns: Vec::new(), filters: Vec::new(), group_by: Vec::new(), order_by: Vec::new(), limit: None, offset: 0 }
    }

    /// Adds an output column; returns its position (`c0`, `c1`… in results).
    pub fn column(&mut self, expr: Expr) -> usize {
        self.columns.push(expr);
        self.columns.len() - 1
    }

    /// Adds a condition (ANDed with the site and time filters).
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

    /// Pagination.
    pub fn page(&mut self, limit: u32, offset: u32) -> &mut Self {
        self.limit = Some(limit);
        self.offset = offset;
        self
    }

    /// The SQL text. The site filter is always the first condition.
    pub fn render(&self) -> String {
        let cols: Vec<String> = if self.columns.is_empty() {
            vec!["sum(_sample_interval) AS c0".to_owned()]
        } else {
            self.columns.iter().enumerate().map(|(i, e)| format!("{} AS c{i}", e.sql())).collect()
        };
        let mut sql = format!(
            "SELECT {} FROM EVENTS WHERE index1 = {} AND timestamp >= toDateTime({}) AND timestamp < toDateTime({})",
            cols.join(", "),
            quote(self.site.as_str()),
            self.from_s,
            self.to_s
        );
        for f in &self.filters {
            let _ = write!(sql, " AND {}", f.sql());
        }
        let valid = |p: &usize| *p < self.columns.len().max(1);
        let groups: Vec<String> = self.group_by.iter().filter(|p| valid(p)).map(|p| format!("c{p}")).collect();
        if !groups.is_empty() {
            let _ = write!(sql, " GROUP BY {}", groups.join(", "));
        }
        let orders: Vec<String> = self
            .order_by
            .iter()
            .filter(|(p, _)| valid(p))
            .map(|(p, d)| format!("c{p} {}", if *d { "DESC" } else { "ASC" }))
            .collect();
        if !orders.is_empty() {
            let _ = write!(sql, " ORDER BY {}", orders.join(", "));
        }
        if let Some(limit) = self.limit {
            let _ = write!(sql, " LIMIT {limit} OFFSET {}", self.offset);
        }
        sql
    }
}

#[cfg(test)]
mod tests;
