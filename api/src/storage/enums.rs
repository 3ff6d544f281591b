//! Distinct values of the enumerable columns (`enum_*` tables), the source of metadata lists.
//!
//! Ingest records each batch's values as it stores them, so reading a list never scans
//! `events`. `distinct_values` also runs Mentat's catch-up (rows stored since the newest
//! `last_seen`), which covers rows written by other tools.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;

use super::bulk::PreparedRow;
use super::{with_client, EventStore, Result};

/// The columns with an `enum_<column>` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EnumColumn {
    Category,
    Protocol,
    NodeName,
    NodeType,
    SourceType,
    TargetType,
    ResolvedAbuses,
    EventClass,
    EventSeverity,
    InspectionErrors,
    Tlp,
    TargetAbuses,
    TargetClass,
    TargetSeverity,
    NodeSw,
}

impl EnumColumn {
    pub const ALL: [EnumColumn; 15] = [
        Self::Category,
        Self::Protocol,
        Self::NodeName,
        Self::NodeType,
        Self::SourceType,
        Self::TargetType,
        Self::ResolvedAbuses,
        Self::EventClass,
        Self::EventSeverity,
        Self::InspectionErrors,
        Self::Tlp,
        Self::TargetAbuses,
        Self::TargetClass,
        Self::TargetSeverity,
        Self::NodeSw,
    ];

    /// The `events` column name.
    pub fn column(self) -> &'static str {
        match self {
            Self::Category => "category",
            Self::Protocol => "protocol",
            Self::NodeName => "node_name",
            Self::NodeType => "node_type",
            Self::SourceType => "source_type",
            Self::TargetType => "target_type",
            Self::ResolvedAbuses => "cesnet_resolvedabuses",
            Self::EventClass => "cesnet_eventclass",
            Self::EventSeverity => "cesnet_eventseverity",
            Self::InspectionErrors => "cesnet_inspectionerrors",
            Self::Tlp => "tlp",
            Self::TargetAbuses => "targetabuses",
            Self::TargetClass => "targetclass",
            Self::TargetSeverity => "targetseverity",
            Self::NodeSw => "node_sw",
        }
    }

    /// A text column rather than an array.
    pub(crate) fn is_scalar(self) -> bool {
        matches!(self, Self::EventClass | Self::EventSeverity | Self::Tlp | Self::TargetClass | Self::TargetSeverity)
    }

    fn values(self, r: &PreparedRow) -> Vec<&str> {
        fn list(v: &[String]) -> Vec<&str> {
            v.iter().map(String::as_str).collect()
        }
        fn one(v: &Option<String>) -> Vec<&str> {
            v.as_deref().into_iter().collect()
        }
        let row = &r.event.row;
        match self {
            Self::Category => list(&row.category),
            Self::Protocol => list(&row.protocol),
            Self::NodeName => list(&row.node_name),
            Self::NodeType => list(&row.node_type),
            Self::SourceType => list(&row.source_type),
            Self::TargetType => list(&row.target_type),
            Self::ResolvedAbuses => list(&row.resolvedabuses),
            Self::EventClass => one(&row.eventclass),
            Self::EventSeverity => one(&row.eventseverity),
            Self::InspectionErrors => list(&row.inspectionerrors),
            Self::Tlp => one(&row.tlp),
            Self::TargetAbuses => list(&row.targetabuses),
            Self::TargetClass => one(&row.targetclass),
            Self::TargetSeverity => one(&row.targetseverity),
            Self::NodeSw => list(&row.node_sw),
        }
    }
}

impl EventStore {
    /// Records the values of rows just stored. The events are stored whatever happens here,
    /// so a failure is logged, not reported as the events' failure; the lists catch up from
    /// the events themselves (see `distinct_values`).
    pub(crate) async fn record_enums_after_store(&self, rows: &[&PreparedRow]) {
        if let Err(e) = self.record_enums(rows).await {
            tracing::warn!(error = %e, "the metadata lists were not updated for stored events");
        }
    }

    /// Upserts the distinct values of freshly stored rows. Runs outside the batch
    /// transaction so concurrent writers never wait on each other's enum rows.
    async fn record_enums(&self, rows: &[&PreparedRow]) -> Result<()> {
        for col in EnumColumn::ALL {
            let mut seen: BTreeMap<&str, NaiveDateTime> = BTreeMap::new();
            for r in rows {
                for v in col.values(r) {
                    let t = seen.entry(v).or_insert(r.storagetime());
                    *t = (*t).max(r.storagetime());
                }
            }
            if seen.is_empty() {
                continue;
            }
            let (data, times): (Vec<&str>, Vec<NaiveDateTime>) = seen.into_iter().unzip();
            let sql = format!(
                "INSERT INTO enum_{c} AS e (data, last_seen) SELECT * FROM unnest($1::text[], $2::timestamp[]) \
                 ON CONFLICT (data) DO UPDATE SET last_seen = EXCLUDED.last_seen WHERE e.last_seen < EXCLUDED.last_seen",
                c = col.column()
            );
            with_client!(self, |c| c.execute(sql.as_str(), &[&data, &times]))?;
        }
        Ok(())
    }

    /// Every value ever stored in `column`, sorted (Mentat's `distinct_values`).
    pub async fn distinct_values(&self, column: EnumColumn) -> Result<Vec<String>> {
        let c = column.column();
        let value = if column.is_scalar() { c.to_string() } else { format!("unnest({c})") };
        let catch_up = format!(
            "INSERT INTO enum_{c} AS e (data, last_seen) \
             SELECT v, max(st) FROM (SELECT {value} AS v, cesnet_storagetime AS st FROM events \
               WHERE cesnet_storagetime >= COALESCE((SELECT max(last_seen) FROM enum_{c}), '-infinity')) s \
             WHERE v IS NOT NULL AND v <> '' GROUP BY v \
             ON CONFLICT (data) DO UPDATE SET last_seen = EXCLUDED.last_seen WHERE e.last_seen < EXCLUDED.last_seen"
        );
        with_client!(self, |cl| cl.execute(catch_up.as_str(), &[]))?;
        let rows = with_client!(self, |cl| cl.query(format!("SELECT data FROM enum_{c} ORDER BY data").as_str(), &[]))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}
