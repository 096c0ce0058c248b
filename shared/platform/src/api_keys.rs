//! API keys: looked up by the SHA-256 of the presented key, never stored
//! or compared in plain text.

use beacon_types::SiteId;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use worker::Env;

use crate::{d1, PlatformError};

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

/// The unrevoked key presented as `key`, if any.
pub async fn find(env: &Env, key: &str) -> Result<Option<ApiKey>, PlatformError> {
    if key.is_empty() || key.len() > 200 {
        return Ok(None);
    }
    let sql = "SELECT id, team_id, scope, hourly_limit FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL";
    d1::first(env, "d1 api key lookup", sql, &[key_hash(key).into()]).await
}

/// Whether `key` may read `site` (the site belongs to the key's team).
pub async fn sees(env: &Env, key: &ApiKey, site: &SiteId) -> Result<bool, PlatformError> {
    let sql = "SELECT 1 AS ok FROM sites WHERE id = ?1 AND team_id = ?2";
    let row: Option<serde_json::Value> =
        d1::first(env, "d1 team lookup", sql, &[site.as_str().into(), key.team_id.as_str().into()]).await?;
    Ok(row.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_sha256_hex() {
        assert_eq!(key_hash("bk_demo_read_0123456789abcdef"), "c9918599fd6decdee618b782b8ac70f843cab4c73c7d54bee8b5d85f62cb7849");
    }
}
