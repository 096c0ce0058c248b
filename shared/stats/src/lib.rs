//! The Stats API's SQL side (groundwork for the Stats API issue).
//!
//! Every Analytics Engine query is built by [`sql::Select`], which takes the
//! site id as a required argument and always emits `index1 = '<site>'`.
//! Columns come only from the slot layout (`beacon_types::slots`), never
//! from request text; user values reach SQL only through [`sql::quote`].
//! The output stays inside AE SQL's subset: one SELECT, no joins, unions,
//! CTEs, subqueries or window functions.

pub mod query;
pub mod sql;

/// Errors of the Stats API's query side (all are the caller's: 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    /// An invalid query; the text starts with a JSON pointer to the bad part.
    #[error("{0}")]
    Invalid(String),
    /// A regular expression that is too long or not plain RE2 syntax.
    #[error("invalid regular expression: {0}")]
    BadRegex(String),
}
