-- Version 4: "Save to Spotify". Tokens and PKCE verifiers are Fernet ciphertext (key from
-- PIXELPLAY_SPOTIFY_TOKEN_KEY), so a database dump alone gives no access to anyone's Spotify.

-- A sign-in started from one PixelPlay session: the callback must come back with the same
-- session and this state, once, before expires_at (a forged or replayed callback finds no row).
CREATE TABLE spotify_connect_requests (
    state_hash     bytea PRIMARY KEY,
    session_id     uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    user_id        uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    verifier_enc   bytea NOT NULL,
    created_at     timestamptz NOT NULL,
    expires_at     timestamptz NOT NULL
);
CREATE INDEX spotify_connect_requests_expires_idx ON spotify_connect_requests (expires_at);

-- One connected Spotify account per PixelPlay user.
CREATE TABLE spotify_links (
    user_id          uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    tokens_enc       bytea NOT NULL,  -- {"access_token", "refresh_token"} as encrypted JSON
    access_expires_at timestamptz NOT NULL,
    scope            text NOT NULL,
    spotify_user_id  text,
    display_name     text,
    connected_at     timestamptz NOT NULL,
    refreshed_at     timestamptz
);

-- Lists already saved, so saving the same list again can offer to update that playlist.
-- list_key is the SHA-256 of the list's sorted track ids.
CREATE TABLE spotify_saved_playlists (
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    list_key     bytea NOT NULL,
    playlist_id  text NOT NULL,
    name         text NOT NULL,
    url          text,
    total        integer NOT NULL,
    added        integer NOT NULL,
    saved_at     timestamptz NOT NULL,
    PRIMARY KEY (user_id, list_key)
);
