-- Event statistics (mentat-statistician). One row per 5-minute window of storage time,
-- half-open [dt_from, dt_to), as Mentat's `statistics_events` (same columns; `interval`
-- formatted "%FT%T_%FT%T").
CREATE TABLE IF NOT EXISTS statistics_events (
    id             serial PRIMARY KEY,
    createtime     timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    interval       varchar NOT NULL UNIQUE,
    dt_from        timestamp NOT NULL,
    dt_to          timestamp NOT NULL,
    delta          integer NOT NULL,
    count          integer NOT NULL,
    stats_overall  jsonb,
    stats_internal jsonb,
    stats_external jsonb
);
CREATE INDEX IF NOT EXISTS statistics_events_dt_from_idx ON statistics_events (dt_from);

-- Hourly (delta 3600) and daily (delta 86400) summaries merged from the windows, so long
-- dashboards read a few rows instead of thousands. Plain json: they are only ever read
-- whole, and json is returned as stored while jsonb must be printed again.
CREATE TABLE IF NOT EXISTS statistics_rollups (
    delta          integer NOT NULL CHECK (delta IN (3600, 86400)),
    dt_from        timestamp NOT NULL,
    dt_to          timestamp NOT NULL,
    -- How many 5-minute windows were merged.
    windows        integer NOT NULL,
    count          integer NOT NULL,
    stats_overall  json,
    stats_internal json,
    stats_external json,
    PRIMARY KEY (delta, dt_from)
);

-- What makes an event recurring: its fingerprint (detector, category set, source address
-- set) and storage time, for every event of the computed windows. An event recurs when an
-- event with its fingerprint was stored in the 24 hours before it.
CREATE TABLE IF NOT EXISTS statistics_seen (
    fingerprint bigint NOT NULL,
    storagetime timestamp NOT NULL,
    id          text COLLATE "C" NOT NULL,
    PRIMARY KEY (fingerprint, storagetime, id)
);
CREATE INDEX IF NOT EXISTS statistics_seen_storagetime_idx ON statistics_seen (storagetime);
