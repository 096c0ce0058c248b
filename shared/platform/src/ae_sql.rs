//! The Analytics Engine SQL API client: SQL text in, JSON rows out. Its
//! URL and token come from the environment (the local stand-in in dev).

use std::cell::Cell;

use serde_json::{Map, Value};
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

use crate::PlatformError;

thread_local! {
    /// Until when (Unix ms) AE asked this isolate to wait. Statements asked
    /// before then fail at once: Cloudflare blocks a token over its global
    /// limit for five minutes, so calls in between would fail anyway, and
    /// may well count against the limit too.
    static WAIT_UNTIL_MS: Cell<u64> = const { Cell::new(0) };
}

/// Variable: the AE SQL endpoint URL.
pub const AE_SQL_URL: &str = "AE_SQL_URL";
/// Secret (a plain variable locally): the API token for it.
pub const AE_SQL_TOKEN: &str = "AE_SQL_TOKEN";

/// Runs one SELECT; returns its rows (`data` of AE's JSON format).
pub async fn rows(env: &Env, sql: &str) -> Result<Vec<Map<String, Value>>, PlatformError> {
    if let Some(retry_after_s) = WAIT_UNTIL_MS.with(|until| waiting(until.get(), crate::now_ms())) {
        return Err(PlatformError::Busy { what: "ae sql (still waiting)", retry_after_s });
    }
    let url = env.var(AE_SQL_URL).map(|v| v.to_string()).map_err(|e| PlatformError::binding("ae sql url", e))?;
    let token = crate::secret_or_var(env, AE_SQL_TOKEN).ok_or_else(|| PlatformError::binding("ae sql token", "not set"))?;
    let headers = Headers::new();
    headers.set("authorization", &format!("Bearer {token}")).map_err(|e| PlatformError::binding("ae sql", e))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(format!("{sql} FORMAT JSON").into()));
    let req = Request::new_with_init(&url, &init).map_err(|e| PlatformError::binding("ae sql", e))?;
    let mut resp = Fetch::Request(req).send().await.map_err(|e| PlatformError::binding("ae sql", e))?;
    let status = resp.status_code();
    let named = resp.headers().get("retry-after").ok().flatten().as_deref().and_then(seconds);
    if let Some(retry_after_s) = busy_for(status, named) {
        if holds_the_token(status, named) {
            let until = crate::now_ms().saturating_add(retry_after_s.saturating_mul(1000));
            WAIT_UNTIL_MS.with(|w| w.set(w.get().max(until)));
        }
        return Err(PlatformError::Busy { what: "ae sql", retry_after_s });
    }
    if status == 507 {
        return Err(PlatformError::TooHeavy { what: "ae sql", retry_after_s: named });
    }
    let text = resp.text().await.map_err(|e| PlatformError::binding("ae sql read", e))?;
    decode(status, &text)
}

/// A 503 that names no wait may be one statement's bad luck; a 429 or a
/// named wait is about everything this token asks.
fn holds_the_token(status: u16, named: Option<u64>) -> bool {
    status == 429 || named.is_some()
}

/// The rows of an answer that was not turned away (`data` of AE's JSON
/// format); any other status, or a body without a `data` array, is an error.
fn decode(status: u16, text: &str) -> Result<Vec<Map<String, Value>>, PlatformError> {
    if status != 200 {
        return Err(PlatformError::binding("ae sql", format!("status {status}: {}", text.chars().take(300).collect::<String>())));
    }
    let mut body: Map<String, Value> = serde_json::from_str(text).map_err(|e| PlatformError::binding("ae sql decode", e))?;
    match body.remove("data") {
        Some(Value::Array(rows)) => Ok(rows.into_iter().filter_map(|r| if let Value::Object(m) = r { Some(m) } else { None }).collect()),
        _ => Err(PlatformError::binding("ae sql decode", "no data array")),
    }
}

/// Longest wait passed on: Cloudflare's API blocks a token that went over
/// its global limit for five minutes.
const MAX_RETRY_AFTER_S: u64 = 300;
/// The wait when a throttled answer names none.
const DEFAULT_RETRY_AFTER_S: u64 = 30;

/// How long to wait when AE turned a statement away (429 or 503): the wait
/// its `Retry-After` named ([`seconds`]), else the default; `None` for any
/// other status. Cloudflare's SQL API answers 429, 503 or 507 past a rate
/// or resource limit; 507 (the statement itself is too heavy) is
/// `TooHeavy`, not a wait.
fn busy_for(status: u16, named: Option<u64>) -> Option<u64> {
    (status == 429 || status == 503).then(|| named.unwrap_or(DEFAULT_RETRY_AFTER_S))
}

/// Whole seconds left of a wait until `until_ms`, if `now_ms` is inside it.
fn waiting(until_ms: u64, now_ms: u64) -> Option<u64> {
    (now_ms < until_ms).then(|| (until_ms - now_ms).div_ceil(1000))
}

/// A `Retry-After` in seconds, kept within 1..=MAX_RETRY_AFTER_S; `None`
/// for an HTTP date, junk or a negative number.
fn seconds(retry_after: &str) -> Option<u64> {
    retry_after.trim().parse::<u64>().ok().map(|s| s.clamp(1, MAX_RETRY_AFTER_S))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_counts_down_in_whole_seconds_and_then_is_over() {
        assert_eq!(waiting(10_000, 3_000), Some(7));
        assert_eq!(waiting(10_000, 9_999), Some(1));
        assert_eq!(waiting(10_000, 9_001), Some(1));
        assert_eq!(waiting(10_000, 10_000), None);
        assert_eq!(waiting(0, 5), None);
    }

    #[test]
    fn only_a_429_or_a_named_wait_holds_every_statement_back() {
        assert!(holds_the_token(429, None));
        assert!(holds_the_token(503, Some(5)));
        assert!(!holds_the_token(503, None));
    }

    #[test]
    fn answers_decode_to_their_data_rows() {
        let rows = decode(200, r#"{"meta":[],"data":[{"c0":"a","c1":2},3,{"c0":"b"}],"rows":3}"#).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.first().and_then(|r| r.get("c1")), Some(&Value::from(2)));
        for (status, text) in [(200, r#"{"meta":[]}"#), (200, r#"{"data":{}}"#), (200, "not json"), (500, r#"{"data":[]}"#)] {
            let err = decode(status, text).map(|_| ()).map_err(|e| e.to_string());
            assert!(err.is_err(), "{status} {text}");
        }
        let long = format!("{}tail", "x".repeat(400));
        let err = decode(502, &long).map(|_| ()).map_err(|e| e.to_string());
        assert!(matches!(&err, Err(m) if m.contains("status 502") && !m.contains("tail")), "{err:?}");
    }

    #[test]
    fn throttled_answers_say_how_long_to_wait() {
        assert_eq!(busy_for(429, seconds("7")), Some(7));
        assert_eq!(busy_for(503, seconds(" 12 ")), Some(12));
        assert_eq!(busy_for(429, None), Some(DEFAULT_RETRY_AFTER_S));
        assert_eq!(busy_for(429, seconds("Wed, 21 Oct 2026 07:28:00 GMT")), Some(DEFAULT_RETRY_AFTER_S));
        assert_eq!(busy_for(429, seconds("-3")), Some(DEFAULT_RETRY_AFTER_S));
        assert_eq!(busy_for(429, seconds("0")), Some(1));
        assert_eq!(busy_for(429, seconds("99999999999999999999999")), Some(DEFAULT_RETRY_AFTER_S));
        assert_eq!(busy_for(429, seconds("86400")), Some(MAX_RETRY_AFTER_S));
        assert_eq!(seconds("5"), Some(5));
        assert_eq!(seconds("soon"), None);
        for status in [200, 400, 401, 422, 500, 502, 507] {
            assert_eq!(busy_for(status, seconds("7")), None, "{status}");
        }
    }
}
