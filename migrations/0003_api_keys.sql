-- API keys of the admin HTTP API. A key is "mxk_" + 256 random bits (base64url); only its
-- SHA-256 is stored. A plain unsalted hash is right here: the key has 256 bits of entropy, so
-- nothing can be guessed or looked up in a table, and a fast hash lets the daemon check a key
-- on every request (password hashing like bcrypt/argon2 only helps low-entropy secrets).
CREATE TABLE mediax.api_keys (
  id            bigserial PRIMARY KEY,
  name          text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
  role          text NOT NULL CHECK (role IN ('admin', 'reader')),
  hash          text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),  -- hex SHA-256 of the whole key
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);
