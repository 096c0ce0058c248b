//! The site object: one per site. It keeps the site's open sessions in its
//! SQLite storage (so eviction, a redeploy or a restart loses nothing),
//! applies each event with `beacon_sessions::track`, and answers with the
//! rows to write. It also keeps the live view (who is on which page, and
//! pageviews per minute) and pushes it to dashboards over hibernatable
//! WebSockets, at most once a second. One alarm does the periodic work:
//! a pending push, a refresh while sockets are open, pruning.

use std::cell::Cell;
use std::collections::BTreeMap;

use beacon_platform::site_object::{
    offers_live_protocol, CurrentVisitors, TrackRequest, TrackResponse, LIVE_PATH, LIVE_PROTOCOL, PRUNE_PATH, TRACK_PATH, VISITORS_PATH,
};
use beacon_sessions::live::{self, Presence, Snapshot, LIVE_WINDOW_MS, MINUTES};
use beacon_sessions::{Session, TIMEOUT_MS};
use worker::{
    console_error, durable_object, event, Context, DurableObject, Env, Method, Request, Response, Result, SqlStorage, SqlStorageValue,
    State, WebSocket, WebSocketIncomingMessage, WebSocketPair, WebSocketRequestResponsePair,
};

/// The script's own fetch handler: the object is only reached through its
/// binding, so direct requests get 404.
#[event(fetch)]
async fn fetch(_req: Request, _env: Env, _ctx: Context) -> Result<Response> {
    Ok(Response::ok(r#"{"error":"not found"}"#)?.with_status(404))
}

/// The Durable Object class (binding `SITE`).
#[durable_object]
pub struct SiteObject {
    state: State,
    sql: SqlStorage,
    /// When the live view was last pushed (real clock, ms); memory only:
    /// after hibernation the next push simply goes out at once.
    last_push_ms: Cell<u64>,
}

#[derive(serde::Deserialize)]
struct Stored {
    data: String,
}

impl SiteObject {
    fn load(&self, ids: &[u64]) -> Result<Option<Session>> {
        let mut best: Option<Session> = None;
        for id in ids {
            let rows: Vec<Stored> = self.sql.exec("SELECT data FROM sessions WHERE visitor = ?", vec![key(*id)])?.to_array()?;
            for row in rows {
                match serde_json::from_str::<Session>(&row.data) {
                    Ok(s) if best.as_ref().is_none_or(|b| s.last_ms > b.last_ms) => best = Some(s),
                    Ok(_) => {}
                    Err(e) => console_error!("site object: dropping an unreadable session: {e}"),
                }
            }
        }
        Ok(best)
    }

    fn store(&self, session: &Session) -> Result<()> {
        let data = serde_json::to_string(session).map_err(|e| worker::Error::RustError(e.to_string()))?;
        self.sql.exec(
            "INSERT OR REPLACE INTO sessions (visitor, last_ms, data) VALUES (?, ?, ?)",
            vec![key(session.visit.visitor_id), SqlStorageValue::Integer(clamp(session.last_ms)), data.into()],
        )?;
        Ok(())
    }

    async fn track(&self, mut req: Request) -> Result<Response> {
        let body: TrackRequest = match req.json().await {
            Ok(b) => b,
            Err(e) => {
                let body = serde_json::json!({ "error": format!("bad track request: {e}") }).to_string();
                return Ok(Response::ok(body)?.with_status(400));
            }
        };
        let mut ids = vec![body.event.visitor_id];
        ids.extend(body.previous_visitor_id);
        let (name, page, at) = (body.event.name.clone(), body.event.pathname.clone(), body.event.timestamp_ms);
        // Reads and writes below are synchronous SQL: no other event of this
        // site interleaves between them.
        let current = self.load(&ids)?;
        let update = beacon_sessions::track(current, body.event);
        if let Some(session) = &update.session {
            self.store(session)?;
            if name != "engagement" {
                self.record_presence(session.visit.visitor_id, &page, at, name == "pageview")?;
            }
        }
        // The session is stored: from here on, failing would make ingest
        // drop this event's session rows, so the extras only log.
        if let Err(e) = self.push_live().await {
            console_error!("site object: live push failed: {e}");
        }
        if let Err(e) = self.arm_alarm(now().saturating_add(PRUNE_EVERY_MS)).await {
            console_error!("site object: cannot arm the alarm: {e}");
        }
        Response::from_json(&TrackResponse { rows: update.rows })
    }

    fn record_presence(&self, visitor: u64, page: &str, at: u64, pageview: bool) -> Result<()> {
        self.sql.exec(
            "INSERT INTO presence (visitor, page, last_ms) VALUES (?, ?, ?) \
             ON CONFLICT (visitor) DO UPDATE SET page = excluded.page, last_ms = excluded.last_ms \
             WHERE excluded.last_ms >= presence.last_ms",
            vec![key(visitor), page.into(), SqlStorageValue::Integer(clamp(at))],
        )?;
        if pageview {
            self.sql.exec(
                "INSERT INTO minutes (minute, pageviews) VALUES (?, 1) \
                 ON CONFLICT (minute) DO UPDATE SET pageviews = pageviews + 1",
                vec![SqlStorageValue::Integer(clamp(live::minute_of(at)))],
            )?;
        }
        Ok(())
    }

    /// The live view now. The object's "now" is the later of its clock and
    /// the newest event, so a dev clock override moves it too (in
    /// production events are never in the future).
    fn snapshot(&self) -> Result<Snapshot> {
        self.snapshot_at(None)
    }

    /// The live view at `at`, or (`None`) at the later of the clock and
    /// the newest event.
    fn snapshot_at(&self, at: Option<u64>) -> Result<Snapshot> {
        #[derive(serde::Deserialize)]
        struct P {
            visitor: i64,
            page: String,
            last_ms: i64,
        }
        #[derive(serde::Deserialize)]
        struct M {
            minute: i64,
            pageviews: i64,
        }
        let presences: Vec<Presence> = self
            .sql
            .exec("SELECT visitor, page, last_ms FROM presence", None)?
            .to_array::<P>()?
            .into_iter()
            .map(|p| Presence { visitor: p.visitor.max(0) as u64, page: p.page, last_ms: p.last_ms.max(0) as u64 })
            .collect();
        let minutes: BTreeMap<u64, u32> = self
            .sql
            .exec("SELECT minute, pageviews FROM minutes", None)?
            .to_array::<M>()?
            .into_iter()
            .map(|m| (m.minute.max(0) as u64, u32::try_from(m.pageviews).unwrap_or(u32::MAX)))
            .collect();
        let newest = presences.iter().map(|p| p.last_ms).max().unwrap_or(0);
        Ok(live::snapshot(&presences, &minutes, at.unwrap_or_else(|| now().max(newest))))
    }

    /// Pushes the live view to every open socket, at most once a second;
    /// a throttled push is owed and delivered by the alarm.
    async fn push_live(&self) -> Result<()> {
        let sockets = self.state.get_websockets();
        if sockets.is_empty() {
            return Ok(());
        }
        let t = now();
        let next = self.last_push_ms.get().saturating_add(PUSH_EVERY_MS);
        if t < next {
            return self.arm_alarm(next).await;
        }
        let text = serde_json::to_string(&self.snapshot()?).map_err(|e| worker::Error::RustError(e.to_string()))?;
        for ws in sockets {
            // A socket closing under us is not this event's problem.
            let _ = ws.send_with_str(&text);
        }
        self.last_push_ms.set(t);
        Ok(())
    }

    /// Makes sure the alarm fires no later than `at_ms`.
    async fn arm_alarm(&self, at_ms: u64) -> Result<()> {
        let storage = self.state.storage();
        let current = storage.get_alarm().await?;
        if current.is_none_or(|c| c > clamp(at_ms)) {
            storage.set_alarm(clamp(at_ms).saturating_sub(clamp(now())).max(1)).await?;
        }
        Ok(())
    }

    /// Deletes sessions idle for over 30 minutes and live data past its
    /// window, as of `t`; returns how many sessions are left.
    fn prune(&self, t: u64) -> Result<i64> {
        let cutoff = |age: u64| SqlStorageValue::Integer(clamp(t.saturating_sub(age)));
        self.sql.exec("DELETE FROM sessions WHERE last_ms < ?", vec![cutoff(TIMEOUT_MS)])?;
        self.sql.exec("DELETE FROM presence WHERE last_ms < ?", vec![cutoff(LIVE_WINDOW_MS)])?;
        self.sql.exec(
            "DELETE FROM minutes WHERE minute < ?",
            vec![SqlStorageValue::Integer(clamp(live::minute_of(t).saturating_sub(MINUTES)))],
        )?;
        #[derive(serde::Deserialize)]
        struct Count {
            n: i64,
        }
        let left: Count = self.sql.exec("SELECT count(*) AS n FROM sessions", None)?.one()?;
        Ok(left.n)
    }

    fn accept_live(&self, req: &Request) -> Result<Response> {
        let pair = WebSocketPair::new()?;
        self.state.accept_web_socket(&pair.server);
        let text = serde_json::to_string(&self.snapshot()?).map_err(|e| worker::Error::RustError(e.to_string()))?;
        pair.server.send_with_str(&text)?;
        let resp = Response::from_websocket(pair.client)?;
        // A browser that offered subprotocols fails a 101 that names none.
        if offers_live_protocol(&req.headers().get("sec-websocket-protocol")?.unwrap_or_default()) {
            resp.headers().set("sec-websocket-protocol", LIVE_PROTOCOL)?;
        }
        Ok(resp)
    }
}

/// Live pushes are at most this often, ms.
const PUSH_EVERY_MS: u64 = 1000;
/// While sockets are open, the view is refreshed this often (visitors age
/// out of the 5-minute window without any event), ms.
const REFRESH_EVERY_MS: u64 = 10_000;

fn now() -> u64 {
    worker::Date::now().as_millis()
}

/// How often the alarm prunes idle sessions, ms.
const PRUNE_EVERY_MS: u64 = 5 * 60 * 1000;

fn key(visitor: u64) -> SqlStorageValue {
    // Visitor ids are 52 bits: exact as a JS number.
    SqlStorageValue::Integer(clamp(visitor))
}

fn clamp(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl DurableObject for SiteObject {
    fn new(state: State, _env: Env) -> Self {
        let sql = state.storage().sql();
        if let Err(e) = sql
            .exec("CREATE TABLE IF NOT EXISTS sessions (visitor INTEGER PRIMARY KEY, last_ms INTEGER NOT NULL, data TEXT NOT NULL)", None)
        {
            console_error!("site object: cannot create the sessions table: {e}");
        }
        for ddl in [
            "CREATE INDEX IF NOT EXISTS sessions_by_last ON sessions (last_ms)",
            "CREATE TABLE IF NOT EXISTS presence (visitor INTEGER PRIMARY KEY, page TEXT NOT NULL, last_ms INTEGER NOT NULL)",
            "CREATE TABLE IF NOT EXISTS minutes (minute INTEGER PRIMARY KEY, pageviews INTEGER NOT NULL)",
        ] {
            if let Err(e) = sql.exec(ddl, None) {
                console_error!("site object: schema: {e}");
            }
        }
        // Answered by the runtime without waking the object.
        if let Ok(pair) = WebSocketRequestResponsePair::new("ping", "pong") {
            state.set_websocket_auto_response(&pair);
        }
        Self { state, sql, last_push_ms: Cell::new(0) }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Post, TRACK_PATH) => self.track(req).await,
            (Method::Get, LIVE_PATH) => self.accept_live(&req),
            // The realtime API goes by the real clock, as Plausible's does.
            (Method::Get, VISITORS_PATH) => Response::from_json(&CurrentVisitors { visitors: self.snapshot_at(Some(now()))?.visitors }),
            // What the alarm does, on demand; ingest forwards it only in dev.
            (Method::Post, PRUNE_PATH) => Response::from_json(&serde_json::json!({ "sessions_left": self.prune(now())? })),
            _ => Ok(Response::ok(r#"{"error":"not found"}"#)?.with_status(404)),
        }
    }

    /// Delivers an owed push, refreshes open dashboards, and deletes idle
    /// sessions and stale live data; re-arms while there is work left.
    async fn alarm(&self) -> Result<Response> {
        let t = now();
        let sockets = !self.state.get_websockets().is_empty();
        if sockets {
            // An owed push or the refresh, at most once a second like every
            // push: one just sent by an event makes this one owed instead.
            self.push_live().await?;
        }
        let left = self.prune(t)?;
        if sockets {
            self.arm_alarm(t.saturating_add(REFRESH_EVERY_MS)).await?;
        } else if left > 0 {
            self.arm_alarm(t.saturating_add(PRUNE_EVERY_MS)).await?;
        }
        Response::ok("done")
    }

    async fn websocket_message(&self, ws: WebSocket, message: WebSocketIncomingMessage) -> Result<()> {
        // "refresh" asks for the current view at once; anything else is ignored.
        if let WebSocketIncomingMessage::String(text) = message {
            if text == "refresh" {
                let snap = serde_json::to_string(&self.snapshot()?).map_err(|e| worker::Error::RustError(e.to_string()))?;
                let _ = ws.send_with_str(&snap);
            }
        }
        Ok(())
    }

    // The crate's defaults panic (unimplemented!): a closing dashboard must not.
    async fn websocket_close(&self, ws: WebSocket, code: usize, _reason: String, _was_clean: bool) -> Result<()> {
        let code = u16::try_from(code).ok().filter(|c| *c == 1000 || (3000..5000).contains(c)).unwrap_or(1000);
        let _ = ws.close(Some(code), Some("closed"));
        Ok(())
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> Result<()> {
        let _ = ws.close(Some(1011), Some("error"));
        Ok(())
    }
}
