//! Synthetic, realistic IDEA messages for tests and benchmarks (`ideadb gen`).
//!
//! The mix follows the corpus: Nemea, honeypot, Warden-filer and blacklist detectors; a
//! skewed pool of attacker addresses (so searches for one address find something); 10–20%
//! of events with several far-apart sources (Mentat's weak spot); CIDRs and ranges; IPv6;
//! scans with many targets; `_CESNET` severities, classes, abuse groups, countries and ASNs.
//! Deterministic for a given seed.

use std::io::Write;

use chrono::{NaiveDateTime, TimeDelta};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

use crate::idea::time::render;

struct Detector {
    name: &'static str,
    sw: &'static [&'static str],
    node_type: &'static [&'static str],
    categories: &'static [&'static str],
    class: &'static str,
    description: &'static str,
    proto: &'static [&'static str],
    ports: &'static [u16],
    weight: u32,
}

const DETECTORS: &[Detector] = &[
    Detector {
        name: "cz.cesnet.nemea.vportscan",
        sw: &["Nemea", "vportscan_detector"],
        node_type: &["Flow", "Statistical"],
        categories: &["Recon.Scanning"],
        class: "recon-scanning",
        description: "Vertical scan using TCP SYN",
        proto: &["tcp"],
        ports: &[22, 23, 80, 443, 3389, 8080],
        weight: 22,
    },
    Detector {
        name: "cz.cesnet.nemea.hoststats",
        sw: &["Nemea", "hoststatsnemea"],
        node_type: &["Flow", "Statistical"],
        categories: &["Recon.Scanning"],
        class: "recon-scanning",
        description: "Horizontal scan",
        proto: &["tcp"],
        ports: &[22, 445, 3389, 5900],
        weight: 16,
    },
    Detector {
        name: "cz.cesnet.nemea.amplification",
        sw: &["Nemea", "amplification_detection"],
        node_type: &["Flow", "Statistical"],
        categories: &["Availability.DDoS"],
        class: "availability-ddos",
        description: "DNS amplification attack",
        proto: &["udp", "dns"],
        ports: &[53, 123, 1900, 11211],
        weight: 6,
    },
    Detector {
        name: "cz.cesnet.nemea.bruteforce",
        sw: &["Nemea", "brute_force_detector"],
        node_type: &["Flow", "Statistical"],
        categories: &["Attempt.Login"],
        class: "attempt-login-ssh",
        description: "SSH dictionary/bruteforce attack",
        proto: &["tcp", "ssh"],
        ports: &[22],
        weight: 14,
    },
    Detector {
        name: "cz.cesnet.kippo",
        sw: &["Kippo"],
        node_type: &["Connection", "Honeypot"],
        categories: &["Attempt.Login", "Intrusion.UserCompromise"],
        class: "attempt-login-honeypot",
        description: "SSH login on honeypot",
        proto: &["tcp", "ssh"],
        ports: &[22, 2222],
        weight: 9,
    },
    Detector {
        name: "cz.cesnet.dionaea",
        sw: &["Dionaea"],
        node_type: &["Connection", "Honeypot"],
        categories: &["Attempt.Exploit", "Malware"],
        class: "attempt-exploit",
        description: "Malware download attempt",
        proto: &["tcp", "smb"],
        ports: &[445, 135, 1433],
        weight: 7,
    },
    Detector {
        name: "cz.cesnet.labrea",
        sw: &["LaBrea"],
        node_type: &["Connection", "Tarpit"],
        categories: &["Recon.Scanning"],
        class: "recon-scanning-tarpit",
        description: "TCP connections/scan",
        proto: &["tcp"],
        ports: &[80, 8080, 8443],
        weight: 10,
    },
    Detector {
        name: "cz.cesnet.blacklistfilter",
        sw: &["Nemea", "blacklistfilter"],
        node_type: &["Flow", "Blacklist"],
        categories: &["Intrusion.Botnet"],
        class: "intrusion-botnet",
        description: "Communication with a blacklisted botnet C&C",
        proto: &["tcp"],
        ports: &[6667, 443, 8443],
        weight: 8,
    },
    Detector {
        name: "cz.muni.csirt.fail2ban",
        sw: &["Fail2Ban"],
        node_type: &["Log", "Auth"],
        categories: &["Attempt.Login"],
        class: "attempt-login",
        description: "Repeated failed logins",
        proto: &["tcp", "smtp"],
        ports: &[25, 465, 587, 993],
        weight: 6,
    },
    Detector {
        name: "cz.cesnet.mentat.test",
        sw: &["Mentat"],
        node_type: &["Test"],
        categories: &["Test"],
        class: "",
        description: "Test event",
        proto: &["tcp"],
        ports: &[80],
        weight: 2,
    },
];

const SEVERITIES: &[&str] = &["low", "medium", "medium", "high", "critical"];
const ABUSES: &[&str] = &["abuse@cesnet.cz", "abuse@muni.cz", "abuse@cuni.cz", "abuse@vut.cz", "csirt@cvut.cz"];
const HOST_PREFIXES: &[&str] = &["mail", "www", "vps", "srv", "ns", "cdn"];
const DOMAINS: &[&str] = &[
    "cesnet.cz",
    "muni.cz",
    "example.com",
    "example.net",
    "botnet.example.ru",
    "cdn.example.cn",
    "shop.example.de",
    "vut.cz",
];
const COUNTRIES: &[&str] = &["CN", "US", "RU", "BR", "IN", "NL", "DE", "VN", "CZ", "KR"];
/// Constituency networks (/16) that targets fall into and internal sources come from: a
/// national research network's worth of address space.
pub const CONSTITUENCY: &[u32] = &[
    0xC371_0000, // 195.113/16
    0x93FB_0000, // 147.251/16
    0x4E80_0000, // 78.128/16
    0x93E5_0000, // 147.229/16
    0x93E6_0000, // 147.230/16
    0x93E7_0000, // 147.231/16
    0x93E8_0000, // 147.232/16
    0xA065_0000, // 160.101/16
    0xA066_0000, // 160.102/16
    0xC1B2_0000, // 193.178/16
    0xC284_0000, // 194.132/16
    0xC39F_0000, // 195.159/16
];

/// Writes `count` messages as NDJSON, detection times spread over the `days` before `end`,
/// in time order.
pub fn write(out: &mut dyn Write, count: u64, days: u32, seed: u64, end: NaiveDateTime) -> std::io::Result<()> {
    let mut g = Generator::new(seed);
    let span = TimeDelta::days(i64::from(days.max(1))).num_milliseconds();
    let start = end - TimeDelta::milliseconds(span);
    let step = span as f64 / count.max(1) as f64;
    for i in 0..count {
        let t =
            start + TimeDelta::milliseconds((i as f64 * step) as i64 + g.rng.random_range(0..=step.max(1.0) as i64));
        let ev = g.event(t.min(end));
        serde_json::to_writer(&mut *out, &ev)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

struct Generator {
    rng: SmallRng,
    /// Draws the hostnames alone, so that adding them left every other value as it was.
    names: SmallRng,
    attackers: Vec<u32>,
}

impl Generator {
    fn new(seed: u64) -> Self {
        let mut rng = SmallRng::seed_from_u64(seed);
        let attackers = (0..50_000).map(|_| public_v4(&mut rng)).collect();
        Self { rng, names: SmallRng::seed_from_u64(seed ^ 0x6e61_6d65), attackers }
    }

    /// A skewed pool of names, as of attackers: a few recur often.
    fn hostname(&mut self) -> String {
        let x: f64 = self.names.random();
        let n = (x * x * x * 20_000.0) as usize;
        format!("{}{n}.{}", HOST_PREFIXES[n % HOST_PREFIXES.len()], DOMAINS[(n / 7) % DOMAINS.len()])
    }

    /// Names the detectors report: a blacklisted C&C's name, a malware URL, a target's name.
    fn add_hostnames(&mut self, d: &Detector, src: &mut Map<String, Value>, tgt: &mut Map<String, Value>) {
        if d.name == "cz.cesnet.blacklistfilter" || self.names.random_bool(0.04) {
            src.insert("Hostname".into(), json!([self.hostname()]));
        }
        if d.name == "cz.cesnet.dionaea" && self.names.random_bool(0.5) {
            src.insert("URL".into(), json!([format!("http://{}/bin/x86.sh", self.hostname())]));
        }
        if self.names.random_bool(0.06) {
            tgt.insert("Hostname".into(), json!([self.hostname()]));
        }
    }

    fn detector(&mut self) -> &'static Detector {
        let total: u32 = DETECTORS.iter().map(|d| d.weight).sum();
        let mut pick = self.rng.random_range(0..total);
        DETECTORS
            .iter()
            .find(|d| {
                if pick < d.weight {
                    return true;
                }
                pick -= d.weight;
                false
            })
            .unwrap_or(&DETECTORS[0])
    }

    /// Skewed reuse: a few attackers are very busy, many are seen rarely.
    fn attacker(&mut self) -> u32 {
        let n = self.attackers.len();
        let x: f64 = self.rng.random();
        self.attackers[((x * x * x) * n as f64) as usize % n]
    }

    fn event(&mut self, detect: NaiveDateTime) -> Value {
        let d = self.detector();
        let r = &mut self.rng;
        let mut id = [0u8; 16];
        r.fill(&mut id);
        let id = uuid::Builder::from_random_bytes(id).into_uuid().to_string();
        let internal_source = r.random_bool(0.35);
        let mut src = Map::new();
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        let roll: f64 = r.random();
        if roll < 0.08 {
            v6.push(format!(
                "2001:db8:{:x}:{:x}::{:x}",
                r.random_range(0..0xffffu32),
                r.random_range(0..0xffffu32),
                r.random_range(1..0xffffu32)
            ));
        } else {
            let first = if internal_source { own(r) } else { self.attacker() };
            v4.push(ip4(first));
            let r = &mut self.rng;
            if roll < 0.23 {
                // Several far-apart sources: DDoS reflectors, botnets, aggregated reports.
                for _ in 0..r.random_range(1..5) {
                    v4.push(ip4(public_v4(r)));
                }
            }
            if r.random_bool(0.03) {
                v4.push(format!("{}/28", ip4(public_v4(r) & 0xffff_fff0)));
            }
            if r.random_bool(0.02) {
                let lo = public_v4(r);
                v4.push(format!("{}-{}", ip4(lo), ip4(lo.saturating_add(r.random_range(2..40)))));
            }
            if r.random_bool(0.03) {
                v6.push(format!("2001:db8:{:x}::/48", r.random_range(0..0xffffu32)));
            }
        }
        let r = &mut self.rng;
        if !v4.is_empty() {
            src.insert("IP4".into(), json!(v4));
        }
        if !v6.is_empty() {
            src.insert("IP6".into(), json!(v6));
        }
        src.insert("Proto".into(), json!(d.proto));
        if r.random_bool(0.5) {
            src.insert(
                "Type".into(),
                json!([if d.categories[0].starts_with("Recon") { "Scanner" } else { "Attacker" }]),
            );
        }
        if r.random_bool(0.2) {
            src.insert("Port".into(), json!([r.random_range(1024..65535)]));
        }
        let mut tgt = Map::new();
        let scan = d.categories[0] == "Recon.Scanning" && r.random_bool(0.3);
        let targets: Vec<String> = if scan {
            // A scan sweeps one network.
            let net = own(r) & 0xffff_0000;
            (0..r.random_range(10..60)).map(|_| ip4(net | r.random_range(1..0xfffe))).collect()
        } else {
            vec![ip4(own(r))]
        };
        tgt.insert("IP4".into(), json!(targets));
        let ports: Vec<u16> = if scan { d.ports.to_vec() } else { vec![d.ports[r.random_range(0..d.ports.len())]] };
        tgt.insert("Port".into(), json!(ports));
        tgt.insert("Proto".into(), json!(d.proto));
        let storage = detect + TimeDelta::seconds(r.random_range(1..600));
        self.add_hostnames(d, &mut src, &mut tgt);
        let r = &mut self.rng;
        let mut ev = json!({
            "Format": "IDEA0",
            "ID": id,
            "DetectTime": render(&detect),
            "CreateTime": render(&(detect + TimeDelta::seconds(r.random_range(0..120)))),
            "EventTime": render(&(detect - TimeDelta::seconds(r.random_range(60..3600)))),
            "Category": d.categories,
            "Description": d.description,
            "ConnCount": r.random_range(1..5000),
            "Source": [src],
            "Target": [tgt],
            "Node": [{"Name": d.name, "SW": d.sw, "Type": d.node_type, "AggrWin": "00:05:00"}],
        });
        let mut private = json!({
            "StorageTime": render(&storage),
            "EventSeverity": SEVERITIES[r.random_range(0..SEVERITIES.len())],
            "SourceResolvedCountry": [COUNTRIES[r.random_range(0..COUNTRIES.len())]],
            "SourceResolvedASN": [r.random_range(1000..65000)],
        });
        if !d.class.is_empty() {
            private["EventClass"] = json!(d.class);
        }
        if internal_source {
            private["ResolvedAbuses"] = json!([ABUSES[r.random_range(0..ABUSES.len())]]);
        }
        if r.random_bool(0.01) {
            private["InspectionErrors"] = json!(["Sending IP in Source"]);
        }
        ev["_CESNET"] = private;
        if r.random_bool(0.1) {
            ev["Note"] = json!("Aggregated from several reports");
        }
        ev
    }
}

fn ip4(a: u32) -> String {
    std::net::Ipv4Addr::from(a).to_string()
}

fn own(r: &mut SmallRng) -> u32 {
    CONSTITUENCY[r.random_range(0..CONSTITUENCY.len())] | r.random_range(1..0xfffe)
}

/// A random unicast address outside the private and reserved blocks.
fn public_v4(r: &mut SmallRng) -> u32 {
    loop {
        let a: u32 = r.random();
        let first = a >> 24;
        if !matches!(first, 0 | 10 | 100 | 127 | 169 | 172 | 192 | 198 | 203 | 224..=255) {
            return a;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_messages_are_valid_idea_and_deterministic() {
        let end = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap().naive_utc();
        let mut a = Vec::new();
        write(&mut a, 500, 3, 7, end).unwrap();
        let mut b = Vec::new();
        write(&mut b, 500, 3, 7, end).unwrap();
        assert_eq!(a, b);
        let rows: Vec<_> =
            a.split(|c| *c == b'\n').filter(|l| !l.is_empty()).map(|l| crate::idea::parse(l).unwrap()).collect();
        assert_eq!(rows.len(), 500);
        let multi = rows.iter().filter(|r| r.source_ip.len() > 1).count();
        assert!((40..=125).contains(&multi), "{multi} of 500 events have several sources");
        assert!(rows.iter().any(|r| r.source_ip.iter().any(|ip| ip.family() == crate::idea::Family::V6)));
        assert!(rows.iter().any(|r| r.target_ip.len() >= 10));
        assert!(rows.windows(2).all(|w| w[0].detecttime <= w[1].detecttime));
    }
}
