//! Sites: the tenant unit. Every stored row belongs to exactly one site.

use serde::{Deserialize, Serialize};

use crate::TypesError;

/// Longest site id; AE caps an index at 96 bytes and ids stay well below.
pub const SITE_ID_MAX: usize = 64;

/// A site's id, as stored in D1 and in Analytics Engine's `index1`.
///
/// Only `[a-z0-9_-]`, 1 to 64 bytes, so it can never carry SQL or a path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SiteId(String);

impl SiteId {
    /// Checks `raw` and wraps it.
    pub fn parse(raw: &str) -> Result<Self, TypesError> {
        let ok = !raw.is_empty()
            && raw.len() <= SITE_ID_MAX
            && raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(TypesError::InvalidSiteId)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SiteId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for SiteId {
    type Error = TypesError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<SiteId> for String {
    fn from(value: SiteId) -> Self {
        value.0
    }
}

/// Whether a site accepts events.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SiteStatus {
    /// Accepts events and answers queries.
    Active,
    /// Paused or cancelled: its hostnames answer 404.
    Inactive,
}

impl SiteStatus {
    /// Parses the D1 column value.
    pub fn parse(raw: &str) -> Result<Self, TypesError> {
        match raw {
            "active" => Ok(Self::Active),
            "inactive" => Ok(Self::Inactive),
            other => Err(TypesError::InvalidSiteStatus(other.to_owned())),
        }
    }
}

/// A site as ingest needs it: found from a hostname, never from client input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// The tenant key.
    pub id: SiteId,
    /// The customer's domain (`example.com`), without `www.`.
    pub domain: String,
    /// IANA time zone; periods in reports are in this zone.
    pub timezone: String,
    /// Active or not.
    pub status: SiteStatus,
}

impl Site {
    /// Whether a Plausible `d` field (one domain or a comma-separated list)
    /// names this site. Compared without case and without a leading `www.`.
    pub fn matches_domain_field(&self, field: &str) -> bool {
        let own = normalize_domain(&self.domain);
        field.split(',').any(|d| normalize_domain(d) == own)
    }
}

/// Lowercases and strips surrounding space and a leading `www.`.
pub fn normalize_domain(raw: &str) -> String {
    let lower = raw.trim().to_ascii_lowercase();
    match lower.strip_prefix("www.") {
        Some(rest) => rest.to_owned(),
        None => lower,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_id_accepts_slugs_and_rejects_everything_else() {
        assert!(SiteId::parse("demo").is_ok());
        assert!(SiteId::parse("site_2-b").is_ok());
        for bad in ["", "Demo", "a b", "a'b", "a;drop", "é", &"a".repeat(65)] {
            assert_eq!(SiteId::parse(bad), Err(TypesError::InvalidSiteId), "{bad:?}");
        }
        assert!(SiteId::parse(&"a".repeat(64)).is_ok());
        // Written and converted as the slug itself.
        let id = SiteId::parse("site_2-b").unwrap();
        assert_eq!((id.to_string(), String::from(id)), ("site_2-b".to_owned(), "site_2-b".to_owned()));
    }

    #[test]
    fn site_id_deserialization_validates() {
        assert!(serde_json::from_str::<SiteId>("\"ok\"").is_ok());
        assert!(serde_json::from_str::<SiteId>("\"x' OR 1=1\"").is_err());
    }

    #[test]
    fn domain_field_matching() {
        let site =
            Site { id: SiteId::parse("demo").unwrap(), domain: "demo.example".into(), timezone: "UTC".into(), status: SiteStatus::Active };
        assert!(site.matches_domain_field("demo.example"));
        assert!(site.matches_domain_field("WWW.Demo.Example "));
        assert!(site.matches_domain_field("other.example,demo.example"));
        assert!(!site.matches_domain_field("other.example"));
        assert!(!site.matches_domain_field(""));
    }

    #[test]
    fn status_parses() {
        assert_eq!(SiteStatus::parse("active"), Ok(SiteStatus::Active));
        assert_eq!(SiteStatus::parse("inactive"), Ok(SiteStatus::Inactive));
        assert!(SiteStatus::parse("ACTIVE").is_err());
    }
}
