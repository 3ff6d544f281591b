-- mentat-ng's newer event columns: the detectors' software (Node.SW), the shadow reporting
-- flags and the hostnames of each side. Added without a rewrite; the weeks already stored
-- are listed in refill_weeks, whose rows `ideadb migrate` fills from the stored messages
-- (`storage/refill.rs`) and then removes. Empty lists are NULL, which costs nothing.
ALTER TABLE events
    ADD COLUMN node_sw text[] COLLATE "C",
    ADD COLUMN shadow_reporting boolean NOT NULL DEFAULT false,
    ADD COLUMN shadow_reporting_target boolean NOT NULL DEFAULT false,
    ADD COLUMN source_hostname text[] COLLATE "C",
    ADD COLUMN target_hostname text[] COLLATE "C",
    -- Every domain the side's names lie in, dot first (`mail.example.cz`: `.example.cz`,
    -- `.cz`): a search for a domain is then one array lookup, which the planner estimates
    -- from element statistics; a substring (`LIKE '%.cz%'`) it cannot estimate at all, and
    -- took common domains for rare ones.
    ADD COLUMN source_domains text[] COLLATE "C",
    ADD COLUMN target_domains text[] COLLATE "C";

-- A side's hostnames as one text, for the trigram index that finds a part of a name
-- (`.cz`). array_to_string is only STABLE in general, but of text it is immutable; the
-- space cannot occur in a hostname, so no match spans two.
CREATE OR REPLACE FUNCTION hostnames_text(text[]) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$ SELECT array_to_string($1, ' ') $$;
-- Most events name no host: the indexes of whole names and domains hold only those that do.
-- The trigram indexes (for parts that are no domain, such as `.example.`) are not partial,
-- because the planner reads the statistics of an index expression only from a whole-table
-- index.
CREATE INDEX IF NOT EXISTS events_source_hostname_idx ON events USING gin (source_hostname) WHERE source_hostname IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_target_hostname_idx ON events USING gin (target_hostname) WHERE target_hostname IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_source_domains_idx ON events USING gin (source_domains) WHERE source_domains IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_target_domains_idx ON events USING gin (target_domains) WHERE target_domains IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_source_hostname_trgm_idx ON events USING gin (hostnames_text(source_hostname) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS events_target_hostname_trgm_idx ON events USING gin (hostnames_text(target_hostname) gin_trgm_ops);
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

-- Imports from Mentat databases (`ideadb import-mentat`): how far each source got, so a
-- re-run goes on after the last batch stored. A source is named by host, port and database.
CREATE TABLE mentat_imports (
    source      text PRIMARY KEY,
    storagetime timestamp NOT NULL,
    id          text NOT NULL,
    events      bigint NOT NULL DEFAULT 0,
    refused     bigint NOT NULL DEFAULT 0,
    updated     timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
-- What mentat-ng keeps beside the thresholding cache, so an import loses none of it.
ALTER TABLE thresholds ADD COLUMN IF NOT EXISTS report_label text;
ALTER TABLE events_thresholded
    ADD COLUMN IF NOT EXISTS istarget boolean NOT NULL DEFAULT false,
    ADD COLUMN IF NOT EXISTS isshadow boolean NOT NULL DEFAULT false;
