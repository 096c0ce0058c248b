//! A `matches` pattern read as ClickHouse reads Plausible's (`multiMatchAny`:
//! Vectorscan, PCRE's syntax, UTF-8), spelt for regex-lite where the two
//! read it differently, and compiled with bounds.

use std::borrow::Cow;

use super::MAX_REGEX;
use crate::StatsError;

/// The pattern's characters still to read.
type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// Compiles a user regex, read as ClickHouse reads Plausible's `matches`
/// filters (`multiMatchAny`), bounded in size.
pub(super) fn regex(pattern: &str, case_sensitive: bool) -> Result<regex_lite::Regex, StatsError> {
    if pattern.is_empty() || pattern.len() > MAX_REGEX {
        return Err(StatsError::BadRegex(format!("must be 1 to {MAX_REGEX} bytes")));
    }
    // As ClickHouse's `match`: `.` also matches a line break.
    regex_lite::RegexBuilder::new(&fold_cases(&as_regex_lite(pattern), !case_sensitive)?)
        .case_insensitive(!case_sensitive)
        .dot_matches_new_line(true)
        .size_limit(1 << 20)
        .nest_limit(32)
        .build()
        .map_err(|e| StatsError::BadRegex(e.to_string().lines().last().unwrap_or("invalid").to_owned()))
}

/// `pattern` spelt for regex-lite where its reading differs from
/// ClickHouse's `multiMatchAny` (Vectorscan, PCRE's syntax), which
/// Plausible's `matches` filters use. What Vectorscan refuses is left for
/// regex-lite to refuse; `\pL` and other Unicode classes stay refused
/// (regex-lite has no Unicode tables). Outside multi-line mode, `$` is the
/// end or a last line break, as `\Z` (regex-lite: the very end). ClickHouse's
/// `match` (RE2) refuses several of these (`\Q` in a class, a stray `\E`,
/// `\e`).
fn as_regex_lite(pattern: &str) -> Cow<'_, str> {
    if !pattern.contains(['\\', '[', '{', '$']) {
        return Cow::Borrowed(pattern);
    }
    // A flag group naming `m` anywhere leaves every `$` to regex-lite, whose
    // multi-line `$` is Vectorscan's.
    let multi_line = pattern
        .match_indices("(?")
        .any(|(at, _)| pattern.get(at + 2..).unwrap_or("").chars().take_while(|c| c.is_ascii_alphabetic() || *c == '-').any(|c| c == 'm'));
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut chars = pattern.chars().peekable();
    // Inside `[…]`; `first` while a `]` would still be a member (just after
    // `[`, `[^`, or an escape that spells nothing there).
    let (mut class, mut first) = (false, false);
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let set = class && chars.peek().is_some_and(|e| matches!(e, 'd' | 'D' | 'w' | 'W' | 's' | 'S' | 'h' | 'v'));
                let before = out.len();
                escape(&mut chars, class, &mut out);
                if out.len() == before {
                    continue;
                }
                // A `-` after a set (`[\d-z]`) is a member: no range ends in a set.
                if set && chars.next_if_eq(&'-').is_some() {
                    out.push_str("\\-");
                }
            }
            '[' if !class => {
                (class, first) = (true, true);
                out.push(c);
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                continue;
            }
            // A POSIX class (`[:alpha:]`) inside a class, whole.
            '[' if chars.peek() == Some(&':') => {
                out.push(c);
                while let Some(p) = chars.next() {
                    out.push(p);
                    if p == ':' && chars.peek() == Some(&']') {
                        out.push(']');
                        chars.next();
                        break;
                    }
                }
            }
            ']' if class && !first => {
                class = false;
                out.push(c);
            }
            // Members to Vectorscan, nesting or set operators (`&&`, `~~`) to regex-lite.
            '[' | '&' | '~' if class => out.extend(['\\', c]),
            // Vectorscan refuses anything but another assertion after it, so
            // the line break it may pass can be consumed.
            '$' if !class && !multi_line => out.push_str(END),
            // A `{` that begins no `{n}`, `{n,}` or `{n,m}` is the character.
            '{' if !class && !begins_repetition(chars.clone()) => out.push_str("\\{"),
            c => out.push(c),
        }
        first = false;
    }
    Cow::Owned(out)
}

/// The end of the text, or a line break that ends it (`$` and `\Z`).
const END: &str = r"(?:\n?\z)";

/// Vectorscan's horizontal (`\h`) and vertical (`\v`) white space, as
/// members of a class.
const HORIZONTAL_SPACE: &str = r"\t\x{20}\x{A0}\x{1680}\x{180E}\x{2000}-\x{200A}\x{202F}\x{205F}\x{3000}";
const VERTICAL_SPACE: &str = r"\n\x{B}\x{C}\r\x{85}\x{2028}\x{2029}";

/// The escape after a `\` in a pattern, spelt for regex-lite into `out`
/// (see [`as_regex_lite`]): `\<` and `\>` are the characters (regex-lite:
/// word boundaries); `\b{start}` a boundary before the text `{start}` (a
/// `{` that begins no repetition is the character);
/// `\Q…\E` literal text, in a class too; `\0`, `\012` octal codes; `\x4`
/// and `\x` hex ones; `\e`, `\cA` and, in a class, `\b` control
/// characters; `\h`, `\v` (and `\H`, `\V` outside a class) white space;
/// `\Z` the end, or a last line break; `\8` and `\9` the digits; a stray
/// `\E` nothing.
fn escape(chars: &mut Chars<'_>, class: bool, out: &mut String) {
    let code = |out: &mut String, code: u32| out.push_str(&format!("\\x{{{code:X}}}"));
    let Some(e) = chars.next() else {
        out.push('\\');
        return;
    };
    match e {
        '<' | '>' | '8' | '9' => out.push(e),
        'E' => {}
        'Q' => {
            while let Some(q) = chars.next() {
                if q == '\\' && chars.peek() == Some(&'E') {
                    chars.next();
                    break;
                }
                if q.is_whitespace() {
                    code(out, u32::from(q));
                    continue;
                }
                if q.is_ascii_punctuation() && !matches!(q, '<' | '>') {
                    out.push('\\');
                }
                out.push(q);
            }
        }
        'b' if class => code(out, 0x8),
        'e' => code(out, 0x1B),
        'c' => match chars.next_if(char::is_ascii) {
            Some(x) => code(out, u32::from(x.to_ascii_uppercase()) ^ 0x40),
            None => out.push_str("\\c"),
        },
        'x' if chars.peek() != Some(&'{') => code(out, two_more_digits(chars, 16, 0)),
        // `\x{E9}` and `\p{Greek}`: braces that are no repetition, whole.
        'x' | 'p' | 'P' => {
            out.extend(['\\', e]);
            if chars.peek() == Some(&'{') {
                copy_through(chars, '}', out);
            }
        }
        'h' | 'v' => {
            let set = if e == 'h' { HORIZONTAL_SPACE } else { VERTICAL_SPACE };
            if class {
                out.push_str(set);
            } else {
                out.extend(["[", set, "]"]);
            }
        }
        'H' | 'V' if !class => out.extend(["[^", if e == 'H' { HORIZONTAL_SPACE } else { VERTICAL_SPACE }, "]"]),
        'Z' if !class => out.push_str(END),
        // ClickHouse's octal: `\0` and up to two more digits, `\1`-`\7` only
        // with at least one more (alone, a backreference: refused).
        '0'..='7' if e == '0' || chars.peek().is_some_and(|d| d.is_digit(8)) => {
            code(out, two_more_digits(chars, 8, e.to_digit(8).unwrap_or(0)));
        }
        _ => out.extend(['\\', e]),
    }
}

/// `pattern` (regex-lite's syntax) with each caseless letter and class
/// widened to the letters Unicode's simple case folding pairs with it, as
/// Vectorscan folds them in UTF-8 mode: `(?i)é` matches `É`, `(?i)k` the
/// Kelvin sign `K`. regex-lite folds ASCII letters only. Caseless is the
/// whole pattern when `caseless`, else where an `i` flag says so.
fn fold_cases(pattern: &str, caseless: bool) -> Result<Cow<'_, str>, StatsError> {
    if !caseless && !pattern.contains("(?") {
        return Ok(Cow::Borrowed(pattern));
    }
    let mut budget = FOLD_BUDGET;
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    // The caseless flag outside each open group, and inside the innermost.
    let (mut outer, mut on) = (Vec::new(), caseless);
    while let Some(c) = chars.next() {
        match c {
            '(' => {
                out.push(c);
                outer.push(on);
                if chars.next_if_eq(&'?').is_none() {
                    continue;
                }
                out.push('?');
                if chars.peek().is_some_and(|n| matches!(n, 'P' | '<')) {
                    // A group's name is no text to fold.
                    copy_through(&mut chars, '>', &mut out);
                    continue;
                }
                let mut set = on;
                let mut negated = false;
                while let Some(f) = chars.next_if(|f| f.is_ascii_alphabetic() || *f == '-') {
                    out.push(f);
                    match f {
                        '-' => negated = true,
                        'i' => set = !negated,
                        _ => {}
                    }
                }
                match chars.peek() {
                    // `(?i)`: for the rest of the enclosing group.
                    Some(')') => {
                        out.push(')');
                        chars.next();
                        outer.pop();
                        on = set;
                    }
                    Some(':') => on = set,
                    _ => {}
                }
            }
            ')' => {
                out.push(c);
                on = outer.pop().unwrap_or(on);
            }
            '[' => class(&mut chars, on.then_some(&mut budget), &mut out)?,
            _ => {
                let (text, value) = member(c, &mut chars);
                let wider = value.filter(|_| on).map(|v| folded(&[(v, v)], &mut budget)).transpose()?;
                let wider = wider.filter(|more| !more.ranges().is_empty());
                match wider {
                    Some(more) => {
                        out.push('[');
                        out.push_str(&text);
                        push_ranges(&more, &mut out);
                        out.push(']');
                    }
                    None => out.push_str(&text),
                }
            }
        }
    }
    Ok(Cow::Owned(out))
}

/// One class, after its `[`, copied into `out` with the letters folding
/// adds to its own when caseless (when given the fold budget). A class with
/// a set operator (`--`), or a range with a set at one end (refused), is
/// copied as it is.
fn class(chars: &mut Chars<'_>, caseless: Option<&mut u32>, out: &mut String) -> Result<(), StatsError> {
    let mut text = String::from('[');
    if chars.next_if_eq(&'^').is_some() {
        text.push('^');
    }
    let (mut ranges, mut plain, mut closed) = (Vec::new(), true, false);
    // The last member (the character it stands for, if one), while a `-`
    // after it would make a range.
    let mut last: Option<Option<char>> = None;
    let (mut first, mut bare_dash) = (true, false);
    while let Some(m) = chars.next() {
        if m == ']' && !first {
            closed = true;
            break;
        }
        first = false;
        if m == '[' && chars.peek() == Some(&':') {
            // A POSIX class (ASCII), whole.
            text.push(m);
            copy_through(chars, ']', &mut text);
            (last, bare_dash) = (None, false);
            continue;
        }
        if m == '-' && chars.peek() == Some(&'-') {
            plain = false;
        }
        if m == '-' && chars.peek().is_some_and(|n| *n != ']') {
            if let Some(start) = last.take() {
                text.push('-');
                let Some(n) = chars.next() else { break };
                let (end_text, end) = member(n, chars);
                text.push_str(&end_text);
                match (start, end) {
                    (Some(start), Some(end)) => {
                        ranges.pop();
                        ranges.push((start, end));
                    }
                    _ => plain = false,
                }
                bare_dash = false;
                continue;
            }
        }
        let (member_text, value) = member(m, chars);
        bare_dash = member_text == "-";
        text.push_str(&member_text);
        ranges.extend(value.map(|v| (v, v)));
        last = Some(value);
    }
    out.push_str(&text);
    if !closed {
        return Ok(());
    }
    if let Some(budget) = caseless.filter(|_| plain) {
        // Before a last bare `-`, which would make a range of what follows it.
        if bare_dash {
            out.pop();
        }
        push_ranges(&folded(&ranges, budget)?, out);
        if bare_dash {
            out.push('-');
        }
    }
    out.push(']');
    Ok(())
}

/// One member of a pattern from its first character: its text, and the
/// character it stands for, if one (not `\d`, `\b`...).
fn member(first: char, chars: &mut Chars<'_>) -> (String, Option<char>) {
    if first != '\\' {
        return (first.to_string(), Some(first));
    }
    let mut text = String::from('\\');
    let Some(e) = chars.next() else { return (text, None) };
    text.push(e);
    let value = match e {
        // [`as_regex_lite`] spells every hex code `\x{…}`.
        'x' => {
            let at = text.len();
            copy_through(chars, '}', &mut text);
            let hex = text.get(at + 1..).and_then(|t| t.strip_suffix('}'));
            let value = hex.and_then(|hex| u32::from_str_radix(hex, 16).ok()).and_then(char::from_u32);
            if let Some(v) = value {
                text = class_char(v);
            }
            value
        }
        'a' => Some('\x07'),
        'f' => Some('\x0C'),
        't' => Some('\t'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        _ if e.is_ascii_punctuation() => Some(e),
        _ => None,
    };
    (text, value)
}

/// The characters simple case folding pairs with others all lie here.
const CASED: (char, char) = ('A', '\u{1E943}');

/// How many characters of [`CASED`] one pattern's caseless classes may
/// span: folding reads each (a hostile `(?i)[a-\x{FFFF}]`, repeated, took
/// 130 ms natively), and two classes of every cased letter fit.
const FOLD_BUDGET: u32 = 1 << 18;

/// What simple case folding adds to `ranges` (ranges of characters), the
/// characters of [`CASED`] they span taken off `budget`.
fn folded(ranges: &[(char, char)], budget: &mut u32) -> Result<regex_syntax::hir::ClassUnicode, StatsError> {
    use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};
    let own = ClassUnicode::new(ranges.iter().map(|&(start, end)| ClassUnicodeRange::new(start, end)));
    let mut all = own.clone();
    all.intersect(&ClassUnicode::new([ClassUnicodeRange::new(CASED.0, CASED.1)]));
    let span = all.ranges().iter().map(|r| u32::from(r.end()) - u32::from(r.start()) + 1).sum::<u32>();
    *budget = budget
        .checked_sub(span)
        .ok_or_else(|| StatsError::BadRegex(format!("caseless classes may span at most {FOLD_BUDGET} characters")))?;
    // Only fails with the crate's `unicode-case` feature off.
    if all.try_case_fold_simple().is_err() {
        return Ok(ClassUnicode::empty());
    }
    all.difference(&own);
    Ok(all)
}

/// `class`'s ranges as members of a regex-lite class.
fn push_ranges(class: &regex_syntax::hir::ClassUnicode, out: &mut String) {
    for r in class.ranges() {
        out.push_str(&class_char(r.start()));
        if r.end() != r.start() {
            out.push('-');
            out.push_str(&class_char(r.end()));
        }
    }
}

/// `c` spelt for a class: a letter or digit as itself (caseless regex-lite
/// refuses `\x{41}` at either end of a range), anything else as its code.
fn class_char(c: char) -> String {
    if c.is_ascii_alphanumeric() {
        c.to_string()
    } else {
        format!("\\x{{{:X}}}", u32::from(c))
    }
}

/// Copies `chars` into `out` up to and including the first `end`.
fn copy_through(chars: &mut Chars<'_>, end: char, out: &mut String) {
    for c in chars.by_ref() {
        out.push(c);
        if c == end {
            break;
        }
    }
}

/// `value` followed by up to two more digits of `radix` read off `chars`.
fn two_more_digits(chars: &mut Chars<'_>, radix: u32, value: u32) -> u32 {
    let mut value = value;
    for _ in 0..2 {
        match chars.next_if(|d| d.is_digit(radix)).and_then(|d| d.to_digit(radix)) {
            Some(d) => value = value * radix + d,
            None => break,
        }
    }
    value
}

/// Whether the text after a `{` makes it a repetition: digits, then `}`,
/// `,}` or `,` digits `}`.
fn begins_repetition(mut rest: Chars<'_>) -> bool {
    // Whether any digit was read.
    let digits = |rest: &mut Chars<'_>| {
        let any = rest.next_if(char::is_ascii_digit).is_some();
        while rest.next_if(char::is_ascii_digit).is_some() {}
        any
    };
    if !digits(&mut rest) {
        return false;
    }
    if rest.next_if_eq(&',').is_some() {
        digits(&mut rest);
    }
    rest.next() == Some('}')
}

#[cfg(test)]
mod tests {
    use wasm_bindgen_test::wasm_bindgen_test;

    use super::*;

    /// Each case sensitive `(pattern, text, whether it matches)` compiles and answers so.
    fn assert_reads(cases: &[(&str, &str, bool)]) {
        for &(pattern, text, hit) in cases {
            let re = regex(pattern, true).unwrap_or_else(|e| panic!("{pattern}: {e}"));
            assert_eq!(re.is_match(text), hit, "{pattern} on {text:?}");
        }
    }

    #[test]
    #[wasm_bindgen_test]
    fn patterns_read_as_clickhouse_reads_them_where_regex_lite_differs() {
        // (pattern, text, whether it matches): ClickHouse's `multiMatchAny`
        // (Plausible's `matches`) and `match` (RE2) answered each alike, asked
        // through chDB.
        assert_reads(&[
            (r"\<a", "ab", false),
            (r"\<", "a<b", true),
            (r"a\>", "a", false),
            (r"a\>", "a>", true),
            (r"[\<]", "<", true),
            (r"\b{start}", "a b", false),
            (r"x\b{start}", "x{start}", true),
            (r"\B{x", "x", false),
            (r"\Qa.b\E", "a.b", true),
            (r"\Qa.b\E", "axb", false),
            (r"^\Qa.b\E$", "a.b", true),
            (r"\Qa.", "ab", false),
            (r"\Qa\b\E", r"a\b", true),
            (r"\Qa\\Eb", r"a\Eb", false),
            (r"(?i)\Qa.b\E", "A.B", true),
            (r"\101", "A", true),
            (r"a\012", "a\n", true),
            (r"a\0", "a\0", true),
            (r"[[:alpha:]\<]+$", "ab<", true),
            (r"a\_b", "a_b", true),
            (r"a\~b", "a~b", true),
        ]);
        // ClickHouse refuses a backreference; so does Beacon (a 400).
        assert!(regex(r"(a)\1", true).is_err());
    }

    #[test]
    #[wasm_bindgen_test]
    fn escapes_classes_and_braces_read_as_multi_match_any_reads_them() {
        // (pattern, text, whether it matches), each as ClickHouse's
        // `multiMatchAny` (Plausible's `matches`) answered it, asked through
        // chDB; its `match` (RE2) refuses `\Q` in a class and a stray `\E`.
        assert_reads(&[
            // `\Q…\E` in a class: its characters are members, `-` and `^` among them.
            (r"[\Qa]\E]", "]", true),
            (r"[\Qa]\E]", "x", false),
            (r"[]\Qa\E]", "a", true),
            (r"[]\Qa\E]", "]", true),
            (r"[]\Qa\E]", "b", false),
            (r"[[:alpha:]\Qb\E]", "b", true),
            (r"[[:alpha:]\Qb\E]", "1", false),
            (r"[\Q-\E]", "-", true),
            (r"[a\Q-\Ec]", "b", false),
            (r"^[a\Q--\Ez]$", "m", false),
            (r"[\Qa\E-c]", "b", true),
            (r"[\Q^\Ex]", "^", true),
            (r"[\Q^\Ex]", "y", false),
            (r"x[^\Q]\E]", "x]", false),
            (r"x[^\Q]\E]", "xa", true),
            (r"[\Q\\E]", "\\", true),
            (r"^[\Q&&\E]$", "&", true),
            (r"^[\Q~~\E]$", "~", true),
            (r"^[\Q[\E]$", "[", true),
            (r"^[\Q[:alpha:]\E]+$", "[:]", true),
            (r"^[\Q[:alpha:]\E]+$", "b", false),
            // An empty quote leaves a `]` right after it a member.
            (r"[\Q\E]a]", "]", true),
            // A class closes where it did, and a quote after it quotes.
            (r"[[]\Qa\E", "[a", true),
            (r"[a]\Qb\E", "ab", true),
            (r"[]a]\Qb\E", "]b", true),
            (r"[^]a]\Qb\E", "xb", true),
            (r"[^]a]\Qb\E", "]b", false),
            (r"[[:alpha:]]\Qb\E", "ab", true),
            (r"^[a][b]$", "ab", true),
            (r"^[\Qa\E]]$", "a]", true),
            (r"^[\Qa\E]]$", "]", false),
            (r"[]\b]", "\u{8}", true),
            (r"\bab", "ab", true),
            // `\b` in a class is a backspace, `{` after it a member.
            (r"[\b]", "\u{8}", true),
            (r"[\b]", "b", false),
            (r"[\b{]", "{", true),
            // `[`, `&&` and `~~` in a class are members, with or without a backslash elsewhere.
            (r"^[[]$", "[", true),
            (r"^[a[b]$", "[", true),
            (r"^[[a]]$", "[]", true),
            (r"^[]]$", "]", true),
            (r"^[a&&b]$", "&", true),
            (r"^[a&&b]$", "b", true),
            (r"^[a~~b]$", "~", true),
            (r"^[[:digit:][]+$", "1[", true),
            // A stray `\E` is nothing.
            (r"a\Eb", "ab", true),
            (r"[a\E]", "a", true),
            // A `{` that begins no repetition is the character.
            (r"^/api/{id}$", "/api/{id}", true),
            (r"^a{,3}$", "a{,3}", true),
            (r"^a{,3}$", "aa", false),
            (r"^a{3$", "a{3", true),
            (r"^a{x}$", "a{x}", true),
            (r"^a{ 2}$", "a{ 2}", true),
            (r"^a{2}$", "aa", true),
            (r"^a{1,}$", "aaa", true),
            (r"^\x{41}$", "A", true),
            // A `-` after a set in a class is a member.
            (r"^[\d-a]$", "-", true),
            (r"^[\d-a]$", "a", true),
            (r"^[\d-a]$", "b", false),
            (r"^[\s-]$", "-", true),
            (r"^[\h-a]$", "-", true),
            (r"^[\v-ÿ]$", "-", true),
            (r"^\x{e9}$", "é", true),
            (r"^\x{E9}+$", "éé", true),
            (r"^[\x{c0}-\x{ff}]$", "é", true),
            // Control characters, hex codes of up to two digits, `\8` and `\9`.
            (r"^\cA$", "\u{1}", true),
            (r"^\ca$", "\u{1}", true),
            (r"^\c1$", "q", true),
            (r"^\c[$", "\u{1b}", true),
            (r"^\e$", "\u{1b}", true),
            (r"^[\e]$", "\u{1b}", true),
            (r"^[\cA]$", "\u{1}", true),
            (r"^\x4$", "\u{4}", true),
            (r"^\x41$", "A", true),
            (r"^\x$", "\0", true),
            (r"^\8$", "8", true),
            // Horizontal and vertical white space.
            (r"^\h$", " ", true),
            (r"^\h$", "\t", true),
            (r"^\h$", "a", false),
            (r"^[\h]+$", "\t \u{a0}", true),
            (r"^\v$", "\n", true),
            (r"^\v$", "\u{b}", true),
            (r"^[\v]$", "\n", true),
            (r"^\H$", "a", true),
            (r"^\H$", "\n", true),
            (r"^\V$", "a", true),
            (r"^\V$", "\t", true),
            // `$` and `\Z`: the end, or a line break that ends the text; `\z` the very end.
            (r"a$", "a\n", true),
            (r"a$", "a\n\n", false),
            (r"a$$", "a\n", true),
            (r"(a$)|b", "a\n", true),
            (r"a$\Z", "a\n", true),
            (r"a\n$", "a\n\n", true),
            (r"(?i)a$", "A\n", true),
            (r"(?i)am$", "AM\n", true),
            (r"^[\x41]\b]", "A]", true),
            (r"a\Z", "a\n", true),
            (r"a\Z", "a", true),
            (r"a\z", "a\n", false),
            (r"^$", "\n", true),
            (r"(?m)^a$", "b\na\nc", true),
            (r"(?m:a$)", "a\nb", true),
            // Quoted spaces stay, even where `(?x)` drops spaces.
            (r"(?x)^\Q a\E$", " a", true),
            (r"(?x)^\Q a\E$", "a", false),
        ]);
        // What it refuses, Beacon refuses (a 400): a class a quote leaves open, `\B` in a class, PCRE's
        // escapes it does not take.
        for pattern in [r"[\Q", r"[\Qab]", r"[\Q]", r"[\Q\E]", r"[\B]", r"^\R$", r"^\N$", r"a\Kb", r"^\o{101}$", r"^\1$", r"\G", r"[\Z]"] {
            assert!(regex(pattern, true).is_err(), "{pattern}");
        }
    }

    #[test]
    #[wasm_bindgen_test]
    fn caseless_patterns_fold_letters_past_ascii_as_multi_match_any_does() {
        // (pattern, text, whether it matches), each as `multiMatchAny`
        // answered it through chDB: in UTF-8 mode it folds by Unicode's simple
        // case folding, where regex-lite folds ASCII letters only.
        assert_reads(&[
            ("(?i)é", "É", true),
            ("(?i)É", "é", true),
            ("é", "É", false),
            ("(?i)^/über-uns$", "/ÜBER-UNS", true),
            ("(?i)^/ÜBER.UNS", "/über-uns", true),
            ("(?i)привет", "ПРИВЕТ", true),
            ("(?i)σας", "ΣΑΣ", true),
            ("(?i)𐐨", "𐐀", true),
            // Letters with more than one other case.
            ("(?i)Σ", "ς", true),
            ("(?i)σ", "ς", true),
            ("(?i)ß", "ẞ", true),
            ("(?i)straße", "STRAẞE", true),
            ("(?i)STRASSE", "Straße", false),
            ("(?i)ǆ", "ǅ", true),
            ("(?i)Μ", "µ", true),
            ("(?i)θ", "ϴ", true),
            ("(?i)ω", "\u{2126}", true),
            // ASCII letters with a case past ASCII: the Kelvin sign, the long s.
            ("(?i)k", "\u{212A}", true),
            ("(?i)\u{212A}", "k", true),
            ("(?i)\u{212A}", "K", true),
            ("(?i)s", "ſ", true),
            ("(?i)ſ", "S", true),
            // Dotted and dotless i fold with nothing (Turkish folding is apart).
            ("(?i)i", "İ", false),
            ("(?i)İ", "i", false),
            ("(?i)I", "ı", false),
            ("(?i)ı", "I", false),
            // In classes, ranges and escapes.
            ("(?i)[é]", "É", true),
            ("[é]", "É", false),
            ("(?i)[à-å]", "Ä", true),
            ("(?i)[À-Å]", "ä", true),
            ("(?i)[à-ż]", "Z", false),
            ("(?i)[^é]", "É", false),
            ("(?i)[^à-å]", "x", true),
            ("(?i)[ǅ]", "Ǆ", true),
            ("(?i)[ϑ]", "Θ", true),
            (r"(?i)\xe9", "É", true),
            (r"(?i)\x{e9}", "É", true),
            (r"(?i)[\x{e9}]", "É", true),
            (r"(?i)[\x{e9}-\x{eb}]", "Ê", true),
            (r"(?i)\Qé\E", "É", true),
            ("(?i)é+$", "É", true),
            ("(?i)^é{2}$", "ÉÉ", true),
            ("(?i)(?P<k>k)", "\u{212A}", true),
            // Where the flag reaches.
            ("(?i:é)", "É", true),
            ("(?i:a)é", "É", false),
            ("(?i:a)É", "aÉ", true),
            ("(?i)a(?-i)é", "Aé", true),
            ("(?i)a(?-i)é", "AÉ", false),
            ("(?i)é(?-i:é)", "ÉÉ", false),
            ("(?i)é(?-i:é)", "Éé", true),
            ("(é)", "É", false),
            ("(?i)(é)", "É", true),
            ("((?i)é)", "É", true),
            ("((?i)x)É", "xÉ", true),
            ("(?:(?i)x)é", "xÉ", false),
            ("(?i)a(?-i)[é]", "AÉ", false),
            ("(?i)a(?-i)[é]", "Aé", true),
            // What folds nothing stays as it is.
            ("(?i)^a.c$", "aBc", true),
            (r"(?i)^\d$", "D", false),
            (r"(?i)^[\d]$", "D", false),
            (r"(?i)^[\d\x{e9}]$", "É", true),
            ("(?i)^[[:alpha:]é]+$", "ÉA", true),
            // Ranges from a punctuation mark or a control character.
            // (The micro sign in them folds with the Greek Mu, `Μ`.)
            (r"(?i)^[\!-ÿ]$", "Μ", true),
            (r"(?i)^[\!-ß]$", "ẞ", true),
            (r"(?i)^[\a-ÿ]$", "Μ", true),
            (r"(?i)^[\a-ÿ]$", "\u{7}", true),
            (r"(?i)^[\f-ÿ]$", "Μ", true),
            (r"(?i)^[\t-ÿ]$", "Μ", true),
            (r"(?i)^[\t-ÿ]$", "\u{7}", false),
            (r"(?i)^[\n-ÿ]$", "Μ", true),
            (r"(?i)^[\r-ÿ]$", "Μ", true),
            (r"(?i)^[\x{1}-ÿ]$", "Μ", true),
            (r"(?i)^[\v-ÿ]$", "Ÿ", true),
            (r"(?i)^[é:]+$", "É:", true),
            // A last `-` stays a member; hex codes of letters may end ranges.
            (r"(?i)^[É-]+$", "é-", true),
            (r"(?i)^[É-]+$", "b", false),
            (r"(?i)^[ék\-]+$", "ÉK-", true),
            (r"(?i)^[ék\-]+$", "b", false),
            (r"(?i)^[z\Q-\E]$", "a", false),
            (r"(?i)^[\x{41}-\x{4B}]$", "b", true),
            (r"(?i)^[\x{41}-\x{4B}]$", "l", false),
            (r"(?i)^[\x41-\x4B]$", "k", true),
            (r"(?i)^[\101-\113]$", "c", true),
            (r"(?i)^[[-é]+$", "ZÉ[", true),
            (r"(?i)^\x{41}$", "a", true),
        ]);
        // `case_sensitive: false` folds the whole pattern so.
        assert!(regex("/über-uns", false).unwrap().is_match("/ÜBER-UNS"));
        assert!(regex("^/über-uns$", false).unwrap().is_match("/ÜBER-UNS"));
        // A Unicode class is still refused for what it is.
        let refused = regex(r"(?i)\p{Greek}", true).map(|_| ()).unwrap_err().to_string();
        assert!(refused.contains("Unicode character classes are not supported"), "{refused}");
        // Two answers are Beacon's own: `multiMatchAny` has `(?i)[^É]` match `é`
        // (PCRE and `(?i)[^é]` on `É` say no), and it folds by an older Unicode,
        // where `в` and its old form `ᲀ` (Unicode 9) are apart.
        assert_reads(&[("(?i)[^É]", "é", false), ("(?i)в", "ᲀ", true)]);
    }

    #[test]
    #[wasm_bindgen_test]
    fn caseless_classes_may_span_two_runs_of_every_cased_letter() {
        let every = r"[\x{0}-\x{10FFFF}]";
        assert!(regex(&format!("(?i){}", every.repeat(2)), true).is_ok());
        let refused = regex(&format!("(?i){}", every.repeat(3)), true).map(|_| ()).unwrap_err().to_string();
        assert!(refused.contains("caseless classes may span at most 262144 characters"), "{refused}");
        // Case sensitive, nothing is folded.
        assert!(regex(&every.repeat(3), true).is_ok());
        assert!(regex(&format!("(?i){}", r"[^\x{0}-\x{10FFFF}]".repeat(3)), true).is_err());
        // Each character of a range counts: `a-b` is two.
        let mut two = 2;
        assert!(folded(&[('a', 'b')], &mut two).is_ok() && two == 0);
        assert!(folded(&[('a', 'b')], &mut 1).is_err());
        // Single letters cost one each: the longest pattern of them is fine.
        assert!(regex(&format!("(?i){}", "é".repeat((MAX_REGEX - 4) / 2)), true).is_ok());
    }

    #[test]
    fn no_letter_outside_cased_folds() {
        use regex_syntax::hir::{ClassUnicode, ClassUnicodeRange};
        for (start, end) in
            [('\0', char::from_u32(u32::from(CASED.0) - 1).unwrap()), (char::from_u32(u32::from(CASED.1) + 1).unwrap(), char::MAX)]
        {
            let own = ClassUnicode::new([ClassUnicodeRange::new(start, end)]);
            let mut all = own.clone();
            all.try_case_fold_simple().unwrap();
            assert_eq!(all, own, "{start:?}-{end:?}");
        }
        // And both ends of CASED do.
        assert!(folded(&[(CASED.0, CASED.0)], &mut 1).unwrap().ranges().len() == 1);
        assert!(folded(&[(CASED.1, CASED.1)], &mut 1).unwrap().ranges().len() == 1);
    }

    #[test]
    #[wasm_bindgen_test]
    fn a_dot_matches_a_line_break_as_in_clickhouse() {
        assert!(regex("^a.b$", true).unwrap().is_match("a\nb"));
    }

    #[test]
    #[wasm_bindgen_test]
    fn patterns_fold_case_only_when_asked_and_are_at_most_max_regex_bytes() {
        assert!(regex("^ab", false).unwrap().is_match("ABc"));
        assert!(!regex("^ab", true).unwrap().is_match("ABc"));
        assert!(regex(&"a".repeat(MAX_REGEX), true).is_ok());
        for bad in [String::new(), "a".repeat(MAX_REGEX + 1)] {
            assert!(matches!(regex(&bad, true), Err(StatsError::BadRegex(_))), "{}", bad.len());
        }
    }
}
