-- Smaller indexes on `events` and `events_json` (issue 12, bytes per event). Measured on
-- 300,000 generated events, per event:
-- - The primary keys (id, storage time) were btrees of the text ID, 88-89 bytes each.
--   `event_ids` already keeps every ID unique on its own, so these tables need only find an
--   ID: a hash index does that in about 30 bytes. With no unique constraint left on them, they
--   can also be distributed by any column on Citus.
-- - The time btrees carried the ID for the sort's tie-break, 75-77 bytes each. On the time
--   alone they take 23: the few rows sharing a time are sorted after the index scan (an
--   incremental sort), as plans of both layouts were measured to do in under a millisecond.
-- No row is rewritten; the indexes are rebuilt on each week's partition. The hash indexes
-- are these tables' keys: named `*_key`, they stay when Mentat's index_drop drops the rest.
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events_json DROP CONSTRAINT events_json_pkey;
DROP INDEX IF EXISTS events_detecttime_idx, events_cesnet_storagetime_idx;

CREATE INDEX IF NOT EXISTS events_id_key ON events USING hash (id);
CREATE INDEX IF NOT EXISTS events_json_id_key ON events_json USING hash (id);
CREATE INDEX IF NOT EXISTS events_detecttime_idx ON events USING btree (detecttime);
CREATE INDEX IF NOT EXISTS events_cesnet_storagetime_idx ON events USING btree (cesnet_storagetime);

-- Searches by description go through `event_descriptions` (migration 13).
DROP INDEX IF EXISTS events_description_idx;
CREATE INDEX IF NOT EXISTS events_description_idx ON events USING btree (hashtext(description)) WHERE description IS NOT NULL;

-- Each week's new indexes get their parent's name and the week, as `storage/partitions.rs`
-- names those of the weeks it creates.
DO $$
DECLARE r record;
BEGIN
    FOR r IN
        SELECT c.relname AS child, p.relname || substr(t.relname, length(pt.relname) + 1) AS wanted
        FROM pg_index x
        JOIN pg_class c ON c.oid = x.indexrelid
        JOIN pg_inherits ii ON ii.inhrelid = x.indexrelid
        JOIN pg_class p ON p.oid = ii.inhparent
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_inherits it ON it.inhrelid = t.oid
        JOIN pg_class pt ON pt.oid = it.inhparent
        WHERE pt.relname IN ('events', 'events_json') AND c.relname <> p.relname || substr(t.relname, length(pt.relname) + 1)
    LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', r.child, r.wanted);
    END LOOP;
END $$;
