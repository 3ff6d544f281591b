-- Login sessions. A login token (JWT) is honoured only while its `jti` has a row here, so
-- logout, disabling an account or deleting the row revokes it at once.
CREATE TABLE IF NOT EXISTS sessions (
    jti      uuid PRIMARY KEY,
    user_id  integer NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created  timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    expires  timestamp NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expires_idx ON sessions (expires);
CREATE INDEX IF NOT EXISTS sessions_user_idx ON sessions (user_id);

-- The key that signs login tokens, shared by every server of one database and made on
-- first use. Tokens cannot be minted from it alone: they need a row in `sessions` too.
CREATE TABLE IF NOT EXISTS token_key (
    id      boolean PRIMARY KEY DEFAULT true CHECK (id),
    secret  bytea NOT NULL CHECK (length(secret) >= 32)
);
