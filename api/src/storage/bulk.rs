//! Bulk loading: one transaction per batch, binary COPY into `event_ids`, `events`,
//! `events_json`, `events_addr` and `events_net16`.
//!
//! The COPY is optimistic: new IDs are the common case, so a batch first goes in without
//! looking. A unique violation (an ID already stored, perhaps by a concurrent writer) rolls
//! it back, and it is redone with the stored IDs filtered out first, so a duplicate is
//! reported alone and never costs its neighbours. Repeats within a batch are removed before
//! any of this. Nothing is stored twice or lost.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDateTime;
use futures_util::pin_mut;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use super::{is_retryable, Error, EventStore, Flavour, IpTypes, Result};
use crate::idea::{EventRow, Family, IpRange};

/// Messages stored per transaction: large enough that a COPY's fixed costs vanish, small
/// enough that a batch redone after a conflict costs little.
pub const BATCH_SIZE: usize = 2000;

/// A validated message and the bytes it arrived as.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub row: EventRow,
    pub raw: Vec<u8>,
}

/// What happened to one batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// IDs newly stored.
    pub stored: Vec<String>,
    /// IDs already stored, or repeated within the batch.
    pub duplicates: Vec<String>,
    /// Messages PostgreSQL refused although they passed validation: (ID, its reason). Each
    /// was tried alone, so none cost its neighbours.
    pub refused: Vec<(String, String)>,
}

const COLUMNS: &str = "id, detecttime, category, description, source_ip, target_ip, \
    source_ip_aggr_ip4, source_ip_aggr_ip6, target_ip_aggr_ip4, target_ip_aggr_ip6, \
    source_port, target_port, source_type, target_type, protocol, node_name, node_type, \
    cesnet_storagetime, cesnet_resolvedabuses, cesnet_eventclass, cesnet_eventseverity, \
    cesnet_inspectionerrors, tlp, targetabuses, targetclass, targetseverity, node_sw, \
    shadow_reporting, shadow_reporting_target, source_hostname, target_hostname, \
    source_domains, target_domains";

/// Every domain the names lie in, dot first (`mail.example.cz`: `.cz`, `.example.cz`), sorted
/// and unique: a search for a part written as a domain looks them up.
pub(crate) fn domains(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = names
        .iter()
        .flat_map(|n| n.char_indices().filter(|(i, c)| *c == '.' && *i > 0).map(|(i, _)| n[i..].to_string()))
        .collect();
    out.retain(|d| d.len() > 1);
    out.sort();
    out.dedup();
    out
}

const SOURCE: i8 = b's' as i8;
const TARGET: i8 = b't' as i8;

/// A row with everything derived that the column list needs.
pub(crate) struct PreparedRow {
    pub event: NewEvent,
    /// The message compressed for `events_json`, when a dictionary was at hand.
    compressed: Option<Vec<u8>>,
    storagetime: NaiveDateTime,
    aggr: [Option<IpRange>; 4],
    /// NULL rather than an empty array, which would take 16 bytes in most rows. Read by the
    /// refill too, so a column is derived in one place.
    pub(crate) node_sw: Option<Vec<String>>,
    /// Source, target.
    pub(crate) hostnames: [Option<Vec<String>>; 2],
    pub(crate) domains: [Option<Vec<String>>; 2],
}

impl PreparedRow {
    /// `now` becomes the storage time when the message carries none.
    pub fn new(event: NewEvent, now: NaiveDateTime) -> Self {
        let r = &event.row;
        let aggr =
            [r.aggr(false, Family::V4), r.aggr(false, Family::V6), r.aggr(true, Family::V4), r.aggr(true, Family::V6)];
        let storagetime = r.storagetime.unwrap_or(now);
        let or_null = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        let node_sw = or_null(&r.node_sw);
        let hostnames = [or_null(&r.source_hostname), or_null(&r.target_hostname)];
        let domains = [or_null(&domains(&r.source_hostname)), or_null(&domains(&r.target_hostname))];
        Self { event, compressed: None, storagetime, aggr, node_sw, hostnames, domains }
    }

    /// The bytes `events_json` stores.
    pub fn message(&self) -> &[u8] {
        self.compressed.as_deref().unwrap_or(&self.event.raw)
    }

    /// Values in the order of the `events` column list.
    pub fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        let r = &self.event.row;
        vec![
            &r.id,
            &r.detecttime,
            &r.category,
            &r.description,
            &r.source_ip,
            &r.target_ip,
            &self.aggr[0],
            &self.aggr[1],
            &self.aggr[2],
            &self.aggr[3],
            &r.source_port,
            &r.target_port,
            &r.source_type,
            &r.target_type,
            &r.protocol,
            &r.node_name,
            &r.node_type,
            &self.storagetime,
            &r.resolvedabuses,
            &r.eventclass,
            &r.eventseverity,
            &r.inspectionerrors,
            &r.tlp,
            &r.targetabuses,
            &r.targetclass,
            &r.targetseverity,
            &self.node_sw,
            &r.shadow_reporting,
            &r.shadow_reporting_target,
            &self.hostnames[0],
            &self.hostnames[1],
            &self.domains[0],
            &self.domains[1],
        ]
    }

    pub fn storagetime(&self) -> NaiveDateTime {
        self.storagetime
    }

    /// (direction, range, single IPv4 address) of each address of the event.
    pub fn addresses(&self) -> impl Iterator<Item = (i8, &IpRange, Option<i64>)> {
        let r = &self.event.row;
        let v4 = |ip: &IpRange| ip.single_v4().map(i64::from);
        r.source_ip
            .iter()
            .map(move |ip| (SOURCE, ip, v4(ip)))
            .chain(r.target_ip.iter().map(move |ip| (TARGET, ip, v4(ip))))
    }

    /// (direction, /16 network) rows of `events_net16`: each network holding one of the
    /// event's single IPv4 addresses, once.
    pub fn nets16(&self) -> Vec<(i8, i32)> {
        let mut nets: Vec<(i8, i32)> =
            self.addresses().filter_map(|(dir, _, v4)| v4.map(|a| (dir, (a >> 16) as i32))).collect();
        nets.sort_unstable();
        nets.dedup();
        nets
    }
}

fn event_types(t: &IpTypes) -> Vec<Type> {
    let ta = Type::TEXT_ARRAY;
    vec![
        Type::TEXT,
        Type::TIMESTAMP,
        ta.clone(),
        Type::TEXT,
        t.iprange_array.clone(),
        t.iprange_array.clone(),
        t.ip4r.clone(),
        t.ip6r.clone(),
        t.ip4r.clone(),
        t.ip6r.clone(),
        Type::INT4_ARRAY,
        Type::INT4_ARRAY,
        ta.clone(),
        ta.clone(),
        ta.clone(),
        ta.clone(),
        ta.clone(),
        Type::TIMESTAMP,
        ta.clone(),
        Type::TEXT,
        Type::TEXT,
        ta.clone(),
        Type::TEXT,
        ta,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT_ARRAY,
        Type::BOOL,
        Type::BOOL,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
        Type::TEXT_ARRAY,
    ]
}

impl EventStore {
    /// Stores a batch in one transaction; see the module docs for duplicate handling.
    pub async fn insert_batch(&self, events: Vec<NewEvent>) -> Result<BatchOutcome> {
        let now = chrono::Utc::now().naive_utc();
        let mut seen = HashSet::with_capacity(events.len());
        let mut outcome = BatchOutcome::default();
        let mut rows = Vec::with_capacity(events.len());
        for e in events {
            if seen.insert(e.row.id.clone()) {
                rows.push(PreparedRow::new(e, now));
            } else {
                outcome.duplicates.push(e.row.id);
            }
        }
        let rows = self.with_partitions(rows, &mut outcome).await?;
        if rows.is_empty() {
            return Ok(outcome);
        }
        let mut rows = rows;
        self.compress_messages(&mut rows).await?;
        let (types, flavour) = (self.ip_types().await?, self.flavour().await?);
        let mut attempt = 0;
        loop {
            let mut client = self.client().await?;
            match copy_batch(self, &mut client, &rows, &types, flavour, attempt > 0).await {
                Ok((fresh, dups)) => {
                    self.record_enums_after_store(&fresh).await;
                    let id = |r: &&PreparedRow| r.event.row.id.clone();
                    outcome.stored = fresh.iter().map(id).collect();
                    outcome.duplicates.extend(dups.iter().map(id));
                    return Ok(outcome);
                }
                Err(e) if refuses_a_row(&e, flavour) => {
                    tracing::warn!(error = %e, "a batch was refused; storing its messages one by one");
                    return self.insert_one_by_one(rows, outcome).await;
                }
                Err(e) => {
                    let race = e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) || collides(&e);
                    if attempt < 3 && (race || is_retryable(&e)) {
                        attempt += 1;
                        if !race {
                            tracing::warn!(error = %e, attempt, "connection lost; batch rolled back, retrying");
                            self.forget_connections(client);
                        }
                        continue;
                    }
                    return Err(Error::from(e));
                }
            }
        }
    }
}

impl EventStore {
    /// Stores each row in a transaction of its own: what PostgreSQL refuses is reported with
    /// its reason, and the rest is stored.
    async fn insert_one_by_one(&self, rows: Vec<PreparedRow>, mut outcome: BatchOutcome) -> Result<BatchOutcome> {
        let (types, flavour) = (self.ip_types().await?, self.flavour().await?);
        for row in &rows {
            let one = std::slice::from_ref(row);
            let id = row.event.row.id.clone();
            let mut client = self.client().await?;
            let mut stored = copy_batch(self, &mut client, one, &types, flavour, true).await;
            for _ in 0..3 {
                match &stored {
                    Err(e) if collides(e) => stored = copy_batch(self, &mut client, one, &types, flavour, true).await,
                    _ => break,
                }
            }
            match stored {
                Ok((fresh, _)) if !fresh.is_empty() => {
                    self.record_enums_after_store(&fresh).await;
                    outcome.stored.push(id);
                }
                Ok(_) => outcome.duplicates.push(id),
                Err(e) if !refuses_a_row(&e, flavour) => return Err(Error::from(e)),
                Err(e) => {
                    let reason = e.as_db_error().map_or_else(|| e.to_string(), |d| d.message().to_string());
                    outcome.refused.push((id, format!("the database refused it: {reason}")));
                }
            }
        }
        Ok(outcome)
    }

    /// The rows whose week has (or now has) its partitions; the others are refused, naming
    /// the partition that could not be created.
    async fn with_partitions(&self, rows: Vec<PreparedRow>, outcome: &mut BatchOutcome) -> Result<Vec<PreparedRow>> {
        let failed = self.ensure_weeks(rows.iter().map(PreparedRow::storagetime)).await?;
        if failed.is_empty() {
            return Ok(rows);
        }
        let (ok, refused): (Vec<_>, Vec<_>) =
            rows.into_iter().partition(|r| !failed.contains_key(&super::partitions::week_of(r.storagetime)));
        for r in refused {
            let reason = failed[&super::partitions::week_of(r.storagetime)].clone();
            outcome.refused.push((r.event.row.id, reason));
        }
        Ok(ok)
    }

    /// Compresses the rows' messages for storage, when there is (or now can be) a dictionary.
    pub(crate) async fn compress_messages(&self, rows: &mut [PreparedRow]) -> Result<()> {
        let raws: Vec<&[u8]> = rows.iter().map(|r| r.event.raw.as_slice()).collect();
        let Some(encoder) = self.message_encoder(&raws).await? else { return Ok(()) };
        let mut c = encoder.compressor()?;
        for r in rows {
            r.compressed = Some(super::message::compress(&mut c, &r.event.raw)?);
        }
        Ok(())
    }
}

/// An error about some row's values (bad data, a constraint, a size limit) rather than about
/// the database as a whole: trying the rows one by one finds the row and stores the rest.
/// Citus reports a worker's refusal of a copied row as an internal error (XX000), its own
/// SQLSTATE lost; a worker it cannot reach is a connection error there, as here.
fn refuses_a_row(e: &tokio_postgres::Error, flavour: Flavour) -> bool {
    let Some(code) = e.code() else { return false };
    if collides(e) {
        return false;
    }
    let classes: &[&str] = match flavour {
        Flavour::Single => &["22", "23", "54"],
        Flavour::Citus => &["22", "23", "54", "XX000"],
    };
    *code != tokio_postgres::error::SqlState::UNIQUE_VIOLATION
        && classes.iter().any(|class| code.code().starts_with(class))
}

/// A batch that collided with a concurrent one (a deadlock, which Citus also detects across
/// nodes, or a serialization failure) was rolled back whole and is tried again. Citus reports
/// one met during a COPY without its SQLSTATE, by its message alone.
fn collides(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    let Some(db) = e.as_db_error() else { return false };
    [SqlState::T_R_DEADLOCK_DETECTED, SqlState::T_R_SERIALIZATION_FAILURE].contains(db.code())
        || (*db.code() == SqlState::INTERNAL_ERROR && db.message().contains("deadlock"))
}

/// Stores the rows not stored yet in a transaction of its own; returns them and the ones
/// that were (found only when `check`, after a unique violation).
async fn copy_batch<'r>(
    store: &EventStore,
    client: &mut deadpool_postgres::Object,
    rows: &'r [PreparedRow],
    types: &IpTypes,
    flavour: Flavour,
    check: bool,
) -> Result<(Vec<&'r PreparedRow>, Vec<&'r PreparedRow>), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    // Losing the last batches on a server crash is acceptable: a re-run stores them
    // again, and nothing can be stored twice.
    tx.batch_execute("SET LOCAL synchronous_commit = off").await?;
    let copied = copy_rows(store, &tx, rows, types, flavour, check).await?;
    tx.commit().await?;
    store.recorded_ahead(&copied.ahead);
    Ok((copied.fresh, copied.dups))
}

/// Adds the rows' descriptions to `event_descriptions`, which a search by description reads
/// (see migration 13), in the transaction that stores the rows: a stored description is always
/// listed. New ones are inserted in key order, so concurrent writers never deadlock; a known
/// one's `last_seen` moves on at most daily, so they seldom wait for each other on it.
async fn record_descriptions(
    tx: &tokio_postgres::Transaction<'_>,
    rows: &[&PreparedRow],
) -> Result<(), tokio_postgres::Error> {
    let mut newest: BTreeMap<&str, NaiveDateTime> = BTreeMap::new();
    for r in rows {
        if let Some(d) = r.event.row.description.as_deref() {
            let t = newest.entry(d).or_insert(r.storagetime);
            *t = (*t).max(r.storagetime);
        }
    }
    if newest.is_empty() {
        return Ok(());
    }
    let (data, seen): (Vec<&str>, Vec<NaiveDateTime>) = newest.into_iter().unzip();
    // One round trip: the update sees only rows stored before, whose new ones need none.
    tx.execute(
        "WITH u AS (SELECT d, t, sha256(d::bytea) AS key FROM unnest($1::text[], $2::timestamp[]) u(d, t)), \
              new AS (INSERT INTO event_descriptions (data, last_seen) SELECT d, t FROM u ORDER BY key \
                      ON CONFLICT (key) DO NOTHING) \
         UPDATE event_descriptions e SET last_seen = u.t FROM u \
         WHERE e.key = u.key AND e.last_seen < u.t - interval '1 day'",
        &[&data, &seen],
    )
    .await?;
    Ok(())
}

/// Lists the rows' IDs in `event_ids`: a repeated ID fails here with a unique violation,
/// before anything else is written. Citus reports a worker's refusal of a copied row without
/// its SQLSTATE, so there the IDs are inserted, which keeps it.
async fn write_ids(
    tx: &tokio_postgres::Transaction<'_>,
    rows: &[&PreparedRow],
    flavour: Flavour,
) -> Result<(), tokio_postgres::Error> {
    if flavour == Flavour::Citus {
        let ids: Vec<&str> = rows.iter().map(|r| r.event.row.id.as_str()).collect();
        let times: Vec<NaiveDateTime> = rows.iter().map(|r| r.storagetime).collect();
        let sql = "INSERT INTO event_ids (id, storagetime) SELECT * FROM unnest($1::text[], $2::timestamp[])";
        return tx.execute(sql, &[&ids, &times]).await.map(drop);
    }
    let sink = tx.copy_in("COPY event_ids (id, storagetime) FROM STDIN (FORMAT binary)").await?;
    let w = BinaryCopyInWriter::new(sink, &[Type::TEXT, Type::TIMESTAMP]);
    pin_mut!(w);
    for r in rows {
        w.as_mut().write(&[&r.event.row.id, &r.storagetime]).await?;
    }
    w.finish().await.map(drop)
}

/// What [`copy_rows`] wrote.
pub(crate) struct Copied<'r> {
    pub fresh: Vec<&'r PreparedRow>,
    pub dups: Vec<&'r PreparedRow>,
    /// How far detection ran ahead, as recorded: the caller tells the store once the
    /// transaction has committed ([`EventStore::recorded_ahead`]).
    pub ahead: Vec<(chrono::NaiveDateTime, f64)>,
}

/// Writes the rows not stored yet into every event table within `tx` (their partitions must
/// exist), and how far their detection times ran ahead; returns them and the ones already
/// stored (found only when `check`).
pub(crate) async fn copy_rows<'r>(
    store: &EventStore,
    tx: &tokio_postgres::Transaction<'_>,
    rows: &'r [PreparedRow],
    types: &IpTypes,
    flavour: Flavour,
    check: bool,
) -> Result<Copied<'r>, tokio_postgres::Error> {
    let existing: HashSet<String> = if check {
        let ids: Vec<&str> = rows.iter().map(|r| r.event.row.id.as_str()).collect();
        tx.query("SELECT id FROM event_ids WHERE id = ANY($1)", &[&ids]).await?.iter().map(|r| r.get(0)).collect()
    } else {
        HashSet::new()
    };
    let (fresh, dups): (Vec<&PreparedRow>, Vec<&PreparedRow>) =
        rows.iter().partition(|r| !existing.contains(&r.event.row.id));
    let ahead = store.ahead_to_record(fresh.iter().map(|r| (r.event.row.detecttime, r.storagetime)));
    if fresh.is_empty() {
        return Ok(Copied { fresh, dups, ahead });
    }
    super::partitions::record_ahead(tx, &ahead).await?;
    record_descriptions(tx, &fresh).await?;
    // First: a repeated ID fails here, before anything else is written.
    write_ids(tx, &fresh, flavour).await?;

    let sink = tx.copy_in(&format!("COPY events ({COLUMNS}) FROM STDIN (FORMAT binary)")).await?;
    let w = BinaryCopyInWriter::new(sink, &event_types(types));
    pin_mut!(w);
    for r in &fresh {
        w.as_mut().write(&r.params()).await?;
    }
    w.finish().await?;

    let sink = tx.copy_in("COPY events_json (id, storagetime, event) FROM STDIN (FORMAT binary)").await?;
    let w = BinaryCopyInWriter::new(sink, &[Type::TEXT, Type::TIMESTAMP, Type::BYTEA]);
    pin_mut!(w);
    for r in &fresh {
        w.as_mut().write(&[&r.event.row.id, &r.storagetime, &r.message()]).await?;
    }
    w.finish().await?;

    let sink =
        tx.copy_in("COPY events_addr (id, dir, ip, v4, detecttime, storagetime) FROM STDIN (FORMAT binary)").await?;
    let types = [Type::TEXT, Type::CHAR, types.iprange.clone(), Type::INT8, Type::TIMESTAMP, Type::TIMESTAMP];
    let w = BinaryCopyInWriter::new(sink, &types);
    pin_mut!(w);
    for r in &fresh {
        for (dir, ip, v4) in r.addresses() {
            // A single IPv4 address is looked up by `v4` alone.
            let ip = v4.is_none().then_some(ip);
            w.as_mut().write(&[&r.event.row.id, &dir, &ip, &v4, &r.event.row.detecttime, &r.storagetime]).await?;
        }
    }
    w.finish().await?;

    let sink =
        tx.copy_in("COPY events_net16 (id, dir, net16, detecttime, storagetime) FROM STDIN (FORMAT binary)").await?;
    let w = BinaryCopyInWriter::new(sink, &[Type::TEXT, Type::CHAR, Type::INT4, Type::TIMESTAMP, Type::TIMESTAMP]);
    pin_mut!(w);
    for r in &fresh {
        for (dir, net) in r.nets16() {
            w.as_mut().write(&[&r.event.row.id, &dir, &net, &r.event.row.detecttime, &r.storagetime]).await?;
        }
    }
    w.finish().await?;
    Ok(Copied { fresh, dups, ahead })
}
