//! Date ranges resolved in the site's time zone, as Plausible resolves
//! them, and the time buckets and labels of a period.

use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp};

use crate::query::DateRange;
use crate::sql::Unit;
use crate::StatsError;

/// How far back `all` reaches: Analytics Engine keeps about three months.
pub const RETENTION_DAYS: i64 = 92;

/// A resolved period: `[from_s, to_s)` in Unix seconds, with the local
/// dates it covers (inclusive) when it is made of whole days.
#[derive(Clone, Debug, PartialEq)]
pub struct Period {
    /// First second.
    pub from_s: u64,
    /// One past the last second.
    pub to_s: u64,
    /// First local date.
    pub first: Date,
    /// Last local date (inclusive).
    pub last: Date,
    /// Whole local days (a named or date range) rather than instants.
    pub whole_days: bool,
}

/// A site's time zone; unknown names fall back to UTC (sites are validated
/// when saved, so this is only a guard).
pub fn zone(name: &str) -> TimeZone {
    crate::zone::get(name).unwrap_or(TimeZone::UTC)
}

fn bad(msg: impl std::fmt::Display) -> StatsError {
    StatsError::Invalid(format!("#/date_range: {msg}"))
}

/// A date in ISO 8601's extended form (`2024-01-31`), or why not, in the
/// words of Elixir's `Date.from_iso8601`, which Plausible's v1 errors quote:
/// `invalid_format` for another shape, `invalid_date` for a day the
/// calendar lacks (`2024-02-30`).
pub fn iso_date(s: &str) -> Result<Date, &'static str> {
    let b = s.as_bytes();
    let shaped = b.len() == 10 && b.iter().enumerate().all(|(i, c)| if i == 4 || i == 7 { *c == b'-' } else { c.is_ascii_digit() });
    if !shaped {
        return Err("invalid_format");
    }
    s.parse().map_err(|_| "invalid_date")
}

/// A period's bound from signed Unix seconds. Times before 1970 are out of
/// range: no event has one, and a period clamped to the epoch would echo
/// and label 1970.
fn bound(s: i64) -> Result<u64, StatsError> {
    u64::try_from(s).map_err(|_| bad("date out of range"))
}

fn secs(ts: Timestamp) -> Result<u64, StatsError> {
    bound(ts.as_second())
}

/// Start of `date` in `tz`, Unix seconds.
fn day_start(date: Date, tz: &TimeZone) -> Result<u64, StatsError> {
    zoned_start(date, tz).ok_or_else(|| bad("date out of range")).and_then(bound)
}

/// Start of `date` in `tz`, Unix seconds, before 1970 too: a bucket may
/// start before its period (a week that began in 1969).
fn zoned_start(date: Date, tz: &TimeZone) -> Option<i64> {
    date.to_zoned_datetime(tz.clone()).ok().map(|z| z.timestamp().as_second())
}

// `try_days`, not `days()`: the latter panics on a span out of bounds.
fn add_days(date: Date, days: i64) -> Result<Date, StatsError> {
    Span::new().try_days(days).and_then(|s| date.checked_add(s)).map_err(|_| bad("date out of range"))
}

fn add_months(date: Date, months: i64) -> Result<Date, StatsError> {
    Span::new().try_months(months).and_then(|s| date.checked_add(s)).map_err(|_| bad("date out of range"))
}

/// The period of whole local days `first..=last`.
pub fn days(first: Date, last: Date, tz: &TimeZone) -> Result<Period, StatsError> {
    let from_s = day_start(first, tz)?;
    let to_s = day_start(add_days(last, 1)?, tz)?;
    Ok(Period { from_s, to_s, first, last, whole_days: true })
}

/// A relative range of whole days or months (`7d`, `3mo`): Plausible's
/// `{:last_n_days, n}` for 1 to 5,000 days and `{:last_n_months, n}` for 1
/// to 100 months, the sign and leading zeros as Elixir's `Integer.parse`
/// reads them.
fn last_n(name: &str) -> Option<(u32, bool)> {
    let digits = name.strip_prefix('+').unwrap_or(name);
    let (n, months) = match digits.strip_suffix("mo") {
        Some(n) => (n, true),
        None => (digits.strip_suffix('d')?, false),
    };
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = n.trim_start_matches('0').parse().unwrap_or(0);
    let max = if months { 100 } else { 5_000 };
    (1..=max).contains(&n).then_some((n, months))
}

/// Whether `name` is a range named in words: `day`, `24h`, `month`,
/// `year`, `all`, or a number of days or months (`7d`, `28d`, `6mo`…).
pub fn is_named(name: &str) -> bool {
    matches!(name, "day" | "24h" | "month" | "year" | "all") || last_n(name).is_some()
}

/// The local dates a named range of whole days covers when it is `today`
/// there (v1's `date` parameter moves "today"), as Plausible's current
/// `QueryPeriod` builds them: `Nd` is the n days before today, `Nmo` the n
/// whole months before this one (today and this month left out, since
/// Plausible 3.0), `month` and `year` the calendar ones around today.
pub fn named_dates(name: &str, today: Date) -> Result<(Date, Date), StatsError> {
    Ok(match name {
        "day" => (today, today),
        "month" => (today.first_of_month(), today.last_of_month()),
        "year" => (today.first_of_year(), today.last_of_year()),
        "all" => (add_days(today, -RETENTION_DAYS)?, today),
        other => match last_n(other) {
            Some((n, false)) => (add_days(today, -i64::from(n))?, add_days(today, -1)?),
            Some((n, true)) => (add_months(today.first_of_month(), -i64::from(n))?, add_days(today.first_of_month(), -1)?),
            None => return Err(bad(format_args!("Invalid date range {other:?}"))),
        },
    })
}

/// `all` as Plausible bounds it, from the local day of the site's first
/// data (`first_s`, the earliest row within retention) to today; today
/// alone when there is none.
pub fn all_since(all: &Period, first_s: Option<u64>, tz: &TimeZone) -> Result<Period, StatsError> {
    let first = first_s
        .filter(|s| (all.from_s..all.to_s).contains(s))
        .and_then(|s| Timestamp::from_second(i64::try_from(s).ok()?).ok())
        .map_or(all.last, |t| t.to_zoned_datetime(tz.clone()).date());
    days(first.max(all.first), all.last, tz)
}

/// `now_ms` as an instant.
fn instant(now_ms: u64) -> Result<Timestamp, StatsError> {
    Timestamp::from_millisecond(i64::try_from(now_ms).unwrap_or(0)).map_err(|_| bad("clock out of range"))
}

/// The local date in `tz` at `now_ms`.
pub fn local_today(tz: &TimeZone, now_ms: u64) -> Result<Date, StatsError> {
    instant(now_ms).map(|t| t.to_zoned_datetime(tz.clone()).date())
}

/// `include.trim_relative_date_range`: a `month` or `year` that holds today
/// ends with today, as Plausible's query optimizer trims it (so no empty
/// days after today are labelled). `day` needs no trim: it ends now
/// ([`resolve`]). Every other range, and a period that does not hold
/// today, is left as it is.
pub fn trim_to_today(p: Period, name: &str, tz: &TimeZone, now_ms: u64) -> Result<Period, StatsError> {
    let today = local_today(tz, now_ms)?;
    if !(p.first..=p.last).contains(&today) || !matches!(name, "month" | "year") {
        return Ok(p);
    }
    let to_s = day_start(add_days(today, 1)?, tz)?;
    Ok(Period { to_s: to_s.min(p.to_s), last: today, ..p })
}

/// Resolves `range` for a site in `tz` at `now_ms`.
pub fn resolve(range: &DateRange, tz: &TimeZone, now_ms: u64) -> Result<Period, StatsError> {
    let now = instant(now_ms)?;
    let today = now.to_zoned_datetime(tz.clone()).date();
    match range {
        DateRange::Named(name) => match name.as_str() {
            // Today runs to now, the current second included, trimmed or
            // not (Plausible's `build_day_range` since #6205): its echo
            // ends now and its hours are labelled up to the current one.
            "day" => {
                let p = days(today, today, tz)?;
                Ok(Period { to_s: secs(now)?.saturating_add(1).min(p.to_s), ..p })
            }
            // Ranges of instants keep their end's second, as Plausible's
            // `timestamp <= last` does: the period ends a second after it.
            "24h" => {
                let now_s = secs(now)?;
                let (from_s, to_s) = (now_s.saturating_sub(86_400), now_s.saturating_add(1));
                let first = Timestamp::from_second(from_s as i64).map(|t| t.to_zoned_datetime(tz.clone()).date()).unwrap_or(today);
                Ok(Period { from_s, to_s, first, last: today, whole_days: false })
            }
            name => {
                let (first, last) = named_dates(name, today)?;
                days(first, last, tz)
            }
        },
        DateRange::Dates(a, b) => {
            let first: Date = a.parse().map_err(|_| bad(format_args!("Invalid date {a:?}")))?;
            let last: Date = b.parse().map_err(|_| bad(format_args!("Invalid date {b:?}")))?;
            if first > last {
                return Err(bad("Start date must not be after end date"));
            }
            days(first, last, tz)
        }
        DateRange::DateTimes(a, b) => {
            let from: Timestamp = a.parse().map_err(|_| bad(format_args!("Invalid date-time {a:?}")))?;
            let to: Timestamp = b.parse().map_err(|_| bad(format_args!("Invalid date-time {b:?}")))?;
            // Both ends are in the range, to the second (Plausible truncates
            // them): one instant twice is that one second.
            if from.as_second() > to.as_second() {
                return Err(bad("Start must not be after end"));
            }
            Ok(Period {
                from_s: secs(from)?,
                to_s: secs(to)?.saturating_add(1),
                first: from.to_zoned_datetime(tz.clone()).date(),
                last: to.to_zoned_datetime(tz.clone()).date(),
                whole_days: false,
            })
        }
    }
}

/// How a comparison period is chosen (`include.comparisons`).
#[derive(Clone, Debug, PartialEq)]
pub enum Comparison {
    /// The days just before, as many as the period has up to today.
    PreviousPeriod {
        /// Start on the weekday the period starts on.
        match_day_of_week: bool,
    },
    /// The same days 365 days earlier, up to today's.
    YearOverYear {
        /// Start on the weekday the period starts on.
        match_day_of_week: bool,
    },
    /// An explicit range.
    Custom(DateRange),
}

/// The period `period` is compared with, as Plausible's `Comparisons`
/// picks it: a period of whole days that runs past today is compared up to
/// today only (this month so far against the same number of days before),
/// a year back starts on the same date a year before and runs as many days,
/// and `match_day_of_week` moves the start to the period's weekday.
/// Periods of instants (`24h`, date-times) shift as such. `today` says the
/// period is the named `day` on today: it is compared with the same stretch
/// of the compared day, from its start for as long as today has run so far
/// (Plausible's "Always compare against the same time range in comparisons
/// with Today").
pub fn compare(period: &Period, how: &Comparison, tz: &TimeZone, now_ms: u64, today: bool) -> Result<Period, StatsError> {
    // The helpers name `#/date_range`; here the comparison is at fault.
    let at = match how {
        Comparison::Custom(_) => "#/include/comparisons/date_range",
        _ => "#/include/comparisons",
    };
    let whole = compared(period, how, tz, now_ms);
    let cut = |w: Period| if today && !matches!(how, Comparison::Custom(_)) { so_far(period, w, tz, now_ms) } else { Ok(w) };
    whole.and_then(cut).map_err(|e| match e {
        StatsError::Invalid(text) => StatsError::Invalid(text.replacen("#/date_range", at, 1)),
        other => other,
    })
}

fn compared(period: &Period, how: &Comparison, tz: &TimeZone, now_ms: u64) -> Result<Period, StatsError> {
    let today = local_today(tz, now_ms)?;
    // Up to today when today falls inside the period.
    let last = if period.first <= today && today < period.last { today } else { period.last };
    // Days from the first to `last`: the comparison is as long.
    let span = period.first.until(last).map(|s| i64::from(s.get_days())).unwrap_or(0);
    let (first, last, match_dow) = match *how {
        Comparison::Custom(ref range) => return resolve(range, tz, now_ms),
        Comparison::YearOverYear { .. } if !period.whole_days => return shifted(period, 365 * 86_400, tz),
        Comparison::PreviousPeriod { .. } if !period.whole_days => {
            return shifted(period, period.to_s.saturating_sub(period.from_s), tz);
        }
        // The same date a year before (Feb 29 on Feb 28), not 365 days:
        // Plausible fixed that in v3.0.0, as leap years put it a day off.
        Comparison::YearOverYear { match_day_of_week } => {
            let first = add_months(period.first, -12)?;
            (first, add_days(first, span)?, match_day_of_week)
        }
        Comparison::PreviousPeriod { match_day_of_week } => {
            let n = span + 1;
            (add_days(period.first, -n)?, add_days(last, -n)?, match_day_of_week)
        }
    };
    if !match_dow {
        return days(first, last, tz);
    }
    let moved = same_weekday(first, period.first)?;
    let by = first.until(moved).map(|s| i64::from(s.get_days())).unwrap_or(0);
    days(moved, add_days(last, by)?, tz)
}

/// `compared`, the day `today` is compared with, cut to as long as `today`
/// has run (to the current second, which Plausible counts too); `compared`
/// whole if `today` is not today.
fn so_far(today: &Period, compared: Period, tz: &TimeZone, now_ms: u64) -> Result<Period, StatsError> {
    if today.first != local_today(tz, now_ms)? {
        return Ok(compared);
    }
    let elapsed = (now_ms / 1000).saturating_add(1).saturating_sub(today.from_s);
    let to_s = compared.from_s.saturating_add(elapsed).min(compared.to_s);
    shifted(&Period { to_s, ..compared }, 0, tz)
}

/// The date on `source`'s weekday nearest after `date` (before it when
/// that is `source` itself), or `date` when it is on that weekday already:
/// Plausible's `shift_to_nearest`.
fn same_weekday(date: Date, source: Date) -> Result<Date, StatsError> {
    let want = i64::from(source.weekday().to_monday_one_offset());
    let have = i64::from(date.weekday().to_monday_one_offset());
    if want == have {
        return Ok(date);
    }
    let next = add_days(date, (want - have).rem_euclid(7))?;
    if next != source {
        return Ok(next);
    }
    add_days(date, -(have - want).rem_euclid(7))
}

fn shifted(period: &Period, by_s: u64, tz: &TimeZone) -> Result<Period, StatsError> {
    let from_s = period.from_s.checked_sub(by_s).ok_or_else(|| bad("date out of range"))?;
    let to_s = period.to_s.saturating_sub(by_s);
    let date =
        |s: u64| Timestamp::from_second(s as i64).map(|t| t.to_zoned_datetime(tz.clone()).date()).map_err(|_| bad("date out of range"));
    Ok(Period { from_s, to_s, first: date(from_s)?, last: date(to_s.saturating_sub(1))?, whole_days: false })
}

/// The bucket unit `time` stands for over `period`, as Plausible's query
/// optimizer picks it: whole hours, days and weeks between the period's
/// first and last second, at most 48, 40 and 52 of them.
pub fn auto_unit(period: &Period) -> Unit {
    let span = period.to_s.saturating_sub(period.from_s).saturating_sub(1);
    if span / 3_600 <= 48 {
        Unit::Hour
    } else if span / 86_400 <= 40 {
        Unit::Day
    } else if span / (7 * 86_400) <= 52 {
        Unit::Week
    } else {
        Unit::Month
    }
}

/// The unit v1's timeseries picks for a range it has no name for
/// (Plausible's `Interval.default_for_date_range`, used for `all`):
/// months once it spans a month, days once it spans a day, else hours.
pub fn v1_unit(period: &Period) -> Unit {
    let last = period.last;
    if period.first.checked_add(jiff::Span::new().months(1)).is_ok_and(|d| d <= last) {
        Unit::Month
    } else if period.first < last {
        Unit::Day
    } else {
        Unit::Hour
    }
}

/// The label of a bucket as AE formats it: `2024-01-31 10:00:00` for
/// hours, the bucket's first date otherwise, a week's never before the
/// period's first date (Plausible's `weekstart_not_before`; a month is its
/// first day, as Plausible's `toStartOfMonth`).
pub fn label(bucket: &str, unit: Unit, period: &Period) -> String {
    let first = period.first.to_string();
    match unit {
        Unit::Hour | Unit::Month => bucket.to_owned(),
        _ if bucket < first.as_str() => first,
        _ => bucket.to_owned(),
    }
}

/// The date of a day bucket as AE gives it (`sql::Expr::Bucket`: the Unix
/// second of the day's start in `tz`); anything else stays as it is.
///
/// An engine whose day rounding gives a date rather than a date-time turns
/// it into UTC midnight of that date. A multiple of 86,400 therefore reads
/// as its UTC date: a day that starts then in `tz` has that date too (its
/// offset is 0, or it starts after midnight), so either reading is right.
pub fn day_label(start: &str, tz: &TimeZone) -> String {
    // AE may send an integer as a string or as a float.
    let second = start.parse::<i64>().ok().or_else(|| start.parse::<f64>().ok().filter(|f| f.fract() == 0.0).map(|f| f as i64));
    let Some((s, ts)) = second.and_then(|s| Some((s, Timestamp::from_second(s).ok()?))) else { return start.to_owned() };
    let zone = if s.rem_euclid(86_400) == 0 { TimeZone::UTC } else { tz.clone() };
    ts.to_zoned_datetime(zone).date().to_string()
}

/// The label of the day, week or month bucket starting at `start_s`
/// (Unix seconds); [`labels`] lists hours itself.
fn label_at(start_s: i64, unit: Unit, period: &Period, tz: &TimeZone) -> String {
    let Ok(ts) = Timestamp::from_second(start_s) else { return String::new() };
    label(&ts.to_zoned_datetime(tz.clone()).date().to_string(), unit, period)
}

/// Every bucket label of `period`, in order (for `include.time_labels`).
pub fn labels(period: &Period, unit: Unit, tz: &TimeZone) -> Vec<String> {
    let mut out = Vec::new();
    // Buckets compare in signed seconds: the first may begin before 1970.
    let end = i64::try_from(period.to_s).unwrap_or(i64::MAX);
    let Ok(start) = Timestamp::from_second(period.from_s as i64) else { return out };
    let mut cursor = start.to_zoned_datetime(tz.clone());
    if unit == Unit::Hour {
        // Wall-clock hours, as Plausible lists them: the night clocks go
        // back has one 01:00 (its two hours share that bucket), the night
        // they skip still has its 02:00.
        let Ok(mut hour) = cursor.datetime().with().minute(0).second(0).subsec_nanosecond(0).build() else { return out };
        let Ok(step) = Span::new().try_hours(1) else { return out };
        while out.len() < 10_000 {
            match hour.to_zoned_datetime(tz.clone()) {
                Ok(z) if z.timestamp().as_second() < end => out.push(hour.strftime("%Y-%m-%d %H:00:00").to_string()),
                _ => break,
            }
            let Ok(next) = hour.checked_add(step) else { break };
            hour = next;
        }
        return out;
    }
    // Align to the bucket's start (hours were listed above).
    let aligned = match unit {
        Unit::Hour | Unit::Day => cursor.start_of_day().ok().map(|d| d.timestamp().as_second()),
        Unit::Week => {
            let back = i64::from(cursor.date().weekday().to_monday_zero_offset());
            add_days(cursor.date(), -back).ok().and_then(|d| zoned_start(d, tz))
        }
        Unit::Month => zoned_start(cursor.date().first_of_month(), tz),
    };
    let Some(mut at) = aligned else { return out };
    while at < end && out.len() < 10_000 {
        out.push(label_at(at, unit, period, tz));
        let Ok(ts) = Timestamp::from_second(at) else { break };
        cursor = ts.to_zoned_datetime(tz.clone());
        let d = cursor.date();
        let next = match unit {
            Unit::Hour | Unit::Day => add_days(d, 1),
            Unit::Week => add_days(d, 7),
            Unit::Month => add_months(d, 1),
        }
        .ok()
        .and_then(|d| zoned_start(d, tz));
        match next {
            Some(n) if n > at => at = n,
            _ => break,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(s: &str) -> u64 {
        s.parse::<Timestamp>().unwrap().as_millisecond() as u64
    }

    fn utc(s: u64) -> String {
        Timestamp::from_second(s as i64).unwrap().to_string()
    }

    /// The whole local days from `first` to `last` in `tz`.
    fn span(first: &str, last: &str, tz: &TimeZone) -> Period {
        days(first.parse().unwrap(), last.parse().unwrap(), tz).unwrap()
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn trimming_ends_this_month_or_year_with_today_and_today_now() {
        // Plausible's optimizer tests: Jan 15 at noon, this month ends Jan 15.
        let utc_zone = zone("UTC");
        let now = ms("2024-01-15T12:00:00Z");
        let named = |name: &str, tz: &TimeZone| {
            let p = resolve(&DateRange::Named(name.into()), tz, now).unwrap();
            trim_to_today(p, name, tz, now).unwrap()
        };
        let month = named("month", &utc_zone);
        assert_eq!(
            (utc(month.from_s), utc(month.to_s), month.last.to_string()),
            ("2024-01-01T00:00:00Z".into(), "2024-01-16T00:00:00Z".into(), "2024-01-15".into())
        );
        let year = named("year", &utc_zone);
        assert_eq!((utc(year.from_s), utc(year.to_s)), ("2024-01-01T00:00:00Z".into(), "2024-01-16T00:00:00Z".into()));
        assert!(year.whole_days);
        // Today's end in the site's zone.
        let ny = zone("America/New_York");
        assert_eq!(utc(named("year", &ny).to_s), "2024-01-16T05:00:00Z");
        // Today ends now, the current second included: its hours are
        // labelled up to the current one.
        let day = named("day", &ny);
        let dates = (day.first.to_string(), day.last.to_string());
        assert_eq!((utc(day.from_s), utc(day.to_s)), ("2024-01-15T05:00:00Z".into(), "2024-01-15T12:00:01Z".into()));
        assert_eq!(dates, ("2024-01-15".into(), "2024-01-15".into()));
        assert!(day.whole_days);
        let hours = labels(&day, Unit::Hour, &ny);
        assert_eq!((hours.first().unwrap().as_str(), hours.last().unwrap().as_str()), ("2024-01-15 00:00:00", "2024-01-15 07:00:00"));
        // Not trimmed: other names, and a month or year that is not this one.
        for name in ["7d", "28d", "12mo"] {
            assert_eq!(named(name, &utc_zone), resolve(&DateRange::Named(name.into()), &utc_zone, now).unwrap(), "{name}");
        }
        let june = span("2023-06-01", "2023-06-30", &utc_zone);
        assert_eq!(trim_to_today(june.clone(), "month", &utc_zone, now).unwrap(), june);
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn named_ranges_follow_plausible() {
        let berlin = zone("Europe/Berlin");
        // 23:30 UTC on Jan 31 is already Feb 1 in Berlin.
        let now = ms("2024-01-31T23:30:00Z");
        // Today, to now's second included.
        let p = resolve(&DateRange::Named("day".into()), &berlin, now).unwrap();
        assert_eq!((utc(p.from_s), utc(p.to_s)), ("2024-01-31T23:00:00Z".into(), "2024-01-31T23:30:01Z".into()));
        let p = resolve(&DateRange::Named("7d".into()), &berlin, now).unwrap();
        // The 7 days before today there, today left out.
        assert_eq!((p.first.to_string(), p.last.to_string()), ("2024-01-25".into(), "2024-01-31".into()));
        let p = resolve(&DateRange::Named("month".into()), &berlin, now).unwrap();
        assert_eq!((p.first.to_string(), p.last.to_string()), ("2024-02-01".into(), "2024-02-29".into()));
        let p = resolve(&DateRange::Named("6mo".into()), &zone("UTC"), now).unwrap();
        // The 6 whole months before this one (January 2024 in UTC).
        assert_eq!((p.first.to_string(), p.last.to_string()), ("2023-07-01".into(), "2023-12-31".into()));
        let p = resolve(&DateRange::Named("year".into()), &zone("UTC"), now).unwrap();
        assert_eq!((p.first.to_string(), p.last.to_string()), ("2024-01-01".into(), "2024-12-31".into()));
        let p = resolve(&DateRange::Named("24h".into()), &zone("UTC"), now).unwrap();
        // The last 24 hours up to now's second included.
        assert_eq!((p.from_s, p.to_s), (now / 1000 - 86_400, now / 1000 + 1));
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn every_named_range_covers_plausibles_dates() {
        let today: Date = "2024-03-10".parse().unwrap();
        for (name, first, last) in [
            ("day", "2024-03-10", "2024-03-10"),
            // The n days before today, today left out.
            ("7d", "2024-03-03", "2024-03-09"),
            ("28d", "2024-02-11", "2024-03-09"),
            ("30d", "2024-02-09", "2024-03-09"),
            ("91d", "2023-12-10", "2024-03-09"),
            ("1d", "2024-03-09", "2024-03-09"),
            ("14d", "2024-02-25", "2024-03-09"),
            ("+07d", "2024-03-03", "2024-03-09"),
            ("5000d", "2010-07-02", "2024-03-09"),
            ("month", "2024-03-01", "2024-03-31"),
            // The n whole months before this one, this month left out.
            ("6mo", "2023-09-01", "2024-02-29"),
            ("12mo", "2023-03-01", "2024-02-29"),
            ("1mo", "2024-02-01", "2024-02-29"),
            ("3mo", "2023-12-01", "2024-02-29"),
            ("100mo", "2015-11-01", "2024-02-29"),
            ("year", "2024-01-01", "2024-12-31"),
        ] {
            assert!(is_named(name), "{name}");
            let (f, l) = named_dates(name, today).unwrap();
            assert_eq!((f.to_string(), l.to_string()), (first.to_owned(), last.to_owned()), "{name}");
        }
        // QueryPeriod's own examples: 7 days on 2026-05-08, 3 months on 2026-05-15.
        let (f, l) = named_dates("7d", "2026-05-08".parse().unwrap()).unwrap();
        assert_eq!((f.to_string(), l.to_string()), ("2026-05-01".into(), "2026-05-07".into()));
        let (f, l) = named_dates("3mo", "2026-05-15".parse().unwrap()).unwrap();
        assert_eq!((f.to_string(), l.to_string()), ("2026-02-01".into(), "2026-04-30".into()));
        for bad in [
            "0d",
            "5001d",
            "0mo",
            "101mo",
            "d",
            "mo",
            "-7d",
            "++7d",
            "+-7d",
            "7",
            "7 d",
            " 7d",
            "7dd",
            "7m",
            "1.5d",
            "week",
            "99999999999999999999d",
        ] {
            assert!(!is_named(bad) && named_dates(bad, today).is_err(), "{bad}");
        }
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn periods_of_instants_are_compared_as_instants() {
        let tz = zone("Europe/Berlin");
        let now = ms("2024-03-10T12:30:00Z");
        for range in
            [DateRange::Named("24h".into()), DateRange::DateTimes("2024-03-09T10:15:00+01:00".into(), "2024-03-10T08:45:00Z".into())]
        {
            let p = resolve(&range, &tz, now).unwrap();
            let length = p.to_s - p.from_s;
            let prev = compare(&p, &Comparison::PreviousPeriod { match_day_of_week: false }, &tz, now, false).unwrap();
            assert_eq!((prev.from_s, prev.to_s, prev.whole_days), (p.from_s - length, p.from_s, false), "{range:?}");
            let yoy = compare(&p, &Comparison::YearOverYear { match_day_of_week: true }, &tz, now, false).unwrap();
            assert_eq!((yoy.from_s, yoy.to_s, yoy.whole_days), (p.from_s - 365 * 86_400, p.to_s - 365 * 86_400, false), "{range:?}");
            assert_eq!(add_days(yoy.first, 365).unwrap(), p.first, "{range:?}");
        }
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn periods_before_1970_are_out_of_range_not_clamped_to_it() {
        let now = ms("2024-03-10T12:30:00Z");
        let utc_zone = zone("UTC");
        let err = |range: DateRange, tz: &TimeZone| resolve(&range, tz, now).map(|p| (utc(p.from_s), utc(p.to_s)));
        let out = Err(StatsError::Invalid("#/date_range: date out of range".into()));
        let dates = |a: &str, b: &str| DateRange::Dates(a.into(), b.into());
        assert_eq!(err(dates("1960-01-01", "1960-01-02"), &utc_zone), out);
        assert_eq!(err(dates("1969-12-31", "1970-01-02"), &utc_zone), out);
        assert_eq!(err(DateRange::DateTimes("1969-12-31T23:59:59Z".into(), "1970-01-01T00:00:01Z".into()), &utc_zone), out);
        // The epoch's own day in UTC is a period; in Tokyo it starts at
        // 15:00 UTC the day before.
        assert_eq!(err(dates("1970-01-01", "1970-01-01"), &utc_zone), Ok(("1970-01-01T00:00:00Z".into(), "1970-01-02T00:00:00Z".into())));
        assert_eq!(err(dates("1970-01-01", "1970-01-01"), &zone("Asia/Tokyo")), out);
        // So is a comparison that would start before it; the error names
        // the comparison, not the period asked.
        let p = span("1970-01-02", "1970-01-03", &utc_zone);
        let compared_out = |at: &str| Some(StatsError::Invalid(format!("{at}: date out of range")));
        for how in [Comparison::PreviousPeriod { match_day_of_week: false }, Comparison::YearOverYear { match_day_of_week: false }] {
            assert_eq!(compare(&p, &how, &utc_zone, now, false).err(), compared_out("#/include/comparisons"), "{how:?}");
        }
        let custom = Comparison::Custom(dates("1960-01-01", "1960-01-02"));
        assert_eq!(compare(&p, &custom, &utc_zone, now, false).err(), compared_out("#/include/comparisons/date_range"));
        // Seconds 10 to 19, and the ten before them; one more would be 1969.
        let p = resolve(&DateRange::DateTimes("1970-01-01T00:00:10Z".into(), "1970-01-01T00:00:19Z".into()), &utc_zone, now).unwrap();
        let prev = compare(&p, &Comparison::PreviousPeriod { match_day_of_week: false }, &utc_zone, now, false).unwrap();
        assert_eq!((prev.from_s, prev.to_s), (0, 10));
        let p = resolve(&DateRange::DateTimes("1970-01-01T00:00:10Z".into(), "1970-01-01T00:00:20Z".into()), &utc_zone, now).unwrap();
        assert!(compare(&p, &Comparison::PreviousPeriod { match_day_of_week: false }, &utc_zone, now, false).is_err());
        assert!(compare(&p, &Comparison::YearOverYear { match_day_of_week: false }, &utc_zone, now, false).is_err());
        // A period just after 1970 still has its buckets that began before.
        let p = span("1970-01-02", "1970-01-13", &utc_zone);
        assert_eq!(labels(&p, Unit::Week, &utc_zone), ["1970-01-02", "1970-01-05", "1970-01-12"]);
        let berlin = zone("Europe/Berlin");
        assert_eq!(labels(&span("1970-01-02", "1970-02-01", &berlin), Unit::Month, &berlin), ["1970-01-01", "1970-02-01"]);
        // And its first hour, where the zone's hours begin on the half hour.
        let kolkata = zone("Asia/Kolkata");
        let p = resolve(&DateRange::DateTimes("1970-01-01T00:00:00Z".into(), "1970-01-01T02:00:00Z".into()), &kolkata, now).unwrap();
        assert_eq!(labels(&p, Unit::Hour, &kolkata), ["1970-01-01 05:00:00", "1970-01-01 06:00:00", "1970-01-01 07:00:00"]);
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn dst_days_are_23_and_25_hours() {
        let berlin = zone("Europe/Berlin");
        let spring = span("2024-03-31", "2024-03-31", &berlin);
        assert_eq!(spring.to_s - spring.from_s, 23 * 3600);
        let autumn = span("2024-10-27", "2024-10-27", &berlin);
        assert_eq!(autumn.to_s - autumn.from_s, 25 * 3600);
        // Labels are wall-clock hours, each once: the repeated 02:00 is one
        // bucket, and the skipped 02:00 is still listed (Plausible's list).
        for (day, n) in [(&spring, 24), (&autumn, 24)] {
            let hours = labels(day, Unit::Hour, &berlin);
            let unique: std::collections::BTreeSet<&String> = hours.iter().collect();
            assert_eq!((hours.len(), unique.len()), (n, n), "{hours:?}");
            assert!(hours.windows(2).all(|w| w[0] < w[1]), "{hours:?}");
            assert!(hours.iter().any(|h| h.ends_with(" 02:00:00")), "{hours:?}");
        }
        // A range cut mid-hour starts at that hour's label; 00:30Z-02:30Z
        // is 02:30 summer time to 03:30 winter time, via a second 02:00.
        let p = resolve(&DateRange::DateTimes("2024-10-27T00:30:00Z".into(), "2024-10-27T02:30:00Z".into()), &berlin, 0).unwrap();
        assert_eq!(labels(&p, Unit::Hour, &berlin), vec!["2024-10-27 02:00:00", "2024-10-27 03:00:00"]);
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn custom_ranges_and_comparisons() {
        let tz = zone("UTC");
        let p = resolve(&DateRange::Dates("2024-03-01".into(), "2024-03-10".into()), &tz, 0).unwrap();
        let prev = compare(&p, &Comparison::PreviousPeriod { match_day_of_week: false }, &tz, 0, false).unwrap();
        assert_eq!((prev.first.to_string(), prev.last.to_string()), ("2024-02-20".into(), "2024-02-29".into()));
        // A year back is the same dates, not 365 days (2024 is a leap year),
        // as Plausible has it since v3.0.0.
        let yoy = compare(&p, &Comparison::YearOverYear { match_day_of_week: false }, &tz, 0, false).unwrap();
        assert_eq!((yoy.first.to_string(), yoy.last.to_string()), ("2023-03-01".into(), "2023-03-10".into()));
        // Plausible's own cases: across a leap day the period keeps its length
        // and starts on the same date; Feb 29 a year back is Feb 28.
        let yoy_of = |a: &str, b: &str| {
            let p = resolve(&DateRange::Dates(a.into(), b.into()), &tz, 0).unwrap();
            let c = compare(&p, &Comparison::YearOverYear { match_day_of_week: false }, &tz, 0, false).unwrap();
            (c.first.to_string(), c.last.to_string())
        };
        assert_eq!(yoy_of("2021-02-25", "2021-03-03"), ("2020-02-25".into(), "2020-03-02".into()));
        assert_eq!(yoy_of("2020-12-29", "2021-01-04"), ("2019-12-29".into(), "2020-01-04".into()));
        assert_eq!(yoy_of("2020-02-01", "2020-02-29"), ("2019-02-01".into(), "2019-03-01".into()));
        assert_eq!(yoy_of("2024-02-29", "2024-03-01"), ("2023-02-28".into(), "2023-03-01".into()));
        let p = resolve(&DateRange::DateTimes("2024-01-01T10:00:00+02:00".into(), "2024-01-01T12:00:00Z".into()), &tz, 0).unwrap();
        // Its end's second is in it, as in Plausible's `timestamp <= last`.
        assert_eq!((utc(p.from_s), utc(p.to_s)), ("2024-01-01T08:00:00Z".into(), "2024-01-01T12:00:01Z".into()));
        assert!(resolve(&DateRange::DateTimes("2024-01-02T00:00:00Z".into(), "2024-01-01T00:00:00Z".into()), &tz, 0).is_err());
        let p = resolve(&DateRange::DateTimes("2024-01-01T12:00:00Z".into(), "2024-01-01T12:00:00Z".into()), &tz, 0).unwrap();
        assert_eq!(p.to_s - p.from_s, 1);
        let p = resolve(&DateRange::DateTimes("2024-01-01T12:00:00.7Z".into(), "2024-01-01T12:00:00.2Z".into()), &tz, 0).unwrap();
        assert_eq!(p.to_s - p.from_s, 1);
        assert!(resolve(&DateRange::Dates("2024-02-30".into(), "2024-03-01".into()), &tz, 0).is_err());
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn comparisons_run_up_to_today_and_can_match_the_weekday() {
        let tz = zone("UTC");
        let on = |first: &str, last: &str| resolve(&DateRange::Dates(first.into(), last.into()), &tz, 0).unwrap();
        let dates = |p: Period| (p.first.to_string(), p.last.to_string());
        let prev = Comparison::PreviousPeriod { match_day_of_week: false };
        let yoy = Comparison::YearOverYear { match_day_of_week: false };
        // 2024-03-10T12:00Z: this month so far is 10 days, compared with the 10 before.
        let now = 1_710_072_000_000;
        let month = resolve(&DateRange::Named("month".into()), &tz, now).unwrap();
        assert_eq!(dates(compare(&month, &prev, &tz, now, false).unwrap()), ("2024-02-20".into(), "2024-02-29".into()));
        assert_eq!(dates(compare(&month, &yoy, &tz, now, false).unwrap()), ("2023-03-01".into(), "2023-03-10".into()));
        // A period all past or all to come is compared whole.
        assert_eq!(
            dates(compare(&on("2024-04-01", "2024-04-30"), &prev, &tz, now, false).unwrap()),
            ("2024-03-02".into(), "2024-03-31".into())
        );
        // Plausible's example: Sunday 2023-01-01 a year back is Sunday 2022-01-02, not Saturday 2022-01-01.
        let matched = Comparison::YearOverYear { match_day_of_week: true };
        assert_eq!(
            dates(compare(&on("2023-01-01", "2023-01-07"), &matched, &tz, 0, false).unwrap()),
            ("2022-01-02".into(), "2022-01-08".into())
        );
        // The previous 3 days of Mon-Wed start on a Friday; the next Monday
        // would be the period itself, so the one before is taken.
        let matched = Comparison::PreviousPeriod { match_day_of_week: true };
        assert_eq!(
            dates(compare(&on("2024-01-08", "2024-01-10"), &matched, &tz, 0, false).unwrap()),
            ("2024-01-01".into(), "2024-01-03".into())
        );
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn today_is_compared_with_the_same_stretch_of_the_other_day() {
        let tz = zone("Europe/Berlin");
        // Sunday 2024-03-10, 13:30 in Berlin: 13.5 hours and the current
        // second have run.
        let now = ms("2024-03-10T12:30:00Z");
        let day = resolve(&DateRange::Named("day".into()), &tz, now).unwrap();
        let stretch = |how: Comparison, today: bool| {
            let p = compare(&day, &how, &tz, now, today).unwrap();
            (utc(p.from_s), utc(p.to_s), p.first.to_string(), p.last.to_string(), p.whole_days)
        };
        let at = |from: &str, to: &str, date: &str| (from.to_owned(), to.to_owned(), date.to_owned(), date.to_owned(), false);
        assert_eq!(
            stretch(Comparison::PreviousPeriod { match_day_of_week: false }, true),
            at("2024-03-08T23:00:00Z", "2024-03-09T12:30:01Z", "2024-03-09")
        );
        assert_eq!(
            stretch(Comparison::YearOverYear { match_day_of_week: false }, true),
            at("2023-03-09T23:00:00Z", "2023-03-10T12:30:01Z", "2023-03-10")
        );
        // The weekday matched first (a Sunday), then the stretch: a week
        // back, and the Sunday nearest a year back.
        assert_eq!(
            stretch(Comparison::PreviousPeriod { match_day_of_week: true }, true),
            at("2024-03-02T23:00:00Z", "2024-03-03T12:30:01Z", "2024-03-03")
        );
        assert_eq!(
            stretch(Comparison::YearOverYear { match_day_of_week: true }, true),
            at("2023-03-11T23:00:00Z", "2023-03-12T12:30:01Z", "2023-03-12")
        );
        // Not the named day (a pair of dates), or a custom comparison:
        // whole days, as before.
        let whole = stretch(Comparison::PreviousPeriod { match_day_of_week: false }, false);
        assert_eq!(whole, ("2024-03-08T23:00:00Z".into(), "2024-03-09T23:00:00Z".into(), "2024-03-09".into(), "2024-03-09".into(), true));
        let custom = Comparison::Custom(DateRange::Dates("2024-01-01".into(), "2024-01-01".into()));
        assert!(compare(&day, &custom, &tz, now, true).unwrap().whole_days);
        // A day that is not today is compared whole.
        let past = span("2024-03-01", "2024-03-01", &tz);
        assert!(compare(&past, &Comparison::PreviousPeriod { match_day_of_week: false }, &tz, now, true).unwrap().whole_days);
        // Late on the day after clocks went forward, more of today has run
        // than yesterday had: all of yesterday's 23 hours.
        let now = ms("2024-04-01T21:30:00Z");
        let day = resolve(&DateRange::Named("day".into()), &tz, now).unwrap();
        let prev = compare(&day, &Comparison::PreviousPeriod { match_day_of_week: false }, &tz, now, true).unwrap();
        assert_eq!(
            (utc(prev.from_s), utc(prev.to_s), prev.whole_days),
            ("2024-03-30T23:00:00Z".into(), "2024-03-31T22:00:00Z".into(), false)
        );
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn days_whose_midnight_is_skipped_or_repeated_lose_no_hour() {
        // The cases of Plausible's query_timezone_test.
        let day = |name: &str, date: &str| {
            let p = span(date, date, &zone(name));
            (utc(p.from_s), utc(p.to_s))
        };
        // Santiago skips 00:00 on 2022-09-11: the day starts at 01:00
        // (04:00Z), as in Plausible.
        assert_eq!(day("America/Santiago", "2022-09-11").0, "2022-09-11T04:00:00Z");
        // Havana reads 00:00 twice on 2023-11-05: the day starts at the
        // first. Plausible starts it at the second (05:00Z), so the hour
        // between is in neither day there; here it is in this one.
        assert_eq!(day("America/Havana", "2023-11-05"), ("2023-11-05T04:00:00Z".into(), "2023-11-06T05:00:00Z".into()));
        assert_eq!(day("America/Havana", "2023-11-04").1, "2023-11-05T04:00:00Z");
        // Asuncion reads 23:00 twice on 2024-03-23: the day ends when the
        // 24th begins (04:00Z). Plausible ends it at the first 23:59:59.
        assert_eq!(day("America/Asuncion", "2024-03-23"), ("2024-03-23T03:00:00Z".into(), "2024-03-24T04:00:00Z".into()));
        assert_eq!(day("America/Asuncion", "2024-03-24").0, "2024-03-24T04:00:00Z");
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn a_day_bucket_reads_as_the_label_of_its_day() {
        // Every day's start (AE's day rounding) names that day, where
        // clocks change too (Santiago's days in April and September start
        // at 01:00 or skip 00:00).
        for name in ["UTC", "America/New_York", "America/Santiago", "Asia/Kolkata", "Pacific/Chatham"] {
            let tz = zone(name);
            let p = span("2024-03-25", "2024-09-15", &tz);
            for label in labels(&p, Unit::Day, &tz) {
                let start = day_start(label.parse().unwrap(), &tz).unwrap();
                assert_eq!(day_label(&start.to_string(), &tz), label, "{name}");
                // The date as UTC midnight names it too.
                let date: Date = label.parse().unwrap();
                let midnight = date.to_zoned_datetime(TimeZone::UTC).unwrap().timestamp().as_second();
                assert_eq!(day_label(&midnight.to_string(), &tz), label, "{name}");
            }
        }
        let tz = zone("America/New_York");
        // 2024-01-01T05:00:00Z, as an integer, a string or a float.
        assert_eq!(day_label("1704085200", &tz), "2024-01-01");
        assert_eq!(day_label("1704085200.0", &tz), "2024-01-01");
        assert_eq!(day_label("1704085199", &tz), "2023-12-31");
        // The date 2024-01-01 as UTC midnight (an engine rounding to a
        // date), though New York's clock then reads 2023-12-31.
        assert_eq!(day_label("1704067200", &tz), "2024-01-01");
        // Not a second AE would send: kept as it is, never a panic.
        for odd in ["", "2024-01-01", "1.5", "1e300", "-1e300", "NaN", "99999999999999999999"] {
            assert_eq!(day_label(odd, &tz), odd);
        }
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn labels_cover_the_period() {
        let tz = zone("UTC");
        let p = span("2024-01-03", "2024-02-14", &tz);
        // A month is labelled by its first day, a partial first week by
        // the period's first date, as Plausible labels them.
        assert_eq!(labels(&p, Unit::Month, &tz), vec!["2024-01-01", "2024-02-01"]);
        let weeks = labels(&p, Unit::Week, &tz);
        assert_eq!(weeks.first().map(String::as_str), Some("2024-01-03"));
        assert_eq!(weeks.get(1).map(String::as_str), Some("2024-01-08"));
        assert_eq!(labels(&p, Unit::Day, &tz).len(), 43);
        // At most 10,000 labels, as many buckets as a query may return.
        let long = span("1990-01-01", "2024-12-31", &tz);
        for unit in [Unit::Hour, Unit::Day] {
            let all = labels(&long, unit, &tz);
            assert_eq!(all.len(), 10_000, "{unit:?}");
        }
        assert_eq!(labels(&long, Unit::Day, &tz).last().map(String::as_str), Some("2017-05-18"));
        assert_eq!(zone("Not/AZone"), TimeZone::UTC);
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn time_stands_for_the_unit_plausible_picks() {
        let tz = zone("Europe/Berlin");
        let unit = |first: &str, last: &str| auto_unit(&span(first, last, &tz));
        // Two days are 47 whole hours; three are 71.
        assert_eq!((unit("2024-05-01", "2024-05-02"), unit("2024-05-01", "2024-05-03")), (Unit::Hour, Unit::Day));
        // 41 days are 40 whole days; 42 are 41.
        assert_eq!((unit("2024-05-01", "2024-06-10"), unit("2024-05-01", "2024-06-11")), (Unit::Day, Unit::Week));
        // 371 days are 52 whole weeks (a year too); 372 are 53.
        assert_eq!((unit("2024-01-01", "2024-12-31"), unit("2024-01-01", "2025-01-05")), (Unit::Week, Unit::Week));
        assert_eq!(unit("2024-01-01", "2025-01-06"), Unit::Month);
        // The day the clocks go back has 25 hours.
        assert_eq!(unit("2024-10-27", "2024-10-27"), Unit::Hour);
    }

    #[test]
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn v1_picks_its_interval_by_what_the_range_spans() {
        let tz = zone("UTC");
        let unit = |first: &str, last: &str| v1_unit(&span(first, last, &tz));
        // One day is hours; two are days; a whole month more is months.
        assert_eq!((unit("2024-05-01", "2024-05-01"), unit("2024-05-01", "2024-05-02")), (Unit::Hour, Unit::Day));
        assert_eq!((unit("2024-01-01", "2024-01-31"), unit("2024-01-01", "2024-02-01")), (Unit::Day, Unit::Month));
        // A month from the 31st ends on the month's last day.
        assert_eq!((unit("2024-01-31", "2024-02-28"), unit("2024-01-31", "2024-02-29")), (Unit::Day, Unit::Month));
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// Zones with odd offsets, odd DST and the far ends of the clock.
        const ZONES: &[&str] = &[
            "UTC",
            "Europe/Berlin",
            "America/Sao_Paulo",
            "Australia/Lord_Howe",
            "Pacific/Kiritimati",
            "Pacific/Pago_Pago",
            "Asia/Kathmandu",
            "America/St_Johns",
            "Africa/Casablanca",
            "Antarctica/Troll",
            "America/Santiago",
        ];
        const NAMES: &[&str] = &["day", "24h", "7d", "1d", "5000d", "30d", "91d", "month", "6mo", "1mo", "100mo", "12mo", "year", "all"];

        fn date() -> impl Strategy<Value = String> {
            (proptest::sample::select(&[1i16, 1899, 1969, 1970, 2000, 2024, 2025, 2099, 9998, 9999][..]), 1i8..=12, 1i8..=31)
                .prop_map(|(y, m, d)| Date::new(y, m, d).map(|d| d.to_string()).unwrap_or_else(|_| format!("{y:04}-{m:02}-28")))
        }

        fn range() -> impl Strategy<Value = DateRange> {
            prop_oneof![
                proptest::sample::select(NAMES).prop_map(|n| DateRange::Named(n.to_owned())),
                (date(), date()).prop_map(|(a, b)| if a <= b { DateRange::Dates(a, b) } else { DateRange::Dates(b, a) }),
                (date(), date(), proptest::sample::select(&["Z", "+14:00", "-12:00", "+05:45"][..]))
                    .prop_map(|(a, b, o)| DateRange::DateTimes(format!("{a}T00:00:00{o}"), format!("{b}T23:59:59{o}"))),
            ]
        }

        fn comparison() -> impl Strategy<Value = Comparison> {
            prop_oneof![
                any::<bool>().prop_map(|m| Comparison::PreviousPeriod { match_day_of_week: m }),
                any::<bool>().prop_map(|m| Comparison::YearOverYear { match_day_of_week: m }),
                range().prop_map(Comparison::Custom),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]
            /// Any range, zone, clock and comparison: a period or an error,
            /// never a panic, and labels that stay bounded.
            #[test]
            fn any_range_anywhere_resolves_or_is_an_error(
                zone_name in proptest::sample::select(ZONES),
                range in range(),
                how in comparison(),
                now_ms in prop_oneof![0u64..=253_402_300_799_999, Just(u64::MAX), Just(0)],
                first_s in proptest::option::of(0u64..=253_402_300_799),
                today in any::<bool>(),
            ) {
                let tz = zone(zone_name);
                let Ok(p) = resolve(&range, &tz, now_ms) else { return Ok(()) };
                prop_assert!(p.from_s <= p.to_s && p.first <= p.last, "{p:?}");
                let name = match &range { DateRange::Named(n) => n.as_str(), _ => "" };
                let _ = trim_to_today(p.clone(), name, &tz, now_ms);
                let _ = all_since(&p, first_s, &tz);
                let _ = local_today(&tz, now_ms);
                if let Ok(c) = compare(&p, &how, &tz, now_ms, today) {
                    prop_assert!(c.from_s <= c.to_s, "{c:?}");
                }
                for unit in [auto_unit(&p), v1_unit(&p), Unit::Hour, Unit::Day, Unit::Week, Unit::Month] {
                    prop_assert!(labels(&p, unit, &tz).len() <= 10_000);
                }
            }
        }
    }
}
