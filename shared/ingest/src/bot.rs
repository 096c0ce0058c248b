//! Step: drop crawlers, monitors, headless browsers and HTTP libraries.
//!
//! A substring list (matched without case) rather than the regex-based bot
//! crates: the regex engine alone would double the ingest worker's wasm.
//! The list follows the common patterns of the `isbot` project and
//! Matomo's device-detector bot list (which Plausible uses); the word
//! `bot` and the rest of device-detector's generic words are read in
//! context as its generic rule reads them, so phones named Cubot or M bot
//! and the CamScanner app still count. A link, an email address or a bare
//! `Mozilla/5.0 Name/1.0` marks a fetcher: browsers name none of them.
//!
//! Checked against device-detector's 37,616 test user agents: of those
//! that look like browsers (`Mozilla/`), two non-bots are dropped (an
//! Android 1.6 phone naming `Java/`, an embedded IE 7 of 2008 naming its
//! maker's site), and 11 of its 1,341 bots pass. Against isbot's fixtures:
//! 25 of its 626 crawlers pass; of its 453 browser-like browsers, six are
//! dropped, all of them tools device-detector calls bots (GTmetrix,
//! Amazon's `Amzn-User`...).

use crate::pipeline::{Context, Draft};
use crate::user_agent::around_each;
use crate::{DropReason, Rejection};

/// Lower-case fragments that mark a user agent as automated.
#[rustfmt::skip] // a table, laid out by hand to be read
const PATTERNS: &[&str] = &[
    // generic words ("bot" itself is read in context: `says_bot`)
    "crawl", "slurp", "scrap", "archiver", "fetcher", "checker", "monitor",
    "preview", "validator", "probe", "headless", "bingpreview", "synthetic", "finder",
    "robots", "/bots", "collector", "analyzer", "indexer", "transcoder", "botify", "-user/",
    // headless and automation
    "phantomjs", "puppeteer", "playwright", "selenium", "webdriver", "cypress",
    "lighthouse", "pagespeed", "ptst/", "gtmetrix", "speedcurve", "catchpoint", "dareboost",
    // HTTP libraries and tools
    "curl/", "wget", "python-", "python/", "aiohttp", "httpx", "go-http-client", "java/",
    "okhttp", "apache-httpclient", "libwww", "lwp::", "axios/", "node-fetch", "undici",
    "got (", "php/", "guzzle", "postman", "insomnia", "httpie", "http_request",
    "winhttp", "dart:io", "reqwest", "hyper/", "deno/", "bun/", "powershell",
    // uptime and SEO services
    "pingdom", "uptime", "statuscake", "site24x7", "newrelic", "datadog", "nagios",
    "zabbix", "semrush", "ahrefs", "mj12", "seokicks", "screaming frog", "sitebulb",
    // link unfurlers and feed readers
    "facebookexternalhit", "facebookcatalog", "skypeuripreview",
    "embedly", "quora link", "vkshare", "w3c_", "feed", "nuzzel", "flipboardproxy", "flipboardrss",
    "outbrain", "ia_archiver", "wayback", "google-read-aloud", "googleother",
    "google-inspectiontool", "mediapartners-google", "adsbot", "apis-google",
    "feedfetcher", "google web preview", "yahoo! slurp", "yeti/",
    // AI crawlers
    "gptbot", "chatgpt-user", "oai-searchbot", "claudebot", "claude-", "anthropic", "perplexitybot", "perplexity-user",
    "ccbot", "bytespider", "cohere-", "diffbot", "amazonbot", "applebot", "petalbot",
    // Google's and others' fetchers, audits and archivers
    "google-", "google favicon", "google search console", "google page speed", "googleimageproxy", "heritrix",
    "nutch", "netcraft", "siteimprove", "wappalyzer", "woorank", "cloudflare-", "cloudflarediagnostics",
    "let's encrypt", "datanyze", "dataprovider", "qwantify", "sistrix", "brandverity", "contentking", "pingadmin",
    "inoreader", "webdatastats", "shareaholic", "domains project", "ips-agent", "twingly", "y!j-", "naverjapan",
    "grabber", "optimizer", "adbeat.com",
    // a link or an address to write to: browsers name neither, fetchers name their makers
    "http://", "https://", "www.", "bit.ly/", "(at)", "[at]",
    // fetchers named by their makers, without a generic word
    "sparkler/", "evc-batch/", "tracemyfile", "trendsmapresolver", "whatcms/", "dmbrowser", "ask jeeves/teoma",
    "detectify", "ghost inspector", "cloudflareobservatory", "duplexweb-google", "securityheaders", "functionize",
    "taginspector", "mixnode", "morningscore", "assetnote", "pageburst", "iplabel", " time/", "geckotrail", "keydrop",
    "onlyscans", "laravel reaver", "karnoprospectingstudio", "infrawatch", "researchscan", "devin/", "gomezagent",
    "dejaclick", "googleweblight", "archivebox", "jorgee", "collapsify", "foregenix", "semanticsclassifier", "scope3/",
    "onetrust", "marketgoo", "brokenlinkcheck", "rb.gy/", "(hydra)", "rsiteauditor", "cybaaagent",
    // scanners
    "zgrab", "masscan", "nmap", "nikto", "sqlmap", "nuclei", "censys", "shodan", "expanseinc",
];

/// Words of device-detector's generic rule that the substring list above
/// cannot hold, each with the text that may not come right before it (its
/// lookbehinds: CamScanner is an app people browse in). Like that rule,
/// a word counts only where no letter follows it (`projector` is no
/// `project`).
#[rustfmt::skip] // a table, laid out by hand to be read
const WORDS: &[(&str, &[&str])] = &[
    ("scanner", &["cam"]), ("inspector", &[]), ("lookup", &[]), ("resolver", &[]), ("research", &["p"]),
    ("script", &[]), ("searcher", &[]), ("security", &["-"]), ("study", &[]), ("appengine", &[]),
    ("user agent", &[]), ("useragent", &[]), ("user_agent", &[]), ("-ai/", &[]), ("-extended/", &[]),
    ("proxy", &["google wap ", "blue ", "speedmode; "]), ("project", &["microsoft ", "banshee-"]),
];

/// True when `ua` looks automated: a known fragment, or no `Mozilla/` or
/// `Opera` prefix at all (real browsers all send one).
pub fn is_bot(ua: &str) -> bool {
    let lower = ua.to_ascii_lowercase();
    if !(lower.contains("mozilla/") || lower.starts_with("opera")) {
        return true;
    }
    PATTERNS.iter().any(|p| lower.contains(p))
        || says_bot(&lower)
        || followed_by_none(&lower, "daum", &["apps", "device"])
        || followed_by_none(&lower, "spider", &[" 8"])
        || WORDS.iter().any(|(word, not_after)| word_ends(&lower, word, not_after).next().is_some())
        || names_email(&lower)
        || names_itself_only(lower.trim())
}

/// An email address (`@host.tld`) in `lower`: fetchers give one to write
/// to. Not any `@`: Ecosia writes `android@88.0` and old builds
/// `th-TH@calendar=gregorian`.
fn names_email(lower: &str) -> bool {
    lower.match_indices('@').any(|(at, _)| {
        let host = lower.get(at + 1..).unwrap_or("");
        let label = host.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-')).unwrap_or(host.len());
        label > 0
            && host
                .get(label..)
                .and_then(|rest| rest.strip_prefix('.'))
                .is_some_and(|tld| tld.starts_with(|c: char| c.is_ascii_lowercase()))
    })
}

/// A user agent that is `Mozilla/x.y` and a name with nothing about a
/// platform: `Mozilla/5.0 (compatible)`, `Mozilla/5.0 (compatible;
/// Name/1.0)` or `Mozilla/5.0 Name/1.0`, as isbot reads the first. Every
/// browser names its platform, even the rare ones that say `compatible`
/// (`(compatible; NetPositive/2.2.1; BeOS)`), or at least no version
/// (`Mozilla/6.0 (compatible; Amiga-AWeb)`).
fn names_itself_only(lower: &str) -> bool {
    let Some(rest) = lower.strip_prefix("mozilla/") else { return false };
    let Some((version, rest)) = rest.split_once(' ') else { return false };
    let plain = |t: &str| !t.is_empty() && !t.contains([' ', ';', '(', ')', '/']);
    let product = |s: &str| s.split_once('/').is_some_and(|(name, version)| plain(name) && plain(version));
    let named = match rest.strip_prefix("(compatible").and_then(|r| r.strip_suffix(')')) {
        Some("") => true,
        Some(inner) => inner.strip_prefix("; ").is_some_and(product),
        None => product(rest),
    };
    named && version.split_once('.').is_some_and(|(a, b)| is_number(a) && is_number(b))
}

/// Whether `s` is one or more ASCII digits.
fn is_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// `bot` in `lower` as device-detector's generic rule reads it: not inside
/// a longer word (`BOTECH`) and not the end of a phone's brand or model
/// (`Cubot`, `M bot 54`, `C Bot Tab 70`, `VR BOT 552`), which are real
/// browsers Plausible counts.
fn says_bot(lower: &str) -> bool {
    word_ends(lower, "bot", &["cu", "hu", "power ", "power_", "m ", "m_"]).any(|after| {
        let spaced = after.strip_prefix([' ', '_']).unwrap_or(after);
        let model = [" tab", "_tab", " senior", "_senior", " junior", "_junior"].iter().any(|p| after.starts_with(p))
            || (spaced.starts_with('5') && spaced.chars().nth(1).is_some_and(|c| c.is_ascii_digit()));
        !model
    })
}

/// The text after each occurrence of `word` in `lower` that no letter
/// follows and none of `not_after` comes right before: where
/// device-detector's generic rule reads the word.
fn word_ends<'a>(lower: &'a str, word: &'a str, not_after: &'a [&'a str]) -> impl Iterator<Item = &'a str> + 'a {
    around_each(lower, word).filter_map(|(before, after)| {
        let ends_word = !after.starts_with(|c: char| c.is_ascii_lowercase());
        (ends_word && !not_after.iter().any(|p| before.ends_with(p))).then_some(after)
    })
}

/// Whether `word` occurs in `lower` other than right before one of
/// `excused` (device-detector's `Daum(?!Apps|Device)`, `spider(?! 8)`: Daum's
/// own apps and the Spider 8 tablet are people).
fn followed_by_none(lower: &str, word: &str, excused: &[&str]) -> bool {
    around_each(lower, word).any(|(_, rest)| !excused.iter().any(|e| rest.starts_with(e)))
}

/// The pipeline step.
pub fn step(draft: Draft, ctx: &Context) -> Result<Draft, Rejection> {
    let ua = ctx.user_agent.trim();
    if ua.is_empty() {
        return Err(DropReason::NoUserAgent.into());
    }
    if is_bot(ua) {
        return Err(DropReason::Bot.into());
    }
    Ok(draft)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::tests::ctx;

    const BROWSERS: &[&str] = &[
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
        "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
        "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
        "Opera/9.80 (Windows NT 6.1; U; en) Presto/2.10.289 Version/12.02",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/442.0.0.40.110]",
        // People whose user agent happens to hold a bot's word, as device-detector lets them through:
        // phones and tablets named Cubot, M bot, C Bot Tab, VR BOT 552, Spider 8 and Expanse; LG's TVs
        // (BOTECH); a bank's IE (Caboto); Daum's and Flipboard's apps; a TV by ANDERSSON.
        "Mozilla/5.0 (Linux; Android 10; CUBOT J9) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.152 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 7.0; M bot 54) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.96 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 7.0; C Bot Tab 70) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/78.0.3904.108 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 6.0; VR BOT 552) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/72.0.3626.121 Mobile Safari/537.36",
        "Mozilla/5.0 (Linux; Android 13; Spider 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 8.0.0; Expanse) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/86.0.4240.99 Mobile Safari/537.36",
        "Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/87.0.4280.88 Safari/537.36 HbbTV/1.6.1 (+DRM; LGE/KTC/BOTECH; 58BSE9503; WEBOS22 04.42.26; W22_K8LP; DTV_C22P;)",
        "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; Banca Caboto s.p.a.; rv:11.0) like Gecko",
        "Mozilla/5.0 (Linux; Android 10; SM-N960N Build/QP1A.190711.020; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/81.0.4044.117 Mobile Safari/537.36 DaumApps/6.9.3",
        "Mozilla/5.0 (Linux; U; Android 2.3.4; ru-ru; WT19i Build/4.0.2.A.0.58) AppleWebKit/533.1 (KHTML, like Gecko) Version/4.0 Mobile Safari/533.1 Flipboard/2.1.2/854",
        "Mozilla/5.0 (Android armv8l) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/55.0.2883.91 Safari/537.36 Model/Vestel-MB185 VSTVB MB185 FVC/6.0 (ANDERSSON; MB185; Wireless)",
        // An `@` that is no email address (Ecosia, an old locale), and rare browsers that say `compatible`.
        "Mozilla/5.0 (Linux; Android 11; FP4) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/101.0.4951.41 Mobile Safari/537.36 (Ecosia android@101.0.4951.41)",
        "Mozilla/5.0 (X11; U; Linux i686; th-TH@calendar=gregorian) AppleWebKit/534.12 (KHTML, like Gecko) Puffin/1.3.2665MS Safari/534.12",
        "Mozilla/3.0 (compatible; NetPositive/2.2.1; BeOS)",
        "Mozilla/5.0 (compatible; IBrowse 3.0; AmigaOS4.0)",
        "Mozilla/3.01 (compatible;)",
        "Mozilla/6.0 (compatible; Amiga-AWeb)",
        // An app with `scanner` in its name (device-detector excuses CamScanner), a TV's `Freetime/`.
        "Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.123 Mobile Safari/537.36 CamScanner/4.8.5.2310271827",
        "Mozilla/5.0(compatible; U; InfiNet 0.1; Viera) AppleWebKit/420  (KHTML, like Gecko)(avdn/Panasonic.tv.high.2014) Viera/3.10.15 Chrome/23.0.1271.97 Safari/537.11; Freetime/1.0 (ctv)",
        "Mozilla/5.0 (Linux; Android 14; I2208 Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/114.0.5735.196 Mobile Safari/537.36 csh-cashify-flutter csh-store-checkout",
    ];

    const BOTS: &[&str] = &[
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
        "curl/8.4.0",
        "Wget/1.21.4",
        "python-requests/2.31.0",
        "Go-http-client/2.0",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.0; +https://openai.com/gptbot)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
        "Pingdom.com_bot_version_1.4_(http://www.pingdom.com/)",
        "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 PTST/231130.155823",
        "axios/1.6.2",
        "node-fetch/1.0 (+https://github.com/bitinn/node-fetch)",
        "Java/17.0.2",
        "okhttp/4.12.0",
        "WhatsApp/2.23.20.0",
        "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
        "Mozilla/5.0 (compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
        "Mozilla/5.0 zgrab/0.x",
        "my-custom-agent",
        // The bot rule's word in context, and fetchers named by their makers.
        "Mozilla/5.0 (compatible; YandexMetrika/2.0; +http://yandex.com/bots)",
        "Mozilla/5.0 (X11; Linux x86_64)AppleWebKit/537.36 (KHTML, like Gecko; Google-Ads-Qualify)Chrome/85.0.4183.140 Safari/537.36",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; MistralAI-User/1.0; +https://docs.mistral.ai/robots)",
        "Mozilla/5.0 (compatible; heritrix/3.1.1 +http://www.baidu.com)",
        "Mozilla/5.0 (compatible; Daum/4.1; +http://cs.daum.net/faq/15/4118.html?faqId=28966)",
        "Mozilla/5.0 (compatible; Mozilla/5.0; SpiderBot/1.0)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 (compatible; Bot/1.0)",
        // A link, an address or a bare name is a fetcher's (device-detector's bots, none of which name a bot word).
        "Mozilla/5.0 (compatible; Butterfly/1.0; +http://labs.topsy.com/butterfly/) Gecko/2009032608 Firefox/3.0.8",
        "Mozilla/5.0 (compatible; MaCoCu; +https://www.clarin.si/info/macocu-massive-collection-and-curation-of-monolingual-and-bilingual-data/)",
        "Mozilla/5.0 (compatible; seolyt/1.1; +https://seolyt.com)",
        "Mozilla/5.0 (compatible; Plukkie/1.6; www.botje.com/plukkie.htm)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko; compatible; BW/1.1; bit.ly/2W6Px8S) Chrome/84.0.4147.105 Safari/537.36",
        "Mozilla/5.0 (compatible; +centuryb.o.t9[at]gmail.com)",
        "Mozilla/5.0 (compatible; Ezooms/1.0; help@moz.com)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/59.0.3071.115 Safari/537.36; +collection@infegy.com",
        "Mozilla/5.0 (compatible)",
        "Mozilla/5.0 (compatible; TrendsmapResolver/0.1)",
        "Mozilla/5.0 (compatible; Dormouse/1.0)",
        "Mozilla/5.0 SeznamEmailProxy/2.0.174",
        "Mozilla/5.0 xtate/2.12.4",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/113.0.5672.126 Safari/537.36 RuxitSynthetic/1.0 v104032285451",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36 CloudflareObservatory/1.0",
        "Mozilla/5.0 (Linux; Android 8.0; Pixel 2 Build/OPD3.170816.012; DuplexWeb-Google/1.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/74.0.3729.131 Mobile Safari/537.36",
        // Daum's crawler (not its apps), a spider (not the Spider 8 tablet), each named alone.
        "Mozilla/5.0 (compatible; MSIE or Firefox mutant;) Daum 4.1",
        "Mozilla/5.0 (Windows NT 6.1) AppleWebKit/537.1 (KHTML, like Gecko) Chrome/21.0.1180.89 Safari/537.1; 360Spider",
        // device-detector's generic words, each where no letter follows.
        "Mozilla/5.0 (compatible; SecurityScanner/1.0)",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) TagInspector/500.1 Chrome/90.0.4430.72 Safari/537.36",
        "Mozilla/5.0 (compatible; DNSResearchBot/1.0)",
        "Mozilla/5.0 (compatible; PostitLeadDiscovery/2.0; public business contact research)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/98.0 Safari/537.36 (compatible; Web-Proxy)",
        "Mozilla/5.0 (compatible; Example-AI/1.0)",
        "Mozilla/5.0 (Windows NT 6.1; Win64; x64; rv:77.0) Gecko/20100101 Firefox/77.0 Time/1710630666672",
    ];

    #[test]
    fn real_browsers_pass() {
        for ua in BROWSERS {
            assert!(!is_bot(ua), "flagged a browser: {ua}");
        }
    }

    #[test]
    fn bots_are_caught() {
        for ua in BOTS {
            assert!(is_bot(ua), "missed a bot: {ua}");
        }
    }

    #[test]
    fn a_generic_word_is_one_no_letter_follows_and_nothing_excused_precedes() {
        let says_word = |lower: &str, word: &str, not_after: &[&str]| word_ends(lower, word, not_after).next().is_some();
        assert!(says_word("x scanner/1", "scanner", &["cam"]));
        assert!(says_word("scanner", "scanner", &["cam"]), "at the very start and end");
        assert!(says_word("camscanner/1 then scanner;", "scanner", &["cam"]), "any one occurrence");
        assert!(!says_word("camscanner/4.8", "scanner", &["cam"]));
        assert!(!says_word("scanners", "scanner", &[]));
        assert!(!says_word("a projector", "project", &["microsoft "]));
        assert!(!says_word("microsoft project/1", "project", &["microsoft "]));
        assert!(says_word("my project/1", "project", &["microsoft "]));
    }

    #[test]
    fn an_email_address_is_a_host_after_the_at() {
        for yes in ["a@b.co", "x (help@moz.com)", "@a-1.b", "android@1.0 then me@x.org"] {
            assert!(names_email(yes), "{yes}");
        }
        for no in ["android@88.0.4324", "th-th@calendar=gregorian", "a@", "a@.com", "a@b", "a@b.", "a@b.1", "a@b_c.com", "@"] {
            assert!(!names_email(no), "{no}");
        }
    }

    #[test]
    fn a_bare_name_is_mozilla_and_one_product() {
        for yes in ["mozilla/5.0 (compatible)", "mozilla/5.0 (compatible; x/1.0)", "mozilla/5.0 x/1", "mozilla/10.25 x-y.z/2.0.1"] {
            assert!(names_itself_only(yes), "{yes}");
        }
        for no in [
            "mozilla/5.0 (compatible; x/1.0; beos)",
            "mozilla/5.0 (compatible; ibrowse 3.0)",
            "mozilla/5.0 (compatible;)",
            "mozilla/5.0 (compatible x/1)",
            "mozilla/5.0 (compatible; x/1.0",
            "mozilla/5.0 (compatible; /1)",
            "mozilla/5.0 (compatible; x/)",
            "mozilla/5.0 (compatible; x/1/2)",
            "mozilla/5.0 x",
            "mozilla/5.0 x/1 y/2",
            "mozilla/5.0 (windows nt 10.0) x/1",
            "mozilla/x.0 x/1",
            "mozilla/5. x/1",
            "mozilla/.5 x/1",
            "mozilla/5.0",
            "opera/5.0 x/1",
            "mozilla/5 x/1",
        ] {
            assert!(!names_itself_only(no), "{no}");
        }
    }

    #[test]
    fn the_step_names_its_reason() {
        let draft =
            crate::payload::validate(crate::payload::parse(br#"{"n":"pageview","u":"https://demo.example/"}"#).unwrap(), &ctx()).unwrap();
        let mut c = ctx();
        c.user_agent = "  ";
        assert_eq!(step(draft.clone(), &c), Err(Rejection::Dropped(DropReason::NoUserAgent)));
        c.user_agent = "curl/8.0";
        assert_eq!(step(draft.clone(), &c), Err(Rejection::Dropped(DropReason::Bot)));
        assert!(step(draft, &ctx()).is_ok());
    }
}
