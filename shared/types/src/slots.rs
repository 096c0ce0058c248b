//! The Analytics Engine data point layout: which blob and double holds what.
//!
//! One data point is one row of dataset `EVENTS`; `index1` is always the site
//! id. Two kinds of row share the dataset (`double1`): event rows, one per
//! accepted event, and session rows (written by the site object, sign +1/-1,
//! see DESIGN.md). Visit attributes sit in the same slots in both kinds so
//! visit filters work on either.
//!
//! | slot | event row | session row | cap (bytes) |
//! |---|---|---|---|
//! | index1 | site id | site id | 64 |
//! | blob1 | event name | exit page's hostname | 480 |
//! | blob2 | pathname | exit page | 2000 |
//! | blob3 | hostname | entry page's hostname | 253 |
//! | blob4 | entry page | entry page | 2000 |
//! | blob5 | referrer | referrer | 2000 |
//! | blob6 | source | source | 256 |
//! | blob7 | channel | channel | 32 |
//! | blob8–12 | utm_medium, _source, _campaign, _content, _term | same | 512 each |
//! | blob13 | country (ISO 3166-1) | same | 8 |
//! | blob14 | region (ISO 3166-2) | same | 16 |
//! | blob15 | city | same | 128 |
//! | blob16 | browser | same | 64 |
//! | blob17 | browser version | same | 32 |
//! | blob18 | OS | same | 64 |
//! | blob19 | OS version | same | 32 |
//! | blob20 | props, canonical JSON object (inner `"` as `\u0022`) | `""` | 6000 |
//! | double1 | row kind: 1 event | 2 session | |
//! | double2 | sign: 1 | +1 / -1 | |
//! | double3 | device code (0 unknown, 1 desktop, 2 mobile, 3 tablet) | same | |
//! | double4 | visitor id (52 bits, exact in a double) | same | |
//! | double5 | session id (52 bits) | same | |
//! | double6 | revenue amount | 0 | |
//! | double7 | revenue currency, base-26 packed (`Revenue::currency_code`) | 0 | |
//! | double8 | interactive: 1 / 0 | 0 | |
//! | double9 | engagement time, ms | 0 | |
//! | double10 | scroll depth, 0–100 | 0 | |
//! | double11 | event time, Unix ms | session start, Unix ms | |
//! | double12 | — | is bounce: 1 / 0 | |
//! | double13 | — | duration, s | |
//! | double14 | pageviews: 1 for a pageview, else 0 | pageviews | |
//! | double15 | events: 0 for engagement, else 1 | events | |
//! | double16 | entry page's hostname, keyed (`hostname_key`; 0 unknown) | 0 | |
//! | double17–20 | unused | unused | |
//!
//! The caps add up to 15,925 bytes, under AE's 16 KB per data point; every
//! blob is cut on a UTF-8 boundary, so no input makes encoding fail. Props
//! that do not fit whole are left out rather than cut into invalid JSON.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Event, Props};

/// Number of blob slots AE offers.
pub const BLOBS: usize = 20;
/// Number of double slots AE offers.
pub const DOUBLES: usize = 20;

/// Byte cap of each blob slot, in slot order (blob1 first).
pub const BLOB_CAPS: [usize; BLOBS] = [480, 2000, 253, 2000, 2000, 256, 32, 512, 512, 512, 512, 512, 8, 16, 128, 64, 32, 64, 32, 6000];

/// AE's limit on the sum of blob sizes in one data point.
pub const AE_BLOB_TOTAL_MAX: usize = 16 * 1024;

/// Blob slots by meaning, numbered as AE numbers them (`blob1` = 1).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Blob {
    Name = 1,
    Pathname = 2,
    Hostname = 3,
    EntryPage = 4,
    Referrer = 5,
    Source = 6,
    Channel = 7,
    UtmMedium = 8,
    UtmSource = 9,
    UtmCampaign = 10,
    UtmContent = 11,
    UtmTerm = 12,
    Country = 13,
    Region = 14,
    City = 15,
    Browser = 16,
    BrowserVersion = 17,
    Os = 18,
    OsVersion = 19,
    Props = 20,
}

/// Double slots by meaning, numbered as AE numbers them (`double1` = 1).
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Double {
    Kind = 1,
    Sign = 2,
    Device = 3,
    VisitorId = 4,
    SessionId = 5,
    RevenueAmount = 6,
    RevenueCurrency = 7,
    Interactive = 8,
    EngagementMs = 9,
    ScrollDepth = 10,
    Time = 11,
    IsBounce = 12,
    Duration = 13,
    Pageviews = 14,
    Events = 15,
    EntryHostname = 16,
}

impl Blob {
    /// The AE column name, e.g. `blob5`.
    pub fn column(self) -> String {
        format!("blob{}", self as u8)
    }
}

impl Double {
    /// The AE column name, e.g. `double4`.
    pub fn column(self) -> String {
        format!("double{}", self as u8)
    }
}

/// What a row stands for (`double1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowKind {
    /// One accepted event.
    Event = 1,
    /// A session's state, with a sign.
    Session = 2,
}

/// One AE data point, ready for `writeDataPoint` (and the local stand-in).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataPoint {
    /// `index1`: the site id.
    pub index: String,
    /// `blob1..blob20`, each within its cap.
    pub blobs: Vec<String>,
    /// `double1..double20`.
    pub doubles: Vec<f64>,
    /// When the row happened, Unix ms. Production AE stamps rows itself; the
    /// local stand-in uses this so tests can place events in time.
    pub timestamp_ms: u64,
}

impl DataPoint {
    fn empty(index: String, timestamp_ms: u64) -> Self {
        Self { index, blobs: vec![String::new(); BLOBS], doubles: vec![0.0; DOUBLES], timestamp_ms }
    }

    fn set_blob(&mut self, slot: Blob, value: &str) {
        let i = slot as usize - 1;
        if let (Some(cell), Some(cap)) = (self.blobs.get_mut(i), BLOB_CAPS.get(i)) {
            *cell = truncate_utf8(value, *cap).to_owned();
        }
    }

    fn set_double(&mut self, slot: Double, value: f64) {
        if let Some(cell) = self.doubles.get_mut(slot as usize - 1) {
            *cell = if value.is_finite() { value } else { 0.0 };
        }
    }

    /// A blob by meaning (for tests and readers).
    pub fn blob(&self, slot: Blob) -> &str {
        self.blobs.get(slot as usize - 1).map(String::as_str).unwrap_or("")
    }

    /// A double by meaning (for tests and readers).
    pub fn double(&self, slot: Double) -> f64 {
        self.doubles.get(slot as usize - 1).copied().unwrap_or(0.0)
    }
}

/// Mask for ids kept in doubles: 52 bits survive an f64 exactly.
pub const ID_MASK: u64 = (1 << 52) - 1;

/// The key of a hostname in a double: 52 bits of its SHA-256, never 0 (0
/// stands for "not known"). Event rows have no blob left for their visit's
/// entry hostname, so they keep this, and queries match it by the keys of
/// the hostnames a filter picks.
pub fn hostname_key(hostname: &str) -> u64 {
    id_from_digest(&Sha256::digest(hostname.as_bytes())).max(1)
}

/// An id kept in a double: a digest's first 8 bytes, cut to 52 bits.
pub fn id_from_digest(digest: &[u8]) -> u64 {
    let mut first = [0u8; 8];
    for (slot, b) in first.iter_mut().zip(digest.iter()) {
        *slot = *b;
    }
    u64::from_be_bytes(first) & ID_MASK
}

/// Where the session an event belongs to entered (empty when no session is known).
#[derive(Clone, Copy, Debug, Default)]
pub struct Entry<'a> {
    /// The entry page.
    pub page: &'a str,
    /// The entry page's hostname.
    pub hostname: &'a str,
    /// The session id.
    pub session_id: u64,
}

/// The event row for `event`, in the session `entry` describes.
pub fn encode_event(event: &Event, entry: Entry<'_>) -> DataPoint {
    let mut p = with_visit(event, event.timestamp_ms);
    p.set_blob(Blob::Name, &event.name);
    p.set_blob(Blob::Pathname, &event.pathname);
    p.set_blob(Blob::EntryPage, entry.page);
    if !entry.hostname.is_empty() {
        p.set_double(Double::EntryHostname, hostname_key(entry.hostname) as f64);
    }
    p.set_blob(Blob::Props, &encode_props(&event.props, BLOB_CAPS[BLOBS - 1]));
    p.set_double(Double::Kind, RowKind::Event as u8 as f64);
    p.set_double(Double::Sign, 1.0);
    p.set_double(Double::SessionId, (entry.session_id & ID_MASK) as f64);
    if let Some(revenue) = &event.revenue {
        p.set_double(Double::RevenueAmount, revenue.amount);
        p.set_double(Double::RevenueCurrency, revenue.currency_code());
    }
    p.set_double(Double::Interactive, if event.interactive { 1.0 } else { 0.0 });
    if let Some(e) = event.engagement {
        p.set_double(Double::EngagementMs, e.time_ms as f64);
        p.set_double(Double::ScrollDepth, f64::from(e.scroll_depth));
    }
    p.set_double(Double::Time, event.timestamp_ms as f64);
    // What the row adds to pageviews and events, as session rows hold them:
    // a sum of doubles costs AE less than comparing every row's name.
    p.set_double(Double::Pageviews, if event.is_pageview() { 1.0 } else { 0.0 });
    p.set_double(Double::Events, if event.is_engagement() { 0.0 } else { 1.0 });
    p
}

/// A session's state as one sign row holds it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionRow {
    /// Session id (52 bits).
    pub id: u64,
    /// First event, Unix ms.
    pub start_ms: u64,
    /// First page.
    pub entry_page: String,
    /// Last page.
    pub exit_page: String,
    /// First page's hostname (`""` in sessions stored before it was kept:
    /// the visit's hostname then stands for it).
    #[serde(default)]
    pub entry_hostname: String,
    /// Last page's hostname (`""` in sessions stored before it was kept).
    #[serde(default)]
    pub exit_hostname: String,
    /// No interaction after the first pageview.
    pub is_bounce: bool,
    /// Last event − first event, seconds.
    pub duration_s: u64,
    /// Pageviews in the session.
    pub pageviews: u32,
    /// Events (pageviews and custom events, not engagement) in the session.
    pub events: u32,
}

impl SessionRow {
    /// The entry page's hostname; the visit's for sessions stored before it
    /// was kept, as their earlier rows held.
    pub fn entry_hostname_or<'a>(&'a self, visit_hostname: &'a str) -> &'a str {
        if self.entry_hostname.is_empty() {
            visit_hostname
        } else {
            &self.entry_hostname
        }
    }
}

/// The session row for `row` with `sign` (+1 new state, -1 cancelling a
/// previous one). Visit attributes come from `visit`, the session's first
/// event; the row is stamped at `at_ms`.
pub fn encode_session(visit: &Event, row: &SessionRow, sign: f64, at_ms: u64) -> DataPoint {
    let mut p = with_visit(visit, at_ms);
    p.set_blob(Blob::Pathname, &row.exit_page);
    p.set_blob(Blob::EntryPage, &row.entry_page);
    p.set_blob(Blob::Name, &row.exit_hostname);
    p.set_blob(Blob::Hostname, row.entry_hostname_or(&visit.hostname));
    p.set_double(Double::Kind, RowKind::Session as u8 as f64);
    p.set_double(Double::Sign, sign);
    p.set_double(Double::SessionId, (row.id & ID_MASK) as f64);
    p.set_double(Double::Time, row.start_ms as f64);
    p.set_double(Double::IsBounce, if row.is_bounce { 1.0 } else { 0.0 });
    p.set_double(Double::Duration, row.duration_s as f64);
    p.set_double(Double::Pageviews, f64::from(row.pageviews));
    p.set_double(Double::Events, f64::from(row.events));
    p
}

/// A data point with the site, the visitor and the visit attributes that
/// event and session rows share.
fn with_visit(visit: &Event, at_ms: u64) -> DataPoint {
    let index = visit.site_id.as_ref().map(|s| s.as_str().to_owned()).unwrap_or_default();
    let mut p = DataPoint::empty(index, at_ms);
    p.set_blob(Blob::Hostname, &visit.hostname);
    p.set_blob(Blob::Referrer, &visit.referrer);
    p.set_blob(Blob::Source, &visit.source);
    p.set_blob(Blob::Channel, &visit.channel);
    p.set_blob(Blob::UtmMedium, &visit.utm.medium);
    p.set_blob(Blob::UtmSource, &visit.utm.source);
    p.set_blob(Blob::UtmCampaign, &visit.utm.campaign);
    p.set_blob(Blob::UtmContent, &visit.utm.content);
    p.set_blob(Blob::UtmTerm, &visit.utm.term);
    p.set_blob(Blob::Country, &visit.geo.country);
    p.set_blob(Blob::Region, &visit.geo.region);
    p.set_blob(Blob::City, &visit.geo.city);
    p.set_blob(Blob::Browser, &visit.browser);
    p.set_blob(Blob::BrowserVersion, &visit.browser_version);
    p.set_blob(Blob::Os, &visit.os);
    p.set_blob(Blob::OsVersion, &visit.os_version);
    p.set_double(Double::Device, visit.device.code());
    p.set_double(Double::VisitorId, (visit.visitor_id & ID_MASK) as f64);
    p
}

/// Props as a compact JSON object with sorted keys, at most `cap` bytes.
/// Pairs that would overflow the cap are left out whole, so the result is
/// always valid JSON.
pub fn encode_props(props: &Props, cap: usize) -> String {
    if props.is_empty() {
        return String::new();
    }
    let mut out = String::from("{");
    for (key, value) in props {
        let pair = format!("{}\"{}\":\"{}\"", if out.len() > 1 { "," } else { "" }, json_inner(key), json_inner(value));
        if out.len() + pair.len() < cap {
            out.push_str(&pair);
        }
    }
    out.push('}');
    out
}

/// `s` as the inside of a JSON string literal, with `"` written as
/// `\u0022`: a raw `"` in the props blob is then always structural, so AE
/// SQL (no JSON functions) can cut a value out with `position` and
/// `substring`, and `"key":"` occurs only where that key starts. Control
/// characters use lower-case hex so `lowerUTF8` leaves escapes intact.
pub fn json_inner(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\u0022"),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The longest prefix of `s` of at most `max` bytes that ends on a char boundary.
pub fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Device, Engagement, Revenue, SiteId};

    #[test]
    fn caps_fit_ae_limit() {
        assert!(BLOB_CAPS.iter().sum::<usize>() <= AE_BLOB_TOTAL_MAX);
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        assert_eq!(truncate_utf8("héllo", 2), "h");
        assert_eq!(truncate_utf8("héllo", 3), "hé");
        assert_eq!(truncate_utf8("🎉🎉", 5), "🎉");
        assert_eq!(truncate_utf8("abc", 10), "abc");
        assert_eq!(truncate_utf8("🎉", 0), "");
    }

    #[test]
    fn event_row_puts_every_field_in_its_slot() {
        let mut props = Props::new();
        props.insert("plan".into(), "pro".into());
        let e = Event {
            site_id: Some(SiteId::parse("demo").unwrap()),
            timestamp_ms: 1_700_000_000_000,
            name: "Signup".into(),
            hostname: "example.com".into(),
            pathname: "/pricing".into(),
            referrer: "news.ycombinator.com/item".into(),
            source: "Hacker News".into(),
            channel: "Organic Social".into(),
            device: Device::Mobile,
            browser: "Firefox".into(),
            props,
            revenue: Some(Revenue { amount: 9.5, currency: "EUR".into() }),
            interactive: true,
            engagement: Some(Engagement { time_ms: 1200, scroll_depth: 80 }),
            visitor_id: u64::MAX,
            ..Default::default()
        };
        let p = encode_event(&e, Entry { page: "/", hostname: "blog.demo.example", session_id: 7 });
        assert_eq!(p.index, "demo");
        assert_eq!(p.blobs.len(), BLOBS);
        assert_eq!(p.doubles.len(), DOUBLES);
        assert_eq!(p.blob(Blob::Name), "Signup");
        assert_eq!(p.blob(Blob::Pathname), "/pricing");
        assert_eq!(p.blob(Blob::EntryPage), "/");
        assert_eq!(p.double(Double::EntryHostname), hostname_key("blog.demo.example") as f64);
        assert_eq!(encode_event(&e, Entry::default()).double(Double::EntryHostname), 0.0);
        assert_eq!(p.blob(Blob::Source), "Hacker News");
        assert_eq!(p.blob(Blob::Props), r#"{"plan":"pro"}"#);
        assert_eq!(p.double(Double::Kind), 1.0);
        assert_eq!(p.double(Double::Device), 2.0);
        assert_eq!(p.double(Double::VisitorId), ID_MASK as f64);
        assert_eq!(p.double(Double::SessionId), 7.0);
        assert_eq!(p.double(Double::RevenueAmount), 9.5);
        assert_eq!(Revenue::currency_from_code(p.double(Double::RevenueCurrency)), "EUR");
        assert_eq!(p.double(Double::ScrollDepth), 80.0);
        assert_eq!(p.double(Double::Time), 1_700_000_000_000.0);
        assert_eq!((p.double(Double::Pageviews), p.double(Double::Events)), (0.0, 1.0));
        let counts = |name: &str| {
            let p = encode_event(&Event { name: name.into(), ..e.clone() }, Entry::default());
            (p.double(Double::Pageviews), p.double(Double::Events))
        };
        assert_eq!(counts("pageview"), (1.0, 1.0));
        assert_eq!(counts("engagement"), (0.0, 0.0));
        assert_eq!(counts("Pageview"), (0.0, 1.0));
        assert_eq!(Blob::Props.column(), "blob20");
        assert_eq!(Double::Time.column(), "double11");
    }

    #[test]
    fn session_row_layout() {
        let visit = Event {
            site_id: Some(SiteId::parse("demo").unwrap()),
            source: "Google".into(),
            device: Device::Tablet,
            visitor_id: 42,
            name: "pageview".into(),
            pathname: "/first".into(),
            ..Default::default()
        };
        let row = SessionRow {
            id: 9,
            start_ms: 1000,
            entry_page: "/first".into(),
            exit_page: "/last".into(),
            entry_hostname: "www.demo.example".into(),
            exit_hostname: "blog.demo.example".into(),
            is_bounce: false,
            duration_s: 75,
            pageviews: 3,
            events: 4,
        };
        let p = encode_session(&visit, &row, -1.0, 5000);
        assert_eq!(
            (p.blob(Blob::Name), p.blob(Blob::Pathname), p.blob(Blob::EntryPage), p.blob(Blob::Source)),
            ("blog.demo.example", "/last", "/first", "Google")
        );
        assert_eq!(p.blob(Blob::Hostname), "www.demo.example");
        // A session stored before hostnames were kept: the visit's stands
        // for the entry's, so its cancelling row matches the row it cancels.
        let old = SessionRow { entry_hostname: String::new(), exit_hostname: String::new(), ..row.clone() };
        let visit = Event { hostname: "demo.example".into(), ..visit };
        let p = encode_session(&visit, &old, -1.0, 5000);
        assert_eq!((p.blob(Blob::Hostname), p.blob(Blob::Name)), ("demo.example", ""));
        let stored: SessionRow = serde_json::from_str(
            r#"{"id":9,"start_ms":1,"entry_page":"/","exit_page":"/","is_bounce":true,"duration_s":0,"pageviews":1,"events":1}"#,
        )
        .unwrap();
        assert_eq!((stored.entry_hostname.as_str(), stored.exit_hostname.as_str()), ("", ""));
        assert_eq!(p.double(Double::Kind), 2.0);
        assert_eq!(p.double(Double::Sign), -1.0);
        assert_eq!((p.double(Double::Device), p.double(Double::VisitorId), p.double(Double::SessionId)), (3.0, 42.0, 9.0));
        assert_eq!(
            (p.double(Double::IsBounce), p.double(Double::Duration), p.double(Double::Pageviews), p.double(Double::Events)),
            (0.0, 75.0, 3.0, 4.0)
        );
        assert_eq!(p.double(Double::Time), 1000.0);
        assert_eq!(p.timestamp_ms, 5000);
        assert_eq!(p.blob(Blob::Props), "");
    }

    #[test]
    fn hostname_keys_are_stable_52_bit_and_never_0() {
        let k = hostname_key("demo.example");
        assert_eq!(k, hostname_key("demo.example"));
        assert_ne!(k, hostname_key("blog.demo.example"));
        assert!((1..=ID_MASK).contains(&k) && (1..=ID_MASK).contains(&hostname_key("")));
        // Exact in a double, as AE keeps it.
        assert_eq!(k as f64 as u64, k);
    }

    #[test]
    fn oversized_props_stay_valid_json() {
        let mut props = Props::new();
        for i in 0..30 {
            props.insert(format!("k{i:02}"), "🎉".repeat(500));
        }
        let s = encode_props(&props, 6000);
        assert!(s.len() <= 6000);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert!(!v.as_object().unwrap().is_empty());
    }

    #[test]
    fn props_fill_their_cap_exactly_and_no_further() {
        let props = Props::from([("k".to_owned(), "v".to_owned()), ("a".to_owned(), "b".to_owned())]);
        // Sorted: {"a":"b","k":"v"} is 17 bytes, {"a":"b"} 9.
        assert_eq!(encode_props(&props, 17), r#"{"a":"b","k":"v"}"#);
        assert_eq!(encode_props(&props, 16), r#"{"a":"b"}"#);
        assert_eq!(encode_props(&props, 9), r#"{"a":"b"}"#);
        assert_eq!(encode_props(&props, 8), "{}");
    }

    #[test]
    fn props_keep_raw_quotes_structural() {
        let mut props = Props::new();
        props.insert("a\"b".into(), "say \"hi\"\\\n".into());
        let s = encode_props(&props, 6000);
        assert_eq!(s, r#"{"a\u0022b":"say \u0022hi\u0022\\\u000a"}"#);
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["a\"b"], "say \"hi\"\\\n");
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn any_event_encodes_within_limits(name in ".{0,600}", path in ".{0,3000}", key in ".{0,400}", val in ".{0,3000}") {
            let mut props = Props::new();
            props.insert(key, val);
            let e = Event { name, pathname: path, props, ..Default::default() };
            let p = encode_event(&e, Entry::default());
            let total: usize = p.blobs.iter().map(String::len).sum();
            proptest::prop_assert!(total <= AE_BLOB_TOTAL_MAX);
            for (b, cap) in p.blobs.iter().zip(BLOB_CAPS) {
                proptest::prop_assert!(b.len() <= cap);
            }
            let props = p.blob(Blob::Props);
            if !props.is_empty() {
                proptest::prop_assert!(serde_json::from_str::<serde_json::Value>(props).is_ok());
                // Every raw quote is structural: 4 per pair.
                proptest::prop_assert_eq!(props.matches('"').count() % 4, 0);
            }
        }
    }
}
