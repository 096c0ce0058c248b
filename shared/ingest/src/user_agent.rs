//! Step: browser, version, OS and device class from the user agent.
//!
//! A small hand-written matcher instead of the regex-driven ua-parser
//! crates, which pull a regex engine and a large YAML of patterns into the
//! ingest wasm. Names follow what Plausible reports.

use beacon_types::Device;

use crate::pipeline::{Context, Draft};
use crate::Rejection;

/// What the user agent says about the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    /// Browser name, "" when unknown.
    pub browser: &'static str,
    /// Browser `major.minor`.
    pub browser_version: String,
    /// OS name, "" when unknown.
    pub os: &'static str,
    /// OS version.
    pub os_version: String,
    /// Device class.
    pub device: Device,
}

/// Tokens of apps that open pages in their own view (Facebook, Instagram,
/// the Google app, WeChat, TikTok...): Plausible reports every such app as
/// "Mobile App" with no version, as device-detector classes them apps
/// before it looks for a browser.
#[rustfmt::skip] // a table, laid out by hand to be read
const IN_APP: &[&str] = &[
    "FBAN/", "FBAV/", "FB_IAB/", "FBIOS", "MetaIAB", "Instagram ", "Instagram/", "Barcelona ", "Barcelona/",
    "MicroMessenger/", "WeChat/", "Pinterest", "Snapchat", "LinkedIn", "Twitter for iPhone", "TwitterAndroid",
    "GSA/", "GoogleApp/", "com.google.GoogleMobile", "Line/", "musical_ly", "TikTok/", "TikTok ",
    "com.zhiliaoapp.musically", "aweme", "KAKAOTALK", "NAVER(inapp", "baiduboxapp/", "Reddit/Version",
];

/// Browser rules, first match wins: (token that identifies it, name, token
/// whose following number is the version, or "" for none).
#[rustfmt::skip] // a table, laid out by hand to be read
const BROWSERS: &[(&str, &str, &str)] = &[
    ("Edg/", "Microsoft Edge", "Edg/"),
    ("EdgA/", "Microsoft Edge", "EdgA/"),
    ("EdgiOS/", "Microsoft Edge", "EdgiOS/"),
    ("Edge/", "Microsoft Edge", "Edge/"),
    ("OPR/", "Opera", "OPR/"),
    ("OPiOS/", "Opera", "OPiOS/"),
    ("Opera/", "Opera", "Version/"),
    ("SamsungBrowser/", "Samsung Browser", "SamsungBrowser/"),
    ("YaBrowser/", "Yandex Browser", "YaBrowser/"),
    ("YaSearchBrowser/", "Yandex Browser", "YaSearchBrowser/"),
    ("UCBrowser/", "UC Browser", "UCBrowser/"),
    ("Vivaldi/", "Vivaldi", "Vivaldi/"),
    ("DuckDuckGo/", "DuckDuckGo Privacy Browser", "DuckDuckGo/"),
    ("Ddg/", "DuckDuckGo Privacy Browser", "Ddg/"),
    // Regional browsers built on Chrome, by device-detector's names.
    ("Whale/", "Whale Browser", "Whale/"),
    ("coc_coc_browser/", "Coc Coc", "coc_coc_browser/"),
    ("HuaweiBrowser/", "Huawei Browser Mobile", "HuaweiBrowser/"),
    ("MiuiBrowser/", "Mi Browser", "MiuiBrowser/"),
    ("QQBrowser/", "QQ Browser", "QQBrowser/"),
    ("Silk/", "Mobile Silk", "Silk/"),
    ("FxiOS/", "Firefox", "FxiOS/"),
    ("Firefox/", "Firefox", "Firefox/"),
    ("CriOS/", "Chrome", "CriOS/"),
    ("; wv)", "Mobile App", "Chrome/"),
    ("Chromium/", "Chromium", "Chromium/"),
    ("Chrome/", "Chrome", "Chrome/"),
    ("Trident/", "Internet Explorer", "rv:"),
    ("MSIE ", "Internet Explorer", "MSIE "),
    ("Version/", "Safari", "Version/"),
    // Safari/ is followed by WebKit's build, never Safari's version; an iOS
    // page without any other browser token is Safari too (device-detector's
    // Mobile Safari, with no version).
    ("Safari/", "Safari", ""),
    ("iPhone", "Safari", ""),
    ("iPad", "Safari", ""),
    ("iPod", "Safari", ""),
    ("AppleWebKit/", "Mobile App", ""),
];

/// Linux distributions device-detector names as the OS (when the UA names
/// several, the first it names).
const LINUX_DISTRIBUTIONS: &[&str] = &[
    "Debian",
    "Knoppix",
    "Mint",
    "Kubuntu",
    "Xubuntu",
    "Lubuntu",
    "Ubuntu",
    "Fedora",
    "Red Hat",
    "Mandriva",
    "Gentoo",
    "Sabayon",
    "Slackware",
    "openSUSE",
    "SUSE",
    "CentOS",
];

/// Parses `ua`. Never fails: unknown parts stay empty.
pub fn parse(ua: &str) -> Client {
    let android = ua.contains("Android");
    let (browser, browser_version) = if IN_APP.iter().any(|token| ua.contains(token)) {
        ("Mobile App", String::new())
    } else {
        match BROWSERS.iter().find(|(token, _, _)| ua.contains(token)) {
            // Android's own old browser says Safari, with no Chrome: device-detector's Android Browser.
            Some((_, "Safari", _)) if android => ("Android Browser", String::new()),
            // An app's web view before `; wv)` existed: `Version/… Chrome/…` (device-detector's Chrome Webview).
            Some((_, "Chrome", token)) if android && ua.contains("Version/") => ("Mobile App", version_after(ua, token, 2)),
            Some((_, name, token)) => (*name, version_after(ua, token, 2)),
            None => ("", String::new()),
        }
    };
    let (os, os_version) = os(ua);
    Client { browser, browser_version, os, os_version, device: device(ua) }
}

fn os(ua: &str) -> (&'static str, String) {
    if let Some(v) = after(ua, "Windows Phone ") {
        return ("Windows Phone", number(v, 2));
    }
    if let Some(v) = after(ua, "Windows NT ") {
        let version = match number(v, 2).as_str() {
            "10.0" => "10",
            "6.3" => "8.1",
            "6.2" => "8",
            "6.1" => "7",
            "6.0" => "Vista",
            "5.1" | "5.2" => "XP",
            _ => "",
        };
        return ("Windows", version.to_owned());
    }
    // Samsung's TVs and Huawei's phones name their own systems, which
    // device-detector reads before any Linux or Android token.
    for name in ["Tizen", "HarmonyOS"] {
        if let Some(rest) = after(ua, name) {
            return (name, number_past(rest, &[' ', '/', '-']));
        }
    }
    // LG's TVs.
    if ["Web0S", "webOS", "WEBOS", "hpwOS"].iter().any(|t| ua.contains(t)) {
        return ("webOS", String::new());
    }
    if is_fire_os(ua) {
        return ("Fire OS", fire_os_version(ua).to_owned());
    }
    // KaiOS phones (JioPhone...) also say Android; device-detector reads KaiOS first.
    // Any case, as device-detector matches; searched in place, with no lower-cased copy per event.
    if let Some(at) = ua.as_bytes().windows(5).position(|w| w.eq_ignore_ascii_case(b"kaios")) {
        return ("KaiOS", ua.get(at + 5..).map(|rest| number_past(rest, &['/'])).unwrap_or_default());
    }
    // An Android TV names its kind after the Android version.
    if let Some(rest) = after(ua, "Android ") {
        if ANDROID_TV.iter().any(|t| rest.contains(t)) {
            return ("Android TV", number(rest, 1));
        }
    }
    if ua.contains("iPad") {
        // iPadOS began at 13; an older iPad ran iOS, as device-detector names it.
        let version = after(ua, " OS ").map(|v| number(v, 2)).unwrap_or_default();
        let major: u32 = version.split('.').next().and_then(|m| m.parse().ok()).unwrap_or(13);
        return (if major < 13 { "iOS" } else { "iPadOS" }, version);
    }
    if ua.contains("iPhone") || ua.contains("iPod") {
        return ("iOS", after(ua, " OS ").map(|v| number(v, 2)).unwrap_or_default());
    }
    if let Some(v) = after(ua, "Mac OS X ") {
        return ("Mac", number(v, 2));
    }
    if let Some(v) = after(ua, "Android ") {
        return ("Android", number(v, 1));
    }
    if ua.contains("Android") {
        return ("Android", String::new());
    }
    if ua.contains("CrOS") {
        return ("Chrome OS", String::new());
    }
    // A Linux distribution named in the UA (Firefox on Ubuntu or Fedora says
    // so) is that OS, as device-detector reads it for Plausible: the one
    // named first.
    let named = LINUX_DISTRIBUTIONS
        .iter()
        .filter_map(|name| ua.find(name).map(|at| (at, *name)))
        .filter(|(at, name)| !(*name == "Mint" && ua.get(*at..).is_some_and(|rest| rest.starts_with("Mint Browser"))))
        .min_by_key(|(at, _)| *at);
    if let Some((at, name)) = named {
        // `Ubuntu/22.04`, `Fedora 39`: a version right after the name.
        return (name, ua.get(at + name.len()..).map(|rest| number_past(rest, &[' ', '/', '-'])).unwrap_or_default());
    }
    for (token, name) in [("FreeBSD", "FreeBSD"), ("OpenBSD", "OpenBSD"), ("Linux", "GNU/Linux"), ("X11", "GNU/Linux")] {
        if ua.contains(token) {
            return (name, String::new());
        }
    }
    if ua.contains("Windows") {
        return ("Windows", String::new());
    }
    ("", String::new())
}

/// Tokens of TVs and game consoles, which Plausible counts as desktops
/// (device-detector's `tv` and `console`), before any Android or mobile
/// token they may also carry.
#[rustfmt::skip] // a table, laid out by hand to be read
const BIG_SCREENS: &[&str] = &[
    "SmartTV", "SMART-TV", "SMARTTV", "Smart TV", "HbbTV", "Web0S", "CrKey", "AppleTV", "BRAVIA", "GoogleTV", "Google TV",
    "Android TV", "AndroidTV", "TV Safari",
    "; AFT", "PlayStation", "Xbox", "Nintendo",
];

/// What an Android TV says after its Android version (device-detector's
/// `Android TV` rule).
const ANDROID_TV: &[&str] =
    &["Android TV", "AndroidTV", "Android UHD TV", "Google TV", "GoogleTV", "Smart TV", "SmartTV", "AT&T TV", "BRAVIA", "wv-atv"];

/// Amazon's Fire tablets (`KF…`) and TVs (`AFT…`), as device-detector
/// finds them.
fn is_fire_os(ua: &str) -> bool {
    let tv = (ua.contains("Android") && ua.contains("; AFT")) || ua.contains("Amazon;AFT") || ua.contains("smarttv_AFT");
    followed_by_one_of(ua, " KF", "ADFGJKMORSTQ") || tv || followed_by_one_of(ua, "AEO", "ACBHKT") || ua.contains("FIRETVSTICK2018")
}

/// Whether `token` occurs in `ua` right before one of the characters in `next`.
fn followed_by_one_of(ua: &str, token: &str, next: &str) -> bool {
    around_each(ua, token).any(|(_, rest)| rest.starts_with(|c| next.contains(c)))
}

/// Each occurrence of `token` in `ua`, as the text before it and the text
/// after it: what a rule that reads a token in context looks at.
pub(crate) fn around_each<'a>(ua: &'a str, token: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
    ua.match_indices(token).map(move |(at, _)| (ua.get(..at).unwrap_or(""), ua.get(at + token.len()..).unwrap_or("")))
}

/// Fire OS's version, which device-detector reads off the Android it is
/// built on (`major.minor` as Plausible keeps it).
fn fire_os_version(ua: &str) -> &'static str {
    let android = after(ua, "Android ").map(|v| number(v, 3)).unwrap_or_default();
    let major = android.split('.').next().unwrap_or("");
    match (major, android.as_str()) {
        ("15" | "16", _) => "16",
        ("12" | "13" | "14", _) => "14",
        ("10" | "11", _) => "8",
        ("9", _) => "7",
        _ if ua.contains("AFTSO001") => "7",
        ("7", _) => "6",
        _ if ua.contains("FIRETVSTICK2018") => "6",
        (_, "5.1" | "5.1.0" | "5.1.1") => "5",
        (_, "4.4.3") => "4.5",
        (_, "4.4.2") => "4",
        (_, "4.2.2" | "4.0.3" | "4.0.4") => "3",
        (_, "4.0" | "4.0.0" | "4.0.1" | "4.0.2") => "2",
        (_, "2.3.3") => "1",
        _ => "",
    }
}

fn device(ua: &str) -> Device {
    let android = ua.contains("Android");
    if BIG_SCREENS.iter().any(|t| ua.contains(t)) {
        Device::Desktop
    } else if ua.contains("Tesla/") {
        // A car's browser: device-detector's `car browser`, a tablet for Plausible.
        Device::Tablet
    } else if ua.contains("iPad") || ua.contains("Tablet") || (android && !ua.contains("Mobile")) {
        Device::Tablet
    } else if ua.contains("Mobi") || ua.contains("iPhone") || ua.contains("iPod") || android || ua.contains("Windows Phone") {
        Device::Mobile
    } else if ["Windows", "Macintosh", "X11", "CrOS", "Linux", "BSD"].iter().any(|t| ua.contains(t)) {
        Device::Desktop
    } else {
        Device::Unknown
    }
}

/// The text after the first `token` in `ua`.
fn after<'a>(ua: &'a str, token: &str) -> Option<&'a str> {
    ua.find(token).and_then(|i| ua.get(i + token.len()..))
}

/// The `major.minor` version at the start of `rest` when one of
/// `separators` leads it (`/22.04`, ` 6.0`), else none.
fn number_past(rest: &str, separators: &[char]) -> String {
    rest.strip_prefix(separators).map(|v| number(v, 2)).unwrap_or_default()
}

fn version_after(ua: &str, token: &str, parts: usize) -> String {
    if token.is_empty() {
        return String::new();
    }
    after(ua, token).map(|v| number(v, parts)).unwrap_or_default()
}

/// The leading version number of `s`, `.` or `_` separated, keeping at most
/// `parts` components (`"17_1_2 like"` → `"17.1"` for 2).
fn number(s: &str, parts: usize) -> String {
    let mut out = String::new();
    let mut kept = 0;
    for piece in s.split(['.', '_']) {
        let digits: String = piece.chars().take_while(char::is_ascii_digit).collect();
        if digits.is_empty() || kept == parts {
            break;
        }
        if kept > 0 {
            out.push('.');
        }
        out.push_str(&digits);
        kept += 1;
        if digits.len() != piece.len() {
            break;
        }
    }
    if kept == 1 && parts > 1 {
        out.push_str(".0");
    }
    out
}

/// The pipeline step.
pub fn step(mut draft: Draft, ctx: &Context) -> Result<Draft, Rejection> {
    let client = parse(ctx.user_agent);
    draft.event.browser = client.browser.to_owned();
    draft.event.browser_version = client.browser_version;
    draft.event.os = client.os.to_owned();
    draft.event.os_version = client.os_version;
    draft.event.device = client.device;
    Ok(draft)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ua: &str, browser: &str, bv: &str, os: &str, ov: &str, device: Device) {
        let c = parse(ua);
        assert_eq!((c.browser, c.browser_version.as_str(), c.os, c.os_version.as_str(), c.device), (browser, bv, os, ov, device), "{ua}");
    }

    #[test]
    #[rustfmt::skip] // a table, laid out by hand to be read
    fn common_clients() {
        check("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36", "Chrome", "120.0", "Windows", "10", Device::Desktop);
        check("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91", "Microsoft Edge", "120.0", "Windows", "10", Device::Desktop);
        check("Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko", "Internet Explorer", "11.0", "Windows", "7", Device::Desktop);
        check("Mozilla/5.0 (Windows NT 6.3; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36", "Chrome", "109.0", "Windows", "8.1", Device::Desktop);
        check("Mozilla/5.0 (Windows NT 6.2; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0", "Firefox", "115.0", "Windows", "8", Device::Desktop);
        check("Mozilla/5.0 (Windows NT 6.0; rv:52.0) Gecko/20100101 Firefox/52.0", "Firefox", "52.0", "Windows", "Vista", Device::Desktop);
        check("Mozilla/5.0 (Windows NT 5.1; rv:52.0) Gecko/20100101 Firefox/52.0", "Firefox", "52.0", "Windows", "XP", Device::Desktop);
        check("Mozilla/5.0 (Windows NT 5.2; rv:52.0) Gecko/20100101 Firefox/52.0", "Firefox", "52.0", "Windows", "XP", Device::Desktop);
        check("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15", "Safari", "17.1", "Mac", "10.15", Device::Desktop);
        check("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox", "121.0", "GNU/Linux", "", Device::Desktop);
        // Firefox names the distribution; device-detector reports it as the OS.
        check("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "Firefox", "121.0", "Ubuntu", "", Device::Desktop);
        check("Mozilla/5.0 (X11; Fedora; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0", "Firefox", "120.0", "Fedora", "", Device::Desktop);
        check("Mozilla/5.0 (X11; U; Linux i686; en-US; rv:1.9.2.3) Gecko/20100423 Ubuntu/10.04 (lucid) Firefox/3.6.3", "Firefox", "3.6", "Ubuntu", "10.04", Device::Desktop);
        check("Mozilla/5.0 (X11; Linux x86_64; openSUSE) Gecko/20100101 Firefox/115.0", "Firefox", "115.0", "openSUSE", "", Device::Desktop);
        check("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome", "120.0", "Chrome OS", "", Device::Desktop);
        check("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1", "Safari", "17.1", "iOS", "17.1", Device::Mobile);
        check("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1", "Chrome", "120.0", "iPadOS", "16.6", Device::Tablet);
        check("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15", "Firefox", "121.0", "iOS", "17.1", Device::Mobile);
        check("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36", "Chrome", "120.0", "Android", "14", Device::Mobile);
        check("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", "Chrome", "120.0", "Android", "13", Device::Tablet);
        check("Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36", "Samsung Browser", "23.0", "Android", "13", Device::Mobile);
        check("Mozilla/5.0 (Linux; Android 12; SM-G991B Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.193 Mobile Safari/537.36", "Mobile App", "119.0", "Android", "12", Device::Mobile);
        check("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 OPR/106.0.0.0", "Opera", "106.0", "Windows", "10", Device::Desktop);
        // Android's old stock browser, an old web view, Yandex's search app browser.
        check("Mozilla/5.0 (Linux; U; Android 4.0; de-DE; EK-GC100 Build/IMM76D) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 Mobile Safari/534.30", "Android Browser", "", "Android", "4", Device::Mobile);
        check("Mozilla/5.0 (Linux; Android 4.4.2; CarPad-II-P Build/KOT49H) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/30.0.0.0 Safari/537.36", "Mobile App", "30.0", "Android", "4", Device::Tablet);
        check("Mozilla/5.0 (Linux; arm_64; Android 13; SM-A536B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.533 YaSearchBrowser/24.17 BroPP/1.0 SA/3 Mobile Safari/537.36", "Yandex Browser", "24.17", "Android", "13", Device::Mobile);
        // KaiOS phones, Android TVs.
        check("Mozilla/5.0 (Mobile; LYF/F300B/LYF-F300B-001-01-15-130718-i;Android; rv:48.0) Gecko/48.0 Firefox/48.0 KAIOS/2.5", "Firefox", "48.0", "KaiOS", "2.5", Device::Mobile);
        check("Mozilla/5.0 (Linux; Android 11; YASIN 4K G Smart TV Build/RTT2.220103.001; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.123 Safari/537.36", "Mobile App", "124.0", "Android TV", "11", Device::Desktop);
        // Amazon's Fire OS, LG's webOS, an iPad before iPadOS.
        check("Mozilla/5.0 (Linux; Android 11; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.230 Safari/537.36", "Chrome", "120.0", "Fire OS", "8", Device::Tablet);
        check("Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7233; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/108.0.5359.160 Mobile Safari/537.36", "Mobile App", "108.0", "Fire OS", "7", Device::Desktop);
        check("Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 Safari/537.36 WebAppManager", "Chrome", "87.0", "webOS", "", Device::Desktop);
        check("Mozilla/5.0 (iPad; CPU OS 12_5_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/12.1.2 Mobile/15E148 Safari/604.1", "Safari", "12.1", "iOS", "12.5", Device::Tablet);
        // Regional browsers that also say Chrome.
        check("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Whale/3.23.214.10 Safari/537.36", "Whale Browser", "3.23", "Windows", "10", Device::Desktop);
        check("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 coc_coc_browser/118.0.208 Safari/537.36", "Coc Coc", "118.0", "Windows", "10", Device::Desktop);
        check("Mozilla/5.0 (Linux; U; Android 11; zh-cn; M2012K11AC Build/RKQ1.200826.002) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/89.0.4389.116 Mobile Safari/537.36 XiaoMi/MiuiBrowser/13.5.40", "Mi Browser", "13.5", "Android", "11", Device::Mobile);
        check("Mozilla/5.0 (Linux; U; Android 10; zh-cn; V1824A Build/QP1A.190711.020) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/66.0.3359.126 MQQBrowser/10.1 Mobile Safari/537.36", "QQ Browser", "10.1", "Android", "10", Device::Mobile);
        check("Mozilla/5.0 (Linux; Android 10; HarmonyOS; ELS-AN00; HMSCore 6.1.0.314) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/92.0.4515.105 HuaweiBrowser/12.0.0.301 Mobile Safari/537.36", "Huawei Browser Mobile", "12.0", "HarmonyOS", "", Device::Mobile);
        check("Mozilla/5.0 (Linux; Android 9; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Silk/120.3.1 like Chrome/120.0.6099.230 Safari/537.36", "Mobile Silk", "120.3", "Fire OS", "7", Device::Tablet);
        // Without Version/, Safari's version is unknown (Safari/ carries WebKit's build): an
        // iOS page is Safari with no version, as device-detector's Mobile Safari; another
        // bare WebKit view is an app.
        check("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", "Safari", "", "iOS", "17.1", Device::Mobile);
        check("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari/604.1", "Safari", "", "iOS", "17.1", Device::Mobile);
        check("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)", "Mobile App", "", "Mac", "10.15", Device::Desktop);
        // In-app views are "Mobile App" with no version, as Plausible reports them.
        check("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/442.0.0.40.110]", "Mobile App", "", "iOS", "17.1", Device::Mobile);
        check("Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UQ1A.240205.004; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/121.0.6167.178 Mobile Safari/537.36 Instagram 317.0.0.34.109 Android (34/14; 420dpi; 1080x2205; Google/google; Pixel 8; shiba; shiba; en_US; 563533633)", "Mobile App", "", "Android", "14", Device::Mobile);
        check("Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) GSA/290.0.579031091 Mobile/15E148 Safari/604.1", "Mobile App", "", "iOS", "17.1", Device::Mobile);
        check("Mozilla/5.0 (Linux; Android 13; SM-A536B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36 trill_320003 JsSdk/1.0 NetType/WIFI Channel/googleplay AppName/musical_ly app_version/32.0.3", "Mobile App", "", "Android", "13", Device::Mobile);
        check("Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.42(0x18002a2b) NetType/WIFI Language/zh_CN", "Mobile App", "", "iOS", "16.6", Device::Mobile);
    }

    #[test]
    fn big_screens_and_cars() {
        check(
            "Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV Safari/537.36",
            "Safari",
            "",
            "Tizen",
            "6.0",
            Device::Desktop,
        );
        // TVs and consoles are desktops, a car's browser a tablet, as Plausible has them.
        for (ua, device) in [
            ("Mozilla/5.0 (SMART-TV; LINUX; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) 76.0.3809.146/6.0 TV Safari/537.36", Device::Desktop),
            ("Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 Safari/537.36 WebAppManager", Device::Desktop),
            ("Mozilla/5.0 (Linux; Android 9; AFTMM Build/PS7233; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/108.0.5359.160 Mobile Safari/537.36", Device::Desktop),
            ("Mozilla/5.0 (PlayStation; PlayStation 5/2.26) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/13.0 Safari/605.1.15", Device::Desktop),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edge/44.18363.8131", Device::Desktop),
            ("Mozilla/5.0 (Nintendo Switch; WifiWebAuthApplet) AppleWebKit/606.4 (KHTML, like Gecko) NF/6.0.1.15.4 NintendoBrowser/5.1.0.20393", Device::Desktop),
            ("Mozilla/5.0 (X11; GNU/Linux) AppleWebKit/537.36 (KHTML, like Gecko) Chromium/79.0.3945.130 Chrome/79.0.3945.130 Safari/537.36 Tesla/2020.16.2.1-e99c70fff409", Device::Tablet),
        ] {
            assert_eq!(parse(ua).device, device, "{ua}");
        }
    }

    #[test]
    fn garbage_never_panics_and_stays_empty() {
        check("", "", "", "", "", Device::Unknown);
        check("Chrome/", "Chrome", "", "", "", Device::Unknown);
        check("Windows NT ", "", "", "Windows", "", Device::Desktop);
        check("Mac OS X ", "", "", "Mac", "", Device::Unknown);
        let _ = parse("Chrome/99999999999999999999999999.1");
        let _ = parse("🎉 Android 🎉 iPad Version/🎉");
    }

    #[test]
    fn each_phone_token_alone_makes_a_phone() {
        for ua in [
            "Mozilla/5.0 (Mobile; rv:48.0) Gecko/48.0 Firefox/48.0",
            "App/1.0 (iPhone; iOS 17.1)",
            "App/1.0 (iPod touch; iOS 12.5)",
            "App/1.0 (Windows Phone 8.1; Lumia 920)",
        ] {
            assert_eq!(parse(ua).device, Device::Mobile, "{ua}");
        }
    }

    #[test]
    fn fire_os_versions_follow_device_detectors_table() {
        // device-detector's oss.yml: the Android a Fire OS is built on names its version.
        for (android, fire) in [
            ("16", "16"),
            ("15", "16"),
            ("14", "14"),
            ("13", "14"),
            ("12", "14"),
            ("11", "8"),
            ("10", "8"),
            ("9", "7"),
            ("7.1.2", "6"),
            ("5.1.1", "5"),
            ("5.1", "5"),
            ("4.4.3", "4.5"),
            ("4.4.2", "4"),
            ("4.2.2", "3"),
            ("4.0.4", "3"),
            ("4.0.3", "3"),
            ("4.0.2", "2"),
            ("4.0", "2"),
            ("2.3.3", "1"),
            ("8.1", ""),
            ("6.0", ""),
            ("5.0", ""),
        ] {
            let ua =
                format!("Mozilla/5.0 (Linux; Android {android}; KFTRWI) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36");
            assert_eq!(os(&ua), ("Fire OS", fire.to_owned()), "{ua}");
        }
        // Two sticks name their version by model, ahead of their Android's.
        assert_eq!(os("Mozilla/5.0 (Linux; Android 7.1.2; AFTSO001) AppleWebKit/537.36").1, "7");
        assert_eq!(os("Mozilla/5.0 (Linux; Android 5.1.1; AFTT) AppleWebKit/537.36 FIRETVSTICK2018").1, "6");
    }

    #[test]
    fn fire_devices_without_an_android_token() {
        for ua in [
            "Mozilla/5.0 (Linux; Amazon;AFTMM) AppleWebKit/537.36",
            "Mozilla/5.0 (smarttv_AFTKA) AppleWebKit/537.36",
            "Mozilla/5.0 (Linux; AEOBC) AppleWebKit/537.36",
            "Mozilla/5.0 (Linux) AppleWebKit/537.36 FIRETVSTICK2018",
        ] {
            assert_eq!(os(ua).0, "Fire OS", "{ua}");
        }
        // `; AFT` without Android, and an `AEO` followed by another letter, are not Amazon's.
        for ua in ["Mozilla/5.0 (X11; AFTER) AppleWebKit/537.36", "Mozilla/5.0 (X11; AEOX) AppleWebKit/537.36"] {
            assert_ne!(os(ua).0, "Fire OS", "{ua}");
        }
    }

    #[test]
    fn ipados_begins_at_13_and_mint_browser_is_no_linux_mint() {
        assert_eq!(os("Mozilla/5.0 (iPad; CPU OS 13_0 like Mac OS X) AppleWebKit/605.1.15"), ("iPadOS", "13.0".to_owned()));
        assert_eq!(os("Mozilla/5.0 (iPad; CPU OS 12_9 like Mac OS X) AppleWebKit/605.1.15"), ("iOS", "12.9".to_owned()));
        assert_eq!(os("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Mint Browser/3.9.3").0, "GNU/Linux");
        assert_eq!(os("Mozilla/5.0 (X11; Linux Mint 21; x86_64) AppleWebKit/537.36 Mint Browser/3.9.3").0, "Mint");
        assert_eq!(os("Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/115.0 Mint/21").0, "Mint");
    }

    #[test]
    fn version_numbers() {
        assert_eq!(number("120.0.6099.109 Safari", 2), "120.0");
        assert_eq!(number("17_1_2 like", 2), "17.1");
        assert_eq!(number("14; Pixel", 1), "14");
        assert_eq!(number("23 x", 2), "23.0");
        assert_eq!(number("x", 2), "");
    }
}
