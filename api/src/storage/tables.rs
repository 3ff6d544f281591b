//! Every table the schema creates, by name, so code that handles tables as values (drop,
//! status, cleanup, partitions) cannot name one that does not exist.

use serde::{Serialize, Serializer};

macro_rules! tables {
    ($($variant:ident = $name:literal,)*) => {
        /// A table of the schema.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Table { $($variant,)* }

        impl Table {
            /// Every table, in the order `drop` and `db-status` list them.
            pub const ALL: &[Table] = &[$(Table::$variant,)*];

            pub const fn name(self) -> &'static str {
                match self { $(Table::$variant => $name,)* }
            }
        }
    };
}

tables! {
    EventIds = "event_ids",
    EventDescriptions = "event_descriptions",
    DetectAhead = "detect_ahead",
    CompactedWeeks = "compacted_weeks",
    Events = "events",
    EventsJson = "events_json",
    EventsAddr = "events_addr",
    EventsNet16 = "events_net16",
    Thresholds = "thresholds",
    EventsThresholded = "events_thresholded",
    EnumCategory = "enum_category",
    EnumProtocol = "enum_protocol",
    EnumNodeName = "enum_node_name",
    EnumNodeType = "enum_node_type",
    EnumSourceType = "enum_source_type",
    EnumTargetType = "enum_target_type",
    EnumResolvedAbuses = "enum_cesnet_resolvedabuses",
    EnumEventClass = "enum_cesnet_eventclass",
    EnumEventSeverity = "enum_cesnet_eventseverity",
    EnumInspectionErrors = "enum_cesnet_inspectionerrors",
    EnumTlp = "enum_tlp",
    EnumTargetAbuses = "enum_targetabuses",
    EnumTargetClass = "enum_targetclass",
    EnumTargetSeverity = "enum_targetseverity",
    EnumNodeSw = "enum_node_sw",
    RefillWeeks = "refill_weeks",
    AbuseGroups = "abuse_groups",
    MentatImports = "mentat_imports",
    StatisticsEvents = "statistics_events",
    StatisticsRollups = "statistics_rollups",
    StatisticsSeen = "statistics_seen",
    MessageDicts = "message_dicts",
    Sessions = "sessions",
    TokenKey = "token_key",
    ApiKeys = "api_keys",
    Users = "users",
}

impl Table {
    /// The tables partitioned by storage time, a partition per week.
    pub const PARTITIONED: [Table; 4] = [Table::Events, Table::EventsJson, Table::EventsAddr, Table::EventsNet16];

    /// Whether the table holds events: their sizes together are what an event costs.
    pub fn holds_events(self) -> bool {
        Self::PARTITIONED.contains(&self)
            || matches!(self, Table::EventIds | Table::EventDescriptions | Table::DetectAhead)
    }

    /// The time column that says how old a row is, for status and cleanup.
    pub fn time_column(self) -> Option<&'static str> {
        match self {
            Table::Events => Some("cesnet_storagetime"),
            Table::EventsAddr | Table::EventsNet16 => Some("detecttime"),
            Table::Thresholds => Some("ttltime"),
            Table::EventsThresholded => Some("createtime"),
            Table::StatisticsSeen => Some("storagetime"),
            t if t.name().starts_with("enum_") => Some("last_seen"),
            _ => None,
        }
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Table {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_enum_table_has_its_time_column() {
        let names: std::collections::HashSet<_> = Table::ALL.iter().map(|t| t.name()).collect();
        assert_eq!(names.len(), Table::ALL.len());
        for t in Table::ALL.iter().filter(|t| t.name().starts_with("enum_")) {
            assert_eq!(t.time_column(), Some("last_seen"), "{t}");
        }
        assert!(Table::EventIds.holds_events() && !Table::Users.holds_events());
    }
}
