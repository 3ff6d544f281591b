//! Address filters: exact matches through `events_addr`.
//!
//! Each arm looks up one direction: single IPv4 addresses through the btree on
//! `(v4, detecttime)`, ranges, CIDRs and IPv6 through the GiST on `(ip, detecttime)`, with the
//! detection-time bounds repeated so an index narrows address and time at once. The lookup
//! runs once, first (`= ANY(ARRAY(...))`): ip4r's `&&` selectivity estimate is generic, and
//! with `IN (...)` the planner would rather walk the time index and probe every event.
//!
//! A wide range in a short window (a /16 in one day) is tested per event instead, against
//! the event's own address arrays, which the time index reaches faster than the side table.
//!
//! Top-N pushdown: when a search is only addresses (each a single address) plus time bounds,
//! sorted by detection time with a limit, each arm returns just its first N rows in
//! (detecttime, id) order. That is exact: an event's merged ranges are disjoint, so an arm
//! holds at most one row per event, and every event of the overall first N is among the
//! first N of its arm. It keeps "everything about this address" fast for addresses that
//! occur in a hundred thousand events. A page of messages then comes from the arms alone
//! ([`AddrSearch::page`]); a filter on other rows looks each match up by ID and storage
//! time, so a search over all time reads one week per match, not every week.

use chrono::NaiveDateTime;
use sea_query::{Expr, Value};

use super::params::{Cursor, SortDir};
use super::partitions::Pruning;
use crate::idea::IpRange;

/// Which rows of `events_addr` an address filter selects.
pub(crate) struct AddrSearch<'a> {
    /// (direction, values): values ORed, directions ORed.
    pub dirs: Vec<(char, &'a [IpRange])>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// The partitions that `from` leaves.
    pub pruning: &'a Pruning,
    pub top: Option<Top<'a>>,
}

/// The first `rows` matches in detection-time order, after an optional cursor.
#[derive(Clone, Copy)]
pub(crate) struct Top<'a> {
    pub rows: u64,
    pub dir: SortDir,
    pub after: Option<&'a Cursor>,
}

/// Collects SQL text and its values, numbering placeholders as it goes.
#[derive(Default)]
struct Sql {
    text: String,
    values: Vec<Value>,
}

impl Sql {
    fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    fn bind(&mut self, v: impl Into<Value>) -> String {
        self.values.push(v.into());
        format!("${}", self.values.len())
    }
}

/// Wider than this many addresses, a range in a short window is tested per event.
const WIDE: u128 = 1 << 12;
/// "Short" time window for that choice.
const SHORT_WINDOW_DAYS: i64 = 3;

impl AddrSearch<'_> {
    pub fn filter(&self) -> Expr {
        if self.wide_in_short_window() {
            return self.row_filter();
        }
        let mut sql = Sql::default();
        match &self.top {
            None => {
                sql.push("events.id = ANY(ARRAY(");
                self.plain_arms(&mut sql);
                sql.push("))");
            }
            // With the storage times, each of the few events is looked up in its own
            // partition (pruned at run time); by ID alone, in every partition the search
            // reaches, which for "this address, all time" is a year of them.
            Some(top) => {
                sql.push("(events.id, events.cesnet_storagetime) IN (");
                self.top_arms(&mut sql, top);
                sql.push(")");
            }
        }
        Expr::cust_with_values(sql.text, sql.values)
    }

    /// The number of events matching, counted from the address tables alone; only exact
    /// when nothing but addresses of one kind and detection-time bounds is asked for. None
    /// where testing each event of the window is faster (see `filter`).
    pub fn count(&self) -> Option<Expr> {
        if self.wide_in_short_window() {
            return None;
        }
        let mut sql = Sql::default();
        sql.push("(SELECT count(DISTINCT c.id) FROM (");
        self.plain_arms(&mut sql);
        sql.push(") c)");
        Some(Expr::cust_with_values(sql.text, sql.values))
    }

    /// A wide range in a day or two: the day's events, found by time, are fewer than the
    /// range's address rows over all time, so test each event's own ranges (`x && ANY(...)`,
    /// exact, as Mentat does) and let the planner use the time index. Whole /16 networks do
    /// not count as wide: `events_net16` finds them by time.
    fn wide_in_short_window(&self) -> bool {
        let short = match (self.from, self.to) {
            (Some(a), Some(b)) => b - a <= chrono::TimeDelta::days(SHORT_WINDOW_DAYS),
            _ => false,
        };
        let wide = self.dirs.iter().flat_map(|(_, a)| a.iter()).any(|r| match *r {
            IpRange::V4 { lo, hi } => split16(lo, hi).1.iter().any(|(lo, hi)| u128::from(hi - lo) >= WIDE),
            IpRange::V6 { lo, hi } => hi - lo >= WIDE << 64,
        });
        short && wide && self.top.is_none()
    }

    fn row_filter(&self) -> Expr {
        let mut sql = Sql::default();
        let mut terms = Vec::new();
        for (dir, addrs) in &self.dirs {
            let col = if *dir == 's' { "events.source_ip" } else { "events.target_ip" };
            for a in addrs.iter() {
                terms.push(format!("{}::text::iprange && ANY({col})", sql.bind(a.to_string())));
            }
        }
        sql.push(&format!("({})", terms.join(" OR ")));
        Expr::cust_with_values(sql.text, sql.values)
    }

    /// Per direction, one arm over `events_addr` (its values ORed) and, for whole /16
    /// networks, one over `events_net16`.
    fn plain_arms(&self, sql: &mut Sql) {
        for (i, (dir, addrs)) in self.dirs.iter().enumerate() {
            if i > 0 {
                sql.push(" UNION ALL ");
            }
            let mut blocks = Vec::new();
            let mut terms = Vec::new();
            for a in addrs.iter() {
                if let IpRange::V4 { lo, hi } = *a {
                    let (whole, edges) = split16(lo, hi);
                    blocks.extend(whole);
                    for (lo, hi) in edges {
                        let (lo, hi) = (sql.bind(i64::from(lo)), sql.bind(i64::from(hi)));
                        terms.push(format!("a.v4 BETWEEN {lo} AND {hi}"));
                    }
                }
                terms.push(format!("(a.v4 IS NULL AND a.ip && {}::text::iprange)", sql.bind(a.to_string())));
            }
            sql.push(&format!("SELECT a.id FROM events_addr a WHERE a.dir = '{dir}' AND ({})", terms.join(" OR ")));
            self.time_bounds(sql, "a");
            if !blocks.is_empty() {
                let blocks = sql.bind(blocks);
                sql.push(&format!(
                    " UNION ALL SELECT n.id FROM events_net16 n WHERE n.dir = '{dir}' AND n.net16 = ANY({blocks}::int4[])"
                ));
                self.time_bounds(sql, "n");
            }
        }
    }

    /// The page of a cut search from the address rows alone: the ID, detection and storage
    /// time of the first `limit` matches after `offset`, as the select list and FROM of a
    /// statement (`DISTINCT c.id, … FROM (…) c ORDER BY … LIMIT …`). An arm's rows carry
    /// everything a page needs, so `events` is not read, nor planned over every week.
    pub fn page(&self, limit: u64, offset: u64) -> Option<Expr> {
        let top = self.top.as_ref()?;
        let order = if top.dir == SortDir::Desc { "DESC" } else { "ASC" };
        let mut sql = Sql::default();
        // An event whose address is on both sides comes from two arms.
        sql.push("DISTINCT c.id, c.detecttime, c.storagetime FROM (");
        self.cut_arms(&mut sql, top, "a.id, a.detecttime, a.storagetime");
        sql.push(&format!(") c ORDER BY c.detecttime {order}, c.id {order} LIMIT {limit} OFFSET {offset}"));
        Some(Expr::cust_with_values(sql.text, sql.values))
    }

    /// The matches' IDs and storage times, each arm cut to the first rows.
    fn top_arms(&self, sql: &mut Sql, top: &Top) {
        sql.push("SELECT c.id, c.storagetime FROM (");
        self.cut_arms(sql, top, "a.id, a.storagetime");
        sql.push(") c");
    }

    /// One arm per direction, value and index, each cut to the first rows, selecting `columns`.
    fn cut_arms(&self, sql: &mut Sql, top: &Top, columns: &str) {
        let (order, op) = if top.dir == SortDir::Desc { ("DESC", "<") } else { ("ASC", ">") };
        let mut first = true;
        for (dir, addrs) in &self.dirs {
            for a in addrs.iter() {
                let mut kinds = vec![format!("a.v4 IS NULL AND a.ip && {}::text::iprange", sql.bind(a.to_string()))];
                if let Some(v4) = a.single_v4() {
                    kinds.push(format!("a.v4 = {}", sql.bind(i64::from(v4))));
                }
                for kind in kinds {
                    if !first {
                        sql.push(" UNION ALL ");
                    }
                    first = false;
                    sql.push(&format!("(SELECT {columns} FROM events_addr a WHERE a.dir = '{dir}' AND {kind}"));
                    self.time_bounds(sql, "a");
                    if let Some(cur) = top.after {
                        let (t, id) = (sql.bind(cur.time), sql.bind(cur.id.clone()));
                        sql.push(&format!(" AND (a.detecttime, a.id) {op} ({t}, {id})"));
                    }
                    sql.push(&format!(" ORDER BY a.detecttime {order}, a.id {order} LIMIT {})", top.rows));
                }
            }
        }
    }

    fn time_bounds(&self, sql: &mut Sql, table: &str) {
        for (bound, op) in [(self.from, ">="), (self.to, "<=")] {
            if let Some(t) = bound {
                let p = sql.bind(t);
                sql.push(&format!(" AND {table}.detecttime {op} {p}"));
            }
        }
        if let Some(cond) = self.pruning.sql(&format!("{table}.storagetime"), |t| sql.bind(t)) {
            sql.push(&format!(" AND {cond}"));
        }
    }
}

/// Most /16 networks one lookup lists (a /8); a wider range is read by address alone.
const MAX_BLOCKS: u64 = 256;

/// The whole /16 networks inside `lo..=hi` and the addresses left over at either end; no
/// networks and the range itself when it holds none or too many.
fn split16(lo: u32, hi: u32) -> (Vec<i32>, Vec<(u32, u32)>) {
    // In u64: the network after 255.255.0.0/16 starts at 2^32.
    let first = u64::from(lo).div_ceil(1 << 16);
    let end = (u64::from(hi) + 1) >> 16;
    if first >= end || end - first > MAX_BLOCKS {
        return (Vec::new(), vec![(lo, hi)]);
    }
    let blocks = (first..end).map(|b| b as i32).collect();
    let mut edges = Vec::new();
    if u64::from(lo) < first << 16 {
        edges.push((lo, ((first << 16) - 1) as u32));
    }
    if u64::from(hi) >= end << 16 {
        edges.push(((end << 16) as u32, hi));
    }
    (blocks, edges)
}

#[cfg(test)]
mod tests {
    use super::split16;

    #[test]
    fn ranges_split_into_whole_networks_and_edges() {
        let ip = |s: &str| u32::from(s.parse::<std::net::Ipv4Addr>().unwrap());
        assert_eq!(split16(ip("10.1.0.0"), ip("10.1.255.255")), (vec![0x0a01], vec![]));
        assert_eq!(
            split16(ip("10.0.128.0"), ip("10.2.127.255")),
            (vec![0x0a01], vec![(ip("10.0.128.0"), ip("10.0.255.255")), (ip("10.2.0.0"), ip("10.2.127.255"))])
        );
        assert_eq!(split16(ip("255.255.0.0"), ip("255.255.255.255")), (vec![0xffff], vec![]));
        let (lo, hi) = (ip("10.1.0.0"), ip("10.1.255.254"));
        assert_eq!(split16(lo, hi), (vec![], vec![(lo, hi)]), "no whole network");
        let (lo, hi) = (ip("10.0.0.0"), ip("12.0.0.0"));
        assert_eq!(split16(lo, hi), (vec![], vec![(lo, hi)]), "more than a /8");
    }
}
