//! `/api/events/metadata`: the values searches can choose from, read from the `enum_*` tables
//! (kept current by ingest, so no request scans `events`), categories merged with the IDEA
//! taxonomy.

use std::collections::BTreeSet;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi};

use super::auth::Auth;
use super::error::Answer;
use super::ApiTags;
use crate::idea::taxonomy;
use crate::storage::{EnumColumn, EventStore};

#[derive(Default)]
pub struct MetadataApi;

/// Every value known for each searchable attribute, sorted.
#[derive(Object)]
#[oai(example)]
struct Metadata {
    /// IDEA categories: the taxonomy and every category stored.
    categories: Vec<String>,
    /// Event classes (`_CESNET`/`_Mentat` EventClass, lower-cased).
    classes: Vec<String>,
    /// Detector types (Node.Type).
    detector_types: Vec<String>,
    /// Detector names (Node.Name).
    detectors: Vec<String>,
    /// Abuse groups resolved from the sources (ResolvedAbuses).
    groups: Vec<String>,
    /// Source and target types together.
    host_types: Vec<String>,
    /// Problems found by Mentat's inspector (InspectionErrors).
    inspection_errs: Vec<String>,
    /// Protocols (Source/Target Proto, lower-cased).
    protocols: Vec<String>,
    /// Event severities (lower-cased).
    severities: Vec<String>,
    /// Source types.
    source_types: Vec<String>,
    /// Target types.
    target_types: Vec<String>,
    /// Abuse groups resolved from the targets (TargetAbuses).
    target_groups: Vec<String>,
    /// Target classes (lower-cased).
    target_classes: Vec<String>,
    /// Target severities (lower-cased).
    target_severities: Vec<String>,
    /// TLP values (upper-cased).
    tlps: Vec<String>,
    /// Detector software (Node.SW).
    detector_softwares: Vec<String>,
}

#[OpenApi(prefix_path = "/api/events", tag = "ApiTags::Events")]
impl MetadataApi {
    /// Searchable values
    ///
    /// The choices for the search form's lists.
    #[oai(path = "/metadata", method = "get", method = "post")]
    async fn metadata(&self, store: Data<&EventStore>, _caller: Auth) -> Answer<Json<Metadata>> {
        let store: &EventStore = &store;
        let values = |c| store.distinct_values(c);
        let mut categories: BTreeSet<String> = taxonomy::CATEGORIES.iter().map(|c| c.to_string()).collect();
        categories.extend(values(EnumColumn::Category).await?);
        let source_types = values(EnumColumn::SourceType).await?;
        let target_types = values(EnumColumn::TargetType).await?;
        let host_types: BTreeSet<String> = source_types.iter().chain(&target_types).cloned().collect();
        Ok(Json(Metadata {
            categories: categories.into_iter().collect(),
            classes: values(EnumColumn::EventClass).await?,
            detector_types: values(EnumColumn::NodeType).await?,
            detectors: values(EnumColumn::NodeName).await?,
            groups: values(EnumColumn::ResolvedAbuses).await?,
            host_types: host_types.into_iter().collect(),
            inspection_errs: values(EnumColumn::InspectionErrors).await?,
            protocols: values(EnumColumn::Protocol).await?,
            severities: values(EnumColumn::EventSeverity).await?,
            source_types,
            target_types,
            target_groups: values(EnumColumn::TargetAbuses).await?,
            target_classes: values(EnumColumn::TargetClass).await?,
            target_severities: values(EnumColumn::TargetSeverity).await?,
            tlps: values(EnumColumn::Tlp).await?,
            detector_softwares: values(EnumColumn::NodeSw).await?,
        }))
    }
}

impl poem_openapi::types::Example for Metadata {
    fn example() -> Self {
        let v = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Metadata {
            categories: v(&["Abusive.Spam", "Recon.Scanning"]),
            classes: v(&["recon-scanning"]),
            detector_types: v(&["Flow", "Honeypot"]),
            detectors: v(&["cz.cesnet.nemea.vportscan"]),
            groups: v(&["abuse@cesnet.cz"]),
            host_types: v(&["Backscatter"]),
            inspection_errs: v(&[]),
            protocols: v(&["tcp", "udp"]),
            severities: v(&["low", "medium"]),
            source_types: v(&["Backscatter"]),
            target_types: v(&[]),
            target_groups: v(&["abuse@example.org"]),
            target_classes: v(&[]),
            target_severities: v(&[]),
            tlps: v(&["AMBER", "GREEN"]),
            detector_softwares: v(&["Nemea"]),
        }
    }
}
