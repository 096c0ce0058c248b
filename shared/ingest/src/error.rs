//! Why an event was not accepted: invalid input (the client's fault, 400)
//! or a deliberate drop (202 with a reason header).

/// Invalid input: each names the offending field so the client can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IngestError {
    /// The body is not a JSON object (or not UTF-8).
    #[error("request body must be a JSON object")]
    NotJson,
    /// The body is larger than the limit.
    #[error("request body exceeds {0} bytes")]
    TooLarge(usize),
    /// A field is missing, of the wrong type or out of bounds.
    #[error("{field}: {reason}")]
    Field {
        /// The field's long name (`name`, `url`, `props`…).
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
}

impl IngestError {
    /// Shorthand for a field error.
    pub fn field(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Field { field, reason: reason.into() }
    }
}

/// Why a valid event was dropped on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Crawler, monitor, headless browser or HTTP library.
    Bot,
    /// No user agent at all: not a browser, and not a well-behaved sender.
    NoUserAgent,
    /// The referrer is a known referrer spammer ([`crate::spam`]).
    SpamReferrer,
}

impl DropReason {
    /// The value of the `x-beacon-dropped` response header.
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Bot => "bot",
            DropReason::NoUserAgent => "no_user_agent",
            DropReason::SpamReferrer => "spam_referrer",
        }
    }
}

/// What stops an event: invalid (400) or dropped (202).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The client sent something invalid.
    Invalid(IngestError),
    /// Valid, but not counted.
    Dropped(DropReason),
}

impl From<IngestError> for Rejection {
    fn from(e: IngestError) -> Self {
        Rejection::Invalid(e)
    }
}

impl From<DropReason> for Rejection {
    fn from(d: DropReason) -> Self {
        Rejection::Dropped(d)
    }
}
