//! What the dashboard counts per event: Mentat's key names, and the titles the app shows.

/// One aggregation of the statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Agg {
    Abuses,
    Analyzers,
    Asns,
    Categories,
    CategorySets,
    Classes,
    Countries,
    Detectors,
    DetectorsWs,
    Ips,
    Severities,
}

impl Agg {
    /// Every aggregation, in the order the dashboard shows them.
    pub const ALL: [Agg; 11] = [
        Agg::Categories,
        Agg::CategorySets,
        Agg::Detectors,
        Agg::DetectorsWs,
        Agg::Analyzers,
        Agg::Ips,
        Agg::Asns,
        Agg::Countries,
        Agg::Abuses,
        Agg::Classes,
        Agg::Severities,
    ];

    /// Mentat's key.
    pub fn key(self) -> &'static str {
        match self {
            Agg::Abuses => "abuses",
            Agg::Analyzers => "analyzers",
            Agg::Asns => "asns",
            Agg::Categories => "categories",
            Agg::CategorySets => "category_sets",
            Agg::Classes => "classes",
            Agg::Countries => "countries",
            Agg::Detectors => "detectors",
            Agg::DetectorsWs => "detectorsws",
            Agg::Ips => "ips",
            Agg::Severities => "severities",
        }
    }

    /// The dashboard's title for it.
    pub fn title(self) -> &'static str {
        match self {
            Agg::Abuses => "Abuse groups",
            Agg::Analyzers => "Analyzers",
            Agg::Asns => "Autonomous systems",
            Agg::Categories => "Categories",
            Agg::CategorySets => "Category sets",
            Agg::Classes => "Classes",
            Agg::Countries => "Countries",
            Agg::Detectors => "Detectors",
            Agg::DetectorsWs => "Detectors and software",
            Agg::Ips => "Source addresses",
            Agg::Severities => "Severities",
        }
    }

    pub fn parse(key: &str) -> Option<Agg> {
        Self::ALL.into_iter().find(|a| a.key() == key)
    }
}
