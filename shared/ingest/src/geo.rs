//! Step: country, region and city.
//!
//! In production they come from Cloudflare's `request.cf`. Local workerd
//! has a fixed `cf`, so with `BEACON_DEV=1` (set only in the local wrangler
//! environment) tests choose them per request with the `x-beacon-dev-geo`
//! header: `country;region;city`, e.g. `DE;DE-BE;Berlin`.

use beacon_types::Geo;

use crate::pipeline::{Context, Draft};
use crate::Rejection;

/// Name of the dev-only geo header.
pub const DEV_HEADER: &str = "x-beacon-dev-geo";

/// Geo from `cf` fields. Cloudflare's placeholders (`XX` unknown, `T1` Tor)
/// become empty; a region code is prefixed with the country as ISO 3166-2.
pub fn from_cf(country: Option<&str>, region_code: Option<&str>, city: Option<&str>) -> Geo {
    let country = country
        .map(str::trim)
        .filter(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_alphabetic()) && !matches!(*c, "XX" | "T1"))
        .map(str::to_ascii_uppercase)
        .unwrap_or_default();
    let region = match region_code.map(str::trim).filter(|r| !r.is_empty() && r.len() <= 3) {
        Some(r) if !country.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            format!("{country}-{}", r.to_ascii_uppercase())
        }
        _ => String::new(),
    };
    let city = if country.is_empty() { String::new() } else { city.map(str::trim).unwrap_or("").to_owned() };
    Geo { country, region, city }
}

/// Geo from the dev header's `country;region;city`; `None` when malformed.
/// The region may be given with or without its country prefix.
pub fn from_dev_header(value: &str) -> Option<Geo> {
    let mut parts = value.splitn(3, ';');
    let country = parts.next()?;
    let region = parts.next().unwrap_or("");
    let region = region.trim().rsplit('-').next().unwrap_or("");
    let city = parts.next().unwrap_or("");
    let geo = from_cf(Some(country), Some(region), Some(city));
    (!geo.country.is_empty()).then_some(geo)
}

/// The pipeline step.
pub fn step(mut draft: Draft, ctx: &Context) -> Result<Draft, Rejection> {
    draft.event.geo = ctx.geo.clone();
    Ok(draft)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cf_values() {
        assert_eq!(
            from_cf(Some("DE"), Some("BE"), Some("Berlin")),
            Geo { country: "DE".into(), region: "DE-BE".into(), city: "Berlin".into() }
        );
        assert_eq!(from_cf(Some("XX"), Some("BE"), Some("Berlin")), Geo::default());
        assert_eq!(from_cf(Some("T1"), None, None), Geo::default());
        assert_eq!(from_cf(None, None, None), Geo::default());
        assert_eq!(from_cf(Some("us"), Some("CA;x"), None).region, "");
        // Region codes are 1 to 3 letters or digits.
        assert_eq!(from_cf(Some("FR"), Some("IDF"), None).region, "FR-IDF");
        assert_eq!(from_cf(Some("FR"), Some("IDFX"), None).region, "");
        assert_eq!(from_cf(Some("FR"), Some(" "), None).region, "");
        assert_eq!(from_cf(Some("🎉"), None, None), Geo::default());
    }

    #[test]
    fn dev_header() {
        assert_eq!(
            from_dev_header("US;US-CA;San Francisco"),
            Some(Geo { country: "US".into(), region: "US-CA".into(), city: "San Francisco".into() })
        );
        assert_eq!(from_dev_header("EE;;").map(|g| g.country), Some("EE".into()));
        assert_eq!(from_dev_header("garbage"), None);
        assert_eq!(from_dev_header(""), None);
    }
}
