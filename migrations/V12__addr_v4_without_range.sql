-- A row of events_addr that is one IPv4 address is found by `v4` alone (its btree); its
-- `ip` was a second copy of the same address. New rows leave it NULL, which costs nothing
-- in the row; rows stored before keep it and are read as before.
ALTER TABLE events_addr ALTER COLUMN ip DROP NOT NULL;
