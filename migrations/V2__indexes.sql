-- The default index set; `ideadb` index_drop/index_create drop and re-run exactly this file.
-- (time, id) rather than time alone: the id makes keyset paging an index range scan.
CREATE INDEX IF NOT EXISTS events_detecttime_idx ON events USING btree (detecttime, id);
CREATE INDEX IF NOT EXISTS events_cesnet_storagetime_idx ON events USING btree (cesnet_storagetime, id);
CREATE INDEX IF NOT EXISTS events_cesnet_eventseverity_idx ON events USING btree (cesnet_eventseverity) WHERE cesnet_eventseverity IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_combined_idx ON events USING gin (
    category, node_name, protocol, source_port, target_port, source_type, target_type,
    node_type, cesnet_resolvedabuses, cesnet_inspectionerrors, targetabuses, category_detector
) WITH (gin_pending_list_limit = 16384);
CREATE INDEX IF NOT EXISTS events_description_idx ON events USING gin (description gin_trgm_ops)
    WITH (gin_pending_list_limit = 16384);
CREATE INDEX IF NOT EXISTS events_addr_source_v4_idx ON events_addr USING btree (v4, detecttime) WHERE dir = 's' AND v4 IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_addr_target_v4_idx ON events_addr USING btree (v4, detecttime) WHERE dir = 't' AND v4 IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_addr_source_idx ON events_addr USING gist (ip, detecttime) WHERE dir = 's' AND v4 IS NULL;
CREATE INDEX IF NOT EXISTS events_addr_target_idx ON events_addr USING gist (ip, detecttime) WHERE dir = 't' AND v4 IS NULL;
CREATE INDEX IF NOT EXISTS events_addr_time_idx ON events_addr USING brin (detecttime) WITH (pages_per_range = 8);
CREATE INDEX IF NOT EXISTS thresholds_thresholdtime_idx ON thresholds USING btree (thresholdtime);
CREATE INDEX IF NOT EXISTS thresholds_relapsetime_idx ON thresholds USING btree (relapsetime);
CREATE INDEX IF NOT EXISTS thresholds_ttltime_idx ON thresholds USING btree (ttltime);
CREATE INDEX IF NOT EXISTS events_thresholded_combined_idx ON events_thresholded USING btree (groupname, eventseverity);
CREATE INDEX IF NOT EXISTS events_thresholded_createtime_idx ON events_thresholded USING btree (createtime);
CREATE INDEX IF NOT EXISTS enum_category_lastseen_idx ON enum_category USING btree (last_seen);
CREATE INDEX IF NOT EXISTS enum_protocol_lastseen_idx ON enum_protocol USING btree (last_seen);
CREATE INDEX IF NOT EXISTS enum_node_name_lastseen_idx ON enum_node_name USING btree (last_seen);
CREATE INDEX IF NOT EXISTS enum_node_type_lastseen_idx ON enum_node_type USING btree (last_seen);
CREATE INDEX IF NOT EXISTS enum_source_type_lastseen_idx ON enum_source_type USING btree (last_seen);
CREATE INDEX IF NOT EXISTS enum_target_type_lastseen_idx ON enum_target_type USING btree (last_seen);
CREATE INDEX IF NOT EXISTS enum_cesnet_resolvedabuses_lastseen_idx ON enum_cesnet_resolvedabuses USING btree (last_seen);
CREATE INDEX IF NOT EXISTS enum_cesnet_eventclass_lastseen_idx ON enum_cesnet_eventclass USING btree (last_seen);
CREATE INDEX IF NOT EXISTS enum_cesnet_eventseverity_lastseen_idx ON enum_cesnet_eventseverity USING btree (last_seen);
CREATE INDEX IF NOT EXISTS enum_cesnet_inspectionerrors_lastseen_idx ON enum_cesnet_inspectionerrors USING btree (last_seen);
CREATE INDEX IF NOT EXISTS enum_tlp_lastseen_idx ON enum_tlp USING btree (last_seen);
CREATE INDEX IF NOT EXISTS enum_targetabuses_lastseen_idx ON enum_targetabuses USING btree (last_seen);
CREATE INDEX IF NOT EXISTS enum_targetclass_lastseen_idx ON enum_targetclass USING btree (last_seen);
CREATE INDEX IF NOT EXISTS enum_targetseverity_lastseen_idx ON enum_targetseverity USING btree (last_seen);
