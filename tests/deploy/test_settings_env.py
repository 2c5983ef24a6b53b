"""The deployment environments against the settings classes: names each service reads, values it parses.

Checked: docker-compose.yml and deploy/compose.*.yml, .env.example, deploy/k8s/ and the tables of
docs/configuration.md, each against the class of the service that receives the variable.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from services.auth.settings import AuthSettings
from services.common.clients.encoder import TEXTS_PER_REQUEST
from services.common.settings import CommonSettings, load_settings, refuse_default_secrets
from services.encoder.settings import EncoderSettings
from services.enricher.settings import EnricherSettings
from services.search.settings import SearchSettings
from services.ui.settings import UISettings
from tests.deploy import compose_model as cm
from tests.deploy import k8s_model as km
from tests.deploy import settings_tables

COMPOSE = cm.load()
# Services built from deploy/Dockerfile run PixelPlay code; the rest are vendor images.
APP_SERVICES = sorted(name for name, svc in COMPOSE["services"].items() if svc.get("build"))
# The settings class each compose service (or one-shot job) reads.
SETTINGS_OF: dict[str, type[CommonSettings]] = {
    "encoder": EncoderSettings,
    "demo-model": EncoderSettings,
    "encoder-baked": EncoderSettings,  # k8s image name of the encoder with its weights inside
    "search": SearchSettings,
    "index": SearchSettings,
    "reindex": SearchSettings,
    "build-catalog": SearchSettings,
    "auth": AuthSettings,
    "seed-demo-user": AuthSettings,
    "enricher": EnricherSettings,
    "enrich-all": EnricherSettings,
    "ui": UISettings,
}
ALL_CLASSES = [CommonSettings, *settings_tables.CLASSES.values()]
KNOWN_NAMES = {name for cls in ALL_CLASSES for names in cls.env_names().values() for name in names}
# Which service needs which secret that has a development default. A new secret field fails
# test_every_dev_default_secret_is_assigned until it is listed here and set in compose.
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


def names_read_by(cls: type[CommonSettings]) -> set[str]:
    return {name for names in cls.env_names().values() for name in names}


def compose_env(name: str, path: Path = cm.COMPOSE_FILE) -> dict[str, str]:
    """The environment compose gives ``name`` with .env.example plus the secrets filled in."""
    env = {**cm.read_env_file(), **DUMMY_SECRETS}
    service = cm.load_interpolated(path, env)["services"][name]
    return {key: value or "" for key, value in cm.environment(service).items()}


@pytest.fixture
def settings_from(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Build a settings class from exactly the given variables (no developer env, no ./.env)."""

    def build(cls: type[CommonSettings], env: dict[str, str]) -> Any:
        for key in KNOWN_NAMES:
            monkeypatch.delenv(key, raising=False)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        monkeypatch.chdir(tmp_path)  # settings also read ./.env; keep a checkout's .env out
        load_settings.cache_clear()
        return cls()

    yield build
    load_settings.cache_clear()


def test_every_compose_app_service_has_a_settings_class() -> None:
    assert set(APP_SERVICES) == set(SETTINGS_OF) - {"encoder-baked"}


def test_env_names_follow_the_prefix_rule() -> None:
    for name, names in CommonSettings.env_names().items():
        assert names[-1] == f"PIXELPLAY_{name.upper()}"
    assert CommonSettings.env_names()["qdrant_url"] == ["QDRANT_URL", "PIXELPLAY_QDRANT_URL"]
    for service, cls in settings_tables.CLASSES.items():
        for name, field in cls.model_fields.items():
            if name in CommonSettings.model_fields or field.validation_alias is not None:
                continue
            assert not name.startswith(f"{service}_"), f"{cls.__name__}.{name} repeats the service prefix"
            assert cls.env_names()[name] == [f"PIXELPLAY_{service.upper()}_{name.upper()}"]


def test_a_value_read_by_two_services_has_one_name_type_and_default() -> None:
    owners = {
        env: (cls, name)
        for cls in settings_tables.CLASSES.values()
        for name, field in cls.model_fields.items()
        if name not in CommonSettings.model_fields and field.validation_alias is None
        for env in cls.env_names()[name]
    }
    borrowed = 0
    for cls in settings_tables.CLASSES.values():
        for name, field in cls.model_fields.items():
            if name in CommonSettings.model_fields or field.validation_alias is None:
                continue
            (env,) = cls.env_names()[name]
            owner, owner_field = owners[env]  # KeyError: an alias that no service owns
            theirs = owner.model_fields[owner_field]
            assert (field.annotation, field.default) == (theirs.annotation, theirs.default), (
                f"{cls.__name__}.{name} and {owner.__name__}.{owner_field} disagree"
            )
            borrowed += 1
    assert borrowed >= 5


def test_only_the_documented_name_sets_a_field(monkeypatch: pytest.MonkeyPatch, settings_from) -> None:
    """The field name under the class's prefix is not a second name for an aliased field."""
    env = {
        "PIXELPLAY_SEARCH_ENRICH_QUEUE": "wrong",
        "PIXELPLAY_SEARCH_DATA_DIR": "/wrong",
        "PIXELPLAY_ENCODER_DATA_DIR": "/wrong",
        "PIXELPLAY_SEARCH_MAX_IMAGE_BYTES": "1",
    }
    search = settings_from(SearchSettings, env)
    assert (search.enrich_queue, search.data_dir, search.max_image_bytes) == ("enrich", Path("var"), 10 << 20)
    assert settings_from(EncoderSettings, env).data_dir == Path("var")
    both = settings_from(SearchSettings, {"PIXELPLAY_ENRICHER_QUEUE": "mine", "PIXELPLAY_DATA_DIR": "/data"})
    assert (both.enrich_queue, both.data_dir) == ("mine", Path("/data"))


def test_keyword_arguments_take_field_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIXELPLAY_ENRICHER_QUEUE", "from-env")
    settings = SearchSettings(enrich_queue="mine", data_dir="/d", qdrant_url="http://q", hnsw_m=8)
    assert (settings.enrich_queue, settings.data_dir, settings.qdrant_url, settings.hnsw_m) == (
        "mine", Path("/d"), "http://q", 8,
    )  # fmt: skip


@pytest.mark.parametrize("cls", [SearchSettings, AuthSettings, EnricherSettings, UISettings])
def test_each_service_refuses_the_default_service_token(cls: type[CommonSettings], settings_from) -> None:
    with pytest.raises(SystemExit, match="PIXELPLAY_SERVICE_TOKEN"):
        refuse_default_secrets(settings_from(cls, {}))
    refuse_default_secrets(settings_from(cls, {"PIXELPLAY_DEV_MODE": "true"}))
    refuse_default_secrets(settings_from(cls, {"PIXELPLAY_SERVICE_TOKEN": "a-real-secret"}))


def test_the_encoder_client_chunks_texts_within_the_encoder_limit() -> None:
    assert EncoderSettings.model_fields["max_texts"].default == TEXTS_PER_REQUEST


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_sets_only_variables_the_service_reads(name: str) -> None:
    """A misspelt or misplaced PIXELPLAY_ variable would be ignored silently (extra="ignore")."""
    for path in [cm.COMPOSE_FILE, *cm.OVERRIDE_FILES]:
        service = cm.load(path)["services"].get(name) or {}
        unknown = set(cm.environment(service)) - names_read_by(SETTINGS_OF[name])
        assert not unknown, (
            f"{path.name}: {name} sets variables {SETTINGS_OF[name].__name__} ignores: {sorted(unknown)}"
        )


def test_env_example_names_only_variables_some_service_reads() -> None:
    """Every PIXELPLAY_ line of .env.example, commented out or not, is a name the classes read."""
    text = cm.ENV_EXAMPLE.read_text()
    named = set(re.findall(r"^#?\s*(PIXELPLAY_[A-Z0-9_]+)=", text, re.M))
    compose_only = {"PIXELPLAY_DOMAIN"}  # Caddy's site name, read by compose, not by a service
    assert named, "no PIXELPLAY_ lines found"
    assert not named - KNOWN_NAMES - compose_only, sorted(named - KNOWN_NAMES - compose_only)


def test_compose_interpolates_only_known_pixelplay_variables() -> None:
    for path in [cm.COMPOSE_FILE, *cm.OVERRIDE_FILES]:
        used = {use.name for use in cm.variable_uses(path.read_text()) if use.name.startswith("PIXELPLAY_")}
        unknown = used - KNOWN_NAMES - {"PIXELPLAY_DOMAIN"}
        assert not unknown, f"{path.name} interpolates unknown {sorted(unknown)}"


OTHER_VARIABLES = {"PYTHONUNBUFFERED"}


def _k8s_documents() -> list[dict[str, Any]]:
    docs = []
    for path in sorted((cm.ROOT / "deploy" / "k8s").rglob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if isinstance(doc, dict)]
    return docs


def test_k8s_sets_only_variables_the_service_reads() -> None:
    docs = _k8s_documents()
    config = next(
        d for d in docs if d.get("kind") == "ConfigMap" and d["metadata"]["name"] == "pixelplay-config"
    )
    # Every container reads the shared ConfigMap: each key must be read by some service.
    assert not set(config["data"]) - KNOWN_NAMES, sorted(set(config["data"]) - KNOWN_NAMES)
    checked = 0
    for doc in docs:
        spec = doc.get("spec", {})
        pod = spec.get("jobTemplate", {}).get("spec", spec).get("template", {}).get("spec", {})
        for container in pod.get("containers", []):
            image = container.get("image", "")
            if not image.startswith("pixelplay/"):
                continue
            service = image.removeprefix("pixelplay/").split(":")[0]
            # Ours only: the process's own variables (PYTHONUNBUFFERED) are no settings.
            names = {var["name"] for var in container.get("env", []) if var["name"] not in OTHER_VARIABLES}
            # A secret there only to be expanded into another value ($(REDIS_PASSWORD) in REDIS_URL).
            names -= {ref for var in container.get("env", []) for ref in km.references(var.get("value", ""))}
            unknown = names - names_read_by(SETTINGS_OF[service])
            assert not unknown, f"{doc['metadata']['name']}/{container['name']} sets unread {sorted(unknown)}"
            checked += 1
    assert checked >= 5


def test_k8s_gives_the_service_token_to_every_service_that_refuses_the_default() -> None:
    for doc in _k8s_documents():
        if doc.get("kind") != "Deployment":
            continue
        for container in doc["spec"]["template"]["spec"]["containers"]:
            service = container.get("image", "").removeprefix("pixelplay/").split(":")[0]
            if service in {"search", "auth", "enricher", "ui"}:
                assert "PIXELPLAY_SERVICE_TOKEN" in {var["name"] for var in container.get("env", [])}, service


def test_configuration_doc_tables_are_current() -> None:
    assert settings_tables.current() == settings_tables.render(), (
        "run: python -m tests.deploy.settings_tables"
    )


@pytest.mark.parametrize("name", APP_SERVICES)
def test_compose_environment_parses_into_settings(name: str, settings_from) -> None:
    """Every value validates, and nothing optional becomes "" or the path "." by being set empty."""
    cls = SETTINGS_OF[name]
    settings = settings_from(cls, compose_env(name))
    for field_name, field in cls.model_fields.items():
        value: Any = getattr(settings, field_name)
        if field.default is None and value is not None:
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            assert raw not in ("", Path("")), f"{name}: {field_name} set to an empty value, not unset"


def test_infrastructure_urls_point_at_the_compose_services(settings_from) -> None:
    """With a URL unset a service would start an embedded engine inside its container instead."""
    assert settings_from(SearchSettings, compose_env("search")).qdrant_url == "http://qdrant:6333"
    auth = settings_from(AuthSettings, compose_env("auth"))
    assert auth.database_url == "postgresql://pixelplay_auth:auth-db-secret@postgres:5432/pixelplay"
    assert (
        settings_from(EnricherSettings, compose_env("enricher")).redis_url
        == "redis://:redis-secret@redis:6379/0"
    )
    ui = settings_from(UISettings, compose_env("ui"))
    assert (ui.host, ui.port) == ("0.0.0.0", 7860)
    assert ui.search_url == "http://search:8102" and ui.auth_url == "http://auth:8103"


def test_every_dev_default_secret_is_assigned() -> None:
    with_default = {
        name
        for cls in ALL_CLASSES
        for name, field in cls.model_fields.items()
        if isinstance(field.default, SecretStr) and field.default.get_secret_value()
    }
    assert with_default == set(SECRET_READERS), "list every secret with a dev default in SECRET_READERS"


@pytest.mark.parametrize("secret", sorted(SECRET_READERS))
def test_dev_default_secrets_are_replaced_from_env(secret: str, settings_from) -> None:
    (env_name,) = CommonSettings.env_names()[secret]
    for name in SECRET_READERS[secret]:
        settings = settings_from(SETTINGS_OF[name], compose_env(name))
        value = getattr(settings, secret).get_secret_value()
        assert value == DUMMY_SECRETS[env_name], f"{name} does not take {env_name} from .env"
    with pytest.raises(cm.MissingVariable, match=env_name):
        cm.load_interpolated(cm.COMPOSE_FILE, {**cm.read_env_file(), **DUMMY_SECRETS, env_name: ""})


@pytest.mark.parametrize("override", cm.OVERRIDE_FILES, ids=lambda p: p.name)
def test_override_values_parse_into_settings(override: Path, settings_from) -> None:
    env = {**cm.read_env_file(), **DUMMY_SECRETS}
    env |= cm.OVERRIDE_ENV
    for name, service in cm.load_interpolated(override, env)["services"].items():
        if name not in APP_SERVICES:
            continue
        merged = {**compose_env(name), **{k: v or "" for k, v in cm.environment(service).items()}}
        settings = settings_from(SETTINGS_OF[name], merged)
        if "PIXELPLAY_ENCODER_CLIP_CHECKPOINT" in merged:
            assert settings.clip_checkpoint == Path("/models/demo")
        if "PIXELPLAY_AUTH_SMTP_HOST" in merged:
            assert settings.smtp_host == "smtp.example.com" and settings.smtp_port == 587
        if "PIXELPLAY_AUTH_SPOTIFY_REDIRECT_URL" in merged:
            assert settings.spotify_redirect_url == "https://pixelplay.example.com/spotify/callback"
