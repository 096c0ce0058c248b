//! The live view: visitors active in the last 5 minutes, the pages they are
//! on, and pageviews per minute over the last 30 minutes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use beacon_types::LIVE_WINDOW_MS;
/// Minutes of pageview history in a snapshot.
pub const MINUTES: u64 = 30;
const MINUTE_MS: u64 = 60_000;

/// One visitor's latest known position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presence {
    /// Visitor id.
    pub visitor: u64,
    /// Page of their latest event.
    pub page: String,
    /// Time of their latest event, Unix ms.
    pub last_ms: u64,
}

/// Visitors on one page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageCount {
    /// Path.
    pub page: String,
    /// Live visitors whose latest event was on it.
    pub visitors: u32,
}

/// What a live dashboard receives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Visitors active in the last 5 minutes.
    pub visitors: u32,
    /// Their pages, most visitors first.
    pub pages: Vec<PageCount>,
    /// Pageviews per minute, oldest first, the current minute last.
    pub pageviews_per_minute: Vec<u32>,
    /// The time the snapshot is for, Unix ms.
    pub at_ms: u64,
}

/// The minute (since the epoch) a time falls in.
pub fn minute_of(ms: u64) -> u64 {
    ms / MINUTE_MS
}

/// Builds the snapshot at `now_ms` from stored presences and per-minute
/// pageview counts (minute → count); older data is ignored.
pub fn snapshot(presences: &[Presence], minutes: &BTreeMap<u64, u32>, now_ms: u64) -> Snapshot {
    let live: Vec<&Presence> = presences.iter().filter(|p| p.last_ms <= now_ms && now_ms - p.last_ms <= LIVE_WINDOW_MS).collect();
    let mut per_page: BTreeMap<&str, u32> = BTreeMap::new();
    for p in &live {
        *per_page.entry(p.page.as_str()).or_insert(0) += 1;
    }
    let mut pages: Vec<PageCount> = per_page.into_iter().map(|(page, visitors)| PageCount { page: page.to_owned(), visitors }).collect();
    pages.sort_by(|a, b| b.visitors.cmp(&a.visitors).then_with(|| a.page.cmp(&b.page)));
    let current = minute_of(now_ms);
    let pageviews_per_minute =
        (0..MINUTES).rev().map(|ago| current.checked_sub(ago).and_then(|m| minutes.get(&m).copied()).unwrap_or(0)).collect();
    Snapshot { visitors: u32::try_from(live.len()).unwrap_or(u32::MAX), pages, pageviews_per_minute, at_ms: now_ms }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_700_000_000_000;

    fn p(visitor: u64, page: &str, last_ms: u64) -> Presence {
        Presence { visitor, page: page.into(), last_ms }
    }

    #[test]
    fn counts_visitors_in_the_window_by_page() {
        let presences = [p(1, "/a", T), p(2, "/a", T - 60_000), p(3, "/b", T - LIVE_WINDOW_MS), p(4, "/c", T - LIVE_WINDOW_MS - 1)];
        let s = snapshot(&presences, &BTreeMap::new(), T);
        assert_eq!(s.visitors, 3);
        assert_eq!(s.pages, vec![PageCount { page: "/a".into(), visitors: 2 }, PageCount { page: "/b".into(), visitors: 1 }]);
    }

    #[test]
    fn the_window_is_five_minutes_and_minutes_are_sixty_seconds() {
        let s = snapshot(&[p(1, "/a", T - 300_000), p(2, "/b", T - 300_001)], &BTreeMap::new(), T);
        assert_eq!((s.visitors, s.pages.len()), (1, 1));
        assert_eq!((minute_of(119_999), minute_of(120_000)), (1, 2));
    }

    #[test]
    fn thirty_minutes_of_pageviews_oldest_first() {
        let now = minute_of(T);
        let minutes: BTreeMap<u64, u32> = [(now, 3), (now - 29, 1), (now - 30, 9), (now + 1, 7)].into_iter().collect();
        let s = snapshot(&[], &minutes, T);
        assert_eq!(s.pageviews_per_minute.len(), 30);
        assert_eq!(s.pageviews_per_minute[0], 1);
        assert_eq!(s.pageviews_per_minute[29], 3);
        assert_eq!(s.pageviews_per_minute.iter().sum::<u32>(), 4);
    }

    #[test]
    fn future_presences_and_tiny_clocks_do_not_panic() {
        let s = snapshot(&[p(1, "/", T + 10)], &BTreeMap::new(), T);
        assert_eq!(s.visitors, 0);
        let s = snapshot(&[p(1, "/", 0)], &BTreeMap::new(), 0);
        assert_eq!((s.visitors, s.pageviews_per_minute.len()), (1, 30));
    }
}
