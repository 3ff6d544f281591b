-- Time partitions. The event tables are partitioned by storage time, one partition a week
-- (`storage/partitions.rs` creates them), so retention drops whole weeks and every index
-- stays the size of a week. The rows of the previous layout stay in the `*_v9` tables until
-- `ideadb migrate` has moved them (`storage/upgrade.rs`), which also rebuilds the address
-- tables from the messages; their secondary indexes go now, the moving needs only the keys.
ALTER TABLE events RENAME TO events_v9;
ALTER INDEX events_pkey RENAME TO events_v9_pkey;
ALTER TABLE events_json RENAME TO events_json_v9;
ALTER INDEX events_json_pkey RENAME TO events_json_v9_pkey;
DROP TRIGGER IF EXISTS events_forget ON events_v9;
DROP INDEX IF EXISTS events_detecttime_idx, events_cesnet_storagetime_idx, events_cesnet_eventseverity_idx,
    events_combined_idx, events_description_idx;
DROP TABLE IF EXISTS events_addr, events_net16;

-- Every stored ID once, whatever partition holds its event: a repeated ID is never stored
-- twice for as long as the first copy is kept. Unpartitioned, keyed by the ID alone (on
-- Citus: distributed by id, colocated with the event tables).
CREATE TABLE event_ids (
    id          text COLLATE "C" PRIMARY KEY,
    storagetime timestamp NOT NULL
);

-- The columns of V1, partitioned. The key includes the partition column, as PostgreSQL
-- requires; event_ids keeps the ID unique on its own.
CREATE TABLE events (
    id                      text COLLATE "C" NOT NULL,
    detecttime              timestamp NOT NULL,
    category                text[] COLLATE "C" NOT NULL,
    description             text,
    source_ip               iprange[],
    target_ip               iprange[],
    source_ip_aggr_ip4      ip4r,
    source_ip_aggr_ip6      ip6r,
    target_ip_aggr_ip4      ip4r,
    target_ip_aggr_ip6      ip6r,
    source_port             integer[],
    target_port             integer[],
    source_type             text[] COLLATE "C",
    target_type             text[] COLLATE "C",
    protocol                text[] COLLATE "C",
    node_name               text[] COLLATE "C" NOT NULL,
    node_type               text[] COLLATE "C",
    cesnet_storagetime      timestamp NOT NULL,
    cesnet_resolvedabuses   text[] COLLATE "C",
    cesnet_eventclass       text,
    cesnet_eventseverity    text,
    cesnet_inspectionerrors text[] COLLATE "C",
    tlp                     text,
    targetabuses            text[] COLLATE "C",
    targetclass             text,
    targetseverity          text,
    category_detector       text[] COLLATE "C",
    PRIMARY KEY (id, cesnet_storagetime)
) PARTITION BY RANGE (cesnet_storagetime);

CREATE TABLE events_json (
    id          text COLLATE "C" NOT NULL,
    storagetime timestamp NOT NULL,
    event       bytea NOT NULL,
    PRIMARY KEY (id, storagetime)
) PARTITION BY RANGE (storagetime);

CREATE TABLE events_addr (
    id          text COLLATE "C" NOT NULL,
    dir         "char" NOT NULL CHECK (dir IN ('s', 't')),
    ip          iprange NOT NULL,
    v4          bigint,
    detecttime  timestamp NOT NULL,
    storagetime timestamp NOT NULL
) PARTITION BY RANGE (storagetime);

CREATE TABLE events_net16 (
    id          text COLLATE "C" NOT NULL,
    dir         "char" NOT NULL CHECK (dir IN ('s', 't')),
    net16       integer NOT NULL,
    detecttime  timestamp NOT NULL,
    storagetime timestamp NOT NULL
) PARTITION BY RANGE (storagetime);

-- How far DetectTime ran ahead of storage time, at most, among the events stored in each
-- week (only weeks where it ran ahead at all). A search from detection time T reads the
-- partitions from T on, and the earlier weeks listed here whose events may reach T: exact
-- whatever the senders' clocks say, and nearly always just the partitions from T on.
CREATE TABLE detect_ahead (
    week  timestamp PRIMARY KEY,
    ahead interval NOT NULL
);

-- The index set of V2 and V6 on the event tables, again on the partitioned tables (each
-- partition gets its own, named after these and its week). The primary key of `events`
-- now serves lookups by ID, and (cesnet_storagetime, id) the storage-time sort.
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
CREATE INDEX IF NOT EXISTS events_net16_idx ON events_net16 USING btree (dir, net16, detecttime) INCLUDE (id);
CREATE INDEX IF NOT EXISTS events_net16_time_idx ON events_net16 USING brin (detecttime) WITH (pages_per_range = 8);

-- Weeks whose partitions were compacted once they ended (see `partitions.rs`).
CREATE TABLE compacted_weeks (
    week      timestamp PRIMARY KEY,
    compacted timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);

-- The deleted events' storage times bound every statement, so each reads only the
-- partitions that held them.
CREATE OR REPLACE FUNCTION events_forget() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    lo timestamp;
    hi timestamp;
BEGIN
    SELECT min(cesnet_storagetime), max(cesnet_storagetime) INTO lo, hi FROM gone;
    DELETE FROM events_json j USING gone g
        WHERE j.storagetime >= lo AND j.storagetime <= hi AND j.id = g.id AND j.storagetime = g.cesnet_storagetime;
    DELETE FROM events_addr a USING gone g
        WHERE a.storagetime >= lo AND a.storagetime <= hi
          AND a.storagetime = g.cesnet_storagetime AND a.detecttime = g.detecttime AND a.id = g.id;
    DELETE FROM events_net16 n USING gone g
        WHERE n.storagetime >= lo AND n.storagetime <= hi
          AND n.storagetime = g.cesnet_storagetime AND n.detecttime = g.detecttime AND n.id = g.id;
    DELETE FROM event_ids i USING gone g WHERE i.id = g.id;
    RETURN NULL;
END $$;
CREATE TRIGGER events_forget AFTER DELETE ON events
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION events_forget();
