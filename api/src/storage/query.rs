//! Search parameters → parameterised SQL (Mentat's `build_query`, spec §3).
//!
//! Semantics: every list is ORed; chunks are ANDed; `__EMPTY__` and `__ANY__` test for the
//! absence or presence of any value (ORed with the other values of the list); `not_*`
//! negates a chunk; `host_*` overrides `source_*`/`target_*`; addresses are matched exactly
//! through `events_addr` (single, CIDR or range of either family); the description is a
//! case-insensitive substring. `time.*` sorts by storage time when a storage-time bound is
//! given, else by detection time; `after` pages by keyset (sort time, id).

use chrono::NaiveDateTime;
use sea_query::{
    Alias, Cond, Condition, DeleteStatement, Expr, ExprTrait, Iden, JoinType, Order, PostgresQueryBuilder, Query,
    SelectStatement,
};

use super::addr::{AddrSearch, Top};
use super::citus::Flavour;
use super::params::{Hostname, QueryKind, SearchParams, SortBy, SortDir, SortField, Values, Visibility, ANY, EMPTY};
use super::partitions::Pruning;
use crate::idea::IpRange;

#[derive(Iden, Clone, Copy)]
pub(crate) enum Events {
    Table,
    Id,
    Detecttime,
    Category,
    SourcePort,
    TargetPort,
    SourceType,
    TargetType,
    Protocol,
    NodeName,
    NodeType,
    CesnetStoragetime,
    CesnetResolvedabuses,
    CesnetEventclass,
    CesnetEventseverity,
    CesnetInspectionerrors,
    Tlp,
    Targetabuses,
    Targetclass,
    Targetseverity,
    NodeSw,
    ShadowReporting,
    ShadowReportingTarget,
}

#[derive(Iden)]
pub(crate) enum EventsJson {
    Table,
    Id,
    Storagetime,
    Event,
}

impl SearchParams {
    /// The sort actually applied: none unless asked for, but keyset paging needs one.
    pub(crate) fn effective_sort(&self) -> Option<(Events, SortDir)> {
        let sort = self.sortby.or(self.after.as_ref().map(|_| SortBy::default()))?;
        let col = match sort.field {
            SortField::DetectTime => Events::Detecttime,
            SortField::StorageTime => Events::CesnetStoragetime,
            SortField::Time if self.st_from.is_some() || self.st_to.is_some() => Events::CesnetStoragetime,
            SortField::Time => Events::Detecttime,
        };
        Some((col, sort.dir))
    }

    /// The first-rows cut of the address lookup, when it is exact (see `addr`): a limited
    /// search by detection time over single addresses of one kind (source, target or host)
    /// and time bounds alone.
    fn addr_top(&self) -> Option<Top<'_>> {
        let (col, dir) = self.effective_sort()?;
        let limit = u64::from(self.limit?);
        let singles = self.only_addresses().is_some_and(|a| a.iter().all(|a| a.bounds().0 == a.bounds().1));
        if !matches!(col, Events::Detecttime) || !singles {
            return None;
        }
        Some(Top { rows: self.offset() + limit, dir, after: self.after.as_ref() })
    }

    /// The addresses, when the search is addresses of one kind (source, target or host) and
    /// detection-time bounds alone, apart from sorting and paging.
    fn only_addresses(&self) -> Option<&[IpRange]> {
        let groups = [&self.host_addrs, &self.source_addrs, &self.target_addrs];
        let used: Vec<&Vec<IpRange>> = groups.into_iter().filter(|g| !g.is_empty()).collect();
        let rest = SearchParams {
            dt_from: None,
            dt_to: None,
            host_addrs: Vec::new(),
            source_addrs: Vec::new(),
            target_addrs: Vec::new(),
            page: 0,
            limit: None,
            sortby: None,
            after: None,
            ..self.clone()
        };
        (used.len() == 1 && rest == SearchParams::default()).then(|| used[0].as_slice())
    }

    /// The address lists in force, each with its directions and hostnames: host (either
    /// direction), or source and target (ANDed). Host overrides the other two even when it
    /// holds hostnames alone.
    fn sides(&self) -> Vec<(&'static [char], &[IpRange], &[Hostname])> {
        if !self.host_addrs.is_empty() || !self.host_hostnames.is_empty() {
            return vec![(&['s', 't'], &self.host_addrs, &self.host_hostnames)];
        }
        let sides: [(&'static [char], &[IpRange], &[Hostname]); 2] = [
            (&['s'], &self.source_addrs, &self.source_hostnames),
            (&['t'], &self.target_addrs, &self.target_hostnames),
        ];
        sides.into_iter().filter(|(_, a, h)| !a.is_empty() || !h.is_empty()).collect()
    }

    /// The address lookups of these parameters, one per side that lists addresses.
    fn addr_searches<'a>(&'a self, pruning: &'a Pruning) -> Vec<AddrSearch<'a>> {
        self.sides().into_iter().filter_map(|(dirs, addrs, _)| self.addr_search(dirs, addrs, pruning)).collect()
    }

    /// The lookup of one side's addresses, if it lists any.
    fn addr_search<'a>(&'a self, dirs: &[char], addrs: &'a [IpRange], pruning: &'a Pruning) -> Option<AddrSearch<'a>> {
        (!addrs.is_empty()).then(|| AddrSearch {
            dirs: dirs.iter().map(|d| (*d, addrs)).collect(),
            from: self.dt_from,
            to: self.dt_to,
            pruning,
            top: self.addr_top(),
        })
    }

    /// Each side's condition: its addresses or its hostnames.
    fn side_filters(&self, pruning: &Pruning) -> Vec<Condition> {
        self.sides()
            .into_iter()
            .map(|(dirs, addrs, hosts)| {
                let mut any = Cond::any();
                if let Some(search) = self.addr_search(dirs, addrs, pruning) {
                    any = any.add(search.filter());
                }
                for dir in dirs.iter().filter(|_| !hosts.is_empty()) {
                    any = any.add(hostname_filter(*dir, hosts));
                }
                any
            })
            .collect()
    }

    /// A page of messages answered from the address tables and `events_json` alone (see
    /// `addr`), when the search is cut to its first rows. Each message is a subquery of its
    /// own, so it reads the one week that holds it (pruned at run time) and cannot become a
    /// join that reads every week.
    ///
    /// Citus plans no correlated subquery over a subquery: there the messages are joined,
    /// each shard joining the page's rows that it holds.
    fn address_page(&self, pruning: &Pruning, flavour: Flavour) -> Option<SelectStatement> {
        let (_, dir) = self.effective_sort()?;
        let page = self.addr_searches(pruning).pop()?.page(u64::from(self.limit?), self.offset())?;
        let order = if dir == SortDir::Asc { Order::Asc } else { Order::Desc };
        let p = Alias::new("p");
        let mut q = Query::select();
        q.columns([(p.clone(), Events::Id), (p.clone(), Events::Detecttime)])
            .expr(Expr::col((p.clone(), Alias::new("storagetime"))))
            .from_subquery(Query::select().expr(page).to_owned(), p.clone())
            .order_by((p.clone(), Events::Detecttime), order.clone())
            .order_by((p, Events::Id), order);
        match flavour {
            Flavour::Single => q.expr(Expr::cust(
                "(SELECT j.event FROM events_json j WHERE j.id = \"p\".\"id\" AND j.storagetime = \"p\".\"storagetime\")",
            )),
            Flavour::Citus => q.expr(Expr::cust("\"j\".\"event\"")).join_as(
                JoinType::InnerJoin,
                Alias::new("events_json"),
                Alias::new("j"),
                Expr::cust("\"j\".\"id\" = \"p\".\"id\" AND \"j\".\"storagetime\" = \"p\".\"storagetime\""),
            ),
        };
        Some(q)
    }

    /// A count answered from the address tables alone (see `addr`), when that is exact.
    fn addr_count(&self, pruning: &Pruning) -> Option<Expr> {
        if self.after.is_some() || self.only_addresses().is_none() {
            return None;
        }
        self.addr_searches(pruning).pop()?.count()
    }

    /// The WHERE condition shared by every statement kind.
    pub(crate) fn condition(&self, pruning: &Pruning) -> Condition {
        let mut c = Cond::all();
        let time = |col: Events, op: &str, v: NaiveDateTime| {
            Expr::cust_with_values(format!("events.{} {op} $1", col.to_string()), [v])
        };
        for (v, col, op) in [
            (self.dt_from, Events::Detecttime, ">="),
            (self.dt_to, Events::Detecttime, "<="),
            (self.st_from, Events::CesnetStoragetime, ">="),
            (self.st_to, Events::CesnetStoragetime, "<="),
        ] {
            if let Some(v) = v {
                c = c.add(time(col, op, v));
            }
        }
        if let Some(e) = pruning.expr("events.cesnet_storagetime") {
            c = c.add(e);
        }
        if let Some(groups) = self.visibility.groups() {
            c = c.add(Expr::cust_with_values(Visibility::sql("events", 1), [sea_query::Value::from(groups.to_vec())]));
        }
        for side in self.side_filters(pruning) {
            c = c.add(side);
        }
        c = add_host_pair(c, &self.host_ports, &self.source_ports, &self.target_ports, port_filter);
        if !self.host_types.is_empty() {
            let h = Cond::any()
                .add(array_op(Events::SourceType, &self.host_types.values))
                .add(array_op(Events::TargetType, &self.host_types.values));
            c = c.add(negate(h, self.host_types.negate));
        } else {
            c = add_values(c, Events::SourceType, &self.source_types, array_op);
            c = add_values(c, Events::TargetType, &self.target_types, array_op);
        }
        c = add_values(c, Events::CesnetResolvedabuses, &self.groups, array_op);
        c = add_values(c, Events::Protocol, &lowered(&self.protocols), array_op);
        let plain = |v: &Values| !v.negate && !v.values.is_empty() && v.values.iter().all(|x| x != EMPTY && x != ANY);
        if plain(&self.categories) && plain(&self.detectors) {
            // Equivalent to both conditions, and estimated right (see migration 15).
            c = c.add(Expr::cust_with_values(
                "category_detector(events.category, events.node_name) && category_detector($1::text[], $2::text[])",
                [
                    sea_query::Value::from(self.categories.values.clone()),
                    sea_query::Value::from(self.detectors.values.clone()),
                ],
            ));
        } else {
            c = add_values(c, Events::Category, &self.categories, array_op);
            c = add_values(c, Events::NodeName, &self.detectors, array_op);
        }
        c = add_values(c, Events::CesnetEventseverity, &lowered(&self.severities), scalar_op);
        c = add_values(c, Events::CesnetEventclass, &lowered(&self.classes), scalar_op);
        c = add_values(c, Events::NodeType, &self.detector_types, array_op);
        c = add_values(c, Events::CesnetInspectionerrors, &self.inspection_errs, array_op);
        c = add_values(c, Events::Tlp, &uppered(&self.tlps), scalar_op);
        c = add_values(c, Events::Targetabuses, &self.target_groups, array_op);
        c = add_values(c, Events::Targetclass, &lowered(&self.target_classes), scalar_op);
        c = add_values(c, Events::Targetseverity, &lowered(&self.target_severities), scalar_op);
        c = add_values(c, Events::NodeSw, &self.detector_softwares, array_op);
        for (flag, col) in [
            (self.shadow_reporting, Events::ShadowReporting),
            (self.shadow_reporting_target, Events::ShadowReportingTarget),
        ] {
            if let Some(yes) = flag {
                c = c.add(Expr::col((Events::Table, col)).eq(yes));
            }
        }
        if let Some(d) = self.description.as_deref().filter(|d| !d.is_empty()) {
            // The matching descriptions, from their list's trigram index, then the events
            // holding one through the btree of their hashes; the text is rechecked.
            let pattern = format!("%{}%", like_escape(d));
            c = c.add(Expr::cust_with_values(
                "hashtext(events.description) = ANY(ARRAY(SELECT hashtext(d.data) FROM event_descriptions d \
                 WHERE d.data ILIKE $1 ESCAPE '\\')) AND events.description ILIKE $2 ESCAPE '\\'",
                [pattern.clone(), pattern],
            ));
        }
        if let (Some(cur), Some((col, dir))) = (&self.after, self.effective_sort()) {
            let op = if dir == SortDir::Desc { "<" } else { ">" };
            // The first condition alone bounds a scan of the time btree, which holds no ID.
            c = c.add(Expr::cust_with_values(
                format!("events.{col} {op}= $1 AND (events.{col}, events.id) {op} ($2, $3)", col = col.to_string()),
                [
                    sea_query::Value::from(cur.time),
                    sea_query::Value::from(cur.time),
                    sea_query::Value::from(cur.id.clone()),
                ],
            ));
        }
        c
    }

    /// The SELECT or COUNT statement of these parameters.
    pub fn select(&self, kind: QueryKind) -> SelectStatement {
        self.select_pruned(kind, &Pruning::default(), Flavour::Single)
    }

    /// [`select`](Self::select), reading only the partitions that `pruning` leaves.
    pub(crate) fn select_pruned(&self, kind: QueryKind, pruning: &Pruning, flavour: Flavour) -> SelectStatement {
        self.select_with(kind, pruning, Some(flavour))
    }

    /// A page of messages as [`select`](Self::select) gives it, but always through `events`
    /// (no page from the address tables alone): the benchmark's baseline.
    #[doc(hidden)]
    pub fn select_through_events(&self) -> SelectStatement {
        self.select_with(QueryKind::Select, &Pruning::default(), None)
    }

    /// `address_page`: the database's flavour where a page may come from the address tables.
    fn select_with(&self, kind: QueryKind, pruning: &Pruning, address_page: Option<Flavour>) -> SelectStatement {
        // Before the condition: an address-table count never visits `events`.
        if kind == QueryKind::Count {
            if let Some(count) = self.addr_count(pruning) {
                return Query::select().expr(count).to_owned();
            }
        }
        if let (QueryKind::Select, Some(flavour)) = (kind, address_page) {
            if let Some(page) = self.address_page(pruning, flavour) {
                return page;
            }
        }
        let mut q = Query::select();
        q.from(Events::Table).cond_where(self.condition(pruning));
        match kind {
            QueryKind::Count => {
                q.expr(Expr::cust("count(*)"));
                return q;
            }
            QueryKind::Select => {
                q.columns([
                    (Events::Table, Events::Id),
                    (Events::Table, Events::Detecttime),
                    (Events::Table, Events::CesnetStoragetime),
                ]);
            }
            QueryKind::SelectGhost => {
                q.expr(Expr::cust("events.*"));
            }
        }
        let sort =
            self.effective_sort().map(|(col, dir)| (col, if dir == SortDir::Asc { Order::Asc } else { Order::Desc }));
        if let Some((col, order)) = &sort {
            q.order_by((Events::Table, *col), order.clone()).order_by((Events::Table, Events::Id), order.clone());
        }
        if let Some(limit) = self.limit {
            q.limit(u64::from(limit));
            if self.offset() > 0 {
                q.offset(self.offset());
            }
        }
        if kind != QueryKind::Select {
            return q;
        }
        // Page first, then fetch the message bytes of that page only.
        let page = Alias::new("e");
        let json_time = Expr::col((EventsJson::Table, EventsJson::Storagetime));
        let mut join = Expr::col((EventsJson::Table, EventsJson::Id))
            .equals((page.clone(), Events::Id))
            .and(json_time.clone().equals((page.clone(), Events::CesnetStoragetime)));
        // The page's storage-time bounds, repeated on the message table so that it too reads
        // only their partitions.
        if let Some(e) = pruning.expr("events_json.storagetime") {
            join = join.and(e);
        }
        if let Some(t) = self.st_from {
            join = join.and(json_time.clone().gte(t));
        }
        if let Some(t) = self.st_to {
            join = join.and(json_time.lte(t));
        }
        let mut outer = Query::select();
        outer
            .columns([
                (page.clone(), Events::Id),
                (page.clone(), Events::Detecttime),
                (page.clone(), Events::CesnetStoragetime),
            ])
            .column((EventsJson::Table, EventsJson::Event))
            .from_subquery(q, page.clone())
            .inner_join(EventsJson::Table, join);
        if let Some((col, order)) = sort {
            outer.order_by((page.clone(), col), order.clone()).order_by((page, Events::Id), order);
        }
        outer
    }

    /// The DELETE statement of these parameters (sorting and paging do not apply).
    pub(crate) fn delete(&self, pruning: &Pruning) -> DeleteStatement {
        Query::delete().from_table(Events::Table).cond_where(self.condition(pruning)).to_owned()
    }

    /// The SQL text with values inlined, for display (Mentat's `mogrify`). Never executed;
    /// [`EventStore::mogrify`](super::EventStore::mogrify) adds the partition bounds.
    pub fn mogrify(&self, kind: QueryKind) -> String {
        self.select(kind).to_string(PostgresQueryBuilder)
    }
}

/// Whole names through the GIN on the side's array; parts through the trigram index on its
/// names as one text. A part that is a domain (`.example.cz`) is also looked up among the
/// side's domains: that adds no match (a name ending with it holds it), but the planner
/// estimates the array lookup from element statistics, where it cannot estimate `LIKE` at
/// all and took common domains for rare ones. The partial indexes' condition is repeated so
/// the planner can use them.
fn hostname_filter(dir: char, hosts: &[Hostname]) -> Expr {
    let side = if dir == 's' { "source" } else { "target" };
    let (names, domains) = (format!("events.{side}_hostname"), format!("events.{side}_domains"));
    let (mut exact, mut domain) = (Vec::new(), Vec::new());
    let mut terms = Vec::new();
    let mut values = Vec::new();
    for h in hosts {
        match h {
            Hostname::Exact(x) => exact.push(x.clone()),
            Hostname::Part(p) => {
                if is_domain(p) {
                    domain.push(p.clone());
                }
                values.push(sea_query::Value::from(format!("%{}%", like_escape(p))));
                terms.push(format!("hostnames_text({names}) LIKE ${} ESCAPE '\\'", values.len()));
            }
        }
    }
    for (col, list) in [(&names, exact), (&domains, domain)] {
        if !list.is_empty() {
            values.push(sea_query::Value::from(list));
            terms.push(format!("({col} IS NOT NULL AND {col} && ${}::text[])", values.len()));
        }
    }
    Expr::cust_with_values(format!("({})", terms.join(" OR ")), values)
}

/// A part written as a domain, `.` and labels: `.example.cz`, not `.example.` or `.`.
fn is_domain(part: &str) -> bool {
    part.len() > 1 && part[1..].split('.').all(|label| !label.is_empty())
}

/// The values in the case their column stores, the special ones kept.
fn recased(v: &Values, case: fn(&str) -> String) -> Values {
    let values = v.values.iter().map(|s| if s == EMPTY || s == ANY { s.clone() } else { case(s) }).collect();
    Values { values, negate: v.negate }
}

fn lowered(v: &Values) -> Values {
    recased(v, str::to_lowercase)
}

fn uppered(v: &Values) -> Values {
    recased(v, str::to_uppercase)
}

/// `IS NOT TRUE` rather than `NOT`: a NULL column (no class, NULL array) does not match
/// the list, so it must match its negation.
fn negate(c: Condition, yes: bool) -> Condition {
    if yes {
        Cond::all().add(Expr::cust_with_expr("($1) IS NOT TRUE", Expr::from(c)))
    } else {
        c
    }
}

fn add_values(c: Condition, col: Events, v: &Values, op: fn(Events, &[String]) -> Condition) -> Condition {
    if v.is_empty() {
        return c;
    }
    c.add(negate(op(col, &v.values), v.negate))
}

fn add_host_pair(c: Condition, host: &[u16], src: &[u16], tgt: &[u16], f: fn(Events, &[u16]) -> Expr) -> Condition {
    if !host.is_empty() {
        return c.add(Cond::any().add(f(Events::SourcePort, host)).add(f(Events::TargetPort, host)));
    }
    let mut c = c;
    if !src.is_empty() {
        c = c.add(f(Events::SourcePort, src));
    }
    if !tgt.is_empty() {
        c = c.add(f(Events::TargetPort, tgt));
    }
    c
}

// One array parameter per list: sea-query's tokenizer reads `[...]` as a quoted name, so
// placeholders inside `ARRAY[...]` would not be renumbered.
fn port_filter(col: Events, ports: &[u16]) -> Expr {
    let ports: Vec<i32> = ports.iter().map(|p| i32::from(*p)).collect();
    Expr::cust_with_values(format!("events.{} && $1::int4[]", col.to_string()), [sea_query::Value::from(ports)])
}

/// Array column: `__EMPTY__` = no element, `__ANY__` = some element, else overlap.
fn array_op(col: Events, values: &[String]) -> Condition {
    let name = format!("events.{}", col.to_string());
    let mut any = Cond::any();
    if values.iter().any(|v| v == EMPTY) {
        any = any.add(Expr::cust(format!("({name} IS NULL OR {name} = '{{}}')")));
    }
    if values.iter().any(|v| v == ANY) {
        any = any.add(Expr::cust(format!("{name} <> '{{}}'")));
    }
    let plain: Vec<String> = values.iter().filter(|v| *v != EMPTY && *v != ANY).cloned().collect();
    if !plain.is_empty() {
        any = any.add(Expr::cust_with_values(format!("{name} && $1::text[]"), [sea_query::Value::from(plain)]));
    }
    any
}

/// Scalar column: `__EMPTY__` = NULL or '', `__ANY__` = a non-empty value, else equality.
fn scalar_op(col: Events, values: &[String]) -> Condition {
    let name = format!("events.{}", col.to_string());
    let mut any = Cond::any();
    if values.iter().any(|v| v == EMPTY) {
        any = any.add(Expr::cust(format!("COALESCE({name}, '') = ''")));
    }
    if values.iter().any(|v| v == ANY) {
        any = any.add(Expr::cust(format!("COALESCE({name}, '') <> ''")));
    }
    let plain: Vec<String> = values.iter().filter(|v| *v != EMPTY && *v != ANY).cloned().collect();
    if !plain.is_empty() {
        any = any.add(Expr::col((Events::Table, col)).is_in(plain));
    }
    any
}

fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_parameterised_sql_with_hawat_semantics() {
        let p = SearchParams {
            source_addrs: vec![IpRange::parse("192.0.2.0/24").unwrap()],
            categories: Values::of(["Recon.Scanning", EMPTY]).negated(),
            classes: Values::of(["Scan"]),
            description: Some("50%_off".into()),
            limit: Some(50),
            page: 11,
            sortby: Some(SortBy::default()),
            ..Default::default()
        };
        let sql = p.mogrify(QueryKind::Select);
        assert!(
            sql.contains("a.dir = 's' AND (a.v4 BETWEEN 3221225984 AND 3221226239 OR (a.v4 IS NULL AND a.ip && '192.0.2.0/24'::text::iprange))"),
            "{sql}"
        );
        assert!(sql.contains("(((events.category IS NULL OR events.category = '{}')) OR (events.category && ARRAY ['Recon.Scanning']::text[])) IS NOT TRUE"), "{sql}");
        assert!(sql.contains(r#""events"."cesnet_eventclass" IN ('scan')"#), "{sql}");
        assert!(sql.contains(r"ILIKE E'%50\\%\\_off%'") || sql.contains(r"ILIKE '%50\%\_off%'"), "{sql}");
        assert!(
            sql.contains("= ANY(ARRAY(SELECT hashtext(d.data) FROM event_descriptions d WHERE d.data ILIKE"),
            "{sql}"
        );
        assert!(
            sql.contains(r#"ORDER BY "events"."detecttime" DESC, "events"."id" DESC LIMIT 50 OFFSET 500) AS "e""#),
            "{sql}"
        );
        assert!(sql.ends_with(r#"INNER JOIN "events_json" ON "events_json"."id" = "e"."id" AND "events_json"."storagetime" = "e"."cesnet_storagetime" ORDER BY "e"."detecttime" DESC, "e"."id" DESC"#), "{sql}");
    }

    #[test]
    fn single_address_searches_cut_each_lookup_arm_to_the_page() {
        let one = IpRange::parse("192.0.2.7").unwrap();
        let p = SearchParams {
            host_addrs: vec![one],
            sortby: SortBy::parse("time.desc"),
            limit: Some(20),
            page: 3,
            ..Default::default()
        };
        let sql = p.mogrify(QueryKind::Select);
        assert_eq!(
            sql.matches("ORDER BY a.detecttime DESC, a.id DESC LIMIT 60)").count(),
            4,
            "2 directions x 2 indexes: {sql}"
        );
        assert!(sql.contains("a.v4 = 3221225991"), "{sql}");
        // The page comes from the address rows; `events` is neither read nor planned.
        assert!(!sql.contains(r#""events""#) && !sql.contains("FROM events "), "{sql}");
        assert!(sql.contains(r#"LIMIT 20 OFFSET 40) AS "p""#), "{sql}");
        assert!(sql.contains(r#"(SELECT j.event FROM events_json j WHERE j.id = "p"."id""#), "{sql}");
        let ghosts = p.mogrify(QueryKind::SelectGhost);
        assert!(ghosts.contains(r#"FROM "events""#), "ghost rows are events' columns: {ghosts}");
        let wide = SearchParams { host_addrs: vec![IpRange::parse("192.0.2.0/24").unwrap()], ..p.clone() };
        assert!(!wide.mogrify(QueryKind::Select).contains("LIMIT 60)"), "a network is not cut");
        let filtered = SearchParams { categories: Values::of(["Test"]), ..p.clone() };
        assert!(!filtered.mogrify(QueryKind::Select).contains("LIMIT 60)"), "other filters forbid the cut");
        assert!(!p.mogrify(QueryKind::Count).contains("LIMIT 60)"), "a count reads every match");
        // Citus plans no correlated subquery over a subquery: the page joins its messages.
        let citus =
            p.select_pruned(QueryKind::Select, &Pruning::default(), Flavour::Citus).to_string(PostgresQueryBuilder);
        assert!(citus.contains(r#"INNER JOIN "events_json" AS "j" ON "j"."id" = "p"."id""#), "{citus}");
        assert!(!citus.contains("(SELECT j.event") && citus.contains(r#"LIMIT 20 OFFSET 40) AS "p""#), "{citus}");
    }

    /// Targets in `range` over one day.
    fn targets_in_a_day(range: &str) -> SearchParams {
        let day = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap().naive_utc();
        SearchParams {
            target_addrs: vec![IpRange::parse(range).unwrap()],
            dt_from: Some(day),
            dt_to: Some(day + chrono::TimeDelta::days(1)),
            ..Default::default()
        }
    }

    #[test]
    fn a_wide_range_in_a_short_window_is_tested_per_event() {
        let wide = targets_in_a_day("195.113.0.0/17");
        assert!(wide.mogrify(QueryKind::Count).contains("'195.113.0.0/17'::text::iprange && ANY(events.target_ip)"));
        let long = SearchParams { dt_to: wide.dt_from.map(|t| t + chrono::TimeDelta::days(30)), ..wide.clone() };
        assert!(long.mogrify(QueryKind::Count).contains("events_addr"));
    }

    #[test]
    fn whole_networks_are_read_by_network_and_counted_without_events() {
        let net = targets_in_a_day("195.113.0.0/16");
        let count = net.mogrify(QueryKind::Count);
        assert!(count.starts_with("SELECT (SELECT count(DISTINCT c.id) FROM ("), "{count}");
        assert!(
            count.contains("n.net16 = ANY(ARRAY [50033]::int4[])") && !count.contains("FROM \"events\""),
            "{count}"
        );
        let filtered = SearchParams { categories: Values::of(["Test"]), ..net.clone() };
        assert!(filtered.mogrify(QueryKind::Count).contains("count(*)"), "other filters count events");
        let both = SearchParams { source_addrs: net.target_addrs.clone(), ..net.clone() };
        assert!(both.mogrify(QueryKind::Count).contains("count(*)"), "source and target are ANDed");
    }

    #[test]
    fn a_restricted_reader_gets_the_tlp_condition_and_no_shortcut_around_it() {
        let one = IpRange::parse("192.0.2.7").unwrap();
        let open = SearchParams {
            host_addrs: vec![one],
            limit: Some(20),
            sortby: SortBy::parse("time.desc"),
            ..Default::default()
        };
        let hidden = SearchParams { visibility: Visibility::Groups(vec!["abuse@a.example".into()]), ..open.clone() };
        for kind in [QueryKind::Select, QueryKind::Count, QueryKind::SelectGhost] {
            assert!(!open.mogrify(kind).contains("events.tlp"), "{kind:?}");
            let sql = hidden.mogrify(kind);
            assert!(
                sql.contains("(events.tlp IS NULL OR events.tlp NOT IN ('AMBER-STRICT', 'AMBER', 'RED') OR events.cesnet_resolvedabuses && ARRAY ['abuse@a.example']::text[] OR events.targetabuses && ARRAY ['abuse@a.example']::text[])"),
                "{kind:?}: {sql}"
            );
        }
        let cut = "a.id DESC LIMIT 20)";
        assert!(open.mogrify(QueryKind::Select).contains(cut));
        assert!(!hidden.mogrify(QueryKind::Select).contains(cut), "no page cut before the condition");
        assert!(
            open.mogrify(QueryKind::Count).starts_with("SELECT (SELECT count"),
            "an open count reads addresses alone"
        );
        assert!(hidden.mogrify(QueryKind::Count).contains("count(*)"), "a restricted count reads events");
    }

    #[test]
    fn a_domain_is_also_looked_up_among_the_domains_and_other_parts_only_by_text() {
        assert_eq!(
            super::super::bulk::domains(&["mail.example.cz".into(), "localhost".into(), "a.cz".into()]),
            [".cz", ".example.cz"]
        );
        let p = |part: &str| SearchParams { target_hostnames: vec![Hostname::of(part)], ..Default::default() };
        let sql = p(".Example.CZ").mogrify(QueryKind::Count);
        assert!(sql.contains("events.target_domains && ARRAY ['.example.cz']"), "{sql}");
        assert!(sql.contains("hostnames_text(events.target_hostname) LIKE '%.example.cz%'"), "{sql}");
        assert!(!p(".example.").mogrify(QueryKind::Count).contains("target_domains"));
        assert!(!p(".").mogrify(QueryKind::Count).contains("target_domains"));
    }

    #[test]
    fn host_parameters_override_source_and_target() {
        let p = SearchParams {
            host_addrs: vec![IpRange::parse("2001:db8::1").unwrap()],
            source_addrs: vec![IpRange::parse("10.0.0.1").unwrap()],
            host_ports: vec![22],
            source_ports: vec![80],
            ..Default::default()
        };
        let sql = p.mogrify(QueryKind::Count);
        assert!(!sql.contains("10.0.0.1") && !sql.contains("[80]"), "{sql}");
        assert!(sql.contains("a.dir = 't'") && sql.contains("target_port && ARRAY [22]::int4[]"), "{sql}");
    }
}
