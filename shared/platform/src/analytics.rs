//! Writes data points to Analytics Engine, and mirrors them to the local
//! stand-in when `AE_LOCAL_URL` is set (wrangler's local AE is a no-op).

use beacon_types::DataPoint;
use worker::{AnalyticsEngineDataPointBuilder, Env, Fetch, Headers, Method, Request, RequestInit};

use crate::{PlatformError, AE_LOCAL_URL, EVENTS};

/// Writes `points` to the `EVENTS` dataset (and the local mirror, if any).
pub async fn write(env: &Env, points: &[DataPoint]) -> Result<(), PlatformError> {
    if points.is_empty() {
        return Ok(());
    }
    let dataset = env.analytics_engine(EVENTS).map_err(|e| PlatformError::binding("ae binding", e))?;
    for p in points {
        let point = AnalyticsEngineDataPointBuilder::new()
            .indexes([p.index.as_str()])
            .blobs(p.blobs.iter().map(String::as_str))
            .doubles(p.doubles.iter().copied())
            .build();
        dataset.write_data_point(&point).map_err(|e| PlatformError::binding("ae write", e))?;
    }
    if let Some(url) = env.var(AE_LOCAL_URL).ok().map(|v| v.to_string()).filter(|u| !u.is_empty()) {
        mirror(&url, points).await?;
    }
    Ok(())
}

async fn mirror(base: &str, points: &[DataPoint]) -> Result<(), PlatformError> {
    let body = serde_json::to_string(points).map_err(|e| PlatformError::binding("ae mirror encode", e))?;
    let headers = Headers::new();
    headers.set("content-type", "application/json").map_err(|e| PlatformError::binding("ae mirror", e))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_headers(headers).with_body(Some(body.into()));
    let url = format!("{}/write", base.trim_end_matches('/'));
    let req = Request::new_with_init(&url, &init).map_err(|e| PlatformError::binding("ae mirror", e))?;
    let mut resp = Fetch::Request(req).send().await.map_err(|e| PlatformError::binding("ae mirror", e))?;
    // Read to the end: a reply left unread makes workerd reset the
    // connection instead of reusing it.
    let reply = resp.text().await.unwrap_or_default();
    if resp.status_code() != 200 {
        return Err(PlatformError::binding("ae mirror", format!("status {}: {reply}", resp.status_code())));
    }
    Ok(())
}
