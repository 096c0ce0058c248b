//! Step: drop crawlers, monitors, headless browsers and HTTP libraries.
//!
//! A substring list (matched without case) rather than the regex-based bot
//! crates: the regex engine alone would double the ingest worker's wasm.
//! The list follows the common patterns of the `isbot` project and
//! Matomo's device-detector bot list.

use crate::pipeline::{Context, Draft};
use crate::{DropReason, Rejection};

/// Lower-case fragments that mark a user agent as automated.
#[rustfmt::skip] // a table, laid out by hand to be read
const PATTERNS: &[&str] = &[
    // generic words
    "bot", "crawl", "spider", "slurp", "scrap", "archiver", "fetcher", "checker", "monitor",
    "preview", "scanner", "validator", "probe", "headless", "bingpreview",
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
    "embedly", "quora link", "vkshare", "w3c_", "feed", "rss", "nuzzel", "flipboard",
    "outbrain", "ia_archiver", "wayback", "google-read-aloud", "googleother",
    "google-inspectiontool", "mediapartners-google", "adsbot", "apis-google",
    "feedfetcher", "google web preview", "yahoo! slurp", "yeti/", "daum",
    // AI crawlers
    "gptbot", "chatgpt-user", "oai-searchbot", "claude", "anthropic", "perplexity",
    "ccbot", "bytespider", "cohere", "diffbot", "amazonbot", "applebot", "petalbot",
    // scanners
    "zgrab", "masscan", "nmap", "nikto", "sqlmap", "nuclei", "censys", "shodan", "expanse",
];

/// True when `ua` looks automated: a known fragment, or no `Mozilla/` or
/// `Opera` prefix at all (real browsers all send one).
pub fn is_bot(ua: &str) -> bool {
    let lower = ua.to_ascii_lowercase();
    if !(lower.contains("mozilla/") || lower.starts_with("opera")) {
        return true;
    }
    PATTERNS.iter().any(|p| lower.contains(p))
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
