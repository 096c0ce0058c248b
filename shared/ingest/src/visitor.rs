//! The cookieless visitor id: SHA-256 over (daily salt, site id, IP, user
//! agent), cut to 52 bits so it is exact in an Analytics Engine double.
//! The IP goes into the hash and nowhere else.

use sha2::{Digest, Sha256};

use beacon_types::{slots::ID_MASK, SiteId};

/// Bytes in a daily salt.
pub const SALT_LEN: usize = 16;

/// The visitor id for one salt. Fields are length-prefixed so no two
/// different inputs hash the same bytes.
pub fn visitor_id(salt: &[u8; SALT_LEN], site: &SiteId, ip: &str, user_agent: &str) -> u64 {
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

/// Salt as stored in D1 (hex) to bytes; `None` if malformed.
pub fn salt_from_hex(hex: &str) -> Option<[u8; SALT_LEN]> {
    let bytes = hex.as_bytes();
    if bytes.len() != SALT_LEN * 2 {
        return None;
    }
    let mut out = [0u8; SALT_LEN];
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        *slot = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// Salt bytes to hex for D1.
pub fn salt_to_hex(salt: &[u8; SALT_LEN]) -> String {
    salt.iter().map(|b| format!("{b:02x}")).collect()
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

    #[test]
    fn salt_hex_round_trip() {
        let salt = [0xab; 16];
        assert_eq!(salt_from_hex(&salt_to_hex(&salt)), Some(salt));
        assert_eq!(salt_from_hex("zz"), None);
        assert_eq!(salt_from_hex(&"g".repeat(32)), None);
        assert_eq!(salt_from_hex(&"é".repeat(16)), None);
    }
}
