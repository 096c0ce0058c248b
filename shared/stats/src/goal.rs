//! Goals: a custom event name, or a page path with wildcards (`*` within a
//! path segment, `**` across segments), as Plausible defines them.

use beacon_types::event::Revenue;
use beacon_types::slots::{Blob, Double};
use serde::{Deserialize, Serialize};

use crate::sql::{Column, Cond};

/// A site's goal, as stored in D1.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goal {
    /// A custom event name (`Signup`), or empty for a page goal.
    #[serde(default)]
    pub event_name: String,
    /// A page path pattern (`/blog/**`), or empty for an event goal.
    #[serde(default)]
    pub page_path: String,
    /// ISO 4217 code of a revenue goal (a custom event goal whose
    /// revenue is reported in this currency), else none.
    #[serde(default)]
    pub currency: Option<String>,
}

impl Goal {
    /// A goal completed by a custom event of this name.
    pub fn event(name: &str) -> Self {
        Self { event_name: name.to_owned(), page_path: String::new(), currency: None }
    }

    /// A goal completed by a pageview of a path matching `pattern`.
    pub fn page(pattern: &str) -> Self {
        Self { event_name: String::new(), page_path: pattern.to_owned(), currency: None }
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

    /// The name reports show: the event name, or `Visit /path`.
    pub fn name(&self) -> String {
        if self.event_name.is_empty() {
            format!("Visit {}", self.page_path)
        } else {
            self.event_name.clone()
        }
    }

    /// The event rows that complete this goal.
    pub fn cond(&self) -> Cond {
        let name = Column::Blob(Blob::Name);
        if !self.event_name.is_empty() {
            return Cond::In(name, vec![self.event_name.clone()], true);
        }
        let page = Column::Blob(Blob::Pathname);
        let on_page = if self.page_path.contains('*') {
            Cond::Matches(page, vec![wildcard_regex(&self.page_path)], true)
        } else {
            Cond::In(page, vec![self.page_path.clone()], true)
        };
        Cond::And(vec![Cond::In(name, vec!["pageview".into()], true), on_page])
    }
}

/// `/blog/*/x/**` as an anchored regex: `*` stays within a segment.
pub fn wildcard_regex(pattern: &str) -> String {
    let mut out = String::from("^");
    let mut rest = pattern;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix("**") {
            out.push_str(".*");
            rest = r;
        } else if let Some(r) = rest.strip_prefix('*') {
            out.push_str("[^/]*");
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
        assert_eq!(wildcard_regex("/a/*/b.html"), "^/a/[^/]*/b\\.html$");
        let re = regex_lite::Regex::new(&wildcard_regex("/a/*/b")).unwrap();
        assert!(re.is_match("/a/x/b") && !re.is_match("/a/x/y/b"));
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
