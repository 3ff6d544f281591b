-- One row per event, direction and /16 network that holds one of its single IPv4
-- addresses. A count over a /16 in a day then reads that day's rows of that /16 alone:
-- the btree on events_addr (v4, detecttime) would read the /16's rows of all time, and a
-- scan of many targets in one /16 is one row here instead of one per target.
CREATE TABLE IF NOT EXISTS events_net16 (
    id         text COLLATE "C" NOT NULL,
    dir        "char" NOT NULL CHECK (dir IN ('s', 't')),
    net16      integer NOT NULL,
    detecttime timestamp NOT NULL
);
-- The id is included so a count reads the index alone.
CREATE INDEX IF NOT EXISTS events_net16_idx ON events_net16 USING btree (dir, net16, detecttime) INCLUDE (id);
-- For the delete trigger, as on events_addr: rows arrive in time order.
CREATE INDEX IF NOT EXISTS events_net16_time_idx ON events_net16 USING brin (detecttime) WITH (pages_per_range = 8);

INSERT INTO events_net16 (id, dir, net16, detecttime)
    SELECT DISTINCT id, dir, (v4 >> 16)::integer, detecttime FROM events_addr WHERE v4 IS NOT NULL
    ORDER BY detecttime;

CREATE OR REPLACE FUNCTION events_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM events_json j USING gone g WHERE j.id = g.id;
    DELETE FROM events_addr a USING gone g WHERE a.detecttime = g.detecttime AND a.id = g.id;
    DELETE FROM events_net16 n USING gone g WHERE n.detecttime = g.detecttime AND n.id = g.id;
    RETURN NULL;
END $$;
