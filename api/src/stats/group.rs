//! The statistics of one group of events (overall, internal or external): counters and
//! aggregations `{value: count}`, stored as Mentat stores them (one JSON object).

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value};

/// The value counted for events that have none.
pub const UNKNOWN: &str = "__unknown__";
/// The sum of the values cut from a toplist (`__REST__`); values ranked by count, as the
/// charts rank them.
pub use ideadb_wire::chart::{ranked, REST};

/// What is counted per event, with Mentat's key names (shared with the app).
pub use ideadb_wire::aggregation::Agg;

/// How many values an aggregation keeps.
pub trait Toplist {
    fn limit(self) -> usize;
}

impl Toplist for Agg {
    /// Toplist length: Mentat keeps 1,000 values of its whitelisted keys and 100 of the rest
    /// (addresses and ASNs).
    fn limit(self) -> usize {
        match self {
            Agg::Ips | Agg::Asns => 100,
            _ => 1000,
        }
    }
}

/// Counters and aggregations of one group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupStats {
    pub cnt_events: i64,
    pub cnt_recurring: i64,
    pub aggs: BTreeMap<Agg, BTreeMap<String, i64>>,
}

impl GroupStats {
    /// Counts one event: each of its distinct values once, `__unknown__` for a key it has
    /// no value of.
    pub fn include(&mut self, values: &BTreeMap<Agg, Vec<String>>, recurring: bool) {
        self.cnt_events += 1;
        self.cnt_recurring += i64::from(recurring);
        for agg in Agg::ALL {
            let counts = self.aggs.entry(agg).or_default();
            match values.get(&agg).filter(|v| !v.is_empty()) {
                Some(vs) => {
                    for (i, v) in vs.iter().enumerate() {
                        // Lists are short: a scan finds repeats faster than sorting.
                        if !vs[..i].contains(v) {
                            bump(counts, v);
                        }
                    }
                }
                None => bump(counts, UNKNOWN),
            }
        }
    }

    /// Adds another group's counts (a later window, a finer row of the same range).
    pub fn merge(&mut self, other: &GroupStats) {
        self.cnt_events += other.cnt_events;
        self.cnt_recurring += other.cnt_recurring;
        for (agg, counts) in &other.aggs {
            let mine = self.aggs.entry(*agg).or_default();
            for (k, n) in counts {
                *mine.entry(k.clone()).or_default() += n;
            }
        }
    }

    /// Cuts every aggregation to its toplist: Mentat's `_make_toplist`.
    pub fn truncate(&mut self) {
        for (agg, counts) in self.aggs.iter_mut() {
            let order = ranked(counts);
            if order.len() < agg.limit() {
                continue;
            }
            let keep = order.into_iter().take(agg.limit() - 1).collect();
            mask(counts, &keep);
        }
    }

    /// Mentat's JSON form: the counters and one object per aggregation.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("cnt_events".into(), self.cnt_events.into());
        m.insert("cnt_alerts".into(), self.cnt_events.into());
        m.insert("cnt_recurring".into(), self.cnt_recurring.into());
        m.insert("cnt_unique".into(), (self.cnt_events - self.cnt_recurring).into());
        for (agg, counts) in &self.aggs {
            if !counts.is_empty() {
                let obj: Map<String, Value> = counts.iter().map(|(k, n)| (k.clone(), (*n).into())).collect();
                m.insert(agg.key().into(), Value::Object(obj));
            }
        }
        Value::Object(m)
    }
}

/// Counts one more of `key`, allocating only for a new key.
fn bump(counts: &mut BTreeMap<String, i64>, key: &str) {
    match counts.get_mut(key) {
        Some(n) => *n += 1,
        None => {
            counts.insert(key.to_string(), 1);
        }
    }
}

/// Reads the JSON form straight from text, without building a `Value` first (dashboards read
/// hundreds of these).
impl<'de> serde::Deserialize<'de> for GroupStats {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = GroupStats;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("group statistics")
            }
            fn visit_unit<E>(self) -> Result<GroupStats, E> {
                Ok(GroupStats::default())
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<GroupStats, A::Error> {
                let mut g = GroupStats::default();
                let mut alerts = 0;
                while let Some(key) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                    match (key.as_ref(), Agg::parse(&key)) {
                        ("cnt_events", _) => g.cnt_events = m.next_value()?,
                        ("cnt_alerts", _) => alerts = m.next_value()?,
                        ("cnt_recurring", _) => g.cnt_recurring = m.next_value()?,
                        (_, Some(agg)) => {
                            g.aggs.insert(agg, m.next_value()?);
                        }
                        _ => {
                            m.next_value::<serde::de::IgnoredAny>()?;
                        }
                    }
                }
                g.cnt_events = g.cnt_events.max(alerts);
                Ok(g)
            }
        }
        d.deserialize_any(V)
    }
}

/// Keeps the values in `keep` and sums every other one (and any `__REST__`) into `__REST__`.
pub fn mask(counts: &mut BTreeMap<String, i64>, keep: &HashSet<String>) {
    let old = std::mem::take(counts);
    let mut rest = 0;
    let mut had_rest = false;
    for (k, n) in old {
        if k != REST && keep.contains(&k) {
            counts.insert(k, n);
        } else {
            had_rest = true;
            rest += n;
        }
    }
    if had_rest {
        counts.insert(REST.to_string(), rest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
        pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
    }

    #[test]
    fn a_toplist_keeps_n_minus_one_by_count_then_name_and_sums_the_rest() {
        let mut g = GroupStats::default();
        let mut ips: BTreeMap<String, i64> = (0..150).map(|i| (format!("10.0.0.{i:03}"), 1 + i % 3)).collect();
        ips.insert(REST.into(), 7);
        let total: i64 = ips.values().sum();
        g.aggs.insert(Agg::Ips, ips);
        g.truncate();
        let ips = &g.aggs[&Agg::Ips];
        assert_eq!(ips.len(), 100, "99 values and __REST__");
        assert_eq!(ips.values().sum::<i64>(), total, "nothing is lost");
        // 50 values have count 3 (i % 3 == 2), 50 have 2: all of those, then the first 49 ones
        // alphabetically... none of count 1 survive.
        assert!(ips.iter().filter(|(k, _)| *k != REST).all(|(_, n)| *n >= 2));
        assert_eq!(ranked(ips).first().map(String::as_str), Some("10.0.0.002"));
    }

    #[test]
    fn short_lists_are_kept_whole() {
        let mut g = GroupStats::default();
        g.aggs.insert(Agg::Categories, counts(&[("A", 1), ("B", 2)]));
        let before = g.clone();
        g.truncate();
        assert_eq!(g, before);
    }

    #[test]
    fn json_round_trips() {
        let mut g = GroupStats::default();
        let values: BTreeMap<Agg, Vec<String>> =
            [(Agg::Categories, vec!["A".to_string(), "A".to_string(), "B".to_string()])].into();
        g.include(&values, true);
        g.include(&BTreeMap::new(), false);
        let j = g.to_json();
        assert_eq!(j["categories"], serde_json::json!({"A": 1, "B": 1, "__unknown__": 1}));
        assert_eq!((j["cnt_events"].as_i64(), j["cnt_unique"].as_i64()), (Some(2), Some(1)));
        assert_eq!(serde_json::from_value::<GroupStats>(j).unwrap(), g);
    }
}
