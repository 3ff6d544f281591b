-- The category|detector pairs of an event are now an expression of the combined GIN index
-- rather than a column (issue 12, bytes per event): the column took about 70 bytes of every
-- row of `events` and held nothing the index lacks. The planner still estimates a search by
-- both from the pairs' element statistics, which ANALYZE gathers for index expressions as
-- for columns, and rows written by other tools (Mentat) now have their pairs too.
-- Dropping the column rewrites nothing: rows stored before keep its bytes until retention
-- drops their week (or an operator's VACUUM FULL rewrites it), new rows lack it.
DROP INDEX IF EXISTS events_combined_idx;
ALTER TABLE events DROP COLUMN IF EXISTS category_detector;

-- Every category|detector pair of an event; a search asks for its own pairs through the same
-- function (`storage/query.rs`), so the separator is written once.
-- plpgsql evaluates it in about a microsecond a row, a third of what the SQL form with
-- unnest took.
CREATE OR REPLACE FUNCTION category_detector(category text[], node_name text[]) RETURNS text[]
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    pairs text[] := '{}';
    c text;
    d text;
BEGIN
    FOREACH c IN ARRAY category LOOP
        FOREACH d IN ARRAY node_name LOOP
            pairs := pairs || (c || '|' || d);
        END LOOP;
    END LOOP;
    RETURN pairs;
END $$;

CREATE INDEX IF NOT EXISTS events_combined_idx ON events USING gin (
    category, node_name, protocol, source_port, target_port, source_type, target_type,
    node_type, cesnet_resolvedabuses, cesnet_inspectionerrors, targetabuses, category_detector(category, node_name)
) WITH (gin_pending_list_limit = 16384);

-- Each week's new index gets its parent's name and the week, as the weeks' other indexes.
DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.relname AS child, 'events_combined_idx' || substr(t.relname, length('events') + 1) AS wanted
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_index x ON x.indexrelid = c.oid
        JOIN pg_class t ON t.oid = x.indrelid WHERE i.inhparent = 'events_combined_idx'::regclass
    LOOP
        IF r.child <> r.wanted THEN EXECUTE format('ALTER INDEX %I RENAME TO %I', r.child, r.wanted); END IF;
    END LOOP;
END $$;
