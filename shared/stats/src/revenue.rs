//! Revenue metrics as Plausible answers them: the revenue of the revenue
//! goals (custom event goals with a currency) that the query's goal filters
//! keep, in their currency, shown as money; null with a warning when no
//! goal, or more than one currency, is in play.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::goal::Goal;
use crate::sql::Cond;

/// Why revenue metrics are null, as Plausible's `metric_warnings` say it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Warning {
    /// No revenue goal among the goals the query is about.
    NoGoalsMatching,
    /// Revenue goals in several currencies, and no goal breakdown.
    NoSingleCurrency,
}

impl Warning {
    /// Plausible's `{code, warning}` object.
    pub fn to_json(self) -> Value {
        match self {
            Warning::NoGoalsMatching => json!({
                "code": "no_revenue_goals_matching",
                "warning": "Revenue metrics are null as there are no matching revenue goals."
            }),
            Warning::NoSingleCurrency => json!({
                "code": "no_single_revenue_currency",
                "warning": "Revenue metrics are null as there are multiple currencies for the selected event:goals."
            }),
        }
    }
}

/// The currencies a query's revenue is shown in.
#[derive(Clone, Debug, PartialEq)]
pub enum Currencies {
    /// None: revenue metrics are null.
    Null(Warning),
    /// One currency for every row.
    One(String),
    /// A goal breakdown: each revenue goal's row in its own currency, the
    /// other goals' rows null.
    PerGoal(HashMap<String, String>),
}

/// How a query's revenue metrics are answered.
#[derive(Clone, Debug, PartialEq)]
pub struct Revenue {
    /// The currencies of its rows.
    pub currencies: Currencies,
    /// The events whose amounts count (none when the metrics are null).
    pub cond: Option<Cond>,
}

impl Revenue {
    /// Revenue over `goals`, the goals the query is about (those its
    /// top-level goal filters keep; none unless it filters or groups by
    /// goal), with or without a goal breakdown.
    pub fn of(goals: &[&Goal], by_goal: bool) -> Self {
        let revenue_goals: Vec<(&Goal, &str)> = goals.iter().filter_map(|g| g.revenue_currency().map(|c| (*g, c))).collect();
        let mut currencies: Vec<&str> = revenue_goals.iter().map(|(_, c)| *c).collect();
        currencies.sort_unstable();
        currencies.dedup();
        let currencies = match (currencies.as_slice(), by_goal) {
            ([], _) => Currencies::Null(Warning::NoGoalsMatching),
            ([one], false) => Currencies::One((*one).to_owned()),
            (_, true) => Currencies::PerGoal(revenue_goals.iter().map(|(g, c)| (g.name(), (*c).to_owned())).collect()),
            (_, false) => Currencies::Null(Warning::NoSingleCurrency),
        };
        let cond = match currencies {
            Currencies::Null(_) => None,
            _ => Some(Cond::Or(revenue_goals.iter().filter_map(|(g, _)| g.revenue_cond()).collect())),
        };
        Self { currencies, cond }
    }

    /// The warning revenue metrics carry, if they are null.
    pub fn warning(&self) -> Option<Warning> {
        match self.currencies {
            Currencies::Null(w) => Some(w),
            _ => None,
        }
    }

    /// The currency of the row for `goal` (the row's goal, in a goal
    /// breakdown).
    pub fn currency(&self, goal: Option<&str>) -> Option<&str> {
        match &self.currencies {
            Currencies::Null(_) => None,
            Currencies::One(c) => Some(c),
            Currencies::PerGoal(by_goal) => goal.and_then(|g| by_goal.get(g)).map(String::as_str),
        }
    }
}

/// An amount as Plausible shows money: `{short, long, value, currency}`.
pub fn money(value: f64, currency: &str) -> Value {
    json!({ "short": short(value, currency), "long": long(value, currency), "value": value, "currency": currency })
}

/// The value of a metric shown as [`money`], or the number itself.
pub fn amount(v: &Value) -> Option<f64> {
    v.get("value").unwrap_or(v).as_f64()
}

/// English symbols (CLDR's `en` locale) of common currencies; others are
/// written as their code and a no-break space.
const SYMBOLS: &[(&str, &str)] = &[
    ("AUD", "A$"),
    ("BRL", "R$"),
    ("CAD", "CA$"),
    ("CNY", "CN¥"),
    ("EUR", "€"),
    ("GBP", "£"),
    ("HKD", "HK$"),
    ("ILS", "₪"),
    ("INR", "₹"),
    ("JPY", "¥"),
    ("KRW", "₩"),
    ("MXN", "MX$"),
    ("NZD", "NZ$"),
    ("PHP", "₱"),
    ("TWD", "NT$"),
    ("USD", "$"),
    ("VND", "₫"),
];

/// Currencies whose minor unit is not the cent (ISO 4217).
const DIGITS: &[(&str, usize)] = &[
    ("BHD", 3),
    ("CLP", 0),
    ("IQD", 0),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("LYD", 3),
    ("OMR", 3),
    ("PYG", 0),
    ("TND", 3),
    ("UGX", 0),
    ("VND", 0),
    ("XAF", 0),
    ("XOF", 0),
];

fn symbol(currency: &str) -> String {
    SYMBOLS.iter().find(|(c, _)| *c == currency).map_or_else(|| format!("{currency}\u{a0}"), |(_, s)| (*s).to_owned())
}

/// `-€1,234.50`: the amount to the currency's minor unit, grouped by
/// thousands.
fn long(value: f64, currency: &str) -> String {
    let digits = DIGITS.iter().find(|(c, _)| *c == currency).map_or(2, |(_, d)| *d);
    let fixed = format!("{:.*}", digits, value.abs());
    let (whole, fraction) = fixed.split_once('.').map_or((fixed.as_str(), ""), |(w, f)| (w, f));
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if value < 0.0 && fixed.bytes().any(|b| (b'1'..=b'9').contains(&b)) { "-" } else { "" };
    let point = if fraction.is_empty() { "" } else { "." };
    format!("{sign}{}{grouped}{point}{fraction}", symbol(currency))
}

/// `€20.5`, `$1.2K`, `$96.3M`: one decimal, thousands abbreviated.
fn short(value: f64, currency: &str) -> String {
    let mut scaled = value.abs();
    let mut unit = "";
    for next in ["K", "M", "B", "T"] {
        // Rounded as shown, so 999.96 reads 1.0K, not 1000.0.
        if (scaled * 10.0).round() / 10.0 < 1000.0 {
            break;
        }
        scaled /= 1000.0;
        unit = next;
    }
    let shown = format!("{scaled:.1}");
    let sign = if value < 0.0 && shown != "0.0" { "-" } else { "" };
    format!("{sign}{}{shown}{unit}", symbol(currency))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn revenue_goal(name: &str, currency: &str) -> Goal {
        Goal { currency: Some(currency.to_owned()), ..Goal::event(name) }
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn currencies_follow_the_goals_in_play() {
        let eur = revenue_goal("Purchase", "EUR");
        let eur2 = revenue_goal("Renewal", "EUR");
        let usd = revenue_goal("Upgrade", "USD");
        let plain = Goal::event("Signup");
        let page = Goal::page("/thanks");
        assert_eq!(Revenue::of(&[], false).currencies, Currencies::Null(Warning::NoGoalsMatching));
        assert_eq!(Revenue::of(&[&plain, &page], true).currencies, Currencies::Null(Warning::NoGoalsMatching));
        assert_eq!(Revenue::of(&[&eur, &plain], false).currencies, Currencies::One("EUR".into()));
        assert_eq!(Revenue::of(&[&eur, &eur2], false).currencies, Currencies::One("EUR".into()));
        assert_eq!(Revenue::of(&[&eur, &usd], false).currencies, Currencies::Null(Warning::NoSingleCurrency));
        let by_goal = Revenue::of(&[&eur, &usd, &plain], true);
        assert_eq!(
            (by_goal.currency(Some("Purchase")), by_goal.currency(Some("Upgrade")), by_goal.currency(Some("Signup"))),
            (Some("EUR"), Some("USD"), None)
        );
        // Only the revenue goals' events count, each in its currency.
        assert_eq!(by_goal.cond, Some(Cond::Or(vec![eur.revenue_cond().unwrap(), usd.revenue_cond().unwrap()])));
        assert_eq!(Revenue::of(&[&eur, &usd], false).cond, None);
        assert_eq!(Revenue::of(&[&eur, &usd], false).warning(), Some(Warning::NoSingleCurrency));
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn money_reads_as_plausible_shows_it() {
        assert_eq!(
            money(96_336_315.0, "USD"),
            json!({"short": "$96.3M", "long": "$96,336,315.00", "value": 96_336_315.0, "currency": "USD"})
        );
        assert_eq!((short(20.5, "EUR"), long(20.5, "EUR")), ("€20.5".into(), "€20.50".into()));
        assert_eq!((short(0.0, "EUR"), long(0.0, "EUR")), ("€0.0".into(), "€0.00".into()));
        assert_eq!((short(1234.5, "GBP"), long(1234.5, "GBP")), ("£1.2K".into(), "£1,234.50".into()));
        assert_eq!((short(999.96, "USD"), short(999_960.0, "USD")), ("$1.0K".into(), "$1.0M".into()));
        assert_eq!((short(-12.0, "USD"), long(-1234.0, "USD")), ("-$12.0".into(), "-$1,234.00".into()));
        assert_eq!(
            (long(-0.001, "USD"), long(1234.4, "JPY"), long(1.2346, "KWD")),
            ("$0.00".into(), "¥1,234".into(), "KWD\u{a0}1.235".into())
        );
        assert_eq!(long(123.0, "CHF"), "CHF\u{a0}123.00");
        assert_eq!(short(1e30, "USD"), "$1000000000000000000.0T");
        assert_eq!((amount(&money(3.5, "EUR")), amount(&json!(2)), amount(&Value::Null)), (Some(3.5), Some(2.0), None));
    }
}
