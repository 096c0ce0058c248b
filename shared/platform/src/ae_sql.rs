//! The Analytics Engine SQL API client: SQL text in, JSON rows out. Its
//! URL and token come from the environment (the local stand-in in dev).

use serde_json::{Map, Value};
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

use crate::PlatformError;

/// Variable: the AE SQL endpoint URL.
pub const AE_SQL_URL: &str = "AE_SQL_URL";
/// Secret (a plain variable locally): the API token for it.
pub const AE_SQL_TOKEN: &str = "AE_SQL_TOKEN";

/// Runs one SELECT; returns its rows (`data` of AE's JSON format).
pub async fn rows(env: &Env, sql: &str) -> Result<Vec<Map<String, Value>>, PlatformError> {
    let url = env.var(AE_SQL_URL).map(|v| v.to_string()).map_err(|e| PlatformError::binding("ae sql url", e))?;
    let token = crate::secret_or_var(env, AE_SQL_TOKEN).ok_or_else(|| PlatformError::binding("ae sql token", "not set"))?;
    let headers = Headers::new();
    headers.set("authorization", &format!("Bearer {token}")).map_err(|e| PlatformError::binding("ae sql", e))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(format!("{sql} FORMAT JSON").into()));
    let req = Request::new_with_init(&url, &init).map_err(|e| PlatformError::binding("ae sql", e))?;
    let mut resp = Fetch::Request(req).send().await.map_err(|e| PlatformError::binding("ae sql", e))?;
    let status = resp.status_code();
    let retry_after = resp.headers().get("retry-after").ok().flatten();
    if let Some(retry_after_s) = busy_for(status, retry_after.as_deref()) {
        return Err(PlatformError::Busy { what: "ae sql", retry_after_s });
    }
    if status == 507 {
        let retry_after_s = retry_after.as_deref().and_then(seconds);
        return Err(PlatformError::TooHeavy { what: "ae sql", retry_after_s });
    }
    let text = resp.text().await.map_err(|e| PlatformError::binding("ae sql read", e))?;
    if status != 200 {
        return Err(PlatformError::binding("ae sql", format!("status {status}: {}", text.chars().take(300).collect::<String>())));
    }
    let mut body: Map<String, Value> = serde_json::from_str(&text).map_err(|e| PlatformError::binding("ae sql decode", e))?;
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

/// How long to wait when AE turned a statement away (429 or 503), from its
/// `Retry-After` (seconds; an HTTP date or junk reads as the default);
/// `None` for any other status. Cloudflare's SQL API answers 429, 503 or
/// 507 past a rate or resource limit; 507 (the statement itself is too
/// heavy) is `TooHeavy`, not a wait.
fn busy_for(status: u16, retry_after: Option<&str>) -> Option<u64> {
    if status != 429 && status != 503 {
        return None;
    }
    Some(retry_after.and_then(seconds).unwrap_or(DEFAULT_RETRY_AFTER_S))
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
    fn throttled_answers_say_how_long_to_wait() {
        assert_eq!(busy_for(429, Some("7")), Some(7));
        assert_eq!(busy_for(503, Some(" 12 ")), Some(12));
        assert_eq!(busy_for(429, None), Some(DEFAULT_RETRY_AFTER_S));
        assert_eq!(busy_for(429, Some("Wed, 21 Oct 2026 07:28:00 GMT")), Some(DEFAULT_RETRY_AFTER_S));
        assert_eq!(busy_for(429, Some("-3")), Some(DEFAULT_RETRY_AFTER_S));
        assert_eq!(busy_for(429, Some("0")), Some(1));
        assert_eq!(busy_for(429, Some("99999999999999999999999")), Some(DEFAULT_RETRY_AFTER_S));
        assert_eq!(busy_for(429, Some("86400")), Some(MAX_RETRY_AFTER_S));
        assert_eq!(seconds("5"), Some(5));
        assert_eq!(seconds("soon"), None);
        for status in [200, 400, 401, 422, 500, 502, 507] {
            assert_eq!(busy_for(status, Some("7")), None, "{status}");
        }
    }
}
