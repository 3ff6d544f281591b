-- mentat-ng's newer event columns: the detectors' software (Node.SW) and the shadow
-- reporting flags. Added without a default rewrite; the weeks already stored are listed in
-- refill_weeks, whose rows `ideadb migrate` fills from the stored messages
-- (`storage/refill.rs`) and then removes.
ALTER TABLE events
    ADD COLUMN node_sw text[] COLLATE "C",
    ADD COLUMN shadow_reporting boolean NOT NULL DEFAULT false,
    ADD COLUMN shadow_reporting_target boolean NOT NULL DEFAULT false;
CREATE TABLE IF NOT EXISTS enum_node_sw (data text UNIQUE NOT NULL, last_seen timestamp NOT NULL);
CREATE INDEX IF NOT EXISTS enum_node_sw_lastseen_idx ON enum_node_sw USING btree (last_seen);

-- Weeks whose rows predate columns derived from the messages; `after` is the last ID done.
CREATE TABLE refill_weeks (
    week  timestamp PRIMARY KEY,
    after text COLLATE "C" NOT NULL DEFAULT ''
);
INSERT INTO refill_weeks (week)
    SELECT to_timestamp(substr(c.relname, length('events_w') + 1), 'YYYYMMDD')::timestamp
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'events'::regclass;

-- Accounts belong to abuse groups: a TLP-restricted event (AMBER-STRICT, AMBER, RED) is
-- visible to a user or developer only when one of their groups is among its abuse groups.
ALTER TABLE users ADD COLUMN groups text[] COLLATE "C" NOT NULL DEFAULT '{}';
-- Groups named before any event names them (a new installation's accounts).
CREATE TABLE abuse_groups (
    name    text COLLATE "C" PRIMARY KEY,
    created timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
