//! Serves the tracking script at `/js/script.js` and at a versioned path
//! (`/js/script.<etag>.js`), with a strong ETag and CDN-friendly caching.

use worker::{Request, Response};

use crate::http::ApiError;

/// The minified tracker, built from tracker/src by build.rs.
pub const SCRIPT: &str = include_str!(concat!(env!("OUT_DIR"), "/script.js"));
/// Hex of the first 8 bytes of the script's SHA-256.
pub const ETAG: &str = include_str!(concat!(env!("OUT_DIR"), "/script.etag"));

/// Whether `path` names the script (plain or this version).
pub fn is_script_path(path: &str) -> bool {
    path == "/js/script.js" || path.strip_prefix("/js/script.").and_then(|p| p.strip_suffix(".js")) == Some(ETAG)
}

/// The script, or 304 when the client already has this version.
pub fn serve(req: &Request, path: &str) -> Result<Response, ApiError> {
    let etag = format!("\"{ETAG}\"");
    let fresh =
        req.headers().get("if-none-match").ok().flatten().is_some_and(|v| v.split(',').any(|t| t.trim().trim_start_matches("W/") == etag));
    let resp = if fresh { Response::empty()?.with_status(304) } else { Response::ok(SCRIPT)? };
    let h = resp.headers();
    h.set("content-type", "application/javascript; charset=utf-8")?;
    h.set("etag", &etag)?;
    // The plain path must pick up new versions soon; a versioned one never changes.
    let cache =
        if path == "/js/script.js" { "public, max-age=300, stale-while-revalidate=86400" } else { "public, max-age=31536000, immutable" };
    h.set("cache-control", cache)?;
    Ok(resp)
}
