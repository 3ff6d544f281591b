-- Accounts and API keys. Passwords are argon2id PHC strings; API keys are random 256-bit
-- secrets stored only as their SHA-256 (a fast hash is right for keys that cannot be
-- guessed, and lets a request find its key by index).
CREATE TABLE IF NOT EXISTS users (
    id            serial PRIMARY KEY,
    login         text COLLATE "C" NOT NULL UNIQUE,
    password_hash text,
    roles         text[] NOT NULL DEFAULT '{}'
                  CHECK (roles <@ ARRAY['user', 'developer', 'maintainer', 'admin']),
    enabled       boolean NOT NULL DEFAULT true,
    created       timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC')
);

CREATE TABLE IF NOT EXISTS api_keys (
    id        serial PRIMARY KEY,
    user_id   integer NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    key_hash  bytea NOT NULL UNIQUE,
    created   timestamp NOT NULL DEFAULT (now() AT TIME ZONE 'UTC'),
    last_used timestamp
);
CREATE INDEX IF NOT EXISTS api_keys_user_idx ON api_keys (user_id);
