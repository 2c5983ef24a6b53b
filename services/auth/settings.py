"""The auth service's settings: ``PIXELPLAY_AUTH_<FIELD>`` (docs/configuration.md)."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from services.common.settings import CommonSettings, load_settings


class AuthSettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="PIXELPLAY_AUTH_")

    bcrypt_rounds: int = 12
    password_max_chars: int = 1024  # bounds hashing work; every password is pre-hashed for bcrypt
    hash_concurrency: int = 2  # bcrypt hashes at once per auth process; beyond: wait, then 503
    max_body_bytes: int = 256 * 1024

    # Sessions: sliding, and ended this long after sign-in however active. A zero or negative
    # lifetime would sign everyone out at once, so it is refused at start-up.
    session_days: int = Field(30, gt=0)
    session_absolute_days: float = Field(90, gt=0)
    reset_token_minutes: int = Field(30, gt=0)
    known_device_days: int = Field(365, gt=0)

    # Login throttle: login_max_failures per (account, address) locks that pair; past it, or past
    # login_ip_max_failures per address, attempts from unknown browsers are slowed (never refused).
    login_max_failures: int = Field(5, ge=1)
    login_window_s: int = Field(900, gt=0)
    # Per client address; higher than the per-account limit because many people can share an address.
    login_ip_max_failures: int = Field(50, ge=1)
    login_delay_max_s: float = Field(4.0, ge=0)
    register_max_per_address: int = 5  # registrations per address per register_window_s
    register_window_s: int = 3600
    register_code_minutes: int = 60

    history_max_thumbnail_bytes: int = 64 * 1024
    history_max_results: int = 200
    history_max_json_bytes: int = 16 * 1024  # filters / feedback objects

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "PixelPlay <no-reply@pixelplay.local>"
    smtp_starttls: bool = True

    db_pool_min_size: int = 1
    db_pool_max_size: int = 10
    db_pool_timeout_s: float = 5.0  # longest wait for a connection before answering 503
    db_connect_timeout_s: int = 3
    db_statement_timeout_ms: int = 5000
    db_startup_timeout_s: float = 30.0

    # "Save to Spotify": auth holds the tokens and calls Spotify (docs/spotify.md). The feature is
    # off (hidden in the UI) until spotify_client_id and spotify_redirect_url are set.
    spotify_client_id: str | None = None
    # The UI's callback, registered in the Spotify app exactly as written here, e.g.
    # https://pixelplay.example.com/spotify/callback or http://127.0.0.1:7860/spotify/callback.
    spotify_redirect_url: str | None = None
    # Fernet key(s) encrypting the stored Spotify tokens; comma-separated, the first encrypts, the
    # others still decrypt (key rotation). Required once the feature is on.
    spotify_token_key: SecretStr | None = None
    spotify_accounts_url: str = "https://accounts.spotify.com"
    spotify_api_url: str = "https://api.spotify.com/v1"
    spotify_timeout_s: float = 10.0
    spotify_max_tries: int = 3  # per call: 429s within spotify_retry_after_max_s, idempotent 5xx
    spotify_retry_after_max_s: float = 5.0  # longer Retry-After waits are reported to the user instead
    spotify_connect_minutes: int = 10  # how long a started sign-in (state + PKCE verifier) stays usable
    spotify_max_tracks: int = 1000  # longest list one save accepts

    @field_validator("spotify_redirect_url")
    @classmethod
    def _spotify_redirect_is_safe(cls, url: str | None) -> str | None:
        """Spotify's own rule: https, or plain http only on a loopback IP literal (never localhost)."""
        if url is None:
            return None
        parts = urlsplit(url)
        loopback = parts.scheme == "http" and parts.hostname in {"127.0.0.1", "::1"}
        if not (parts.scheme == "https" or loopback) or not parts.hostname or parts.fragment:
            raise ValueError(
                "spotify_redirect_url must be an https:// URL, or http://127.0.0.1:PORT/... for a local "
                "install, without a #fragment (Spotify refuses anything else)"
            )
        return url


def get_settings() -> AuthSettings:
    return load_settings(AuthSettings)
