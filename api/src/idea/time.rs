//! IDEA timestamps: RFC 3339 with a mandatory zone, or Unix epoch seconds.
//! Stored as naive UTC truncated to microseconds, like Mentat.

use super::json::Json;
use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

/// Parses an IDEA timestamp value into naive UTC.
pub fn parse(v: &Json) -> Result<NaiveDateTime, String> {
    match v {
        Json::Str(s) => parse_str(s),
        Json::Num(n) => {
            let secs = n.as_f64().ok_or_else(|| format!("{n} is not a valid epoch time"))?;
            let micros = (secs * 1e6).round();
            if !micros.is_finite() || micros.abs() > 1e17 {
                return Err(format!("{n} is out of range for an epoch time"));
            }
            DateTime::<Utc>::from_timestamp_micros(micros as i64)
                .map(|d| d.naive_utc())
                .ok_or_else(|| format!("{n} is out of range for an epoch time"))
        }
        other => Err(format!("expected an RFC 3339 timestamp string or epoch number, got {}", other.kind())),
    }
}

/// Parses `YYYY-MM-DD[Tt ]HH:MM:SS[.frac](Z|z|±HH:MM)`.
pub fn parse_str(s: &str) -> Result<NaiveDateTime, String> {
    let t = s.trim();
    // chrono's RFC 3339 parser takes 'T', 't' or ' ' as separator and 'Z' or 'z'.
    DateTime::parse_from_rfc3339(t)
        .map(|d| d.naive_utc().trunc_subsecs(6))
        .map_err(|_| format!("\"{s}\" is not an RFC 3339 timestamp with a time zone (e.g. 2024-01-31T12:00:00Z)"))
}

/// Renders as IDEA writes UTC times: `2012-11-03T10:00:07Z`, with microseconds when non-zero.
pub fn render(t: &NaiveDateTime) -> String {
    if t.and_utc().timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(text: &str) -> Json<'_> {
        Json::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn accepts_zones_fractions_separators_and_epochs() {
        let utc = |v: Json| render(&parse(&v).unwrap());
        assert_eq!(utc(json(r#""2012-11-03T10:00:07Z""#)), "2012-11-03T10:00:07Z");
        assert_eq!(utc(json(r#""2012-11-03t10:00:07z""#)), "2012-11-03T10:00:07Z");
        assert_eq!(utc(json(r#""2012-11-03 12:00:07+02:00""#)), "2012-11-03T10:00:07Z");
        assert_eq!(utc(json(r#""2012-11-03T10:00:07.1234567Z""#)), "2012-11-03T10:00:07.123456Z");
        assert_eq!(utc(json("1352109607")), "2012-11-05T10:00:07Z");
        assert_eq!(utc(json("1352109607.5")), "2012-11-05T10:00:07.500000Z");
    }

    #[test]
    fn rejects_missing_zone_and_wrong_types() {
        assert!(parse(&json(r#""2012-11-03T10:00:07""#)).unwrap_err().contains("time zone"));
        assert!(parse(&json("true")).unwrap_err().contains("a boolean"));
        assert!(parse(&json(r#""yesterday""#)).is_err());
    }
}
