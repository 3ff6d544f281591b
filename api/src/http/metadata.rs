//! `/api/events/metadata`: the values searches can choose from, read from the `enum_*` tables
//! (kept current by ingest, so no request scans `events`), categories merged with the IDEA
//! taxonomy.

use std::collections::BTreeSet;

use poem::web::Data;
use poem_openapi::payload::Json;
use poem_openapi::OpenApi;

use super::auth::Auth;
use super::error::Answer;
use super::ApiTags;
use crate::idea::taxonomy;
use crate::storage::{EnumColumn, EventStore};
use ideadb_wire::answers::Metadata;

#[derive(Default)]
pub struct MetadataApi;

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
