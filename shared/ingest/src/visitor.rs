//! The cookieless visitor id: SHA-256 over (daily salt, site id, IP, user
//! agent), cut to 52 bits so it is exact in an Analytics Engine double.
//! The IP goes into the hash and nowhere else.

use sha2::{Digest, Sha256};

use beacon_types::{slots::ID_MASK, Salt, SiteId};

/// The visitor id for one salt. Fields are length-prefixed so no two
/// different inputs hash the same bytes.
pub fn visitor_id(salt: &Salt, site: &SiteId, ip: &str, user_agent: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(salt);
    for part in [site.as_str(), ip, user_agent] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first) & ID_MASK
}

#[cfg(test)]
mod tests {
    use super::*;

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
