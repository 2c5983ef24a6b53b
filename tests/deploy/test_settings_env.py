"""The compose environment against services/common/settings.py: names the code reads, values it parses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from services.common.settings import Settings, get_settings
from tests.deploy import compose_model as cm

COMPOSE = cm.load()
# Services built from deploy/Dockerfile run PixelPlay code and read Settings; the rest are vendor images.
APP_SERVICES = sorted(name for name, svc in COMPOSE["services"].items() if svc.get("build"))
SETTINGS_NAMES = cm.settings_env_names()
KNOWN_NAMES = set().union(*SETTINGS_NAMES.values())
# Which service needs which secret that has a development default in Settings. A new secret field
# fails test_every_dev_default_secret_is_assigned until it is listed here and set in compose.
SECRET_READERS = {
    "service_token": {"search", "auth", "enricher", "index", "reindex", "enrich-all", "seed-demo-user", "ui"},
}
DUMMY_SECRETS = {
    "POSTGRES_PASSWORD": "pg-secret",
    "AUTH_DB_PASSWORD": "auth-db-secret",
    "REDIS_PASSWORD": "redis-secret",
    "QDRANT_API_KEY": "qdrant-secret",
    "PIXELPLAY_SERVICE_TOKEN": "service-secret",
}


def compose_env(name: str, path: Path = cm.COMPOSE_FILE) -> dict[str, str]:
    """The environment compose gives ``name`` with .env.example plus the secrets filled in."""
    env = {**cm.read_env_file(), **DUMMY_SECRETS}
    service = cm.load_interpolated(path, env)["services"][name]
    return {key: value or "" for key, value in cm.environment(service).items()}


@pytest.fixture
def settings_from(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Build ``Settings`` from exactly the given variables (no developer env, no ./.env)."""

    def build(env: dict[str, str]) -> Settings:
        for key in KNOWN_NAMES:
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(tmp_path)  # Settings also reads ./.env; keep a checkout's .env out
        get_settings.cache_clear()
        return Settings()

    yield build
    get_settings.cache_clear()


def test_settings_names_include_the_standard_aliases() -> None:
    assert {"QDRANT_URL", "PIXELPLAY_QDRANT_URL"} <= SETTINGS_NAMES["qdrant_url"]
    assert SETTINGS_NAMES["service_token"] == {"PIXELPLAY_SERVICE_TOKEN"}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_sets_only_variables_the_code_reads(name: str) -> None:
    """A misspelt PIXELPLAY_ variable would be ignored silently (extra="ignore")."""
    for path in [cm.COMPOSE_FILE, *cm.OVERRIDE_FILES]:
        service = cm.load(path)["services"].get(name) or {}
        unknown = set(cm.environment(service)) - KNOWN_NAMES
        assert not unknown, f"{path.name}: {name} sets variables Settings does not read: {sorted(unknown)}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_required_settings_are_set_by_compose(name: str) -> None:
    env = compose_env(name)
    for field_name, field in Settings.model_fields.items():
        if field.is_required():
            assert SETTINGS_NAMES[field_name] & env.keys(), f"{name} does not set required {field_name}"


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_environment_parses_into_settings(name: str, settings_from) -> None:
    """Every value validates, and nothing optional becomes "" or the path "." by being set empty."""
    settings = settings_from(compose_env(name))
    for field_name, field in Settings.model_fields.items():
        value: Any = getattr(settings, field_name)
        if field.default is None and value is not None:
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            assert raw not in ("", Path("")), f"{name}: {field_name} set to an empty value, not unset"


def test_infrastructure_urls_point_at_the_compose_services(settings_from) -> None:
    """With a URL unset a service would start an embedded engine inside its container instead."""
    assert settings_from(compose_env("search")).qdrant_url == "http://qdrant:6333"
    auth = settings_from(compose_env("auth"))
    assert auth.database_url == "postgresql://pixelplay_auth:auth-db-secret@postgres:5432/pixelplay"
    assert settings_from(compose_env("enricher")).redis_url == "redis://:redis-secret@redis:6379/0"
    ui = settings_from(compose_env("ui"))
    assert (ui.ui_host, ui.ui_port) == ("0.0.0.0", 7860)
    assert ui.search_url == "http://search:8102" and ui.auth_url == "http://auth:8103"


def test_every_dev_default_secret_is_assigned() -> None:
    with_default = {
        name
        for name, field in Settings.model_fields.items()
        if isinstance(field.default, SecretStr) and field.default.get_secret_value()
    }
    assert with_default == set(SECRET_READERS), "list every secret with a dev default in SECRET_READERS"


@pytest.mark.parametrize("secret", sorted(SECRET_READERS))
def test_dev_default_secrets_are_replaced_from_env(secret: str, settings_from) -> None:
    (env_name,) = SETTINGS_NAMES[secret]
    for name in SECRET_READERS[secret]:
        settings = settings_from(compose_env(name))
        value = getattr(settings, secret).get_secret_value()
        assert value == DUMMY_SECRETS[env_name], f"{name} does not take {env_name} from .env"
    with pytest.raises(cm.MissingVariable, match=env_name):
        cm.load_interpolated(cm.COMPOSE_FILE, {**cm.read_env_file(), **DUMMY_SECRETS, env_name: ""})


@pytest.mark.parametrize("override", cm.OVERRIDE_FILES, ids=lambda p: p.name)
def test_override_values_parse_into_settings(override: Path, settings_from) -> None:
    env = {**cm.read_env_file(), **DUMMY_SECRETS}
    env |= {
        "PIXELPLAY_ENCODER_CLIP_CHECKPOINT": "/models/demo",
        "PIXELPLAY_AUTH_SMTP_HOST": "smtp.example.com",
        "PIXELPLAY_AUTH_SMTP_USER": "pixelplay",
        "PIXELPLAY_AUTH_SMTP_PASSWORD": "smtp-secret",
        "PIXELPLAY_AUTH_SPOTIFY_CLIENT_ID": "spotify-client",
        "PIXELPLAY_AUTH_SPOTIFY_REDIRECT_URL": "https://pixelplay.example.com/spotify/callback",
        "PIXELPLAY_AUTH_SPOTIFY_TOKEN_KEY": "spotify-key",
    }
    for name, service in cm.load_interpolated(override, env)["services"].items():
        if name not in APP_SERVICES:
            continue
        merged = {**compose_env(name), **{k: v or "" for k, v in cm.environment(service).items()}}
        settings = settings_from(merged)
        if "PIXELPLAY_ENCODER_CLIP_CHECKPOINT" in merged:
            assert settings.clip_checkpoint == Path("/models/demo")
        if "PIXELPLAY_AUTH_SMTP_HOST" in merged:
            assert settings.smtp_host == "smtp.example.com" and settings.smtp_port == 587
        if "PIXELPLAY_AUTH_SPOTIFY_REDIRECT_URL" in merged:
            assert settings.spotify_redirect_url == "https://pixelplay.example.com/spotify/callback"
