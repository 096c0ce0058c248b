//! Statements on the D1 database, each retried on a transient failure.
//!
//! Cloudflare asks for retries of writes on transient D1 errors (it
//! retries read-only statements itself, in production only). The local
//! stack's two wrangler processes share one SQLite file, where a write of
//! one can meet the other's lock (`SQLITE_BUSY`, reported as an "internal
//! error"): without a retry that is a 503 to a dashboard, or an event
//! hashed with an isolate-local salt.

use std::time::Duration;

use serde::de::DeserializeOwned;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, Env};

use crate::{PlatformError, DB};

/// Nominal waits before each further attempt, backing off exponentially,
/// with jitter ([`jittered`]). Locally all of them: the two wrangler
/// processes share one SQLite file, and under load one holds its lock for
/// longer than production's transient errors last (seen once: one event
/// in 120 got a 503 after five attempts).
const DEV_BACKOFF: [Duration; 7] = [
    Duration::from_millis(50),
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(400),
    Duration::from_millis(800),
    Duration::from_millis(800),
    Duration::from_millis(800),
];

/// Production's waits, the first four: Cloudflare's advice is up to five
/// attempts.
const BACKOFF: &[Duration] = DEV_BACKOFF.split_at(4).0;

/// The waits between attempts where `env` runs.
fn backoff(env: &Env) -> &'static [Duration] {
    if crate::is_dev(env) {
        &DEV_BACKOFF
    } else {
        BACKOFF
    }
}

/// Whether a failure's message names one that may pass: Cloudflare's
/// retryable D1 errors, and a locked local SQLite file.
fn transient(message: &str) -> bool {
    const PASSING: [&str; 6] = [
        "Network connection lost",
        "storage caused object to be reset",
        "reset because its code was updated",
        "internal error",
        "SQLITE_BUSY",
        "database is locked",
    ];
    PASSING.iter().any(|m| message.contains(m))
}

/// The database binding.
fn database(env: &Env) -> Result<D1Database, PlatformError> {
    env.d1(DB).map_err(|e| PlatformError::binding("d1 binding", e))
}

/// `sql` with `args` bound on `db`, ready to run.
fn prepared(db: &D1Database, sql: &str, args: &[JsValue]) -> Result<D1PreparedStatement, PlatformError> {
    db.prepare(sql).bind(args).map_err(|e| PlatformError::binding("d1 bind", e))
}

/// `sql` with `args` bound, ready to run.
fn statement(env: &Env, sql: &str, args: &[JsValue]) -> Result<D1PreparedStatement, PlatformError> {
    prepared(&database(env)?, sql, args)
}

/// Runs `attempt` until it succeeds, fails for good, or has failed
/// transiently once more than there are `pauses`, waiting with `wait`
/// between tries; `what` names the statement in the error.
async fn retrying<T, F, W>(
    what: &'static str,
    pauses: &[Duration],
    mut attempt: impl FnMut() -> F,
    wait: impl Fn(Duration) -> W,
) -> Result<T, PlatformError>
where
    F: std::future::Future<Output = worker::Result<T>>,
    W: std::future::Future<Output = ()>,
{
    let mut waits = pauses.iter();
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(e) => {
                let message = e.to_string();
                match waits.next() {
                    Some(pause) if transient(&message) => wait(*pause).await,
                    _ => return Err(PlatformError::Binding { what, message }),
                }
            }
        }
    }
}

/// `pause` scaled by 0.5 to 1.5 as `random` (0-255) says, so callers
/// that failed together do not all come back together.
fn jittered(pause: Duration, random: u8) -> Duration {
    pause / 2 + pause * u32::from(random) / 255
}

/// The runtime's timer, for a jittered `pause`.
fn sleep(pause: Duration) -> worker::Delay {
    let mut random = [0u8];
    // Without randomness the nominal wait is still a wait.
    let random = getrandom::fill(&mut random).map(|()| random[0]).unwrap_or(128);
    worker::Delay::from(jittered(pause, random))
}

/// The first row `sql` reads, if any.
pub(crate) async fn first<T: DeserializeOwned>(
    env: &Env,
    what: &'static str,
    sql: &str,
    args: &[JsValue],
) -> Result<Option<T>, PlatformError> {
    let s = statement(env, sql, args)?;
    retrying(what, backoff(env), || s.first::<T>(None), sleep).await
}

/// Every row `sql` reads.
pub(crate) async fn all<T: DeserializeOwned>(env: &Env, what: &'static str, sql: &str, args: &[JsValue]) -> Result<Vec<T>, PlatformError> {
    let s = statement(env, sql, args)?;
    let result = retrying(what, backoff(env), || s.all(), sleep).await?;
    result.results::<T>().map_err(|e| PlatformError::binding(what, e))
}

/// Runs `sql` for its effect.
pub(crate) async fn run(env: &Env, what: &'static str, sql: &str, args: &[JsValue]) -> Result<(), PlatformError> {
    let s = statement(env, sql, args)?;
    retrying(what, backoff(env), || s.run(), sleep).await.map(drop)
}

/// Runs `statements` (SQL and arguments) as one batch: one round trip,
/// one transaction, all or nothing; the rows each read, in order. A
/// transient failure retries the whole batch, so its statements must be
/// safe to repeat.
pub(crate) async fn batch(
    env: &Env,
    what: &'static str,
    statements: &[(&str, &[JsValue])],
) -> Result<Vec<worker::D1Result>, PlatformError> {
    // One binding for the batch and every statement in it.
    let db = database(env)?;
    let statements = statements.iter().map(|(sql, args)| prepared(&db, sql, args)).collect::<Result<Vec<_>, _>>()?;
    retrying(what, backoff(env), || db.batch(statements.clone()), sleep).await
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};

    use super::*;

    #[test]
    fn transient_failures_are_cloudflares_and_a_locked_file() {
        for message in [
            "D1: D1Error { cause: JsValue(Error: D1_ERROR: Network connection lost.) }",
            "D1_ERROR: Internal error while starting up D1 DB storage caused object to be reset",
            "D1_ERROR: Durable Object reset because its code was updated.",
            "D1: Failed to parse body as JSON, got: Error: internal error; reference = mjojc246e6j5vai0maisj96m",
            "database is locked: SQLITE_BUSY",
        ] {
            assert!(transient(message), "{message}");
        }
        for message in [
            "D1_ERROR: no such table: goals: SQLITE_ERROR",
            "D1_ERROR: UNIQUE constraint failed: salts.day: SQLITE_CONSTRAINT",
            "invalid type: string \"x\", expected f64",
            "",
        ] {
            assert!(!transient(message), "{message}");
        }
    }

    /// Runs [`retrying`] over attempts that fail with `failures` in turn
    /// and then succeed: its result, the attempts made, the waits asked.
    fn run_with(failures: &[&str]) -> (Result<u8, PlatformError>, usize, Vec<Duration>) {
        run_with_pauses(failures, BACKOFF)
    }

    fn run_with_pauses(failures: &[&str], pauses: &[Duration]) -> (Result<u8, PlatformError>, usize, Vec<Duration>) {
        let tries = Cell::new(0);
        let waited = RefCell::new(Vec::new());
        let attempt = || {
            let n = tries.get();
            tries.set(n + 1);
            std::future::ready(match failures.get(n) {
                Some(m) => Err(worker::Error::RustError((*m).to_owned())),
                None => Ok(7),
            })
        };
        let wait = |d| {
            waited.borrow_mut().push(d);
            std::future::ready(())
        };
        let result = pollster::block_on(retrying("d1 test", pauses, attempt, wait));
        (result, tries.get(), waited.into_inner())
    }

    #[test]
    fn a_transient_failure_is_tried_again_after_a_growing_wait() {
        let (result, tries, waited) = run_with(&["internal error; reference = x", "database is locked: SQLITE_BUSY"]);
        assert_eq!(result.ok(), Some(7));
        assert_eq!(tries, 3);
        assert_eq!(waited, BACKOFF[..2].to_vec());
        assert!(BACKOFF.windows(2).all(|w| w[1] == w[0] * 2));
    }

    #[test]
    fn jitter_spreads_a_wait_from_half_to_one_and_a_half_times() {
        let pause = Duration::from_millis(80);
        assert_eq!(jittered(pause, 0), Duration::from_millis(40));
        assert_eq!(jittered(pause, 255), Duration::from_millis(120));
        assert_eq!(jittered(pause, 128), Duration::from_nanos(80_156_862));
        // Every wait together stays under a second and a quarter at worst.
        assert!(BACKOFF.iter().map(|p| jittered(*p, 255)).sum::<Duration>() < Duration::from_millis(1250));
    }

    #[test]
    fn five_transient_failures_give_up_and_name_the_statement() {
        let (result, tries, waited) = run_with(&["Network connection lost"; 6]);
        assert_eq!(tries, 5);
        assert_eq!(waited.len(), 4);
        match result {
            Err(PlatformError::Binding { what, message }) => {
                assert_eq!(what, "d1 test");
                assert!(message.contains("Network connection lost"), "{message}");
            }
            other => panic!("expected a binding error, got {other:?}"),
        }
    }

    #[test]
    fn dev_waits_out_a_longer_lock_than_production() {
        // Production's waits first, then three more; all of them under
        // five seconds at worst.
        assert_eq!(DEV_BACKOFF[..BACKOFF.len()], *BACKOFF);
        assert!(DEV_BACKOFF.iter().map(|p| jittered(*p, 255)).sum::<Duration>() < Duration::from_secs(5));
        let (result, tries, waited) = run_with_pauses(&["database is locked: SQLITE_BUSY"; 7], &DEV_BACKOFF);
        assert_eq!((result.ok(), tries, waited.len()), (Some(7), 8, 7));
        let (result, tries, _) = run_with_pauses(&["database is locked: SQLITE_BUSY"; 8], &DEV_BACKOFF);
        assert_eq!((result.is_err(), tries), (true, 8));
    }

    #[test]
    fn a_lasting_failure_is_not_tried_again() {
        let (result, tries, waited) = run_with(&["D1_ERROR: no such table: goals: SQLITE_ERROR"]);
        assert!(result.is_err());
        assert_eq!((tries, waited.len()), (1, 0));
    }
}
