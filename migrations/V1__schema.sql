-- ideadb schema: Mentat's V2 event tables (cesnet_* column names) plus the V3 columns
-- (tlp, targetabuses, targetclass, targetseverity) and an exact per-address side table.
CREATE EXTENSION IF NOT EXISTS ip4r;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
-- btree_gist lets one GiST index serve an address range and a time bound together.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- IDs and tags compare byte-wise (COLLATE "C"): PostgreSQL 15 takes its fast path only for
-- "C", and byte order is what IDs and the keyset cursor want anyway.
CREATE TABLE IF NOT EXISTS events (
    id                      text COLLATE "C" PRIMARY KEY,
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
    -- Every 'category|detector' pair of the event. Searches by both compare against this one
    -- column, whose element statistics tell the planner how the two go together; two
    -- separate conditions would be estimated as independent, which they rarely are.
    category_detector       text[] COLLATE "C"
);

-- The message exactly as received (bytea, because jsonb rejects \u0000). Deletes from
-- events reach it through the trigger below rather than a foreign key: a key is checked
-- row by row and costs a quarter of bulk-load time.
CREATE TABLE IF NOT EXISTS events_json (
    id    text COLLATE "C" PRIMARY KEY,
    event bytea NOT NULL
);

-- One row per merged address range of an event and direction ('s' source, 't' target).
-- Mentat's single bounding range per family turns a search for one address into a scan
-- of every event whose addresses lie far apart; this table answers it exactly.
CREATE TABLE IF NOT EXISTS events_addr (
    id         text COLLATE "C" NOT NULL,
    dir        "char" NOT NULL CHECK (dir IN ('s', 't')),
    ip         iprange NOT NULL,
    -- The address as a number when the row is one IPv4 address (most rows): a btree on it
    -- is far cheaper to maintain than GiST, which then holds only ranges and IPv6.
    v4         bigint,
    detecttime timestamp NOT NULL
);

-- A statement-level trigger keeps events_json and events_addr in step with deletes from
-- events, at no per-row cost on insert. Address rows are found by (detecttime, id) through
-- a BRIN index: they arrive in time order, and a btree on the id costs a third of ingest.
CREATE OR REPLACE FUNCTION events_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM events_json j USING gone g WHERE j.id = g.id;
    DELETE FROM events_addr a USING gone g WHERE a.detecttime = g.detecttime AND a.id = g.id;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS events_forget ON events;
CREATE TRIGGER events_forget AFTER DELETE ON events
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION events_forget();

CREATE TABLE IF NOT EXISTS thresholds (
    id            text PRIMARY KEY,
    thresholdtime timestamp NOT NULL,
    relapsetime   timestamp NOT NULL,
    ttltime       timestamp NOT NULL
);

CREATE TABLE IF NOT EXISTS events_thresholded (
    eventid       text NOT NULL,
    keyid         text NOT NULL,
    groupname     text NOT NULL,
    eventseverity text NOT NULL,
    createtime    timestamp NOT NULL,
    PRIMARY KEY (eventid, keyid)
);

CREATE TABLE IF NOT EXISTS enum_category                (data text UNIQUE NOT NULL, last_seen timestamp NOT NULL);
CREATE TABLE IF NOT EXISTS enum_protocol                (data text UNIQUE NOT NULL, last_seen timestamp NOT NULL);
CREATE TABLE IF NOT EXISTS enum_node_name               (data text UNIQUE NOT NULL, last_seen timestamp NOT NULL);
CREATE TABLE IF NOT EXISTS enum_node_type               (data text UNIQUE NOT NULL, last_seen timestamp NOT NULL);
CREATE TABLE IF NOT EXISTS enum_source_type             (data text UNIQUE NOT NULL, last_seen timestamp NOT NULL);
CREATE TABLE IF NOT EXISTS enum_target_type             (data text UNIQUE NOT NULL, last_seen timestamp NOT NULL);
CREATE TABLE IF NOT EXISTS enum_cesnet_resolvedabuses   (data text UNIQUE NOT NULL, last_seen timestamp NOT NULL);
CREATE TABLE IF NOT EXISTS enum_cesnet_eventclass       (data text UNIQUE NOT NULL, last_seen timestamp NOT NULL);
CREATE TABLE IF NOT EXISTS enum_cesnet_eventseverity    (data text UNIQUE NOT NULL, last_seen timestamp NOT NULL);
CREATE TABLE IF NOT EXISTS enum_cesnet_inspectionerrors (data text UNIQUE NOT NULL, last_seen timestamp NOT NULL);
CREATE TABLE IF NOT EXISTS enum_tlp                     (data text UNIQUE NOT NULL, last_seen timestamp NOT NULL);
CREATE TABLE IF NOT EXISTS enum_targetabuses            (data text UNIQUE NOT NULL, last_seen timestamp NOT NULL);
CREATE TABLE IF NOT EXISTS enum_targetclass             (data text UNIQUE NOT NULL, last_seen timestamp NOT NULL);
CREATE TABLE IF NOT EXISTS enum_targetseverity          (data text UNIQUE NOT NULL, last_seen timestamp NOT NULL);
