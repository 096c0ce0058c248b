//! A site's goals, from D1.

use beacon_stats::goal::Goal;
use beacon_types::SiteId;
use worker::Env;

use crate::{PlatformError, DB};

/// Every goal of `site`, oldest first.
pub async fn for_site(env: &Env, site: &SiteId) -> Result<Vec<Goal>, PlatformError> {
    let db = env.d1(DB).map_err(|e| PlatformError::binding("d1 binding", e))?;
    let result = db
        .prepare("SELECT event_name, page_path, currency FROM goals WHERE site_id = ?1 ORDER BY id")
        .bind(&[site.as_str().into()])
        .map_err(|e| PlatformError::binding("d1 bind", e))?
        .all()
        .await
        .map_err(|e| PlatformError::binding("d1 goals", e))?;
    result.results::<Goal>().map_err(|e| PlatformError::binding("d1 goals decode", e))
}
