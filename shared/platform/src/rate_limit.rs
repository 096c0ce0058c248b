//! Per-key request counting for the Stats API: one D1 upsert per request,
//! atomic, so concurrent requests cannot overshoot the hourly limit.

use serde::Deserialize;
use worker::Env;

use crate::{PlatformError, DB};

/// Length of a counting window, seconds.
pub const WINDOW_S: u64 = 3600;

/// Counts one request of `key_id` at `now_s`; `Err(retry_after_s)` once the
/// window's `limit` is used up.
pub async fn hit(env: &Env, key_id: &str, limit: u64, now_s: u64) -> Result<Result<(), u64>, PlatformError> {
    #[derive(Deserialize)]
    struct Row {
        hits: f64,
    }
    let window = now_s / WINDOW_S;
    let db = env.d1(DB).map_err(|e| PlatformError::binding("d1 binding", e))?;
    let row: Option<Row> = db
        .prepare(
            "INSERT INTO rate_limits (key_id, window, hits) VALUES (?1, ?2, 1) \
             ON CONFLICT (key_id, window) DO UPDATE SET hits = hits + 1 RETURNING hits",
        )
        .bind(&[key_id.into(), (window as f64).into()])
        .map_err(|e| PlatformError::binding("d1 bind", e))?
        .first(None)
        .await
        .map_err(|e| PlatformError::binding("d1 rate limit", e))?;
    let hits = row.map(|r| r.hits).unwrap_or(0.0);
    if hits == 1.0 {
        // The key's first request of a window: its older windows are done
        // with, so the table holds about one row per key.
        let cleanup = db
            .prepare("DELETE FROM rate_limits WHERE key_id = ?1 AND window < ?2")
            .bind(&[key_id.into(), (window as f64).into()])
            .map_err(|e| PlatformError::binding("d1 bind", e))?;
        if let Err(e) = cleanup.run().await {
            worker::console_error!("rate limit cleanup failed: {e}");
        }
    }
    if hits > limit as f64 {
        Ok(Err((window + 1) * WINDOW_S - now_s))
    } else {
        Ok(Ok(()))
    }
}
