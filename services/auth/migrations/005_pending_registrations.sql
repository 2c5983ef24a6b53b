-- Version 5: registrations waiting for their e-mail confirmation. The account is created only
-- when the code mailed to the address comes back, so registering says nothing about which
-- addresses already have an account.
CREATE TABLE pending_registrations (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username      text NOT NULL,
    email         text NOT NULL,
    password_hash text NOT NULL,
    code_hash     bytea NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL
);
CREATE INDEX pending_registrations_email_idx ON pending_registrations (lower(email));
CREATE INDEX pending_registrations_expires_idx ON pending_registrations (expires_at);
