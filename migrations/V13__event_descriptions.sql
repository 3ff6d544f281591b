-- Descriptions are few and repeated (a detector's own text), yet their trigram GIN took
-- 117 bytes per event once compacted and 314 while its week was written, and every insert
-- paid for it. The text to search is now the list of distinct descriptions, with the trigram
-- index; `events` keeps a btree of each description's hash (migration 14), which deduplicates
-- to a few bytes an event, and is rechecked on the text. The key is the text's SHA-256: a
-- btree cannot hold a text past about 2.7 kB, and a description has no length limit.
CREATE TABLE event_descriptions (
    key       bytea GENERATED ALWAYS AS (sha256(data::bytea)) STORED PRIMARY KEY,
    data      text COLLATE "C" NOT NULL,
    -- The newest storage time of an event with this description, moved on at most daily, so
    -- that concurrent writers do not queue on the row; retention drops what is older.
    last_seen timestamp NOT NULL
);
INSERT INTO event_descriptions (data, last_seen)
    SELECT description, max(cesnet_storagetime) FROM events WHERE description IS NOT NULL GROUP BY description;
CREATE INDEX IF NOT EXISTS event_descriptions_data_idx ON event_descriptions USING gin (data gin_trgm_ops);
