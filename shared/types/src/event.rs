//! The enriched event: what ingest stores for one accepted request.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::SiteId;

/// Custom properties, sorted by key so their encoding is canonical.
pub type Props = BTreeMap<String, String>;

/// Device class, as Plausible reports it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Device {
    /// Not known (no or unparseable user agent).
    #[default]
    Unknown,
    /// Desktop or laptop.
    Desktop,
    /// Phone.
    Mobile,
    /// Tablet.
    Tablet,
}

impl Device {
    /// The name reports show.
    pub fn name(self) -> &'static str {
        match self {
            Device::Unknown => "",
            Device::Desktop => "Desktop",
            Device::Mobile => "Mobile",
            Device::Tablet => "Tablet",
        }
    }

    /// The number stored in Analytics Engine (see [`crate::slots`]).
    pub fn code(self) -> f64 {
        match self {
            Device::Unknown => 0.0,
            Device::Desktop => 1.0,
            Device::Mobile => 2.0,
            Device::Tablet => 3.0,
        }
    }

    /// Inverse of [`Device::code`]; unknown numbers map to `Unknown`.
    pub fn from_code(code: f64) -> Self {
        match code as i64 {
            1 => Device::Desktop,
            2 => Device::Mobile,
            3 => Device::Tablet,
            _ => Device::Unknown,
        }
    }
}

/// Where the visitor was, from Cloudflare's `cf` object. Empty when unknown.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Geo {
    /// ISO 3166-1 alpha-2, e.g. `DE`.
    pub country: String,
    /// ISO 3166-2 subdivision, e.g. `DE-BE`.
    pub region: String,
    /// City name.
    pub city: String,
}

/// UTM tags from the page URL's query string.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Utm {
    /// `utm_medium`
    pub medium: String,
    /// `utm_source`
    pub source: String,
    /// `utm_campaign`
    pub campaign: String,
    /// `utm_content`
    pub content: String,
    /// `utm_term`
    pub term: String,
}

/// Revenue attached to a custom event.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Revenue {
    /// Amount in the currency's units (e.g. 12.5 EUR).
    pub amount: f64,
    /// ISO 4217 code, upper case, three letters.
    pub currency: String,
}

impl Revenue {
    /// Packs the three-letter code into a number so it fits a double slot
    /// (base 26, `AAA` = 0). Only valid codes are ever constructed.
    pub fn currency_code(&self) -> f64 {
        self.currency.bytes().take(3).fold(0u32, |acc, b| acc * 26 + u32::from(b.saturating_sub(b'A')).min(25)).into()
    }

    /// Inverse of [`Revenue::currency_code`].
    pub fn currency_from_code(code: f64) -> String {
        let mut n = if code.is_finite() && code >= 0.0 { code as u32 } else { 0 };
        let mut letters = [b'A'; 3];
        for slot in letters.iter_mut().rev() {
            *slot = b'A' + (n % 26) as u8;
            n /= 26;
        }
        String::from_utf8_lossy(&letters).into_owned()
    }
}

/// Time on page and scroll depth from an `engagement` event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Engagement {
    /// Milliseconds the page was visible since the last engagement event.
    pub time_ms: u64,
    /// Largest scroll depth reached, 0 to 100.
    pub scroll_depth: u8,
}

/// An accepted, enriched event. Holds no IP address: that is used for the
/// visitor id and dropped.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The tenant (from the Host header, never from the body).
    pub site_id: Option<SiteId>,
    /// When ingest accepted it, Unix milliseconds.
    pub timestamp_ms: u64,
    /// `pageview`, `engagement` or a custom name.
    pub name: String,
    /// Page host without `www.`.
    pub hostname: String,
    /// Decoded path (with `#fragment` in hash mode).
    pub pathname: String,
    /// Referrer as Plausible shows it: host without `www.` plus path.
    pub referrer: String,
    /// Referrer source (`Google`, `example.com`, a utm_source…).
    pub source: String,
    /// Acquisition channel (`Organic Search`, `Direct`…).
    pub channel: String,
    /// The page URL's UTM tags.
    pub utm: Utm,
    /// Country, region, city.
    pub geo: Geo,
    /// Device class.
    pub device: Device,
    /// Browser name.
    pub browser: String,
    /// Browser `major.minor`.
    pub browser_version: String,
    /// Operating system name.
    pub os: String,
    /// Operating system version.
    pub os_version: String,
    /// Custom properties.
    pub props: Props,
    /// Revenue, for custom events that carry it.
    pub revenue: Option<Revenue>,
    /// Whether the event counts as interaction (clears a bounce).
    pub interactive: bool,
    /// Time on page and scroll depth, for `engagement` events.
    pub engagement: Option<Engagement>,
    /// Cookieless visitor id: 52 bits of a daily-salted hash.
    pub visitor_id: u64,
}

impl Event {
    /// A pageview (Plausible's `pageviews` count these).
    pub fn is_pageview(&self) -> bool {
        self.name == "pageview"
    }

    /// The tracker's engagement event: not an event to `events`, not
    /// interaction.
    pub fn is_engagement(&self) -> bool {
        self.name == "engagement"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_code_round_trips() {
        for c in ["AAA", "EUR", "USD", "JPY", "ZZZ"] {
            let r = Revenue { amount: 1.0, currency: c.into() };
            assert_eq!(Revenue::currency_from_code(r.currency_code()), c);
        }
        assert_eq!(Revenue::currency_from_code(f64::NAN), "AAA");
        assert_eq!(Revenue::currency_from_code(-5.0), "AAA");
        // Not a code at all: no letters out of a saturated cast.
        assert_eq!(Revenue::currency_from_code(f64::INFINITY), "AAA");
    }

    #[test]
    fn device_codes_round_trip() {
        for d in [Device::Unknown, Device::Desktop, Device::Mobile, Device::Tablet] {
            assert_eq!(Device::from_code(d.code()), d);
        }
        assert_eq!(Device::from_code(99.0), Device::Unknown);
        let names = [Device::Unknown, Device::Desktop, Device::Mobile, Device::Tablet].map(Device::name);
        assert_eq!(names, ["", "Desktop", "Mobile", "Tablet"]);
    }
}
