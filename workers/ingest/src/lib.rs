//! The ingest worker: Plausible's Events API on customer hostnames.
//!
//! A thin adapter: it finds the site from the Host header, reads the body
//! (bounded), runs `beacon_ingest`'s pipeline, answers at once, and writes
//! the data point in `wait_until`.

mod http;
mod tracker;

use beacon_ingest::{geo, visitor, Context as PipelineContext, Rejection};
use beacon_platform::{analytics, salts, site_object, sites};
use beacon_types::{slots, Event, Geo, Site};
use worker::{console_error, event, Context, Env, Method, Request, Response, Result};

use http::ApiError;

/// Entry point: every request ends in a response, never in a thrown error.
#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let response = match route(req, env, &ctx).await {
        Ok(r) => r,
        Err(e) => e.into_response()?,
    };
    http::with_cors(response)
}

async fn route(req: Request, env: Env, ctx: &Context) -> std::result::Result<Response, ApiError> {
    let path = req.path();
    match (req.method(), path.as_str()) {
        (Method::Options, _) => http::preflight(),
        (Method::Get, "/healthz") => http::text(200, "ok"),
        (Method::Get | Method::Head, p) if tracker::is_script_path(p) => tracker::serve(&req, p),
        (Method::Post, "/api/event") => accept_event(req, env, ctx).await,
        (Method::Post, "/__dev/prune") if beacon_platform::is_dev(&env) => dev_prune(req, env).await,
        (_, "/api/event") => Err(ApiError::MethodNotAllowed("POST, OPTIONS")),
        _ => Err(ApiError::NotFound("not found")),
    }
}

async fn accept_event(mut req: Request, env: Env, ctx: &Context) -> std::result::Result<Response, ApiError> {
    let now = request_time(&req, &env);
    let site = site_of(&req, &env).await?;

    let body = http::read_body(&mut req, beacon_ingest::payload::MAX_BODY).await?;
    let user_agent = header(&req, "user-agent").unwrap_or_default();
    let pipeline_ctx = PipelineContext { site: &site, user_agent: &user_agent, geo: request_geo(&req, &env), now_ms: now };
    let event = match beacon_ingest::run(&body, &pipeline_ctx) {
        Ok(event) => event,
        Err(Rejection::Invalid(e)) => return Err(ApiError::Invalid(e)),
        Err(Rejection::Dropped(reason)) => return http::dropped(reason.as_str()),
    };

    // The IP goes into the visitor hash inside the deferred task and nowhere else.
    let ip = header(&req, "cf-connecting-ip").unwrap_or_default();
    ctx.wait_until(async move {
        if let Err(e) = store(&env, event, &ip, &user_agent).await {
            console_error!("ingest: storing an accepted event failed: {e}");
        }
    });
    http::text(202, "ok")
}

/// The active site behind the request's Host header, or 404.
async fn site_of(req: &Request, env: &Env) -> std::result::Result<Site, ApiError> {
    let host = header(req, "host").and_then(|h| sites::normalize_host(&h)).ok_or(ApiError::NotFound("unknown hostname"))?;
    // Cache freshness follows the real clock, not a dev override.
    sites::site_for_host(env, &host, beacon_platform::now_ms())
        .await
        .map_err(ApiError::Platform)?
        .ok_or(ApiError::NotFound("unknown hostname"))
}

/// Dev only: runs the site object's pruning for this hostname's site now.
async fn dev_prune(req: Request, env: Env) -> std::result::Result<Response, ApiError> {
    let site = site_of(&req, &env).await?;
    let mut resp = site_object::prune(&env, &site.id).await.map_err(ApiError::Platform)?;
    // The object's response has immutable headers; answer with our own.
    let body = resp.text().await?;
    let out = Response::ok(body)?.with_status(resp.status_code());
    out.headers().set("content-type", "application/json")?;
    Ok(out)
}

/// Adds the visitor id, lets the site object apply the event to its
/// session, and writes the rows. If the object fails, the event row is
/// written alone: an accepted event is never lost. (An engagement with no
/// visit to keep open has no rows: Plausible drops it too.)
async fn store(env: &Env, mut event: Event, ip: &str, user_agent: &str) -> std::result::Result<(), beacon_platform::PlatformError> {
    let Some(site) = event.site_id.clone() else { return Ok(()) };
    let day = salts::day_of(event.timestamp_ms);
    let (salt, previous_salt) = match salts::for_day(env, day).await {
        Ok(salts) => salts,
        Err(e) => {
            console_error!("ingest: no salt from D1 ({e}); using an isolate-local one");
            (salts::emergency_salt(), None)
        }
    };
    event.visitor_id = visitor::visitor_id(&salt, &site, ip, user_agent);
    if beacon_platform::sessions_disabled(env) {
        return analytics::write(env, &[slots::encode_event(&event, slots::Entry::default())]).await;
    }
    // Yesterday's id: the visitor's session may have begun before midnight.
    let previous = previous_salt.map(|s| visitor::visitor_id(&s, &site, ip, user_agent));
    let request = site_object::TrackRequest { event, previous_visitor_id: previous };
    let rows = match site_object::track(env, &site, &request).await {
        Ok(rows) => rows,
        Err(e) => {
            console_error!("ingest: site object unavailable ({e}); writing the event without session rows");
            vec![slots::encode_event(&request.event, slots::Entry::default())]
        }
    };
    analytics::write(env, &rows).await
}

/// Now; in the local dev environment the `x-beacon-dev-time` header (Unix
/// ms) may place the event in time, so tests can script visits.
fn request_time(req: &Request, env: &Env) -> u64 {
    if beacon_platform::is_dev(env) {
        if let Some(ms) = header(req, DEV_TIME_HEADER).and_then(|v| v.trim().parse::<u64>().ok()) {
            return ms;
        }
    }
    beacon_platform::now_ms()
}

/// The dev-only clock override header.
const DEV_TIME_HEADER: &str = "x-beacon-dev-time";

/// Geo from `cf`; in the local dev environment a header may choose it.
fn request_geo(req: &Request, env: &Env) -> Geo {
    if beacon_platform::is_dev(env) {
        if let Some(g) = header(req, geo::DEV_HEADER).as_deref().and_then(geo::from_dev_header) {
            return g;
        }
    }
    match req.cf() {
        Some(cf) => geo::from_cf(cf.country().as_deref(), cf.region_code().as_deref(), cf.city().as_deref()),
        None => Geo::default(),
    }
}

fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}
