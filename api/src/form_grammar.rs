//! The syntax of each search and dashboard form value, as one regular expression per kind of
//! value ([`Kind`], the shared form table's).
//!
//! `search_form` checks a value against its expression before it reads it, and the OpenAPI
//! document publishes the same expression as the parameter's `pattern`: what the document
//! calls valid is exactly what the form accepts. Each expression only admits values that the
//! form then reads without error, so nothing beyond the expression can refuse a value (rules
//! between two values, such as a range's order, are the exception, and say so).
//!
//! The expressions use only syntax that Rust's `regex`, JSON Schema validators and Python's
//! `re` read alike: no `\d` or `\s` (their meanings differ), `[0-9]` and an explicit set of
//! ASCII spaces instead.

use std::sync::LazyLock;

use regex::Regex;

use ideadb_wire::search_params::Kind;

use crate::search_form::PAGE_SIZES;

/// The kinds with a grammar of their own, in the order of [`PATTERNS`]: a choice is read as
/// text, and a switch or a flag reads every value (anything not a yes, or not a boolean, is
/// no condition).
const RULED: [Kind; 9] = [
    Kind::Time,
    Kind::Zone,
    Kind::Addresses,
    Kind::Ports,
    Kind::Page,
    Kind::PageSize,
    Kind::SortOrder,
    Kind::Cursor,
    Kind::Text,
];

/// The ASCII white space that the form trims around a value or a list item.
const WS: &str = r"[ \t\n\r\f]*";

static PATTERNS: LazyLock<Vec<String>> = LazyLock::new(|| RULED.iter().map(|k| build(*k)).collect());
static REGEXES: LazyLock<Vec<Regex>> = LazyLock::new(|| PATTERNS.iter().map(|p| compile(p)).collect());
static HOSTNAME: LazyLock<Regex> = LazyLock::new(|| compile(&format!("^{WS}{}{WS}$", hostname())));

fn compile(pattern: &str) -> Regex {
    Regex::new(pattern).expect("the form grammar compiles")
}

fn index(kind: Kind) -> Option<usize> {
    let ruled = if kind == Kind::Choice { Kind::Text } else { kind };
    RULED.iter().position(|k| *k == ruled)
}

/// The anchored expression a value of `kind` must match, as the OpenAPI document shows it;
/// None for the kinds that read every value.
pub fn pattern(kind: Kind) -> Option<&'static str> {
    index(kind).map(|i| PATTERNS[i].as_str())
}

/// Whether `value` is written as `kind` wants.
pub fn accepts(kind: Kind, value: &str) -> bool {
    index(kind).is_none_or(|i| REGEXES[i].is_match(value))
}

/// Whether `value` is one hostname, or with a leading dot a part of one (`.cz`): the items of
/// an address list that are not addresses.
pub fn is_hostname(value: &str) -> bool {
    HOSTNAME.is_match(value)
}

fn build(kind: Kind) -> String {
    let body = match kind {
        Kind::Time => format!("(?:{}|{}|{})?", local(), rfc3339(), relative()),
        Kind::Addresses => list(&format!("(?:{}|{})", address(), hostname())),
        Kind::Ports => list(PORT),
        Kind::Page => "(?:[1-9][0-9]{0,8})?".into(),
        Kind::PageSize => {
            let sizes: Vec<String> = PAGE_SIZES.iter().map(u32::to_string).collect();
            format!("(?:{})?", sizes.join("|"))
        }
        Kind::SortOrder => r"(?:(?:time|detecttime|storagetime)\.(?:asc|desc))?".into(),
        Kind::Zone => {
            let names: Vec<String> = chrono_tz::TZ_VARIANTS.iter().map(|z| regex::escape(z.name())).collect();
            format!("(?:{})?", names.join("|"))
        }
        Kind::Cursor => CURSOR.into(),
        // Free text: anything but NUL.
        Kind::Text | Kind::Choice | Kind::Switch | Kind::Flag => return "^[^\u{0}]*$".into(),
    };
    format!("^{WS}{body}{WS}$")
}

/// `<microseconds since 1970>~<event ID>` (see `storage::Cursor`); empty for the first page.
const CURSOR: &str = "(?:-?[0-9]{1,16}~[a-zA-Z0-9._-]+)?";

/// 0 to 65535, written plainly.
const PORT: &str = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0)";

/// Items separated by commas, each maybe blank or surrounded by spaces.
fn list(item: &str) -> String {
    format!("(?:{item}{WS})?(?:,{WS}(?:{item}{WS})?)*")
}

const DATE: &str = concat!(
    "(?:[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)",
    "|02-(?:0[1-9]|1[0-9]|2[0-8]))",
    // 29 February: years divisible by 4 but not by 100, and those divisible by 400.
    "|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29)"
);
const HOUR_MINUTE: &str = "(?:[01][0-9]|2[0-3]):[0-5][0-9]";

/// `YYYY-MM-DD HH:MM[:SS]` or with `T`, in the form's time zone.
fn local() -> String {
    format!("{DATE}[ T]{HOUR_MINUTE}(?::[0-5][0-9])?")
}

/// RFC 3339 with seconds, an optional fraction and `Z` or an offset.
fn rfc3339() -> String {
    format!(r"{DATE}T{HOUR_MINUTE}:[0-5][0-9](?:\.[0-9]{{1,9}})?(?:Z|[+-]{HOUR_MINUTE})")
}

/// `now`, or `now-N` with a unit; the server clamps N to 400 years, so any N is a time.
fn relative() -> String {
    format!("now(?:{WS}-{WS}[0-9]{{1,9}}{WS}[smhdw])?")
}

/// An address, network or range of either family, dots and colons maybe defanged (`[.]`).
fn address() -> String {
    let (v4, v6) = (ipv4(), ipv6());
    let p4 = "(?:3[0-2]|[12]?[0-9])";
    let p6 = "(?:12[0-8]|1[01][0-9]|[1-9]?[0-9])";
    format!("(?:{v4}(?:/{p4}|{WS}-{WS}{v4})?|{v6}(?:/{p6}|{WS}-{WS}{v6})?)")
}

/// Labels of letters, digits, `_` and `-` joined by dots (maybe defanged), the last not all
/// digits (no top-level domain is, so `1.2.3` is a mistyped address, not a name); a leading
/// dot makes it a part of a name, a trailing one is the root.
fn hostname() -> String {
    let label = r"[\p{L}\p{N}_-]+";
    let dot = r"(?:\.|\[\.\])";
    format!(r"{dot}?(?:{label}{dot})*[\p{{L}}\p{{N}}_-]*[\p{{L}}_-][\p{{L}}\p{{N}}_-]*\.?")
}

fn ipv4() -> String {
    let octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
    let dot = r"(?:\.|\[\.\])";
    format!("{octet}{dot}{octet}{dot}{octet}{dot}{octet}")
}

/// Every textual form of RFC 4291 that Rust's `Ipv6Addr` reads: eight groups, or fewer
/// around one `::`, the last two maybe an IPv4 address.
fn ipv6() -> String {
    let h = "[0-9a-fA-F]{1,4}";
    let c = r"(?::|\[:\])";
    let v4 = ipv4();
    // `n` groups, each followed by a colon.
    let groups = |n: usize| if n == 0 { String::new() } else { format!("(?:{h}{c}){{{n}}}") };
    let mut forms = vec![format!("{}{h}", groups(7)), format!("{}{v4}", groups(6))];
    for left in 0..=7 {
        let head = if left == 0 { String::new() } else { format!("{}{h}", groups(left - 1)) };
        let tail = match 7 - left {
            0 => String::new(),
            n => format!("(?:{h}(?:{c}{h}){{0,{}}})?", n - 1),
        };
        forms.push(format!("{head}{c}{c}{tail}"));
        if left <= 5 {
            forms.push(format!("{head}{c}{c}(?:{h}{c}){{0,{}}}{v4}", 5 - left));
        }
    }
    format!("(?:{})", forms.join("|"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_accepts_what_the_form_reads_and_nothing_else() {
        let cases: &[(Kind, &[&str], &[&str])] = &[
            (
                Kind::Time,
                &["", "  2024-02-29 10:00 ", "2024-06-01T12:00:59", "2000-02-29T00:00:00.5+14:00", "now", "now-24h"],
                &["2023-02-29 10:00", "1900-02-29 10:00", "2024-06-01 24:00", "2024-06-01T12:00Z", "now-", "now+1h"],
            ),
            (
                Kind::Addresses,
                &[
                    "",
                    "192.0.2.1",
                    "192.0.2[.]1, 10.0.0.0/8,,",
                    "::",
                    "1::",
                    "::ffff:1.2.3.4",
                    "1:2:3:4:5:6:7:8",
                    "a::b - a::c",
                    "example.com, .cz, 192.0.2.1",
                    "Mail.Example.CZ.",
                    "example[.]com",
                    "příklad.cz",
                    "localhost",
                    "2001.db8-x",
                ],
                &[
                    "01.2.3.4",
                    "192.0.2.1/33",
                    "1:2:3:4:5:6:7:8:9",
                    "1::2::3",
                    "192.0.2.1-::1",
                    "1.2.3",
                    "exa mple.cz",
                    "a/b",
                    "a..b",
                    "x@y.cz",
                ],
            ),
            (Kind::Ports, &["", "0", "22, 443", "65535"], &["65536", "022", "+22", "-1"]),
            (Kind::Page, &["", "1", " 42 "], &["0", "01", "1.5"]),
            (Kind::PageSize, &["", "100", "10000"], &["7", "0100"]),
            (Kind::SortOrder, &["", "time.desc", "storagetime.asc"], &["time", "Time.desc"]),
            (Kind::Zone, &["", "UTC", "Europe/Prague", "Etc/GMT+5"], &["Mars/Base", "europe/prague"]),
            (Kind::Cursor, &["", "1795000000000000~a.b-c_d"], &["1~", "x~y", "1~a b"]),
            (Kind::Text, &["", "any text"], &["a\0b"]),
        ];
        for (k, good, bad) in cases {
            for v in *good {
                assert!(accepts(*k, v), "{k:?} refuses {v:?}");
            }
            for v in *bad {
                assert!(!accepts(*k, v), "{k:?} accepts {v:?}");
            }
        }
        assert!(accepts(Kind::Choice, "Recon.Scanning") && !accepts(Kind::Choice, "a\0b"), "a choice is text");
        assert!(accepts(Kind::Switch, "maybe") && pattern(Kind::Flag).is_none(), "switches read every value");
        assert!(is_hostname(".cz") && is_hostname("mail.example.cz") && !is_hostname("192.0.2.1, x"));
    }

    #[test]
    fn every_address_form_is_one_rust_reads() {
        for v in
            ["::", "1::", "::1", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:1.2.3.4", "::1.2.3.4", "1::1.2.3.4"]
        {
            assert!(v.parse::<std::net::Ipv6Addr>().is_ok() && accepts(Kind::Addresses, v), "{v}");
        }
        for v in ["1:2:3:4:5:6:7:8::", "1:2:3:4:5:6::1.2.3.4", "1:2:3:4:5:6:7:1.2.3.4"] {
            assert!(v.parse::<std::net::Ipv6Addr>().is_err() && !accepts(Kind::Addresses, v), "{v}");
        }
    }
}
