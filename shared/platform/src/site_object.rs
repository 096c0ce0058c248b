//! The site Durable Object's contract, in one definition for its callers
//! (ingest; query for the live view and realtime visitors) and the object:
//! binding name, paths, id naming, messages.

use beacon_types::{DataPoint, Event, SiteId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use worker::{Env, Headers, Method, Request, RequestInit, Response, Stub};

use crate::PlatformError;

/// The Durable Object namespace binding.
pub const BINDING: &str = "SITE";
/// Path of the "apply an event" call.
pub const TRACK_PATH: &str = "/track";
/// Path of the live view's WebSocket upgrade.
pub const LIVE_PATH: &str = "/live";
/// The live view's WebSocket subprotocol: the object names it in its 101
/// when the client offered it (a browser that offers subprotocols fails a
/// handshake that picks none).
pub const LIVE_PROTOCOL: &str = "beacon.live";

/// Whether a `Sec-WebSocket-Protocol` header value offers [`LIVE_PROTOCOL`].
pub fn offers_live_protocol(header: &str) -> bool {
    header.split(',').any(|p| p.trim() == LIVE_PROTOCOL)
}

/// Path of the count of current visitors (the realtime API's).
pub const VISITORS_PATH: &str = "/visitors";
/// Path that runs the alarm's pruning now (reachable only in dev).
pub const PRUNE_PATH: &str = "/prune";

/// One object per site, named after the site id.
pub fn object_name(site: &SiteId) -> String {
    format!("site:{site}")
}

/// What ingest sends: the event (with the visitor id under today's salt)
/// and the visitor's id under yesterday's salt, so sessions survive the
/// daily rotation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrackRequest {
    /// The accepted event.
    pub event: Event,
    /// The same visitor's id under the previous salt, if that salt exists.
    pub previous_visitor_id: Option<u64>,
}

/// What the object answers: every row to write for this event.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrackResponse {
    /// Session cancel/new rows and the event row.
    pub rows: Vec<DataPoint>,
}

fn stub(env: &Env, site: &SiteId) -> Result<Stub, PlatformError> {
    let ns = env.durable_object(BINDING).map_err(|e| PlatformError::binding("site object binding", e))?;
    ns.get_by_name(&object_name(site)).map_err(|e| PlatformError::binding("site object stub", e))
}

/// Sends `request` to the site's object and reads its JSON answer (a 200).
async fn ask<T: DeserializeOwned>(env: &Env, site: &SiteId, request: Request, what: &'static str) -> Result<T, PlatformError> {
    let stub = stub(env, site)?;
    let mut resp = stub.fetch_with_request(request).await.map_err(|e| PlatformError::binding(what, e))?;
    if resp.status_code() != 200 {
        return Err(PlatformError::binding(what, format!("status {}", resp.status_code())));
    }
    resp.json().await.map_err(|e| PlatformError::binding(what, e))
}

/// Hands `req` to the site's object; returns the rows to write.
pub async fn track(env: &Env, site: &SiteId, req: &TrackRequest) -> Result<Vec<DataPoint>, PlatformError> {
    let body = serde_json::to_string(req).map_err(|e| PlatformError::binding("site object encode", e))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post).with_body(Some(body.into()));
    let request = Request::new_with_init(&format!("https://site-object{TRACK_PATH}"), &init)
        .map_err(|e| PlatformError::binding("site object request", e))?;
    let out: TrackResponse = ask(env, site, request, "site object track").await?;
    Ok(out.rows)
}

/// What the object answers on [`VISITORS_PATH`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CurrentVisitors {
    /// Visitors with an event other than engagement in the last five
    /// minutes, by the real clock.
    pub visitors: u32,
}

/// The site's current visitors, as its object counts them.
pub async fn current_visitors(env: &Env, site: &SiteId) -> Result<u32, PlatformError> {
    let request = Request::new(&format!("https://site-object{VISITORS_PATH}"), Method::Get)
        .map_err(|e| PlatformError::binding("site object visitors", e))?;
    let out: CurrentVisitors = ask(env, site, request, "site object visitors").await?;
    Ok(out.visitors)
}

/// Hands a WebSocket upgrade to the site's object; its 101 is the answer.
/// The caller has checked that the requester may see `site`.
pub async fn live(env: &Env, site: &SiteId, upgrade: &Request) -> Result<Response, PlatformError> {
    let stub = stub(env, site)?;
    let headers = Headers::new();
    let set = |name: &str, value: &str| headers.set(name, value).map_err(|e| PlatformError::binding("site object live", e));
    for name in ["upgrade", "sec-websocket-key", "sec-websocket-version"] {
        if let Ok(Some(v)) = upgrade.headers().get(name) {
            set(name, &v)?;
        }
    }
    // Only the protocol the object may pick: a key offered as one stays here.
    let protocols = upgrade.headers().get("sec-websocket-protocol").ok().flatten().unwrap_or_default();
    if offers_live_protocol(&protocols) {
        set("sec-websocket-protocol", LIVE_PROTOCOL)?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    let request = Request::new_with_init(&format!("https://site-object{LIVE_PATH}"), &init)
        .map_err(|e| PlatformError::binding("site object live", e))?;
    let resp = stub.fetch_with_request(request).await.map_err(|e| PlatformError::binding("site object live", e))?;
    // Anything but the hand-off is the object failing: the caller's error
    // is ours to word, not the runtime's page passed through.
    if resp.status_code() != 101 {
        return Err(PlatformError::binding("site object live", format!("status {}", resp.status_code())));
    }
    Ok(resp)
}

/// Runs the object's pruning now (dev only: tests cannot wait for the alarm).
pub async fn prune(env: &Env, site: &SiteId) -> Result<Response, PlatformError> {
    let stub = stub(env, site)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post);
    let request = Request::new_with_init(&format!("https://site-object{PRUNE_PATH}"), &init)
        .map_err(|e| PlatformError::binding("site object prune", e))?;
    stub.fetch_with_request(request).await.map_err(|e| PlatformError::binding("site object prune", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_protocol_is_found_among_those_offered() {
        for offered in ["beacon.live", "beacon.key.bk_1, beacon.live", " beacon.live ,x"] {
            assert!(offers_live_protocol(offered), "{offered:?}");
        }
        for not in ["", "beacon.key.bk_1", "beacon.live2", "beacon.livex, beacon", "Beacon.Live"] {
            assert!(!offers_live_protocol(not), "{not:?}");
        }
    }

    #[test]
    fn each_site_has_its_own_object_under_a_name_that_never_changes() {
        let (a, b) = (SiteId::parse("a").unwrap(), SiteId::parse("b").unwrap());
        // Renaming would orphan every object's live state.
        assert_eq!(object_name(&a), "site:a");
        assert_ne!(object_name(&a), object_name(&b));
    }
}
