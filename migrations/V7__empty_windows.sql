-- A window or rollup without events is no row (the statistician no longer stores them, and
-- the dashboard reads a missing row as zero), so years of quiet cost nothing.
DELETE FROM statistics_events WHERE count = 0;
DELETE FROM statistics_rollups WHERE count = 0;
