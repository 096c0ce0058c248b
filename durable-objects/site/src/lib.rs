//! The site object: one per site. It keeps the site's open sessions in its
//! SQLite storage (so eviction, a redeploy or a restart loses nothing),
//! applies each event with `beacon_sessions::track`, and answers with the
//! rows to write. An alarm prunes sessions idle for over 30 minutes.

use beacon_platform::site_object::{TrackRequest, TrackResponse, TRACK_PATH};
use beacon_sessions::{Session, TIMEOUT_MS};
use worker::{
    console_error, durable_object, event, Context, DurableObject, Env, Method, Request, Response, Result, SqlStorage,
    SqlStorageValue, State,
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
}

#[derive(serde::Deserialize)]
struct Stored {
    data: String,
}

impl SiteObject {
    fn load(&self, ids: &[u64]) -> Result<Option<Session>> {
        let mut best: Option<Session> = None;
        for id in ids {
            let rows: Vec<Stored> =
                self.sql.exec("SELECT data FROM sessions WHERE visitor = ?", vec![key(*id)])?.to_array()?;
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
            Err(e) => return Ok(Response::ok(format!(r#"{{"error":"bad track request: {e}"}}"#))?.with_status(400)),
        };
        let mut ids = vec![body.event.visitor_id];
        ids.extend(body.previous_visitor_id);
        // Reads and writes below are synchronous SQL: no other event of this
        // site interleaves between them.
        let current = self.load(&ids)?;
        let update = beacon_sessions::track(current, body.event);
        if let Some(session) = &update.session {
            self.store(session)?;
        }
        if self.state.storage().get_alarm().await?.is_none() {
            self.state.storage().set_alarm(PRUNE_EVERY_MS).await?;
        }
        Response::from_json(&TrackResponse { rows: update.rows })
    }
}

/// How often the alarm prunes idle sessions, ms from now.
const PRUNE_EVERY_MS: i64 = 5 * 60 * 1000;

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
        if let Err(e) = sql.exec(
            "CREATE TABLE IF NOT EXISTS sessions (visitor INTEGER PRIMARY KEY, last_ms INTEGER NOT NULL, data TEXT NOT NULL)",
            None,
        ) {
            console_error!("site object: cannot create the sessions table: {e}");
        }
        let _ = sql.exec("CREATE INDEX IF NOT EXISTS sessions_by_last ON sessions (last_ms)", None);
        Self { state, sql }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        match (req.method(), req.path().as_str()) {
            (Method::Post, TRACK_PATH) => self.track(req).await,
            _ => Ok(Response::ok(r#"{"error":"not found"}"#)?.with_status(404)),
        }
    }

    /// Deletes sessions idle for over 30 minutes (by their own clock, so a
    /// dev clock override prunes consistently); re-arms while any remain.
    async fn alarm(&self) -> Result<Response> {
        let now = worker::Date::now().as_millis();
        let cutoff = clamp(now.saturating_sub(TIMEOUT_MS));
        self.sql.exec("DELETE FROM sessions WHERE last_ms < ?", vec![SqlStorageValue::Integer(cutoff)])?;
        #[derive(serde::Deserialize)]
        struct Count {
            n: i64,
        }
        let left: Count = self.sql.exec("SELECT count(*) AS n FROM sessions", None)?.one()?;
        if left.n > 0 {
            self.state.storage().set_alarm(PRUNE_EVERY_MS).await?;
        }
        Response::ok("pruned")
    }
}
