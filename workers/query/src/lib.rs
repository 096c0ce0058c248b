//! The query worker: Plausible's Stats API (v2 `POST /api/v2/query`, v1
//! `GET /api/v1/stats/*`) and the live view's WebSocket (`GET /api/live`)
//! for API keys and dashboard sessions. A thin adapter: it authenticates
//! the caller (Bearer key, else the session cookie), finds the site from
//! the caller's rights (the `site_id` in a request is only checked against
//! them), counts the request against the caller's hourly limit, and hands
//! the query to `beacon_stats`, or the WebSocket (and the realtime count,
//! read from AE while the object is down) to the site's object.

use beacon_auth::{AuthError, Session};
use beacon_platform::{ae_sql, api_keys, goals, rate_limit, site_object, sites, PlatformError};
use beacon_stats::report::{self, Runner, SiteInfo};
use beacon_stats::v1::{self, Endpoint};
use beacon_stats::{query, StatsError};
use beacon_types::Site;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use worker::{event, Context, Env, Method, Request, Response, Result};

/// Largest query body accepted.
const MAX_BODY: usize = 64 * 1024;
/// Secret (a plain variable locally) that signs dashboard sessions.
const SESSION_SECRET: &str = "SESSION_SECRET";
/// What a malformed, unknown or revoked key is told, in Plausible's words.
const BAD_KEY: &str = "Invalid API key or site ID. Please make sure you're using a valid API key with access to the site you've requested.";
/// Requests per hour a dashboard session may make (a dashboard page makes ~8).
const SESSION_HOURLY_LIMIT: u64 = 6000;

/// Who is asking.
enum Principal {
    Key(api_keys::ApiKey),
    Session(Session),
}

/// What a request asks for.
#[derive(Clone, Copy)]
enum Route {
    /// A Stats API query.
    Stats(Api),
    /// `GET /api/v1/stats/realtime/visitors`
    Realtime,
    /// `GET /api/live?site_id=…`: the live view's WebSocket.
    Live,
}

/// The Stats API's endpoints.
#[derive(Clone, Copy)]
enum Api {
    /// `POST /api/v2/query`
    V2,
    /// `GET /api/v1/stats/{aggregate,timeseries,breakdown}`
    V1(Endpoint),
}

/// Everything that ends a request early, mapped to a status in one place.
enum ApiError {
    Unauthorized(&'static str),
    /// The site named is not one the caller may read (or does not exist).
    NotFound,
    /// No endpoint at this path.
    NoRoute,
    /// An endpoint asked with another method; it takes the one named.
    MethodNotAllowed(&'static str),
    /// A WebSocket endpoint asked without an upgrade.
    UpgradeRequired,
    TooLarge,
    /// The caller's hourly limit is used up: seconds until a slot frees,
    /// the limit, and whose it is ("API key", "session").
    RateLimited {
        after: u64,
        limit: u64,
        whose: &'static str,
    },
    Stats(StatsError),
    Platform(PlatformError),
    /// Building a response failed: a bug, 500.
    Runtime(worker::Error),
}

impl From<worker::Error> for ApiError {
    fn from(e: worker::Error) -> Self {
        ApiError::Runtime(e)
    }
}

impl From<StatsError> for ApiError {
    fn from(e: StatsError) -> Self {
        ApiError::Stats(e)
    }
}

/// Every session error's answer: the caller's 401 (or 400 for a lifetime
/// out of range, asked only of the dev mint), ours for a missing secret.
impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Expired => ApiError::Unauthorized("Session expired; log in again"),
            AuthError::Invalid => ApiError::Unauthorized("Invalid session"),
            AuthError::Lifetime => ApiError::Stats(StatsError::Invalid(format!("#/lifetime_s: {e}"))),
            AuthError::Secret | AuthError::Signing => {
                ApiError::Platform(PlatformError::Binding { what: "session", message: e.to_string() })
            }
        }
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
            ApiError::NotFound => (404, "Site not found, or not visible to this API key or session".to_owned()),
            ApiError::NoRoute => (404, "Not found: no such endpoint".to_owned()),
            ApiError::MethodNotAllowed(allow) => (405, format!("method not allowed; this endpoint takes {allow}")),
            ApiError::UpgradeRequired => (426, "expected a WebSocket upgrade".to_owned()),
            ApiError::TooLarge => (413, format!("request body exceeds {MAX_BODY} bytes")),
            ApiError::RateLimited { limit, whose, .. } => {
                (429, format!("Too many API requests. Your {whose} is limited to {limit} requests per hour."))
            }
            ApiError::Stats(e) => {
                if e.status() >= 500 {
                    worker::console_error!("query: {e}");
                }
                (e.status(), e.public())
            }
            ApiError::Platform(e) => {
                worker::console_error!("query: {e}");
                (503, "temporarily unavailable, retry later".to_owned())
            }
            ApiError::Runtime(e) => {
                worker::console_error!("query: {e}");
                (500, "internal error".to_owned())
            }
        };
        let retry_after = match &self {
            ApiError::RateLimited { after, .. } => Some(*after),
            ApiError::Stats(e) => e.retry_after(),
            _ => None,
        };
        let resp = json_response(status, &json!({ "error": message }))?;
        if let Some(after) = retry_after {
            resp.headers().set("retry-after", &after.to_string())?;
        }
        if let ApiError::MethodNotAllowed(allow) = self {
            resp.headers().set("allow", allow)?;
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
        ae_sql::rows(self.0, &sql).await.map_err(|e| match e {
            PlatformError::Busy { retry_after_s, .. } => StatsError::Busy(retry_after_s),
            PlatformError::TooHeavy { retry_after_s, .. } => StatsError::TooHeavy(retry_after_s),
            e => StatsError::Upstream(e.to_string()),
        })
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
    let get = req.method() == Method::Get;
    let route = match path.as_str() {
        "/healthz" => return Ok(Response::ok("ok")?),
        "/api/v2/query" if req.method() == Method::Post => Route::Stats(Api::V2),
        "/api/v1/stats/aggregate" if get => Route::Stats(Api::V1(Endpoint::Aggregate)),
        "/api/v1/stats/timeseries" if get => Route::Stats(Api::V1(Endpoint::Timeseries)),
        "/api/v1/stats/breakdown" if get => Route::Stats(Api::V1(Endpoint::Breakdown)),
        "/api/v1/stats/realtime/visitors" if get => Route::Realtime,
        "/api/live" if get => Route::Live,
        "/api/v2/query" => return Err(ApiError::MethodNotAllowed("POST")),
        "/api/v1/stats/aggregate"
        | "/api/v1/stats/timeseries"
        | "/api/v1/stats/breakdown"
        | "/api/v1/stats/realtime/visitors"
        | "/api/live" => return Err(ApiError::MethodNotAllowed("GET")),
        "/__dev/session" if req.method() == Method::Post && beacon_platform::is_dev(env) => return dev_session(req, env).await,
        _ => return Err(ApiError::NoRoute),
    };
    let now_ms = beacon_platform::now_ms();
    // The query string, read once (v2 reads a body instead).
    let url_params = if get { params(&req) } else { Vec::new() };
    let principal = caller(&req, env, matches!(route, Route::Live).then_some(&url_params[..]), now_ms).await?;
    let (counter, limit, whose) = match &principal {
        Principal::Key(key) => (key.id.clone(), key.hourly_budget(), "API key"),
        Principal::Session(s) => (format!("session:{}", s.sub), SESSION_HOURLY_LIMIT, "session"),
    };
    if let Err(after) = rate_limit::hit(env, &counter, limit, now_ms / 1000).await? {
        return Err(ApiError::RateLimited { after, limit, whose });
    }
    match route {
        Route::Stats(api) => stats(&mut req, env, api, &url_params, &principal, now_ms).await,
        Route::Realtime => realtime(env, &url_params, &principal, now_ms).await,
        Route::Live => live(&req, env, &url_params, &principal).await,
    }
}

/// Answers a Stats API query for a site the caller may read.
async fn stats(
    req: &mut Request,
    env: &Env,
    api: Api,
    v1_params: &[(String, String)],
    principal: &Principal,
    now_ms: u64,
) -> std::result::Result<Response, ApiError> {
    let body: Value = match api {
        Api::V2 => {
            let raw = read_body(req).await?;
            serde_json::from_slice(&raw).map_err(|_| StatsError::Invalid("#: Request body must be a JSON object".into()))?
        }
        Api::V1(endpoint) => v1::to_v2(endpoint, v1_params)?,
    };
    // v1 callers are told the query parameter at fault, not a v2 pointer.
    let in_callers_terms = |e: StatsError| match api {
        Api::V1(endpoint) => v1::error(endpoint, v1_params, e),
        Api::V2 => e,
    };
    // Validate first: a broken body is the caller's 400 whatever it names.
    // A v1 body follows v1's rules, and a bare `time` in it (only `all`'s
    // timeseries default) is v1's interval for the range.
    let mut parsed = match api {
        Api::V2 => query::from_value(&body),
        Api::V1(_) => query::from_v1_value(&body),
    }
    .map_err(in_callers_terms)?;
    let site = visible_site(env, principal, &parsed.site_id).await?;
    if let Api::V1(_) = api {
        v1::day_is_today(v1_params, &mut parsed, &beacon_stats::period::zone(&site.timezone), now_ms);
    }
    let goals = goals::for_site(env, &site.id).await?;
    let info = SiteInfo { id: site.id.clone(), timezone: site.timezone.clone() };
    let answer = report::run(&Ae(env), &parsed, &info, &goals, now_ms).await.map_err(in_callers_terms)?;
    let out = match api {
        Api::V2 => answer,
        Api::V1(endpoint) => v1::shape(endpoint, &body, &answer),
    };
    Ok(json_response(200, &out)?)
}

/// v1's realtime visitors, a bare number: the site object's count of the
/// visitors of the last five minutes (the live view's, as Plausible's
/// counts them: engagement events aside). Immediate, and no AE statement;
/// while the object is unreachable, the same count from AE.
async fn realtime(
    env: &Env,
    url_params: &[(String, String)],
    principal: &Principal,
    now_ms: u64,
) -> std::result::Result<Response, ApiError> {
    let site = visible_site(env, principal, &v1::site_param(url_params)?).await?;
    let visitors = match site_object::current_visitors(env, &site.id).await {
        Ok(n) => u64::from(n),
        Err(e) => {
            worker::console_warn!("query: realtime from AE, the site object failed: {e}");
            report::current_visitors(&Ae(env), &site.id, now_ms).await?
        }
    };
    Ok(json_response(200, &json!(visitors))?)
}

/// Hands the live view's WebSocket for the `site_id` parameter's site to
/// that site's object, if the caller may read the site. The object's 101
/// goes back as it is: its headers are the runtime's.
async fn live(req: &Request, env: &Env, url_params: &[(String, String)], principal: &Principal) -> std::result::Result<Response, ApiError> {
    let site = visible_site(env, principal, &v1::site_param(url_params)?).await?;
    let upgrade = req.headers().get("upgrade").ok().flatten();
    if !upgrade.is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
        return Err(ApiError::UpgradeRequired);
    }
    Ok(site_object::live(env, &site.id, req).await?)
}

/// The caller: an unrevoked API key from `Authorization: Bearer …` (or,
/// where `token_from` is given, the live view's: its `token` parameter or a
/// `beacon.key.<key>` subprotocol, as browsers cannot set headers on a
/// WebSocket), else a valid dashboard session cookie.
async fn caller(
    req: &Request,
    env: &Env,
    token_from: Option<&[(String, String)]>,
    now_ms: u64,
) -> std::result::Result<Principal, ApiError> {
    let header = |name: &str| req.headers().get(name).ok().flatten().unwrap_or_default();
    let authorization = header("authorization");
    let presented = if !authorization.is_empty() {
        Some(api_keys::from_authorization(&authorization).ok_or(ApiError::Unauthorized(BAD_KEY))?.to_owned())
    } else {
        token_from.and_then(|p| {
            let protocols = header("sec-websocket-protocol");
            let from_protocol = api_keys::from_websocket_protocols(&protocols).map(str::to_owned);
            v1::param(p, "token").filter(|v| !v.is_empty()).map(str::to_owned).or(from_protocol)
        })
    };
    if let Some(key) = presented {
        let found = api_keys::find(env, &key).await?;
        return found.map(Principal::Key).ok_or(ApiError::Unauthorized(BAD_KEY));
    }
    let cookies = header("cookie");
    let Some(token) = beacon_auth::from_cookies(&cookies) else {
        return Err(ApiError::Unauthorized("Missing API key. Please use a valid Plausible API key as a Bearer Token."));
    };
    Ok(Principal::Session(beacon_auth::verify(session_secret(env).as_bytes(), token, now_ms)?))
}

fn session_secret(env: &Env) -> String {
    beacon_platform::secret_or_var(env, SESSION_SECRET).unwrap_or_default()
}

/// The site `named` (an id or domain) names, if the caller may read it
/// (a site of the key's team, or one the session lists); anything else,
/// existing or not, is answered as not found.
async fn visible_site(env: &Env, principal: &Principal, named: &str) -> std::result::Result<Site, ApiError> {
    if named.is_empty() {
        return Err(ApiError::NotFound);
    }
    let readable = match principal {
        Principal::Key(key) => sites::Readable::Team(&key.team_id),
        Principal::Session(s) => sites::Readable::Listed(&s.sites),
    };
    sites::visible_site(env, readable, named).await?.ok_or(ApiError::NotFound)
}

/// Dev only: mints a dashboard session through the same code as login will
/// (the accounts worker), so tests can act as a signed-in user.
async fn dev_session(mut req: Request, env: &Env) -> std::result::Result<Response, ApiError> {
    let raw = read_body(&mut req).await?;
    let body: Value = serde_json::from_slice(&raw).map_err(|e| StatsError::Invalid(format!("#: {e}")))?;
    let lifetime = match body.get("lifetime_s") {
        None => beacon_auth::LIFETIME_S,
        Some(v) => v.as_i64().ok_or_else(|| StatsError::Invalid("#/lifetime_s: Must be an integer".into()))?,
    };
    let session = Session::deserialize(&body).map_err(|e| StatsError::Invalid(format!("#: {e}")))?;
    let now_ms = beacon_platform::now_ms();
    let token = beacon_auth::mint(session_secret(env).as_bytes(), &session, now_ms, lifetime)?;
    let resp = json_response(200, &json!({ "token": token }))?;
    resp.headers().set("set-cookie", &beacon_auth::set_cookie(&token, lifetime))?;
    Ok(resp)
}

fn params(req: &Request) -> Vec<(String, String)> {
    req.url().map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()).unwrap_or_default()
}

/// The body, at most [`MAX_BODY`] bytes.
async fn read_body(req: &mut Request) -> std::result::Result<Vec<u8>, ApiError> {
    beacon_platform::body::read(req, MAX_BODY).await?.ok_or(ApiError::TooLarge)
}
