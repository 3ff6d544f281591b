//! What the statistician reads of one IDEA message: the value of each aggregation, the
//! internal/external split and the fingerprint that decides recurrence.
//!
//! Values are read as Mentat reads them: detectors and analyzers from the **last** Node,
//! addresses (`ips`) from every Source's IP4 and IP6, the private keys from `_Mentat` or else
//! `_CESNET` (key by key). An event is internal when it has resolved abuse groups.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::group::Agg;

#[derive(Debug, Clone, PartialEq)]
pub struct EventDigest {
    pub id: String,
    pub storagetime: NaiveDateTime,
    pub values: BTreeMap<Agg, Vec<String>>,
    /// Detector, category set and source address set, hashed.
    pub fingerprint: i64,
}

impl EventDigest {
    pub fn internal(&self) -> bool {
        self.values.get(&Agg::Abuses).is_some_and(|v| !v.is_empty())
    }

    /// Reads the stored bytes with a parser that visits only the fields counted (several
    /// times faster than a whole `Value`); a message it cannot read goes the general way.
    pub fn from_stored(id: String, storagetime: NaiveDateTime, raw: &[u8]) -> Option<Self> {
        match serde_json::from_slice::<fast::Msg>(raw) {
            Ok(m) => Some(m.digest(id, storagetime)),
            Err(_) => serde_json::from_slice::<Value>(raw).ok().map(|v| Self::new(id, storagetime, &v)),
        }
    }

    pub fn new(id: String, storagetime: NaiveDateTime, msg: &Value) -> Self {
        let categories = strings(msg.get("Category"));
        let last_node = match msg.get("Node") {
            Some(Value::Array(nodes)) => nodes.last(),
            other => other,
        };
        let detectors = strings(last_node.and_then(|n| n.get("Name")));
        let analyzers = strings(last_node.and_then(|n| n.get("SW")));
        let mut ips = Vec::new();
        for source in list(msg.get("Source")) {
            ips.extend(strings(source.get("IP4")));
            ips.extend(strings(source.get("IP6")));
        }
        let private = |key: &str| private(msg, key);
        let privates = [
            private("ResolvedAbuses"),
            private("SourceResolvedASN"),
            private("SourceResolvedCountry"),
            private("EventClass"),
            private("EventSeverity"),
        ];
        Self::assemble(id, storagetime, Parts { categories, detectors, analyzers, ips, privates })
    }

    fn assemble(id: String, storagetime: NaiveDateTime, p: Parts) -> Self {
        let Parts { categories, detectors, analyzers, ips, privates } = p;
        let mut values = BTreeMap::new();
        let detectorsws: Vec<String> = detectors
            .iter()
            .flat_map(|d| {
                if analyzers.is_empty() {
                    vec![d.clone()]
                } else {
                    analyzers.iter().map(|sw| format!("{d}/{sw}")).collect()
                }
            })
            .collect();
        let fingerprint = fingerprint(&detectors, &categories, &ips);
        if !categories.is_empty() {
            values.insert(Agg::CategorySets, vec![categories.join("/")]);
        }
        values.insert(Agg::Categories, categories);
        values.insert(Agg::Detectors, detectors);
        values.insert(Agg::Analyzers, analyzers);
        values.insert(Agg::DetectorsWs, detectorsws);
        values.insert(Agg::Ips, ips);
        for (agg, v) in
            [Agg::Abuses, Agg::Asns, Agg::Countries, Agg::Classes, Agg::Severities].into_iter().zip(privates)
        {
            values.insert(agg, v);
        }
        Self { id, storagetime, values, fingerprint }
    }
}

/// What a digest is made of, however the message was read.
struct Parts {
    categories: Vec<String>,
    detectors: Vec<String>,
    analyzers: Vec<String>,
    ips: Vec<String>,
    /// ResolvedAbuses, SourceResolvedASN, SourceResolvedCountry, EventClass, EventSeverity.
    privates: [Vec<String>; 5],
}

/// The fast reader: typed, lenient in the same ways as the general one (a scalar for a
/// list, numbers as text), skipping every other field unparsed.
mod fast {
    use std::fmt;

    use chrono::NaiveDateTime;
    use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde::Deserialize;

    use super::{EventDigest, Parts};

    /// Scalars, or the scalars of a list, as text.
    #[derive(Default)]
    pub struct Strings(pub Vec<String>);

    impl<'de> Deserialize<'de> for Strings {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Strings;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a scalar or a list")
                }
                fn visit_str<E>(self, v: &str) -> Result<Strings, E> {
                    Ok(Strings(vec![v.to_string()]))
                }
                fn visit_string<E>(self, v: String) -> Result<Strings, E> {
                    Ok(Strings(vec![v]))
                }
                fn visit_i64<E>(self, v: i64) -> Result<Strings, E> {
                    Ok(Strings(vec![v.to_string()]))
                }
                fn visit_u64<E>(self, v: u64) -> Result<Strings, E> {
                    Ok(Strings(vec![v.to_string()]))
                }
                fn visit_f64<E>(self, v: f64) -> Result<Strings, E> {
                    Ok(Strings(vec![serde_json::Number::from_f64(v).map_or(v.to_string(), |n| n.to_string())]))
                }
                fn visit_bool<E>(self, v: bool) -> Result<Strings, E> {
                    Ok(Strings(vec![v.to_string()]))
                }
                fn visit_unit<E>(self) -> Result<Strings, E> {
                    Ok(Strings::default())
                }
                fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Strings, A::Error> {
                    while m.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                    Ok(Strings::default())
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strings, A::Error> {
                    let mut out = Vec::new();
                    while let Some(item) = seq.next_element::<Strings>()? {
                        // Lists inside lists are not IDEA; their scalars are not counted.
                        if item.0.len() == 1 {
                            out.extend(item.0);
                        }
                    }
                    Ok(Strings(out))
                }
            }
            d.deserialize_any(V)
        }
    }

    /// A list of objects, or one object.
    pub struct OneOrMany<T>(pub Vec<T>);

    impl<T> Default for OneOrMany<T> {
        fn default() -> Self {
            Self(Vec::new())
        }
    }

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V<T>(std::marker::PhantomData<T>);
            impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
                type Value = OneOrMany<T>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("an object or a list of objects")
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                    let mut out = Vec::new();
                    while let Some(item) = seq.next_element()? {
                        out.push(item);
                    }
                    Ok(OneOrMany(out))
                }
                fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<Self::Value, A::Error> {
                    T::deserialize(serde::de::value::MapAccessDeserializer::new(m)).map(|t| OneOrMany(vec![t]))
                }
                fn visit_unit<E>(self) -> Result<Self::Value, E> {
                    Ok(OneOrMany::default())
                }
            }
            d.deserialize_any(V(std::marker::PhantomData))
        }
    }

    #[derive(Deserialize, Default)]
    pub struct Node {
        #[serde(rename = "Name", default)]
        name: Strings,
        #[serde(rename = "SW", default)]
        sw: Strings,
    }

    #[derive(Deserialize, Default)]
    pub struct Source {
        #[serde(rename = "IP4", default)]
        ip4: Strings,
        #[serde(rename = "IP6", default)]
        ip6: Strings,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Private {
        #[serde(rename = "ResolvedAbuses")]
        abuses: Strings,
        #[serde(rename = "SourceResolvedASN")]
        asns: Strings,
        #[serde(rename = "SourceResolvedCountry")]
        countries: Strings,
        #[serde(rename = "EventClass")]
        class: Strings,
        #[serde(rename = "EventSeverity")]
        severity: Strings,
    }

    #[derive(Deserialize)]
    pub struct Msg {
        #[serde(rename = "Category", default)]
        category: Strings,
        #[serde(rename = "Node", default)]
        node: OneOrMany<Node>,
        #[serde(rename = "Source", default)]
        source: OneOrMany<Source>,
        #[serde(rename = "_CESNET", default)]
        cesnet: Option<Private>,
        #[serde(rename = "_Mentat", default)]
        mentat: Option<Private>,
    }

    impl Msg {
        pub fn digest(self, id: String, storagetime: NaiveDateTime) -> EventDigest {
            let node = self.node.0.into_iter().last().unwrap_or_default();
            let mut ips = Vec::new();
            for s in self.source.0 {
                ips.extend(s.ip4.0);
                ips.extend(s.ip6.0);
            }
            let (mut m, mut c) = (self.mentat.unwrap_or_default(), self.cesnet.unwrap_or_default());
            // `_Mentat` wins key by key.
            let mut pick = |f: fn(&mut Private) -> &mut Strings| {
                let a = std::mem::take(&mut f(&mut m).0);
                if a.is_empty() {
                    std::mem::take(&mut f(&mut c).0)
                } else {
                    a
                }
            };
            let privates = [
                pick(|p| &mut p.abuses),
                pick(|p| &mut p.asns),
                pick(|p| &mut p.countries),
                pick(|p| &mut p.class),
                pick(|p| &mut p.severity),
            ];
            let parts =
                Parts { categories: self.category.0, detectors: node.name.0, analyzers: node.sw.0, ips, privates };
            EventDigest::assemble(id, storagetime, parts)
        }
    }
}

fn list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

/// Scalars, or the scalars of a list, as text.
fn strings(v: Option<&Value>) -> Vec<String> {
    list(v)
        .into_iter()
        .filter_map(|x| match x {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        })
        .collect()
}

fn private(msg: &Value, key: &str) -> Vec<String> {
    ["_Mentat", "_CESNET"]
        .iter()
        .filter_map(|d| msg.get(*d).and_then(|d| d.get(key)))
        .map(|v| strings(Some(v)))
        .find(|v| !v.is_empty())
        .unwrap_or_default()
}

fn fingerprint(detectors: &[String], categories: &[String], ips: &[String]) -> i64 {
    let set = |v: &[String]| {
        let mut v: Vec<&str> = v.iter().map(String::as_str).collect();
        v.sort_unstable();
        v.dedup();
        v.join(",")
    };
    let text = format!("{}\n{}\n{}", set(detectors), set(categories), set(ips));
    let h = Sha256::digest(text.as_bytes());
    i64::from_be_bytes(h[..8].try_into().expect("8 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn digest(v: Value) -> EventDigest {
        EventDigest::new("x".into(), NaiveDateTime::default(), &v)
    }

    #[test]
    fn values_are_read_as_mentat_reads_them() {
        let d = digest(json!({
            "Category": ["Recon.Scanning", "Test"],
            "Node": [{"Name": "cz.a.first", "SW": ["x"]}, {"Name": "cz.a.last", "SW": ["Kippo", "Dionaea"]}],
            "Source": [{"IP4": ["192.0.2.1"], "IP6": ["2001:db8::1"]}, {"IP4": "192.0.2.2"}],
            "_CESNET": {"ResolvedAbuses": ["abuse@a"], "EventSeverity": "low", "SourceResolvedASN": [64500]},
            "_Mentat": {"EventSeverity": "high"}
        }));
        let v = |a: Agg| d.values[&a].clone();
        assert_eq!(v(Agg::Detectors), ["cz.a.last"]);
        assert_eq!(v(Agg::DetectorsWs), ["cz.a.last/Kippo", "cz.a.last/Dionaea"]);
        assert_eq!(v(Agg::CategorySets), ["Recon.Scanning/Test"]);
        assert_eq!(v(Agg::Ips), ["192.0.2.1", "2001:db8::1", "192.0.2.2"]);
        assert_eq!(v(Agg::Severities), ["high"], "_Mentat wins");
        assert_eq!(v(Agg::Asns), ["64500"]);
        assert!(d.internal());
        assert!(v(Agg::Countries).is_empty());
    }

    #[test]
    fn the_fast_reader_reads_what_the_general_one_reads() {
        let msgs = [
            json!({"Category": "Test", "Node": {"Name": "n", "SW": "x"}, "Source": {"IP4": "192.0.2.1"},
                   "_CESNET": {"SourceResolvedASN": "64500", "EventSeverity": ["low"]}, "Other": [1, {"a": 2}]}),
            json!({"Category": ["A", "B"], "Node": [{"Name": "a"}, {"Name": "b", "SW": ["s1", "s2"]}],
                   "Source": [{"IP4": ["1.1.1.1"], "IP6": ["2001:db8::1"], "Port": [22]}, {"IP4": ["2.2.2.2"]}],
                   "_Mentat": {"ResolvedAbuses": ["m"], "EventClass": "c"}, "_CESNET": {"ResolvedAbuses": ["c"], "SourceResolvedASN": [1, 2.5]}}),
            json!({"Category": ["A"], "Node": null, "_CESNET": null}),
        ];
        for m in msgs {
            let raw = serde_json::to_vec(&m).unwrap();
            let fast = EventDigest::from_stored("x".into(), NaiveDateTime::default(), &raw).unwrap();
            assert_eq!(fast, digest(m.clone()), "{m}");
        }
    }

    #[test]
    fn the_fingerprint_ignores_order_and_everything_but_detector_categories_and_sources() {
        let a = digest(
            json!({"Category": ["A", "B"], "Node": [{"Name": "d"}], "Source": [{"IP4": ["1.1.1.1", "2.2.2.2"]}],
                              "Description": "one"}),
        );
        let b = digest(
            json!({"Category": ["B", "A"], "Node": [{"Name": "d"}], "Source": [{"IP4": ["2.2.2.2"]}, {"IP4": ["1.1.1.1"]}],
                              "Description": "two", "Target": [{"IP4": ["3.3.3.3"]}]}),
        );
        let c = digest(
            json!({"Category": ["A", "B"], "Node": [{"Name": "e"}], "Source": [{"IP4": ["1.1.1.1", "2.2.2.2"]}]}),
        );
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, c.fingerprint);
        assert!(!c.internal());
    }
}
