//! Goals: a custom event name, a page path with wildcards (`*` within a
//! path segment, `**` across segments), or the least scroll depth reached
//! on such a page; any of them may also require custom properties. As
//! Plausible defines them, display names included.

use std::collections::BTreeMap;

use beacon_types::event::Revenue;
use beacon_types::slots::{json_inner, Blob, Double};
use serde::{Deserialize, Deserializer};

use crate::sql::{Column, Cond, NONE};

/// A site's goal, as stored in D1 (read only, never written back). A
/// column a row lacks (an older schema) reads as [`Goal::blank`]'s.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default = "Goal::blank")]
pub struct Goal {
    /// A custom event name (`Signup`), or empty for a page goal.
    pub event_name: String,
    /// A page path pattern (`/blog/**`), or empty for an event goal.
    pub page_path: String,
    /// ISO 4217 code of a revenue goal (a custom event goal whose
    /// revenue is reported in this currency), else none.
    pub currency: Option<String>,
    /// The name reports show and goal filters match; empty for the
    /// default ([`Goal::name`]).
    pub display_name: String,
    /// Custom properties a completing event must carry, each with this
    /// value. D1 holds them as a JSON object.
    #[serde(deserialize_with = "props_from_json")]
    pub custom_props: BTreeMap<String, String>,
    /// A scroll goal's least scroll depth (0 to 100) on its pages; -1 for
    /// any other goal.
    pub scroll_threshold: i16,
}

/// `custom_props` as D1 stores it: a JSON object. A value that is not a
/// string reads as its JSON text (`3`, `true`), as ingest stores such
/// props; text that is not an object reads as no props.
fn props_from_json<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let text = String::deserialize(d)?;
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str(&text) else { return Ok(BTreeMap::new()) };
    Ok(map
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect())
}

impl Goal {
    /// A goal completed by a custom event of this name.
    pub fn event(name: &str) -> Self {
        Self { event_name: name.to_owned(), ..Self::blank() }
    }

    /// A goal completed by a pageview of a path matching `pattern`.
    pub fn page(pattern: &str) -> Self {
        Self { page_path: pattern.to_owned(), ..Self::blank() }
    }

    /// A goal completed by scrolling at least `threshold` percent down a
    /// page whose path matches `pattern`.
    pub fn scroll(pattern: &str, threshold: i16) -> Self {
        Self { page_path: pattern.to_owned(), scroll_threshold: threshold, ..Self::blank() }
    }

    /// No event, no page, no property, no threshold: what the
    /// constructors fill in, and what a missing column reads as.
    fn blank() -> Self {
        Self {
            event_name: String::new(),
            page_path: String::new(),
            currency: None,
            display_name: String::new(),
            custom_props: BTreeMap::new(),
            scroll_threshold: -1,
        }
    }

    /// Whether this is a scroll goal.
    fn is_scroll(&self) -> bool {
        self.event_name.is_empty() && (0..=100).contains(&self.scroll_threshold)
    }

    /// The currency of a revenue goal: a custom event goal with a valid
    /// ISO 4217 code (`AAA`, the slot's "no revenue", is none).
    pub fn revenue_currency(&self) -> Option<&str> {
        let c = self.currency.as_deref()?;
        let valid = c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()) && c != "AAA";
        (valid && !self.event_name.is_empty()).then_some(c)
    }

    /// The events whose revenue this revenue goal reports: its events with
    /// revenue in its currency (amounts in others are not converted).
    pub fn revenue_cond(&self) -> Option<Cond> {
        let currency = self.revenue_currency()?;
        let code = Revenue { amount: 0.0, currency: currency.to_owned() }.currency_code();
        Some(Cond::And(vec![self.cond(), Cond::NumberIn(Column::Double(Double::RevenueCurrency), vec![code])]))
    }

    /// The name reports show and goal filters match: the display name, or
    /// by default the event name, `Visit /path` or `Scroll 50% on /path`
    /// (the same default as the D1 index that keeps names unique).
    pub fn name(&self) -> String {
        if !self.display_name.is_empty() {
            self.display_name.clone()
        } else if !self.event_name.is_empty() {
            self.event_name.clone()
        } else if self.is_scroll() {
            format!("Scroll {}% on {}", self.scroll_threshold, self.page_path)
        } else {
            format!("Visit {}", self.page_path)
        }
    }

    /// The event rows that complete this goal: its custom events, its
    /// pageviews, or (a scroll goal) engagement on its pages that reached
    /// the threshold; with each of its custom properties.
    pub fn cond(&self) -> Cond {
        let name = |n: &str| Cond::In(Column::Blob(Blob::Name), vec![n.to_owned()], true);
        let mut all = if !self.event_name.is_empty() {
            vec![name(&self.event_name)]
        } else if self.is_scroll() {
            let depth = Column::Double(Double::ScrollDepth);
            vec![name("engagement"), self.page_cond(), Cond::Between(depth, f64::from(self.scroll_threshold), 100.0)]
        } else {
            vec![name("pageview"), self.page_cond()]
        };
        for (key, value) in &self.custom_props {
            let prop = Cond::In(Column::Prop(key.clone()), vec![value.clone()], true);
            if value == NONE {
                // `(none)` also stands for "no such property"; a goal's
                // value must be there, as the literal text.
                let present = format!("\"{}\":\"", json_inner(key));
                all.push(Cond::And(vec![Cond::Contains(Column::Blob(Blob::Props), vec![present], true), prop]));
            } else {
                all.push(prop);
            }
        }
        match <[Cond; 1]>::try_from(all) {
            Ok([one]) => one,
            Err(all) => Cond::And(all),
        }
    }

    fn page_cond(&self) -> Cond {
        let page = Column::Blob(Blob::Pathname);
        if self.page_path.contains('*') {
            Cond::Matches(page, vec![wildcard_regex(&self.page_path)], true)
        } else {
            Cond::In(page, vec![self.page_path.clone()], true)
        }
    }
}

/// `/blog/*` as an anchored regex, as Plausible's `page_regex` makes it:
/// `*` (or `**`) is any run of characters, `/` included (its docs group
/// every blog post with `/blog*`); the rest is literal.
pub fn wildcard_regex(pattern: &str) -> String {
    let mut out = String::from("^");
    let mut rest = pattern;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("**").or_else(|| rest.strip_prefix('*')) {
            out.push_str(".*");
            rest = r;
        } else {
            let mut chars = rest.chars();
            if let Some(c) = chars.next() {
                if "\\.+?()|[]{}^$#&-~".contains(c) {
                    out.push('\\');
                }
                out.push(c);
            }
            rest = chars.as_str();
        }
    }
    out.push('$');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn wildcards() {
        assert_eq!(wildcard_regex("/blog/**"), "^/blog/.*$");
        assert_eq!(wildcard_regex("/a/*/b.html"), "^/a/.*/b\\.html$");
        // One star crosses segments too, as in Plausible since its stars
        // became `.*` (`Filters.Utils.page_regex`).
        let re = regex_lite::Regex::new(&wildcard_regex("/a/*/b")).unwrap();
        assert!(re.is_match("/a/x/b") && re.is_match("/a/x/y/b") && !re.is_match("/a/b"));
        let blog = regex_lite::Regex::new(&wildcard_regex("/blog*")).unwrap();
        assert!(blog.is_match("/blog") && blog.is_match("/blog/post-1") && !blog.is_match("/about/blog"));
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn names_and_conditions() {
        let page = Goal::page("/thanks");
        assert_eq!(page.name(), "Visit /thanks");
        assert!(matches!(page.cond(), Cond::And(_)));
        let event = Goal::event("Signup");
        assert_eq!((event.name(), event.cond()), ("Signup".to_owned(), Cond::In(Column::Blob(Blob::Name), vec!["Signup".into()], true)));
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn display_names_and_their_defaults() {
        assert_eq!(Goal::scroll("/blog/**", 50).name(), "Scroll 50% on /blog/**");
        assert_eq!(Goal::scroll("/", 0).name(), "Scroll 0% on /");
        let named = Goal { display_name: "Pro signup".into(), ..Goal::event("Signup") };
        assert_eq!(named.name(), "Pro signup");
        let named = Goal { display_name: "Read it".into(), ..Goal::scroll("/a", 90) };
        assert_eq!(named.name(), "Read it");
        // A threshold outside 0..=100 is not a scroll goal (D1 refuses it).
        assert_eq!(Goal::scroll("/a", -1).name(), "Visit /a");
        assert_eq!(Goal::scroll("/a", 101).cond(), Goal::page("/a").cond());
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn custom_props_and_scroll_thresholds_narrow_the_events() {
        let name = |n: &str| Cond::In(Column::Blob(Blob::Name), vec![n.into()], true);
        let prop = |k: &str, v: &str| Cond::In(Column::Prop(k.into()), vec![v.into()], true);
        let mut pro = Goal::event("Signup");
        pro.custom_props.insert("plan".into(), "pro".into());
        pro.custom_props.insert("a\"b".into(), "x".into());
        assert_eq!(pro.cond(), Cond::And(vec![name("Signup"), prop("a\"b", "x"), prop("plan", "pro")]));
        let scroll = Goal::scroll("/blog/**", 75);
        assert_eq!(
            scroll.cond(),
            Cond::And(vec![
                name("engagement"),
                Cond::Matches(Column::Blob(Blob::Pathname), vec!["^/blog/.*$".into()], true),
                Cond::Between(Column::Double(Double::ScrollDepth), 75.0, 100.0),
            ])
        );
        let mut page = Goal::page("/thanks");
        page.custom_props.insert("k".into(), "v".into());
        assert_eq!(
            page.cond(),
            Cond::And(vec![name("pageview"), Cond::In(Column::Blob(Blob::Pathname), vec!["/thanks".into()], true), prop("k", "v")])
        );
        // `(none)` as a goal's value is that text, not a missing property.
        let mut none = Goal::event("E");
        none.custom_props.insert("k\"".into(), NONE.into());
        let present = Cond::Contains(Column::Blob(Blob::Props), vec!["\"k\\u0022\":\"".into()], true);
        assert_eq!(none.cond(), Cond::And(vec![name("E"), Cond::And(vec![present, prop("k\"", NONE)])]));
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn goals_read_as_d1_returns_them() {
        let row = serde_json::json!({
            "event_name": "Signup", "page_path": "", "currency": null, "display_name": "Pro",
            "custom_props": "{\"plan\":\"pro\",\"seats\":3,\"trial\":true}", "scroll_threshold": -1
        });
        let goal: Goal = serde_json::from_value(row).unwrap();
        let props: Vec<(&str, &str)> = goal.custom_props.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(props, [("plan", "pro"), ("seats", "3"), ("trial", "true")]);
        assert_eq!((goal.name(), goal.scroll_threshold), ("Pro".to_owned(), -1));
        let scroll: Goal = serde_json::from_value(serde_json::json!({
            "event_name": "", "page_path": "/a", "currency": null, "display_name": "", "custom_props": "[1]", "scroll_threshold": 40
        }))
        .unwrap();
        assert_eq!((scroll.name().as_str(), scroll.custom_props.len()), ("Scroll 40% on /a", 0));
        // Rows of an older schema still read, as plain goals.
        let old: Goal = serde_json::from_value(serde_json::json!({"event_name": "", "page_path": "/x", "currency": null})).unwrap();
        assert_eq!(old, Goal::page("/x"));
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn revenue_goals_are_event_goals_with_a_currency() {
        let with = |g: Goal, c: &str| Goal { currency: Some(c.to_owned()), ..g };
        assert_eq!(Goal::event("Purchase").revenue_cond(), None);
        assert_eq!(with(Goal::page("/thanks"), "EUR").revenue_cond(), None);
        for bad in ["eur", "EURO", "E1R", "AAA", ""] {
            assert_eq!(with(Goal::event("Purchase"), bad).revenue_currency(), None, "{bad}");
        }
        let eur = with(Goal::event("Purchase"), "EUR");
        let code = Revenue { amount: 0.0, currency: "EUR".into() }.currency_code();
        assert_eq!(
            eur.revenue_cond(),
            Some(Cond::And(vec![
                Cond::In(Column::Blob(Blob::Name), vec!["Purchase".into()], true),
                Cond::NumberIn(Column::Double(Double::RevenueCurrency), vec![code])
            ]))
        );
    }
}
