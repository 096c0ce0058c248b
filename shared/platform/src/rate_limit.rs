//! Per-key request counting for the Stats API: one D1 upsert per request,
//! atomic, so concurrent requests cannot overshoot the hourly limit.

use serde::Deserialize;
use worker::Env;

use crate::{d1, PlatformError};

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
    let args = [key_id.into(), (window as f64).into()];
    // A retry after a failure that did count may count twice: that errs
    // towards the limit, never past it.
    let row: Option<Row> = d1::first(
        env,
        "d1 rate limit",
        "INSERT INTO rate_limits (key_id, window, hits) VALUES (?1, ?2, 1) \
         ON CONFLICT (key_id, window) DO UPDATE SET hits = hits + 1 RETURNING hits",
        &args,
    )
    .await?;
    let hits = row.map(|r| r.hits).unwrap_or(0.0);
    if hits == 1.0 {
        // The key's first request of a window: its older windows are done
        // with, so the table holds about one row per key.
        if let Err(e) = d1::run(env, "d1 rate limit cleanup", "DELETE FROM rate_limits WHERE key_id = ?1 AND window < ?2", &args).await {
            worker::console_error!("rate limit cleanup failed: {e}");
        }
    }
    Ok(verdict(hits, limit, now_s))
}

/// Within the limit after `hits` requests of the window holding `now_s`,
/// or the seconds until the next window starts.
fn verdict(hits: f64, limit: u64, now_s: u64) -> Result<(), u64> {
    if hits > limit as f64 {
        Err(WINDOW_S - now_s % WINDOW_S)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_is_inclusive_and_the_wait_runs_to_the_next_window() {
        let start = 1_700_000_000 / WINDOW_S * WINDOW_S;
        assert_eq!(verdict(600.0, 600, start), Ok(()));
        assert_eq!(verdict(601.0, 600, start), Err(WINDOW_S));
        assert_eq!(verdict(601.0, 600, start + 1), Err(WINDOW_S - 1));
        assert_eq!(verdict(601.0, 600, start + WINDOW_S - 1), Err(1));
        assert_eq!(verdict(1.0, 0, start + 7), Err(WINDOW_S - 7));
    }
}
