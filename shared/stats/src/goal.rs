//! Goals: a custom event name, or a page path with wildcards (`*` within a
//! path segment, `**` across segments), as Plausible defines them.

use beacon_types::slots::Blob;
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
}

impl Goal {
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
        let page = Goal { event_name: String::new(), page_path: "/thanks".into() };
        assert_eq!(page.name(), "Visit /thanks");
        assert!(matches!(page.cond(), Cond::And(_)));
        let event = Goal { event_name: "Signup".into(), page_path: String::new() };
        assert_eq!((event.name(), event.cond()), ("Signup".to_owned(), Cond::In(Column::Blob(Blob::Name), vec!["Signup".into()], true)));
    }
}
