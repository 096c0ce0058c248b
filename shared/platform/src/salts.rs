//! Daily salts for visitor ids: 16 random bytes per UTC day, in D1.
//!
//! Ingest creates the day's salt on first use (`INSERT OR IGNORE`, so
//! racing isolates agree on one) and deletes those older than the day
//! before: only yesterday's can still continue a session. Cached in memory
//! per isolate, keyed by day.

use std::cell::RefCell;

use beacon_types::Salt;
use worker::wasm_bindgen::JsValue;
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

/// The salts a visitor id needs at `day`: that day's, created by its first
/// event, and the day before's if one was ever made (a visit across
/// midnight continues under it).
///
/// A miss costs one D1 batch, one round trip: create the day's salt, read
/// both, delete the older ones. Four statements in turn would keep an
/// isolate's first events waiting four round trips, while later events of
/// the same visitors, finding the cache filled, overtake them on their way
/// to the site object.
pub async fn for_day(env: &Env, day: u64) -> Result<(Salt, Option<Salt>), PlatformError> {
    if let Some(known) = known(day) {
        return Ok(known);
    }
    let mut fresh = [0u8; SALT_LEN];
    getrandom::fill(&mut fresh).map_err(|e| PlatformError::binding("getrandom", e))?;
    let (day_arg, kept): (JsValue, JsValue) = ((day as f64).into(), (oldest_kept(day) as f64).into());
    let created = [day_arg.clone(), crate::hex(&fresh).into()];
    let both = [kept.clone(), day_arg];
    let expired = [kept];
    // All of it is safe to repeat: a retried batch changes nothing more.
    let results = d1::batch(
        env,
        "d1 salts",
        &[
            ("INSERT OR IGNORE INTO salts (day, salt) VALUES (?1, ?2)", &created),
            ("SELECT day, salt FROM salts WHERE day BETWEEN ?1 AND ?2", &both),
            ("DELETE FROM salts WHERE day < ?1", &expired),
        ],
    )
    .await?;
    let rows: Vec<Stored> =
        results.get(1).map(|r| r.results()).transpose().map_err(|e| PlatformError::binding("d1 salts", e))?.unwrap_or_default();
    let (salt, previous) = pick(&rows, day).ok_or_else(|| PlatformError::binding("d1 salts", "missing or malformed salt"))?;
    cache(day, Some(salt));
    if let Some(before) = day.checked_sub(1) {
        cache(before, previous);
    }
    Ok((salt, previous))
}

/// The oldest day whose salt is kept while `day`'s is in use: the day
/// before, so a visit across midnight can find its visitor's old id.
fn oldest_kept(day: u64) -> u64 {
    day.saturating_sub(1)
}

/// A stored salt row.
#[derive(serde::Deserialize)]
struct Stored {
    day: f64,
    salt: String,
}

/// `day`'s salt and the day before's from the cache, when both are known.
fn known(day: u64) -> Option<(Salt, Option<Salt>)> {
    let salt = cached(day).flatten()?;
    let previous = match day.checked_sub(1) {
        Some(before) => cached(before)?,
        None => None,
    };
    Some((salt, previous))
}

/// `day`'s salt (which must be there: the batch made it) and the day
/// before's, from the rows read; a malformed salt counts as none.
fn pick(rows: &[Stored], day: u64) -> Option<(Salt, Option<Salt>)> {
    let of = |d: u64| rows.iter().find(|r| r.day == d as f64).and_then(|r| from_hex(&r.salt));
    let previous = day.checked_sub(1).and_then(of);
    Some((of(day)?, previous))
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
    fn both_days_come_from_the_rows_read_and_the_cache_answers_only_when_it_knows_both() {
        let row = |day: f64, salt: &str| Stored { day, salt: salt.to_owned() };
        let (a, b) = ("a5".repeat(SALT_LEN), "5a".repeat(SALT_LEN));
        assert_eq!(pick(&[row(7.0, &a), row(8.0, &b)], 8), Some(([0x5a; SALT_LEN], Some([0xa5; SALT_LEN]))));
        // No salt the day before: a first day, or one without traffic.
        assert_eq!(pick(&[row(8.0, &b)], 8), Some(([0x5a; SALT_LEN], None)));
        assert_eq!(pick(&[row(0.0, &b)], 0), Some(([0x5a; SALT_LEN], None)));
        // The day's own salt missing or malformed is an error; the day before's is just none.
        assert_eq!(pick(&[row(7.0, &a)], 8), None);
        assert_eq!(pick(&[row(8.0, "zz")], 8), None);
        assert_eq!(pick(&[row(7.0, "zz"), row(8.0, &b)], 8), Some(([0x5a; SALT_LEN], None)));

        assert_eq!(known(100), None);
        cache(100, Some([1; SALT_LEN]));
        assert_eq!(known(100), None, "the day before is not known yet");
        cache(99, None);
        assert_eq!(known(100), Some(([1; SALT_LEN], None)));
        cache(99, Some([2; SALT_LEN]));
        assert_eq!(known(100), Some(([1; SALT_LEN], Some([2; SALT_LEN]))));
        // A day known to have no salt is not one the cache can answer.
        cache(200, None);
        cache(199, None);
        assert_eq!(known(200), None);
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
