-- Auth service schema, version 1. Applied once by services/auth/migrations.py inside a transaction.
-- Every timestamp is written by the service from its injected clock (never now()), so tests can
-- move time forward.

CREATE TABLE users (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username            text NOT NULL,
    email               text NOT NULL,
    password_hash       text NOT NULL,
    created_at          timestamptz NOT NULL,
    password_changed_at timestamptz NOT NULL
);
-- Case-insensitive uniqueness; the names are what the service matches in UniqueViolation.
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

-- Only the SHA-256 of a session token is stored: a database leak does not leak live sessions.
CREATE TABLE sessions (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    user_agent   text,
    client_ip    text
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE password_resets (
    id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);

-- Local mail delivery when no SMTP server is configured (see docs/auth.md).
CREATE TABLE mail_outbox (
    id         bigserial PRIMARY KEY,
    user_id    uuid REFERENCES users (id) ON DELETE CASCADE,
    recipient  text NOT NULL,
    subject    text NOT NULL,
    body       text NOT NULL,
    created_at timestamptz NOT NULL
);

-- One row per failed login, keyed by account (user id, or the typed login when no account
-- matches) and by client address; a sliding window counts the rows.
CREATE TABLE login_failures (
    id        bigserial PRIMARY KEY,
    scope     text NOT NULL CHECK (scope IN ('account', 'address')),
    key       text NOT NULL,
    failed_at timestamptz NOT NULL
);
CREATE INDEX login_failures_key_idx ON login_failures (scope, key, failed_at DESC);
CREATE INDEX login_failures_time_idx ON login_failures (failed_at);

CREATE TABLE search_history (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq               bigint GENERATED ALWAYS AS IDENTITY,  -- insertion order for equal timestamps
    user_id           uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at        timestamptz NOT NULL,
    kind              text NOT NULL CHECK (kind IN ('image', 'text', 'hybrid', 'similar', 'feedback')),
    text              text,
    weight            double precision,
    filters           jsonb,
    image_fingerprint text,
    thumbnail         text,
    source_track_id   text,
    result_track_ids  jsonb NOT NULL DEFAULT '[]'::jsonb,
    feedback          jsonb
);
CREATE INDEX search_history_user_time_idx ON search_history (user_id, created_at DESC, seq DESC);
