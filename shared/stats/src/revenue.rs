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

/// Plausible's average revenue: ClickHouse's average of amounts kept as
/// decimals to three places, which cuts the quotient there rather than
/// rounding it (201.2 over 3 events is 67.066).
pub fn average(total: f64, events: f64) -> f64 {
    if events <= 0.0 || !total.is_finite() {
        return 0.0;
    }
    // In thousandths: the amounts AE sums as doubles are such decimals.
    ((total * 1000.0).round() / events).trunc() / 1000.0
}

/// The digits of `x`'s shortest decimal form (the amount as written) and
/// the power of ten of the first: 50.45 is ([5, 0, 4, 5], 1).
fn decimal_digits(x: f64) -> (Vec<u8>, i32) {
    let text = format!("{:e}", x.abs());
    let (mantissa, exponent) = text.split_once('e').unwrap_or((text.as_str(), "0"));
    (mantissa.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect(), exponent.parse().unwrap_or(0))
}

/// `|x| / 1000^thousands` to `decimals` places, as digits before and after
/// the point. Ties go to the even digit, on the decimal amount rather than
/// its nearest double: CLDR formats Plausible's decimal amounts so (€50.45
/// is €50.4 to one place, where the double 50.45 is just above the tie).
fn fixed(x: f64, decimals: usize, thousands: i32) -> (String, String) {
    let (digits, first) = decimal_digits(x);
    let first = first.saturating_sub(thousands.saturating_mul(3));
    let places = i32::try_from(decimals).unwrap_or(0);
    // The digit at a power of ten, 0 past the written ones.
    let at = |power: i32| usize::try_from(first - power).ok().and_then(|i| digits.get(i)).copied().unwrap_or(0);
    let mut kept: Vec<u8> = (-places..=first.max(0)).rev().map(at).collect();
    let next = at(-places - 1);
    let beyond = digits.iter().enumerate().any(|(i, d)| *d != 0 && i32::try_from(i).is_ok_and(|i| first - i < -places - 1));
    let odd = kept.last().is_some_and(|d| d % 2 == 1);
    if next > 5 || (next == 5 && (beyond || odd)) {
        // Add one in the last place, carrying.
        let mut carry = true;
        for d in kept.iter_mut().rev() {
            if *d == 9 {
                *d = 0;
            } else {
                *d += 1;
                carry = false;
                break;
            }
        }
        if carry {
            kept.insert(0, 1);
        }
    }
    let split = kept.len().saturating_sub(decimals);
    let text = |ds: &[u8]| ds.iter().map(|d| char::from(b'0' + d)).collect::<String>();
    let whole = text(kept.get(..split).unwrap_or(&[]));
    let whole = whole.trim_start_matches('0');
    (if whole.is_empty() { "0".to_owned() } else { whole.to_owned() }, text(kept.get(split..).unwrap_or(&[])))
}

/// The sign of an amount shown as `whole.fraction`: none for zero.
fn sign(value: f64, whole: &str, fraction: &str) -> &'static str {
    let nonzero = whole.bytes().chain(fraction.bytes()).any(|b| b != b'0');
    if value < 0.0 && nonzero {
        "-"
    } else {
        ""
    }
}

/// `-€1,234.50`: the amount to the currency's minor unit, grouped by
/// thousands.
fn long(value: f64, currency: &str) -> String {
    let digits = DIGITS.iter().find(|(c, _)| *c == currency).map_or(2, |(_, d)| *d);
    let (whole, fraction) = fixed(value, digits, 0);
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let point = if fraction.is_empty() { "" } else { "." };
    format!("{}{}{grouped}{point}{fraction}", sign(value, &whole, &fraction), symbol(currency))
}

/// `€20.5`, `$1.2K`, `$96.3M`: one decimal, thousands abbreviated.
fn short(value: f64, currency: &str) -> String {
    let units = ["", "K", "M", "B", "T"];
    let mut shown = fixed(value, 1, 0);
    let mut unit = "";
    for (thousands, next) in (1..).zip(units.iter().skip(1)) {
        // Rounded as shown, so 999.96 reads 1.0K, not 1000.0.
        if shown.0.len() < 4 {
            break;
        }
        shown = fixed(value, 1, thousands);
        unit = next;
    }
    let (whole, fraction) = shown;
    format!("{}{}{whole}.{fraction}{unit}", sign(value, &whole, &fraction), symbol(currency))
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

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn money_rounds_ties_to_even_on_the_decimal_amount() {
        // Plausible's own test: USD 40.3 and 60.6 average $50.45, shown
        // short as $50.4, where the double 50.45 is just above the tie.
        assert_eq!(money(50.45, "USD"), json!({"short": "$50.4", "long": "$50.45", "value": 50.45, "currency": "USD"}));
        assert_eq!((short(0.25, "USD"), short(0.35, "USD"), short(0.351, "USD")), ("$0.2".into(), "$0.4".into(), "$0.4".into()));
        // Past the tie by a digit further on: up, even from an even digit.
        assert_eq!((short(0.251, "USD"), short(0.2501, "USD")), ("$0.3".into(), "$0.3".into()));
        assert_eq!((long(0.125, "USD"), long(0.135, "USD"), long(-0.125, "USD")), ("$0.12".into(), "$0.14".into(), "-$0.12".into()));
        assert_eq!((long(2.5, "JPY"), long(3.5, "JPY"), long(1.0005, "KWD")), ("¥2".into(), "¥4".into(), "KWD\u{a0}1.000".into()));
        assert_eq!((short(1250.0, "EUR"), short(1350.0, "EUR"), short(999.95, "EUR")), ("€1.2K".into(), "€1.4K".into(), "€1.0K".into()));
        assert_eq!((short(9.96, "EUR"), long(999.999, "EUR"), short(0.04, "EUR")), ("€10.0".into(), "€1,000.00".into(), "€0.0".into()));
        assert_eq!((short(f64::NAN, "EUR"), long(f64::INFINITY, "EUR")), ("€0.0".into(), "€0.00".into()));
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn the_average_is_cut_to_thousandths_as_clickhouse_cuts_a_decimal() {
        // Plausible's own test: 100.3, 40.3 and 60.6 average 67.066.
        assert_eq!(average(201.2, 3.0), 67.066);
        assert_eq!((average(0.3, 1.0), average(1.0, 3.0), average(2.0, 3.0)), (0.3, 0.333, 0.666));
        assert_eq!((average(-2.0, 3.0), average(5.0, 0.0), average(f64::NAN, 2.0)), (-0.666, 0.0, 0.0));
        // Weighted by sample intervals: 4 events of 2.5 sampled 1 in 2.
        assert_eq!(average(20.0, 8.0), 2.5);
    }
}
