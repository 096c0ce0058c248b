//! Dashboard sessions: a short-lived JWT in an HttpOnly, Secure, SameSite
//! cookie, signed with HS256 and verified with the algorithm pinned (a
//! token that names another `alg`, `none` included, is refused). It names
//! the user and the sites they may read; the query worker trusts nothing
//! else from the browser. The accounts worker will mint them at login;
//! until then a dev-only endpoint mints them through [`mint`].

use beacon_types::SiteId;
use chrono::{DateTime, Duration, Utc};
use jwt_compact::alg::{Hs256, Hs256Key};
use jwt_compact::{AlgorithmExt, Claims, Header, TimeOptions, Token, UntrustedToken};
use serde::{Deserialize, Serialize};

/// The cookie that carries the session.
pub const COOKIE: &str = "beacon_session";
/// How long a session lasts, seconds.
pub const LIFETIME_S: i64 = 8 * 3600;
/// Shortest signing secret accepted, bytes.
pub const MIN_SECRET: usize = 32;

/// Why a session was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Not a well-formed, correctly signed HS256 token.
    #[error("invalid session token")]
    Invalid,
    /// Signed correctly but past its expiry.
    #[error("session expired")]
    Expired,
    /// The server's secret is missing or too short (a deployment error).
    #[error("session secret is not configured")]
    Secret,
    /// A lifetime longer than [`LIFETIME_S`] either way was asked for.
    #[error("session lifetime must be from -{LIFETIME_S} to {LIFETIME_S} seconds")]
    Lifetime,
    /// Signing a new token failed (claims that would not serialize).
    #[error("could not sign the session token")]
    Signing,
}

/// What a session says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The user id.
    pub sub: String,
    /// The sites the user may read.
    pub sites: Vec<SiteId>,
}

fn key(secret: &[u8]) -> Result<Hs256Key, AuthError> {
    if secret.len() < MIN_SECRET {
        return Err(AuthError::Secret);
    }
    Ok(Hs256Key::new(secret))
}

/// `now_ms` as a time, kept a day short of chrono's last one: jwt-compact
/// adds the lifetime and the leeway to it, and panics past that end.
fn at(now_ms: u64) -> DateTime<Utc> {
    let last = DateTime::<Utc>::MAX_UTC - Duration::days(1);
    i64::try_from(now_ms).ok().and_then(DateTime::from_timestamp_millis).map_or(last, |t| t.min(last))
}

/// A signed token for `session`, valid from `now_ms` for `lifetime_s` (at
/// most [`LIFETIME_S`]; a negative one mints an expired token, for tests).
pub fn mint(secret: &[u8], session: &Session, now_ms: u64, lifetime_s: i64) -> Result<String, AuthError> {
    // Bounded, so the expiry is always a representable time: chrono panics
    // on a duration or date out of its range.
    if !(-LIFETIME_S..=LIFETIME_S).contains(&lifetime_s) {
        return Err(AuthError::Lifetime);
    }
    let now = at(now_ms);
    let options = TimeOptions::new(Duration::seconds(0), move || now);
    let claims = Claims::new(session.clone()).set_duration_and_issuance(&options, Duration::seconds(lifetime_s));
    Hs256.token(&Header::empty().with_token_type("JWT"), &claims, &key(secret)?).map_err(|_| AuthError::Signing)
}

/// The session in `token`, if it is signed with `secret` by HS256 and not expired at `now_ms`.
pub fn verify(secret: &[u8], token: &str, now_ms: u64) -> Result<Session, AuthError> {
    let key = key(secret)?;
    if token.len() > 8192 {
        return Err(AuthError::Invalid);
    }
    let untrusted = UntrustedToken::new(token).map_err(|_| AuthError::Invalid)?;
    let token: Token<Session> = Hs256.validator(&key).validate(&untrusted).map_err(|_| AuthError::Invalid)?;
    let now = at(now_ms);
    let options = TimeOptions::new(Duration::seconds(30), move || now);
    let claims = token.claims();
    // A session must expire: a token without `exp` is refused.
    if claims.expiration.is_none() {
        return Err(AuthError::Invalid);
    }
    claims.validate_expiration(&options).map_err(|_| AuthError::Expired)?;
    Ok(claims.custom.clone())
}

/// The session token in a `Cookie` header, if any.
pub fn from_cookies(header: &str) -> Option<&str> {
    header.split(';').filter_map(|c| c.trim().split_once('=')).find(|(k, _)| *k == COOKIE).map(|(_, v)| v.trim())
}

/// The `Set-Cookie` value that stores `token` for `lifetime_s`.
pub fn set_cookie(token: &str, lifetime_s: i64) -> String {
    format!("{COOKIE}={token}; Max-Age={lifetime_s}; Path=/; HttpOnly; Secure; SameSite=Strict")
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: u64 = 1_700_000_000_000;

    fn session() -> Session {
        Session { sub: "user_1".into(), sites: vec![SiteId::parse("demo").unwrap()] }
    }

    #[test]
    #[wasm_bindgen_test]
    fn round_trip_and_expiry() {
        let token = mint(SECRET, &session(), NOW, 60).unwrap();
        assert_eq!(verify(SECRET, &token, NOW + 1000), Ok(session()));
        assert_eq!(verify(SECRET, &token, NOW + 120_000), Err(AuthError::Expired));
        assert_eq!(verify(b"another-secret-another-secret-xx", &token, NOW), Err(AuthError::Invalid));
        assert_eq!(verify(b"short", &token, NOW), Err(AuthError::Secret));
    }

    #[test]
    #[wasm_bindgen_test]
    fn a_session_lasts_eight_hours_and_no_longer_can_be_minted() {
        let token = mint(SECRET, &session(), NOW, LIFETIME_S).unwrap();
        // verify allows 30 s of clock skew past the expiry.
        assert_eq!(verify(SECRET, &token, NOW + 8 * 3_600_000 + 29_000), Ok(session()));
        assert_eq!(verify(SECRET, &token, NOW + 8 * 3_600_000 + 31_000), Err(AuthError::Expired));
        let expired = mint(SECRET, &session(), NOW, -LIFETIME_S).unwrap();
        assert_eq!(verify(SECRET, &expired, NOW), Err(AuthError::Expired));
        for lifetime in [LIFETIME_S + 1, -LIFETIME_S - 1, i64::MAX, i64::MIN] {
            assert_eq!(mint(SECRET, &session(), NOW, lifetime), Err(AuthError::Lifetime), "{lifetime}");
        }
        // Clocks past what chrono can hold are no panic either.
        let last = u64::try_from(DateTime::<Utc>::MAX_UTC.timestamp_millis()).unwrap();
        for now in [last, u64::MAX] {
            let token = mint(SECRET, &session(), now, LIFETIME_S).unwrap();
            assert_eq!(verify(SECRET, &token, now), Ok(session()), "{now}");
            assert!(mint(SECRET, &session(), now, -LIFETIME_S).is_ok(), "{now}");
        }
    }

    #[test]
    #[wasm_bindgen_test]
    fn tampered_and_unsigned_tokens_are_refused() {
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let token = mint(SECRET, &session(), NOW, 60).unwrap();
        let mut parts: Vec<&str> = token.split('.').collect();
        // Widen the sites claim without re-signing.
        let forged = b64.encode(br#"{"exp":1800000000,"sub":"user_1","sites":["demo","other"]}"#);
        parts[1] = &forged;
        assert_eq!(verify(SECRET, &parts.join("."), NOW), Err(AuthError::Invalid));
        // alg: none, no signature.
        let none = format!("{}.{}.", b64.encode(br#"{"alg":"none","typ":"JWT"}"#), forged);
        assert_eq!(verify(SECRET, &none, NOW), Err(AuthError::Invalid));
        // A sites claim with an id that is not a site id never deserializes.
        for junk in ["", "a.b.c", "x", &"a".repeat(9000)] {
            assert_eq!(verify(SECRET, junk, NOW), Err(AuthError::Invalid));
        }
    }

    #[test]
    #[wasm_bindgen_test]
    fn correctly_signed_tokens_longer_than_8_kib_are_refused_unread() {
        // A user id of n bytes adds about 4n/3 to the token (base64): start
        // a little short of the length asked and grow it a byte at a time.
        let token = |n: usize| {
            let s = Session { sub: "u".repeat(n), sites: vec![] };
            let token = mint(SECRET, &s, NOW, 60).unwrap();
            (s, token)
        };
        let bare = token(0).1.len();
        let sized = |len: usize| {
            let start = (len - bare) * 3 / 4 - 4;
            (start..start + 16).map(token).find(|(_, t)| t.len() == len)
        };
        let (s, at_cap) = sized(8192).expect("a token of exactly 8,192 bytes");
        assert_eq!(verify(SECRET, &at_cap, NOW), Ok(s));
        let (_, over) = sized(8193).expect("a token of 8,193 bytes");
        assert_eq!(verify(SECRET, &over, NOW), Err(AuthError::Invalid));
    }

    #[test]
    #[wasm_bindgen_test]
    fn cookies() {
        assert_eq!(from_cookies("a=1; beacon_session=tok; b=2"), Some("tok"));
        assert_eq!(from_cookies("a=1"), None);
        let c = set_cookie("tok", 60);
        assert!(c.contains("HttpOnly") && c.contains("Secure") && c.contains("SameSite=Strict"));
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use base64::Engine;
        use proptest::prelude::*;

        use super::*;

        /// Headers a forger might try: other algorithms, none, junk.
        const HEADERS: &[&str] = &[
            r#"{"alg":"none","typ":"JWT"}"#,
            r#"{"alg":"HS256","typ":"JWT"}"#,
            r#"{"alg":"HS512","typ":"JWT"}"#,
            r#"{"alg":"RS256","typ":"JWT"}"#,
            r#"{"alg":"hs256"}"#,
            r#"{"typ":"JWT"}"#,
            r#"{"alg":"HS256","crit":["exp"]}"#,
            "[]",
            "",
        ];

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]
            /// Any text in the cookie is refused or read, never a panic;
            /// anything not signed with the secret is refused.
            #[test]
            fn no_token_but_a_signed_one_is_accepted(
                text in "\\PC{0,200}",
                header in proptest::sample::select(HEADERS),
                claims in prop_oneof![Just(String::new()), Just(r#","sites":["other"]"#.to_owned()), Just(r#","nbf":0"#.to_owned()), "\\PC{0,40}"],
                signature in prop_oneof![Just(String::new()), "[A-Za-z0-9_-]{1,60}"],
                now in any::<u64>(),
            ) {
                prop_assert!(verify(SECRET, &text, now).is_err());
                let _ = from_cookies(&text);
                let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
                let session = format!(r#"{{"exp":4000000000,"sub":"u","sites":["demo"]{claims}}}"#);
                let forged = format!("{}.{}.{signature}", b64.encode(header), b64.encode(session));
                prop_assert!(verify(SECRET, &forged, now).is_err(), "{forged}");
            }
        }
    }
}
