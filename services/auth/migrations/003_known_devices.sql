-- Version 3: browsers that signed in to an account before ("device cookies"), so a throttle on an
-- address or an account never locks out a browser its owner already uses.
CREATE TABLE known_devices (
    token_hash   BYTEA PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX known_devices_user_idx ON known_devices (user_id);
CREATE INDEX known_devices_expires_idx ON known_devices (expires_at);
-- Failed logins now also count per (account, address) pair, and registrations per address.
ALTER TABLE login_failures DROP CONSTRAINT login_failures_scope_check;
ALTER TABLE login_failures ADD CONSTRAINT login_failures_scope_check
    CHECK (scope IN ('account', 'address', 'pair', 'register'));
