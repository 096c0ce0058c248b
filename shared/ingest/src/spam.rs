//! Referrer spam: hosts that send fake visits to advertise themselves in
//! analytics reports. Plausible drops an event whose referrer's host (less
//! `www.`) is on Matomo's community list; so does Beacon.
//!
//! `spammers.txt` is that list (matomo-org/referrer-spam-list, public
//! domain), lower-cased and sorted byte-wise so it can be searched in place:
//! about 2,300 hosts, 15 KB gzipped in the ingest wasm. To refresh it:
//! `tr A-Z a-z < spammers.txt | LC_ALL=C sort -u` of the repository's file.

use std::cmp::Ordering;

/// The list: lower-case hosts, one per line, in byte order.
static SPAMMERS: &str = include_str!("spammers.txt");

/// Whether `host` (lower case, without `www.`) is a known referrer spammer:
/// a whole line of the list, as Plausible matches it (a subdomain of a
/// listed host is not).
pub fn is_spammer(host: &str) -> bool {
    !host.is_empty() && has_line(SPAMMERS, host)
}

/// Binary search for the line `key` in `sorted`, newline-separated lines in
/// byte order, without an index: each probe reads the line around a byte
/// offset. `lo` and `hi` are always line starts (or the end).
fn has_line(sorted: &str, key: &str) -> bool {
    let bytes = sorted.as_bytes();
    let (mut lo, mut hi) = (0, bytes.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let start = bytes.get(..mid).and_then(|b| b.iter().rposition(|&c| c == b'\n')).map_or(0, |i| i + 1);
        let end = bytes.get(mid..).and_then(|b| b.iter().position(|&c| c == b'\n')).map_or(bytes.len(), |i| mid + i);
        match sorted.get(start..end).map(|line| line.cmp(key)) {
            Some(Ordering::Equal) => return true,
            Some(Ordering::Less) => lo = end + 1,
            Some(Ordering::Greater) => hi = start,
            None => return false,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_hosts_are_spammers_and_others_are_not() {
        // The first and last lines, one between, one lower-cased from the list.
        for host in ["0-0.fr", "zvuker.net", "semalt.com", "qiwi.xyz"] {
            assert!(is_spammer(host), "{host}");
        }
        for host in ["", "google.com", "example.com", "sub.semalt.com", "semalt.com.example", "0-0.f", "zzzz", "0", "\n"] {
            assert!(!is_spammer(host), "{host:?}");
        }
    }

    #[test]
    fn the_search_finds_every_line_and_nothing_between() {
        let lines: Vec<&str> = SPAMMERS.lines().collect();
        assert!(lines.len() > 2_000, "{}", lines.len());
        assert!(lines.windows(2).all(|w| w.first() < w.last()), "sorted, no repeats");
        assert!(lines.iter().all(|h| h.contains('.') && *h == h.to_lowercase() && !h.contains(['/', ' ', ':'])));
        for host in &lines {
            assert!(is_spammer(host), "{host}");
            // Keys sorting right after it, or right before the next line, are not on it.
            assert!(!is_spammer(&format!("{host}\u{0}")) && !is_spammer(&format!("{host}-")), "{host}");
        }
    }

    #[test]
    fn small_lists_at_their_edges() {
        for (text, yes, no) in [
            ("", &[][..], &["a"][..]),
            ("b", &["b"][..], &["a", "c", ""][..]),
            ("b\nd", &["b", "d"][..], &["a", "c", "e"][..]),
            ("b\nd\n", &["b", "d"][..], &["a", "c", "e"][..]),
            ("a\nb\nc\nd\ne", &["a", "c", "e"][..], &["0", "bb", "f"][..]),
        ] {
            for key in yes {
                assert!(has_line(text, key), "{text:?} {key}");
            }
            for key in no {
                assert!(!has_line(text, key), "{text:?} {key}");
            }
        }
    }
}
