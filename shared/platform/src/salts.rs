//! Daily salts for visitor ids: 16 random bytes per UTC day, in D1.
//!
//! Ingest creates the day's salt on first use (`INSERT OR IGNORE`, so
//! racing isolates agree on one) and deletes those older than the day
//! before: only yesterday's can still continue a session. Cached in memory
//! per isolate, keyed by day.

use std::cell::RefCell;

use beacon_types::Salt;
use worker::Env;

use crate::{d1, PlatformError};

const SALT_LEN: usize = std::mem::size_of::<Salt>();
const DAY_MS: u64 = 86_400_000;

thread_local! {
    /// Recently used days and their salts (None: that day has none), newest last.
    static CACHE: RefCell<Vec<(u64, Option<Salt>)>> = const { RefCell::new(Vec::new()) };
}

fn cached(day: u64) -> Option<Option<Salt>> {
    CACHE.with(|c| c.borrow().iter().find(|(d, _)| *d == day).map(|(_, s)| *s))
}

fn cache(day: u64, salt: Option<Salt>) {
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        c.retain(|(d, _)| *d != day);
        if c.len() >= 4 {
            c.remove(0);
        }
        c.push((day, salt));
    });
}

/// Days since the Unix epoch (UTC) for a time in ms.
pub fn day_of(ms: u64) -> u64 {
    ms / DAY_MS
}

/// The salt of `day`, creating it if this is the first request that day.
pub async fn salt_for_day(env: &Env, day: u64) -> Result<Salt, PlatformError> {
    if let Some(Some(salt)) = cached(day) {
        return Ok(salt);
    }
    let mut fresh = [0u8; SALT_LEN];
    getrandom::fill(&mut fresh).map_err(|e| PlatformError::binding("getrandom", e))?;
    let args = [(day as f64).into(), crate::hex(&fresh).into()];
    d1::run(env, "d1 salt insert", "INSERT OR IGNORE INTO salts (day, salt) VALUES (?1, ?2)", &args).await?;
    let salt = stored_salt(env, day).await?.ok_or_else(|| PlatformError::binding("d1 salt read", "missing or malformed salt"))?;
    cache(day, Some(salt));
    // Once per isolate and day. A failure only delays the deletion to the
    // next isolate or day; the event goes on.
    let expired = [(oldest_kept(day) as f64).into()];
    if let Err(e) = d1::run(env, "d1 salt expiry", "DELETE FROM salts WHERE day < ?1", &expired).await {
        worker::console_error!("salt expiry failed: {e}");
    }
    Ok(salt)
}

/// The oldest day whose salt is kept while `day`'s is in use: the day
/// before, so a visit across midnight can find its visitor's old id.
fn oldest_kept(day: u64) -> u64 {
    day.saturating_sub(1)
}

/// The salt D1 holds for `day`, if any (a malformed one counts as none).
async fn stored_salt(env: &Env, day: u64) -> Result<Option<Salt>, PlatformError> {
    #[derive(serde::Deserialize)]
    struct Row {
        salt: String,
    }
    let stored: Option<Row> = d1::first(env, "d1 salt read", "SELECT salt FROM salts WHERE day = ?1", &[(day as f64).into()]).await?;
    Ok(stored.and_then(|r| from_hex(&r.salt)))
}

/// The salt of `day` if one was ever created (never creates it): the
/// previous day's, so a session can continue across midnight.
pub async fn existing_salt(env: &Env, day: u64) -> Result<Option<Salt>, PlatformError> {
    if let Some(known) = cached(day) {
        return Ok(known);
    }
    let salt = stored_salt(env, day).await?;
    cache(day, salt);
    Ok(salt)
}

/// A salt that exists only in this isolate, for when D1 cannot be reached:
/// visitor counts may split across isolates, but the event is not lost.
pub fn emergency_salt() -> Salt {
    let mut s = [0u8; SALT_LEN];
    let _ = getrandom::fill(&mut s);
    s
}

fn from_hex(hex: &str) -> Option<Salt> {
    let bytes = hex.as_bytes();
    if bytes.len() != SALT_LEN * 2 {
        return None;
    }
    let mut out = [0u8; SALT_LEN];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let digit = |b: u8| (b as char).to_digit(16);
        *slot = (digit(*pair.first()?)? * 16 + digit(*pair.get(1)?)?) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_rejects() {
        let s = [0xa5; SALT_LEN];
        assert_eq!(from_hex(&crate::hex(&s)), Some(s));
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex(&"g".repeat(32)), None);
    }

    #[test]
    fn the_cache_keeps_the_four_latest_days_and_knows_a_day_without_salt() {
        assert_eq!(cached(1), None);
        for day in 1..=4 {
            cache(day, Some([day as u8; SALT_LEN]));
        }
        cache(9, None);
        assert_eq!(cached(1), None);
        assert_eq!(cached(2), Some(Some([2; SALT_LEN])));
        assert_eq!(cached(9), Some(None));
        // A day cached again replaces its entry, and is newest.
        cache(2, Some([7; SALT_LEN]));
        cache(10, None);
        assert_eq!((cached(2), cached(3)), (Some(Some([7; SALT_LEN])), None));
    }

    #[test]
    fn a_new_day_keeps_only_the_salt_of_the_day_before() {
        assert_eq!(oldest_kept(20_785), 20_784);
        assert_eq!(oldest_kept(0), 0);
    }

    #[test]
    fn days() {
        assert_eq!(day_of(0), 0);
        assert_eq!(day_of(DAY_MS - 1), 0);
        assert_eq!(day_of(DAY_MS), 1);
    }
}

/// Only meaningful in the worker's runtime: getrandom's `wasm_js` backend
/// must be wired up (a classic wasm32 trap), and the clock must read.
#[cfg(all(test, target_arch = "wasm32"))]
mod wasm_tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn salts_are_random_on_wasm() {
        let a = emergency_salt();
        let b = emergency_salt();
        assert_ne!(a, b);
        assert_ne!(a, [0u8; SALT_LEN]);
    }

    #[wasm_bindgen_test]
    fn clock_reads_on_wasm() {
        // after 2024-01-01, and a day number to match
        let now = crate::now_ms();
        assert!(now > 1_704_067_200_000);
        assert_eq!(day_of(now), now / DAY_MS);
    }
}
