//! API keys: looked up by the SHA-256 of the presented key, never stored
//! or compared in plain text.

use beacon_types::SiteId;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use worker::Env;

use crate::{PlatformError, DB};

/// SHA-256 hex of a presented key: what D1 stores.
pub fn key_hash(key: &str) -> String {
    crate::hex(&Sha256::digest(key.as_bytes()))
}

/// The site an unrevoked key belongs to, if the key is known.
pub async fn site_for_key(env: &Env, key: &str) -> Result<Option<SiteId>, PlatformError> {
    #[derive(Deserialize)]
    struct Row {
        site_id: String,
    }
    if key.is_empty() || key.len() > 200 {
        return Ok(None);
    }
    let db = env.d1(DB).map_err(|e| PlatformError::binding("d1 binding", e))?;
    let row: Option<Row> = db
        .prepare("SELECT site_id FROM api_keys WHERE key_hash = ?1 AND revoked_at IS NULL")
        .bind(&[key_hash(key).into()])
        .map_err(|e| PlatformError::binding("d1 bind", e))?
        .first(None)
        .await
        .map_err(|e| PlatformError::binding("d1 api key lookup", e))?;
    Ok(row.and_then(|r| SiteId::parse(&r.site_id).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_sha256_hex() {
        assert_eq!(key_hash("bk_demo_read_0123456789abcdef"), "c9918599fd6decdee618b782b8ac70f843cab4c73c7d54bee8b5d85f62cb7849");
    }
}
