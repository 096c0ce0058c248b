//! URLs of pages and referrers, as a browser would send them.
//!
//! Browsers serialise a non-ASCII host as punycode (`xn--…`), so `url`
//! runs without IDNA's Unicode tables (see Cargo.toml). A client that
//! sends `bücher.de` itself gets the host punycoded here, label by label,
//! after lower-casing: the browser's answer for every host that is already
//! in Unicode normal form.

use std::borrow::Cow;

use url::{ParseError, Url};

/// Schemes whose host may follow any run of `/` and `\` (WHATWG's special
/// schemes but `file`, whose empty host a path would otherwise become).
const SLASH_LENIENT: [&str; 5] = ["http", "https", "ws", "wss", "ftp"];

/// Parses `raw`, lower-casing and punycoding its host first when it is
/// not lower-case ASCII (the ASCII-only IDNA stub must not see either).
pub fn parse(raw: &str) -> Result<Url, ParseError> {
    match with_ascii_host(raw)? {
        Some(ascii) => Url::parse(&ascii),
        None => Url::parse(raw),
    }
}

/// `raw` with its host lower-cased and its non-ASCII labels punycoded;
/// `None` when the host needs neither, or there is no host to rewrite. The
/// host is found as `url` finds it: tabs and newlines dropped, and for
/// `https:Bücher.de` or `https:\\Bücher.de` as for `https://Bücher.de`.
fn with_ascii_host(raw: &str) -> Result<Option<String>, ParseError> {
    let raw: Cow<str> = if raw.contains(['\t', '\n', '\r']) { raw.replace(['\t', '\n', '\r'], "").into() } else { raw.into() };
    let Some((scheme, rest)) = raw.split_once(':') else { return Ok(None) };
    let rest = if SLASH_LENIENT.iter().any(|s| s.eq_ignore_ascii_case(scheme)) {
        rest.trim_start_matches(['/', '\\'])
    } else {
        match rest.strip_prefix("//") {
            Some(rest) => rest,
            None => return Ok(None),
        }
    };
    let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host_at = authority.rfind('@').map_or(0, |at| at + 1);
    let (userinfo, host_port) = authority.split_at(host_at);
    let (host, port) = match host_port.rfind(':') {
        Some(colon) if host_port.get(colon + 1..).is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit())) => host_port.split_at(colon),
        _ => (host_port, ""),
    };
    if !host.chars().any(|c| !c.is_ascii() || c.is_ascii_uppercase()) {
        return Ok(None);
    }
    let labels = host
        .split('.')
        .map(|label| {
            let label = label.to_lowercase();
            if label.is_ascii() {
                Some(label)
            } else {
                idna::punycode::encode_str(&label).map(|p| format!("xn--{p}"))
            }
        })
        // A label punycode cannot hold: `url` would refuse the host too.
        .collect::<Option<Vec<_>>>()
        .ok_or(ParseError::IdnaError)?;
    Ok(Some(format!("{scheme}://{userinfo}{}{port}{tail}", labels.join("."))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unicode_host_is_punycoded_as_a_browser_would() {
        for (raw, host) in [
            ("https://bücher.de/", "xn--bcher-kva.de"),
            ("https://BÜCHER.de/ä?x=1#top", "xn--bcher-kva.de"),
            ("https://user:pw@www.bücher.de:8443/a", "www.xn--bcher-kva.de"),
            ("http://пример.рф", "xn--e1afmkfd.xn--p1ai"),
            ("https://例え.テスト/path", "xn--r8jz45g.xn--zckzah"),
            // No ASCII at all, not even a dot.
            ("http://例え/", "xn--r8jz45g"),
            // A port after a non-ASCII label, and a password in capitals
            // before one, stay out of the host.
            ("https://例え.テスト:8443/", "xn--r8jz45g.xn--zckzah"),
            ("https://user:PW@bücher.de/", "xn--bcher-kva.de"),
            // Forms a browser's address bar takes: the host after any run
            // of slashes or backslashes, tabs and newlines dropped.
            ("https:Bücher.de/", "xn--bcher-kva.de"),
            ("HTTPS:/Bücher.de/", "xn--bcher-kva.de"),
            ("https:\\\\Bücher.de\\x", "xn--bcher-kva.de"),
            ("https://Bü\tch\ner.de/", "xn--bcher-kva.de"),
            ("ws:///Bücher.de", "xn--bcher-kva.de"),
        ] {
            let url = parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(url.host_str(), Some(host), "{raw}");
        }
        let url = parse("https://user:pw@www.bücher.de:8443/a?q=ü#f").unwrap();
        assert_eq!(
            (url.username(), url.port(), url.path(), url.query(), url.fragment()),
            ("user", Some(8443), "/a", Some("q=%C3%BC"), Some("f"))
        );
        let url = parse("https://user:PW@bücher.de:8443/").unwrap();
        assert_eq!((url.password(), url.port()), (Some("PW"), Some(8443)));
    }

    #[test]
    fn ascii_and_punycode_hosts_parse_as_before() {
        for (raw, host) in [
            ("https://Example.COM/a", "example.com"),
            ("https://xn--bcher-kva.de/", "xn--bcher-kva.de"),
            ("http://127.0.0.1:8080/", "127.0.0.1"),
            ("http://[::1]/", "[::1]"),
            ("https://XN--BCHER-KVA.DE/", "xn--bcher-kva.de"),
            ("android-app://com.google.android.gm/", "com.google.android.gm"),
        ] {
            assert_eq!(parse(raw).unwrap().host_str(), Some(host), "{raw}");
        }
    }

    #[test]
    fn a_file_url_keeps_its_path_and_other_schemes_need_two_slashes_for_a_host() {
        let url = parse("file:///Tmp/Bücher.html").unwrap();
        assert_eq!((url.host_str(), url.path()), (None, "/Tmp/B%C3%BCcher.html"));
        let url = parse("app:Bücher/x").unwrap();
        assert_eq!((url.host_str(), url.path()), (None, "B%C3%BCcher/x"));
    }

    #[test]
    fn a_label_punycode_cannot_hold_is_an_error() {
        let raw = format!("https://{}\u{10FFFF}.de/", "A".repeat(10_000));
        assert_eq!(parse(&raw), Err(ParseError::IdnaError));
    }

    #[test]
    fn what_is_not_a_url_stays_an_error() {
        for raw in ["", "not a url", "https://", "https://exa mple.com/", "https://bü cher.de/", "bücher.de/no-scheme"] {
            assert!(parse(raw).is_err(), "{raw}");
        }
    }

    // In test builds the IDNA stub asserts it never sees an upper-case
    // letter: any host that reaches it unconverted panics here.
    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn no_host_reaches_the_idna_stub_unconverted(
            scheme in proptest::sample::select(&["https:", "https://", "HTTP:\\\\", "ws:/", "app://", "file://", ""][..]),
            userinfo in proptest::sample::select(&["", "u:P@", "@"][..]),
            host in "[A-Za-z\u{e0}-\u{ff}\u{4e00}-\u{4e10}.\t:0-9-]{0,20}",
            tail in "[/?#\\\\a-zA-Z\u{e9}]{0,8}",
        ) {
            let _ = parse(&format!("{scheme}{userinfo}{host}{tail}"));
        }
    }
}
