-- zstd dictionaries for the stored message bytes, trained on this database's own messages.
-- A compressed message names its dictionary in its frame header (the dictionary's own ID),
-- so dictionaries are never changed, only added, and every one a message names is kept.
CREATE TABLE IF NOT EXISTS message_dicts (
    id      bigint PRIMARY KEY,
    dict    bytea NOT NULL,
    created timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);
