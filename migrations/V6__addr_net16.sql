-- Counting the events of a wide IPv4 range (a /16) in a short window: the range's rows of
-- that window alone, by /16 bucket and time, with the event ID in the index so the count
-- never visits the table. Single addresses keep their (v4, detecttime) btrees.
CREATE INDEX IF NOT EXISTS events_addr_source_net16_idx ON events_addr USING btree ((v4 >> 16), detecttime) INCLUDE (id)
    WHERE dir = 's' AND v4 IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_addr_target_net16_idx ON events_addr USING btree ((v4 >> 16), detecttime) INCLUDE (id)
    WHERE dir = 't' AND v4 IS NOT NULL;
