//! IPv4/IPv6 addresses, networks and ranges as IDEA writes them, and as ip4r stores them.
//!
//! One type serves every ip4r column (`iprange`, `ip4r`, `ip6r`): it writes ip4r's binary
//! wire format directly, so bulk loads and queries never go through text casts.

use std::error::Error as StdError;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use bytes::{BufMut, BytesMut};
use postgres_types::{to_sql_checked, FromSql, IsNull, ToSql, Type};

/// An inclusive range of addresses of one family; a single address has `lo == hi`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IpRange {
    V4 { lo: u32, hi: u32 },
    V6 { lo: u128, hi: u128 },
}

/// Address family, as IDEA splits them into `IP4` and `IP6`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl IpRange {
    /// Parses a single address, a CIDR network (host bits are masked off, as IDEA allows
    /// `192.168.0.10/25`) or an `a-b` range, of either family.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let fam = if s.contains(':') { Family::V6 } else { Family::V4 };
        Self::parse_family(s, fam)
    }

    /// Like [`IpRange::parse`] but only accepts the given family.
    pub fn parse_family(s: &str, fam: Family) -> Result<Self, String> {
        let bad = || {
            let what = match fam {
                Family::V4 => "IPv4",
                Family::V6 => "IPv6",
            };
            format!("\"{s}\" is not a valid {what} address, network or range")
        };
        let s = s.trim();
        if let Some((a, b)) = s.split_once('-') {
            let (lo, hi) = match fam {
                Family::V4 => {
                    let a = Ipv4Addr::from_str(a.trim()).map_err(|_| bad())?;
                    let b = Ipv4Addr::from_str(b.trim()).map_err(|_| bad())?;
                    (u128::from(u32::from(a)), u128::from(u32::from(b)))
                }
                Family::V6 => {
                    let a = Ipv6Addr::from_str(a.trim()).map_err(|_| bad())?;
                    let b = Ipv6Addr::from_str(b.trim()).map_err(|_| bad())?;
                    (u128::from(a), u128::from(b))
                }
            };
            if lo > hi {
                return Err(format!("\"{s}\" is a range whose start is above its end"));
            }
            return Ok(Self::from_bounds(fam, lo, hi));
        }
        if s.contains('/') {
            return match fam {
                Family::V4 => {
                    let n = ipnetwork::Ipv4Network::from_str(s).map_err(|_| bad())?;
                    Ok(Self::V4 { lo: u32::from(n.network()), hi: u32::from(n.broadcast()) })
                }
                Family::V6 => {
                    let n = ipnetwork::Ipv6Network::from_str(s).map_err(|_| bad())?;
                    let host = u128::MAX.checked_shr(u32::from(n.prefix())).unwrap_or(0);
                    let lo = u128::from(n.ip()) & !host;
                    Ok(Self::V6 { lo, hi: lo | host })
                }
            };
        }
        match fam {
            Family::V4 => {
                let a = u32::from(Ipv4Addr::from_str(s).map_err(|_| bad())?);
                Ok(Self::V4 { lo: a, hi: a })
            }
            Family::V6 => {
                let a = u128::from(Ipv6Addr::from_str(s).map_err(|_| bad())?);
                Ok(Self::V6 { lo: a, hi: a })
            }
        }
    }

    fn from_bounds(fam: Family, lo: u128, hi: u128) -> Self {
        match fam {
            // Callers only pass IPv4 bounds that came from u32 values.
            Family::V4 => Self::V4 { lo: lo as u32, hi: hi as u32 },
            Family::V6 => Self::V6 { lo, hi },
        }
    }

    pub fn family(&self) -> Family {
        match self {
            Self::V4 { .. } => Family::V4,
            Self::V6 { .. } => Family::V6,
        }
    }

    /// Bounds widened to u128 so both families share one arithmetic.
    pub fn bounds(&self) -> (u128, u128) {
        match *self {
            Self::V4 { lo, hi } => (u128::from(lo), u128::from(hi)),
            Self::V6 { lo, hi } => (lo, hi),
        }
    }

    /// The address as a number when the range is one IPv4 address.
    pub fn single_v4(&self) -> Option<u32> {
        match *self {
            Self::V4 { lo, hi } if lo == hi => Some(lo),
            _ => None,
        }
    }

    /// Sorts and merges overlapping or adjacent ranges of one family list.
    pub fn merge(mut items: Vec<IpRange>) -> Vec<IpRange> {
        items.sort();
        let mut out: Vec<IpRange> = Vec::with_capacity(items.len());
        for r in items {
            if let Some(last) = out.last_mut() {
                let (lo, hi) = last.bounds();
                let (rlo, rhi) = r.bounds();
                if last.family() == r.family() && rlo <= hi.saturating_add(1) {
                    *last = Self::from_bounds(r.family(), lo, hi.max(rhi));
                    continue;
                }
            }
            out.push(r);
        }
        out
    }

    /// The smallest range covering every item of the given family (Mentat's `*_aggr_*`).
    pub fn hull(items: &[IpRange], fam: Family) -> Option<IpRange> {
        let mut it = items.iter().filter(|r| r.family() == fam).map(|r| r.bounds());
        let (mut lo, mut hi) = it.next()?;
        for (l, h) in it {
            lo = lo.min(l);
            hi = hi.max(h);
        }
        Some(Self::from_bounds(fam, lo, hi))
    }

    /// Prefix length when the range is exactly one CIDR network.
    fn prefix_len(&self) -> Option<u8> {
        let (lo, hi, bits) = match *self {
            Self::V4 { lo, hi } => (u128::from(lo), u128::from(hi), 32u32),
            Self::V6 { lo, hi } => (lo, hi, 128u32),
        };
        let host = lo ^ hi;
        // host must be a run of trailing ones with lo's host part all zero.
        if host & host.wrapping_add(1) != 0 || lo & host != 0 {
            return None;
        }
        Some((bits - (128 - host.leading_zeros()).min(bits)) as u8)
    }
}

impl fmt::Display for IpRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addr = |v: u128| -> String {
            match self {
                Self::V4 { .. } => Ipv4Addr::from(v as u32).to_string(),
                Self::V6 { .. } => Ipv6Addr::from(v).to_string(),
            }
        };
        let (lo, hi) = self.bounds();
        if lo == hi {
            return f.write_str(&addr(lo));
        }
        match self.prefix_len() {
            Some(p) => write!(f, "{}/{}", addr(lo), p),
            None => write!(f, "{}-{}", addr(lo), addr(hi)),
        }
    }
}

impl FromStr for IpRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::parse(s)
    }
}

impl serde::Serialize for IpRange {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for IpRange {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

const AF_INET: u8 = 2;
const AF_INET6: u8 = 3;

impl ToSql for IpRange {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn StdError + Sync + Send>> {
        match (ty.name(), *self) {
            ("ip4r", Self::V4 { lo, hi }) => {
                out.put_u32(lo);
                out.put_u32(hi);
            }
            ("ip6r", Self::V6 { lo, hi }) => {
                out.put_u128(lo);
                out.put_u128(hi);
            }
            // iprange: [af, prefix bits (255 = not a prefix), flag, nbytes] + bounds.
            ("iprange", Self::V4 { lo, hi }) => {
                out.put_slice(&[AF_INET, 255, 0, 8]);
                out.put_u32(lo);
                out.put_u32(hi);
            }
            ("iprange", Self::V6 { lo, hi }) => {
                out.put_slice(&[AF_INET6, 255, 0, 32]);
                out.put_u128(lo);
                out.put_u128(hi);
            }
            (name, v) => return Err(format!("{v} cannot be stored in a column of type {name}").into()),
        }
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        matches!(ty.name(), "ip4r" | "ip6r" | "iprange")
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for IpRange {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn StdError + Sync + Send>> {
        let u32_at = |i: usize| -> u32 { u32::from_be_bytes(raw[i..i + 4].try_into().unwrap_or_default()) };
        let u64_at = |i: usize| -> u64 { u64::from_be_bytes(raw[i..i + 8].try_into().unwrap_or_default()) };
        let u128_at = |i: usize| -> u128 { u128::from_be_bytes(raw[i..i + 16].try_into().unwrap_or_default()) };
        match (ty.name(), raw.len()) {
            ("ip4r", 8) => return Ok(Self::V4 { lo: u32_at(0), hi: u32_at(4) }),
            ("ip6r", 32) => return Ok(Self::V6 { lo: u128_at(0), hi: u128_at(16) }),
            ("iprange", n) if n >= 4 && n == 4 + raw[3] as usize => {}
            (name, n) => return Err(format!("unexpected {n}-byte value for type {name}").into()),
        }
        let (af, bits, data) = (raw[0], raw[1], 4);
        let mask4 = |b: u8| -> u32 { u32::MAX.checked_shr(u32::from(b)).unwrap_or(0) };
        let mask6 = |b: u8| -> u128 { u128::MAX.checked_shr(u32::from(b)).unwrap_or(0) };
        match (af, raw[3]) {
            (AF_INET, 4) => {
                let lo = u32_at(data);
                Ok(Self::V4 { lo, hi: lo | mask4(bits) })
            }
            (AF_INET, 8) => Ok(Self::V4 { lo: u32_at(data), hi: u32_at(data + 4) }),
            (AF_INET6, 8) => {
                let lo = u128::from(u64_at(data)) << 64;
                Ok(Self::V6 { lo, hi: lo | mask6(bits) })
            }
            (AF_INET6, 16) => {
                let lo = u128_at(data);
                Ok(Self::V6 { lo, hi: lo | mask6(bits) })
            }
            (AF_INET6, 32) => Ok(Self::V6 { lo: u128_at(data), hi: u128_at(data + 16) }),
            (0, 0) => Err("the match-all iprange '-' has no family".into()),
            (af, n) => Err(format!("unsupported iprange encoding (af {af}, {n} bytes)").into()),
        }
    }

    fn accepts(ty: &Type) -> bool {
        matches!(ty.name(), "ip4r" | "ip6r" | "iprange")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_idea_forms_of_both_families() {
        assert_eq!(IpRange::parse("192.168.1.1").unwrap().to_string(), "192.168.1.1");
        assert_eq!(IpRange::parse("192.168.0.10/25").unwrap().to_string(), "192.168.0.0/25");
        assert_eq!(IpRange::parse("192.168.0.2-192.168.0.5").unwrap().to_string(), "192.168.0.2-192.168.0.5");
        assert_eq!(IpRange::parse("10.0.0.0-10.0.0.255").unwrap().to_string(), "10.0.0.0/24");
        assert_eq!(IpRange::parse("2001:db8::ff00:42:0/112").unwrap().to_string(), "2001:db8::ff00:42:0/112");
        assert_eq!(IpRange::parse("::/0").unwrap().bounds(), (0, u128::MAX));
        assert_eq!(IpRange::parse("0.0.0.0/0").unwrap().to_string(), "0.0.0.0/0");
        assert!(IpRange::parse("192.168.0.5-192.168.0.2").is_err());
        assert!(IpRange::parse("1.2.3").is_err());
        assert!(IpRange::parse_family("1.2.3.4", Family::V6).is_err());
    }

    #[test]
    fn merge_joins_overlapping_and_adjacent_ranges_but_keeps_zero() {
        let r = |s: &str| IpRange::parse(s).unwrap();
        let merged = IpRange::merge(vec![r("10.0.0.5"), r("0.0.0.0"), r("10.0.0.0/30"), r("10.0.0.4"), r("::1")]);
        let shown: Vec<String> = merged.iter().map(|x| x.to_string()).collect();
        assert_eq!(shown, ["0.0.0.0", "10.0.0.0-10.0.0.5", "::1"]);
        assert_eq!(IpRange::hull(&merged, Family::V4).unwrap().to_string(), "0.0.0.0-10.0.0.5");
    }
}
