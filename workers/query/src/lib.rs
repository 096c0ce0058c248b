//! The query worker: Plausible's Stats API (v2 `POST /api/v2/query`, v1
//! `GET /api/v1/stats/*`) for API keys. A thin adapter: it authenticates
//! the caller, finds the site from the caller's rights (the `site_id` in a
//! request is only checked against them), counts the request against the
//! key's hourly limit, and hands the query to `beacon_stats`.

use beacon_platform::{ae_sql, api_keys, goals, rate_limit, sites, PlatformError};
use beacon_stats::report::{self, Runner, SiteInfo};
use beacon_stats::v1::{self, Endpoint};
use beacon_stats::{query, StatsError};
use beacon_types::site::normalize_domain;
use beacon_types::{Site, SiteId};
use serde_json::{json, Map, Value};
use worker::{event, Context, Env, Method, Request, Response, Result};

/// Largest query body accepted.
const MAX_BODY: usize = 64 * 1024;

/// Everything that ends a request early, mapped to a status in one place.
enum ApiError {
    Unauthorized(&'static str),
    NotFound,
    MethodNotAllowed,
    TooLarge,
    RateLimited(u64),
    Stats(StatsError),
    Platform(PlatformError),
}

impl From<StatsError> for ApiError {
    fn from(e: StatsError) -> Self {
        ApiError::Stats(e)
    }
}

impl From<PlatformError> for ApiError {
    fn from(e: PlatformError) -> Self {
        ApiError::Platform(e)
    }
}

impl ApiError {
    fn into_response(self) -> Result<Response> {
        let (status, message) = match &self {
            ApiError::Unauthorized(m) => (401, (*m).to_owned()),
            ApiError::NotFound => (404, "Site not found, or not visible to this API key".to_owned()),
            ApiError::MethodNotAllowed => (405, "method not allowed".to_owned()),
            ApiError::TooLarge => (413, format!("request body exceeds {MAX_BODY} bytes")),
            ApiError::RateLimited(_) => (429, "Too many API requests; this key's hourly limit is used up".to_owned()),
            ApiError::Stats(e) => {
                if e.status() >= 500 {
                    worker::console_error!("query: {e}");
                }
                (e.status(), if e.status() >= 500 { "temporarily unavailable, retry later".to_owned() } else { e.to_string() })
            }
            ApiError::Platform(e) => {
                worker::console_error!("query: {e}");
                (503, "temporarily unavailable, retry later".to_owned())
            }
        };
        let resp = json_response(status, &json!({ "error": message }))?;
        if let ApiError::RateLimited(after) = self {
            resp.headers().set("retry-after", &after.to_string())?;
        }
        Ok(resp)
    }
}

fn json_response(status: u16, body: &Value) -> Result<Response> {
    let resp = Response::ok(body.to_string())?.with_status(status);
    resp.headers().set("content-type", "application/json")?;
    Ok(resp)
}

/// Runs the engine's SQL on Analytics Engine.
struct Ae<'a>(&'a Env);

impl Runner for Ae<'_> {
    async fn rows(&self, sql: String) -> std::result::Result<Vec<Map<String, Value>>, StatsError> {
        ae_sql::rows(self.0, &sql).await.map_err(|e| StatsError::Upstream(e.to_string()))
    }
}

/// Entry point: every request ends in a JSON response.
#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    match route(req, &env).await {
        Ok(r) => Ok(r),
        Err(e) => e.into_response(),
    }
}

async fn route(mut req: Request, env: &Env) -> std::result::Result<Response, ApiError> {
    let path = req.path();
    let v1 = match path.as_str() {
        "/healthz" => return Ok(Response::ok("ok").map_err(|e| PlatformError::Binding { what: "response", message: e.to_string() })?),
        "/api/v2/query" if req.method() == Method::Post => None,
        "/api/v2/query" => return Err(ApiError::MethodNotAllowed),
        "/api/v1/stats/aggregate" => Some(Some(Endpoint::Aggregate)),
        "/api/v1/stats/timeseries" => Some(Some(Endpoint::Timeseries)),
        "/api/v1/stats/breakdown" => Some(Some(Endpoint::Breakdown)),
        "/api/v1/stats/realtime/visitors" => Some(None),
        _ => return Err(ApiError::NotFound),
    };
    if v1.is_some() && req.method() != Method::Get {
        return Err(ApiError::MethodNotAllowed);
    }
    let key = caller(&req, env).await?;
    let now_ms = beacon_platform::now_ms();
    let limit = if key.hourly_limit.is_finite() && key.hourly_limit > 0.0 { key.hourly_limit as u64 } else { 600 };
    if let Err(after) = rate_limit::hit(env, &key.id, limit, now_ms / 1000).await? {
        return Err(ApiError::RateLimited(after));
    }
    let body: Value = match v1 {
        None => {
            let raw = read_body(&mut req).await?;
            serde_json::from_slice(&raw).map_err(|_| StatsError::Invalid("#: Request body must be a JSON object".into()))?
        }
        Some(Some(endpoint)) => v1::to_v2(endpoint, &params(&req))?,
        Some(None) => {
            let site_id = params(&req).into_iter().find(|(k, _)| k == "site_id").map(|(_, v)| v).unwrap_or_default();
            let minutes_ago = |m: u64| iso(now_ms.saturating_sub(m * 60_000));
            json!({ "site_id": site_id, "metrics": ["visitors"], "date_range": [minutes_ago(5), iso(now_ms.saturating_add(5_000))] })
        }
    };
    // Validate first: a broken body is the caller's 400 whatever it names.
    let parsed = query::parse(body.to_string().as_bytes())?;
    let site = visible_site(env, &key, &parsed.site_id).await?;
    let goals = goals::for_site(env, &site.id).await?;
    let info = SiteInfo { id: site.id.clone(), timezone: site.timezone.clone() };
    let answer = report::run(&Ae(env), &parsed, &info, &goals, now_ms).await?;
    let out = match v1 {
        None => answer,
        Some(Some(endpoint)) => v1::shape(endpoint, &body, &answer),
        Some(None) => answer["results"][0]["metrics"][0].clone(),
    };
    Ok(json_response(200, &out).map_err(|e| PlatformError::Binding { what: "response", message: e.to_string() })?)
}

/// The caller's unrevoked API key, from `Authorization: Bearer …`.
async fn caller(req: &Request, env: &Env) -> std::result::Result<api_keys::ApiKey, ApiError> {
    let header = req.headers().get("authorization").ok().flatten().unwrap_or_default();
    let token = header.strip_prefix("Bearer ").map(str::trim).filter(|t| !t.is_empty());
    let Some(token) = token else { return Err(ApiError::Unauthorized("Missing API key. Please use a valid Plausible API key as a Bearer Token.")) };
    api_keys::find(env, token).await?.ok_or(ApiError::Unauthorized("Invalid API key or revoked"))
}

/// The key's own site, if `named` (an id or domain) names it; anything
/// else, existing or not, is answered as not found.
async fn visible_site(env: &Env, key: &api_keys::ApiKey, named: &str) -> std::result::Result<Site, ApiError> {
    let id = SiteId::parse(&key.site_id).map_err(|_| ApiError::NotFound)?;
    let site = sites::site_by_id(env, &id).await?.ok_or(ApiError::NotFound)?;
    let matches = named == site.id.as_str() || (!named.is_empty() && normalize_domain(named) == normalize_domain(&site.domain));
    if matches {
        Ok(site)
    } else {
        Err(ApiError::NotFound)
    }
}

fn params(req: &Request) -> Vec<(String, String)> {
    req.url().map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()).unwrap_or_default()
}

fn iso(ms: u64) -> String {
    beacon_stats::period::iso_utc(ms)
}

/// The body, at most [`MAX_BODY`] bytes.
async fn read_body(req: &mut Request) -> std::result::Result<Vec<u8>, ApiError> {
    let declared = req.headers().get("content-length").ok().flatten().and_then(|l| l.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(ApiError::TooLarge);
    }
    let bytes = req.bytes().await.map_err(|e| PlatformError::Binding { what: "body", message: e.to_string() })?;
    if bytes.len() > MAX_BODY {
        return Err(ApiError::TooLarge);
    }
    Ok(bytes)
}
