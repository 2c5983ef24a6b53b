"""The UI's settings: ``PIXELPLAY_UI_<FIELD>`` (docs/configuration.md)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.settings import CommonSettings, load_settings, owned_by


class UISettings(CommonSettings):
    model_config = SettingsConfigDict(env_prefix="PIXELPLAY_UI_")

    host: str = "127.0.0.1"
    port: int = 7860
    page_size: int = 12  # cards per page ("load more" fetches the next page)
    history_limit: int = 20  # past searches shown in the History tab
    thumbnail_px: int = 96  # longest side of the JPEG thumbnail stored with each history entry
    max_upload_bytes: int = 10 * 1024 * 1024
    # Addresses (or CIDRs, comma-separated) of the reverse proxies in front of the UI, whose
    # X-Forwarded-For / X-Forwarded-Proto the UI believes (uvicorn's forwarded_allow_ips). Empty:
    # no proxy, the TCP peer is the browser. Auth believes a forwarded address only from the UI
    # (a request carrying the service token), never from whoever can reach it.
    trusted_proxies: str = ""

    # Owned by auth, read under its env names so both sides see one value.
    # The session cookie lives as long as the session can.
    session_absolute_days: float = Field(90, validation_alias=owned_by("auth", "session_absolute_days"))
    # "Save to Spotify" shows only when auth has it set; the UI serves this callback.
    spotify_redirect_url: str | None = Field(None, validation_alias=owned_by("auth", "spotify_redirect_url"))


def get_settings() -> UISettings:
    return load_settings(UISettings)
