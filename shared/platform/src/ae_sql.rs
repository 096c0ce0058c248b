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
