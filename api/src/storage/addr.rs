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
//! occur in a hundred thousand events.

use chrono::NaiveDateTime;
use sea_query::{Expr, Value};

use super::params::{Cursor, SortDir};
use crate::idea::IpRange;

/// Which rows of `events_addr` an address filter selects.
pub(crate) struct AddrSearch<'a> {
    /// (direction, values): values ORed, directions ORed.
    pub dirs: Vec<(char, &'a [IpRange])>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    pub top: Option<Top<'a>>,
}

/// The first `rows` matches in detection-time order, after an optional cursor.
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
        sql.push("events.id = ANY(ARRAY(");
        match &self.top {
            None => self.plain_arms(&mut sql),
            Some(top) => self.top_arms(&mut sql, top),
        }
        sql.push("))");
        Expr::cust_with_values(sql.text, sql.values)
    }

    /// A wide range (a /16) in a day or two: the day's events, found by time, are fewer than the
    /// range's address rows over all time, so test each event's own ranges (`x && ANY(...)`,
    /// exact, as Mentat does) and let the planner use the time index.
    fn wide_in_short_window(&self) -> bool {
        let short = match (self.from, self.to) {
            (Some(a), Some(b)) => b - a <= chrono::TimeDelta::days(SHORT_WINDOW_DAYS),
            _ => false,
        };
        let wide = self.dirs.iter().flat_map(|(_, a)| a.iter()).any(|r| {
            let (lo, hi) = r.bounds();
            let width = hi - lo;
            match r.family() {
                crate::idea::Family::V4 => width >= WIDE,
                crate::idea::Family::V6 => width >= WIDE << 64,
            }
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

    /// One arm per direction, its values ORed.
    fn plain_arms(&self, sql: &mut Sql) {
        for (i, (dir, addrs)) in self.dirs.iter().enumerate() {
            if i > 0 {
                sql.push(" UNION ALL ");
            }
            sql.push(&format!("SELECT a.id FROM events_addr a WHERE a.dir = '{dir}' AND ("));
            for (j, a) in addrs.iter().enumerate() {
                if j > 0 {
                    sql.push(" OR ");
                }
                let ranges = format!("(a.v4 IS NULL AND a.ip && {}::text::iprange)", sql.bind(a.to_string()));
                match *a {
                    IpRange::V4 { lo, hi } => {
                        let (lo, hi) = (sql.bind(i64::from(lo)), sql.bind(i64::from(hi)));
                        sql.push(&format!("a.v4 BETWEEN {lo} AND {hi} OR {ranges}"));
                    }
                    IpRange::V6 { .. } => sql.push(&ranges),
                }
            }
            sql.push(")");
            self.time_bounds(sql);
        }
    }

    /// One arm per direction, value and index, each cut to the first rows.
    fn top_arms(&self, sql: &mut Sql, top: &Top) {
        let (order, op) = if top.dir == SortDir::Desc { ("DESC", "<") } else { ("ASC", ">") };
        sql.push("SELECT c.id FROM (");
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
                    sql.push(&format!("(SELECT a.id FROM events_addr a WHERE a.dir = '{dir}' AND {kind}"));
                    self.time_bounds(sql);
                    if let Some(cur) = top.after {
                        let (t, id) = (sql.bind(cur.time), sql.bind(cur.id.clone()));
                        sql.push(&format!(" AND (a.detecttime, a.id) {op} ({t}, {id})"));
                    }
                    sql.push(&format!(" ORDER BY a.detecttime {order}, a.id {order} LIMIT {})", top.rows));
                }
            }
        }
        sql.push(") c");
    }

    fn time_bounds(&self, sql: &mut Sql) {
        for (bound, op) in [(self.from, ">="), (self.to, "<=")] {
            if let Some(t) = bound {
                let p = sql.bind(t);
                sql.push(&format!(" AND a.detecttime {op} {p}"));
            }
        }
    }
}
