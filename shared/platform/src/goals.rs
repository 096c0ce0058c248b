//! A site's goals, from D1.

use beacon_stats::goal::Goal;
use beacon_types::SiteId;
use worker::Env;

use crate::{d1, PlatformError};

/// Every goal of `site`, oldest first.
pub async fn for_site(env: &Env, site: &SiteId) -> Result<Vec<Goal>, PlatformError> {
    let sql =
        "SELECT event_name, page_path, currency, display_name, custom_props, scroll_threshold FROM goals WHERE site_id = ?1 ORDER BY id";
    d1::all(env, "d1 goals", sql, &[site.as_str().into()]).await
}
