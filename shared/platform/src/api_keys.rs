//! API keys: looked up by the SHA-256 of the presented key, never stored
//! or compared in plain text.

use serde::Deserialize;
use sha2::{Digest, Sha256};
use worker::Env;

use crate::{d1, PlatformError};

/// The key in an `Authorization: Bearer …` header value, if any. The
/// scheme is case-insensitive (RFC 9110), where Plausible's API takes only
/// `Bearer`: a client that sends `bearer` is not turned away here.
pub fn from_authorization(header: &str) -> Option<&str> {
    let (scheme, key) = header.trim_start().split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

/// Prefix of the WebSocket subprotocol that carries a key: a browser
/// cannot set `Authorization` on a WebSocket, but it can offer
/// subprotocols (`new WebSocket(url, ["beacon.live", "beacon.key." + key])`),
/// which, unlike a query string, request logs do not keep.
pub const PROTOCOL_KEY_PREFIX: &str = "beacon.key.";

/// The key in a `Sec-WebSocket-Protocol` header value (a comma-separated
/// list of subprotocols): the first offered as `beacon.key.<key>`, if any.
pub fn from_websocket_protocols(header: &str) -> Option<&str> {
    header.split(',').find_map(|p| p.trim().strip_prefix(PROTOCOL_KEY_PREFIX)).filter(|k| !k.is_empty())
}

/// SHA-256 hex of a presented key: what D1 stores.
pub fn key_hash(key: &str) -> String {
    crate::hex(&Sha256::digest(key.as_bytes()))
}

/// An unrevoked API key: it reads every site of its team.
#[derive(Clone, Debug, Deserialize)]
pub struct ApiKey {
    /// The key's id (not the secret).
    pub id: String,
    /// The team whose sites it may read.
    pub team_id: String,
    /// `read` or `admin`.
    pub scope: String,
    /// Requests per hour it may make.
    pub hourly_limit: f64,
}

/// Requests per hour of a key whose own limit is unset or unusable.
pub const DEFAULT_HOURLY_LIMIT: u64 = 600;

impl ApiKey {
    /// Requests per hour this key may make: its own limit when that is a
    /// whole request or more, else [`DEFAULT_HOURLY_LIMIT`] (a fraction
    /// below one would otherwise lock the key out).
    pub fn hourly_budget(&self) -> u64 {
        if self.hourly_limit.is_finite() && self.hourly_limit >= 1.0 {
            self.hourly_limit as u64
        } else {
            DEFAULT_HOURLY_LIMIT
        }
    }
}

/// The unrevoked key presented as `key`, if any.
pub async fn find(env: &Env, key: &str) -> Result<Option<ApiKey>, PlatformError> {
    if key.is_empty() || key.len() > 200 {
        return Ok(None);
    }
    let sql = "SELECT id, team_id, scope, hourly_limit FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL";
    d1::first(env, "d1 api key lookup", sql, &[key_hash(key).into()]).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_without_a_usable_limit_gets_the_default() {
        let key = |hourly_limit: f64| ApiKey { id: "k".into(), team_id: "t".into(), scope: "read".into(), hourly_limit };
        assert_eq!(key(1200.0).hourly_budget(), 1200);
        assert_eq!(key(1.0).hourly_budget(), 1);
        assert_eq!(key(2.9).hourly_budget(), 2);
        for bad in [0.0, 0.5, -3.0, f64::NAN, f64::INFINITY] {
            assert_eq!(key(bad).hourly_budget(), DEFAULT_HOURLY_LIMIT, "{bad}");
        }
    }

    #[test]
    fn a_key_comes_from_a_bearer_header() {
        assert_eq!(from_authorization("Bearer bk_1 "), Some("bk_1"));
        assert_eq!(from_authorization("bearer bk_1"), Some("bk_1"));
        assert_eq!(from_authorization("BEARER  bk_1"), Some("bk_1"));
        for none in ["Bearer ", "Bearer    ", "Bearer", "Bearerbk_1", "Basic Zm9v", "Bear bk_1", "bk_1", ""] {
            assert_eq!(from_authorization(none), None, "{none:?}");
        }
    }

    #[test]
    fn a_key_comes_from_a_websocket_subprotocol() {
        assert_eq!(from_websocket_protocols("beacon.live, beacon.key.bk_1"), Some("bk_1"));
        assert_eq!(from_websocket_protocols("beacon.key.bk_1,beacon.live"), Some("bk_1"));
        assert_eq!(from_websocket_protocols("  beacon.key.bk_1  "), Some("bk_1"));
        assert_eq!(from_websocket_protocols("beacon.key.bk_1, beacon.key.bk_2"), Some("bk_1"));
        for none in ["", "beacon.live", "beacon.key.", "beacon.key", "Beacon.Key.bk_1", "x.beacon.key.bk_1", "bk_1"] {
            assert_eq!(from_websocket_protocols(none), None, "{none:?}");
        }
    }

    #[test]
    fn hash_matches_sha256_hex() {
        assert_eq!(key_hash("bk_demo_read_0123456789abcdef"), "c9918599fd6decdee618b782b8ac70f843cab4c73c7d54bee8b5d85f62cb7849");
    }
}
