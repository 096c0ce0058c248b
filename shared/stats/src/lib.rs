//! The Stats API (Plausible's v2, with v1 on top of it), as pure logic:
//! the request model and its validation (`query`), periods in the site's
//! time zone (`period`) and the bundled zones (`zone`), goals (`goal`),
//! revenue goals' currencies and money (`revenue`), country and region
//! names (`country`, `region`), the typed AE SQL builder (`sql`) and the
//! engine that plans, runs (through a [`report::Runner`]) and shapes a
//! report (`report`).
//!
//! Every Analytics Engine query is built by [`sql::Select`], which takes the
//! site id as a required argument and always emits `index1 = '<site>'`.
//! Columns come only from the slot layout (`beacon_types::slots`), never
//! from request text; user values reach SQL only through [`sql::quote`].
//! The output stays inside AE SQL's subset: one SELECT (or one nested as
//! `FROM (SELECT …)`, which AE documents), no joins, unions, CTEs, other
//! subqueries, window functions or regular expressions.

pub mod country;
pub mod goal;
pub mod period;
pub mod query;
pub mod region;
pub mod report;
pub mod revenue;
pub mod sql;
pub mod v1;
pub mod zone;

/// Where Plausible's error for an unknown goal sends the caller.
const GOALS_DOCS: &str = "Find out how to configure goals here: https://plausible.io/docs/stats-api#filtering-by-goals";

/// Errors of the Stats API's query side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    /// An invalid query (400); the text starts with a JSON pointer to the bad part.
    #[error("{0}")]
    Invalid(String),
    /// A regular expression that does not compile or is too long (400).
    #[error("#/filters: invalid regular expression: {0}")]
    BadRegex(String),
    /// A goal filter names a goal the site does not have (400), in
    /// Plausible's words; v1 says it bare ([`v1::error`]).
    #[error("#/filters: The goal `{0}` is not configured for this site. {GOALS_DOCS}")]
    UnknownGoal(String),
    /// Analytics Engine failed or answered something unreadable (503).
    #[error("analytics engine: {0}")]
    Upstream(String),
    /// Analytics Engine turned a statement away for this many seconds
    /// (503 with `Retry-After`: Beacon's capacity, not the caller's limit).
    #[error("analytics engine is busy; retry in {0} s")]
    Busy(u64),
    /// Analytics Engine refused a statement as over a resource limit (503,
    /// with `Retry-After` when AE named one): a shorter period may pass.
    #[error("Analytics Engine could not answer a query this large; ask for a shorter date range or fewer rows")]
    TooHeavy(Option<u64>),
}

impl StatsError {
    /// The HTTP status this error answers with: the one place it is decided.
    pub fn status(&self) -> u16 {
        match self {
            StatsError::Invalid(_) | StatsError::BadRegex(_) | StatsError::UnknownGoal(_) => 400,
            StatsError::Upstream(_) | StatsError::Busy(_) | StatsError::TooHeavy(_) => 503,
        }
    }

    /// What the caller is told: the error itself when it is theirs to act
    /// on, a plain "retry later" when it is Beacon's (logged instead).
    pub fn public(&self) -> String {
        match self {
            StatsError::Upstream(_) | StatsError::Busy(_) => "temporarily unavailable, retry later".to_owned(),
            e => e.to_string(),
        }
    }

    /// Seconds a client should wait before asking again, when known.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            StatsError::Busy(s) => Some(*s),
            StatsError::TooHeavy(s) => *s,
            _ => None,
        }
    }
}
