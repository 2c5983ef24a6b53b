-- Version 2: indexes for the housekeeping that deletes expired sessions and reset codes of every
-- user (on each successful login), instead of only the signing-in user's own.
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX password_resets_expires_idx ON password_resets (expires_at);
CREATE INDEX mail_outbox_created_idx ON mail_outbox (created_at);
