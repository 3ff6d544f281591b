-- The first characters of each API key, so an operator can tell keys apart, list them and
-- revoke one (`ideadb user keys`, `user revoke-key`). Not secret: the key has 256 random bits
-- after them. Keys made before this have none and are named by their number instead.
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS prefix text;
