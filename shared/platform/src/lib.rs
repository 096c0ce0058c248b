//! The one crate that touches Cloudflare bindings for the others: the
//! Analytics Engine writer (and its local mirror), the D1 site directory
//! with its KV and in-memory caches, the daily salts, and size-capped
//! request bodies. Every D1 statement goes through `d1`, which retries
//! transient failures.
//!
//! Binding and variable names live here, in one place.

pub mod ae_sql;
pub mod analytics;
pub mod api_keys;
pub mod body;
mod d1;
pub mod goals;
pub mod rate_limit;
pub mod salts;
pub mod site_object;
pub mod sites;

/// D1 database binding.
pub const DB: &str = "DB";
/// KV namespace used as a read-through cache of D1.
pub const CACHE: &str = "CACHE";
/// Analytics Engine dataset binding.
pub const EVENTS: &str = "EVENTS";
/// Variable: URL of the local AE stand-in; production never sets it.
pub const AE_LOCAL_URL: &str = "AE_LOCAL_URL";
/// Variable: `1` only in the local wrangler environment.
pub const BEACON_DEV: &str = "BEACON_DEV";
/// Variable: `1` skips the site object (event rows only, no sessions): an
/// operational kill switch, and the bench's "without the object" case.
pub const SESSIONS_DISABLED: &str = "SESSIONS_DISABLED";

/// Failures talking to the platform. None is the client's fault.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// A binding call failed (D1, KV, AE, fetch).
    #[error("{what}: {message}")]
    Binding {
        /// Which operation.
        what: &'static str,
        /// The runtime's message.
        message: String,
    },
    /// A service turned the call away for now (HTTP 429 or 503), saying
    /// when to come back.
    #[error("{what}: busy, retry in {retry_after_s} s")]
    Busy {
        /// Which operation.
        what: &'static str,
        /// Seconds to wait before trying again.
        retry_after_s: u64,
    },
    /// A service refused a call as over a resource limit (HTTP 507): the
    /// same call is likely to fail again unless it asks for less.
    #[error("{what}: over a resource limit")]
    TooHeavy {
        /// Which operation.
        what: &'static str,
        /// Seconds to wait, when the service named them.
        retry_after_s: Option<u64>,
    },
}

impl PlatformError {
    pub(crate) fn binding(what: &'static str, e: impl std::fmt::Display) -> Self {
        Self::Binding { what, message: e.to_string() }
    }
}

/// Whether the local dev environment is on (`BEACON_DEV=1`).
pub fn is_dev(env: &worker::Env) -> bool {
    flag(env, BEACON_DEV)
}

/// Whether sessions are switched off (`SESSIONS_DISABLED=1`).
pub fn sessions_disabled(env: &worker::Env) -> bool {
    flag(env, SESSIONS_DISABLED)
}

/// A secret, or the plain variable of that name (the local stack sets
/// secrets as variables); `None` when neither is set.
pub fn secret_or_var(env: &worker::Env, name: &str) -> Option<String> {
    env.secret(name).or_else(|_| env.var(name)).map(|v| v.to_string()).ok()
}

/// A variable that is on only when set to exactly `1`.
fn flag(env: &worker::Env, name: &str) -> bool {
    env.var(name).map(|v| v.to_string() == "1").unwrap_or(false)
}

/// Lower-case hex of `bytes` (salts and API key hashes in D1).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Now, Unix milliseconds, from the runtime's clock.
pub fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}
