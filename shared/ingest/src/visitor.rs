//! The cookieless visitor id: SHA-256 over (daily salt, site id, IP, user
//! agent), cut to 52 bits so it is exact in an Analytics Engine double.
//! The IP goes into the hash and nowhere else.

use sha2::{Digest, Sha256};

use beacon_types::{slots::id_from_digest, Salt, SiteId};

/// The visitor id for one salt. Fields are length-prefixed so no two
/// different inputs hash the same bytes.
pub fn visitor_id(salt: &Salt, site: &SiteId, ip: &str, user_agent: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(salt);
    for part in [site.as_str(), ip, user_agent] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    id_from_digest(&h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use beacon_types::slots::ID_MASK;

    fn site(s: &str) -> SiteId {
        SiteId::parse(s).unwrap()
    }

    #[test]
    fn stable_within_a_salt_and_different_across() {
        let a = [1u8; 16];
        let b = [2u8; 16];
        let id = visitor_id(&a, &site("demo"), "203.0.113.7", "UA");
        assert_eq!(id, visitor_id(&a, &site("demo"), "203.0.113.7", "UA"));
        assert_ne!(id, visitor_id(&b, &site("demo"), "203.0.113.7", "UA"));
        assert_ne!(id, visitor_id(&a, &site("other"), "203.0.113.7", "UA"));
        assert_ne!(id, visitor_id(&a, &site("demo"), "203.0.113.8", "UA"));
        assert_ne!(id, visitor_id(&a, &site("demo"), "203.0.113.7", "UA2"));
        assert!(id <= ID_MASK);
        // length prefixes keep field boundaries apart
        assert_ne!(visitor_id(&a, &site("demo"), "1.2.3.4x", "y"), visitor_id(&a, &site("demo"), "1.2.3.4", "xy"));
    }
}

/// Runs under `wasm-bindgen-test` on wasm32 (and natively as plain tests):
/// the hash and the pipeline must give the same answers in the worker.
#[cfg(test)]
mod known_answers {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    const EXPECTED: u64 = 1_017_227_486_307_051;

    #[test]
    #[wasm_bindgen_test]
    fn visitor_id_known_answer() {
        let id = visitor_id(&[7u8; 16], &SiteId::parse("demo").unwrap(), "203.0.113.9", "Mozilla/5.0 Firefox/121.0");
        assert_eq!(id, EXPECTED);
    }

    #[test]
    #[wasm_bindgen_test]
    fn pipeline_runs_the_same_on_wasm() {
        let e = crate::run(
            br#"{"n":"pageview","u":"https://demo.example/caf%C3%A9?utm_source=fb_ad","r":"https://t.co/x","$":{"amount":"1.5","currency":"usd"}}"#,
            &crate::pipeline::tests::ctx(),
        )
        .unwrap();
        assert_eq!((e.pathname.as_str(), e.source.as_str(), e.channel.as_str()), ("/caf\u{e9}", "Facebook", "Paid Social"));
        assert_eq!(e.revenue.map(|r| (r.amount, r.currency)), Some((1.5, "USD".to_owned())));
    }
}
