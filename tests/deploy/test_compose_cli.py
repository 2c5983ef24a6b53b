"""``docker compose config`` (or docker-compose 1.29) on the real files: the tool's own validation.

Needs no daemon. Skipped when neither binary is installed (apt-get install docker-compose).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy import compose_model as cm
from tests.deploy.test_settings_env import DUMMY_SECRETS


def compose_command() -> list[str] | None:
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


COMPOSE = compose_command()
pytestmark = pytest.mark.skipif(COMPOSE is None, reason="no `docker compose` or `docker-compose` binary")


def override_env() -> dict[str, str]:
    """A distinct value for each variable an override file requires (``${NAME:?...}``)."""
    required = {
        use.name
        for path in cm.OVERRIDE_FILES
        for use in cm.variable_uses(path.read_text())
        if "?" in (use.op or "")
    }
    return {name: f"override-{name.lower()}" for name in sorted(required)}


def run_config(files: list[Path], extra_env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Run ``config`` with .env.example as the env file and only ``extra_env`` from the "shell"."""
    command = [*COMPOSE, "--project-directory", str(cm.ROOT), "--env-file", str(cm.ENV_EXAMPLE)]
    for path in files:
        command += ["-f", str(path)]
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **extra_env}
    return subprocess.run(
        [*command, "config", *args], cwd=cm.ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_compose_validates_the_default_stack() -> None:
    result = run_config([cm.COMPOSE_FILE], DUMMY_SECRETS)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert config["services"]["search"]["environment"]["PIXELPLAY_SERVICE_TOKEN"] == "service-secret"
    dsn = config["services"]["auth"]["environment"]["DATABASE_URL"]
    assert dsn == "postgresql://pixelplay_auth:auth-db-secret@postgres:5432/pixelplay"  # not the superuser
    assert config["services"]["enricher"]["environment"]["REDIS_URL"] == "redis://:redis-secret@redis:6379/0"
    assert config["services"]["enricher"]["deploy"]["replicas"] == 1


def test_compose_validates_every_override_together() -> None:
    required = override_env()
    assert required, "the override files require no variable: this test checks nothing of them"
    result = run_config([cm.COMPOSE_FILE, *cm.OVERRIDE_FILES], {**DUMMY_SECRETS, **required})
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    envs = [svc.get("environment") or {} for svc in config["services"].values()]
    unused = sorted(
        name for name, value in required.items() if not any(env.get(name) == value for env in envs)
    )
    assert not unused, f"required by an override but no container gets it under its name: {unused}"
    published = {name for name, svc in config["services"].items() if svc.get("ports")}
    assert published == {"ui", "qdrant", "encoder", "search", "auth", "caddy"}  # caddy: the tls profile


def test_compose_refuses_to_run_without_a_secret() -> None:
    """One secret through the real tool (each call costs seconds); test_settings_env checks them all."""
    secret = "PIXELPLAY_SERVICE_TOKEN"
    env = {k: v for k, v in DUMMY_SECRETS.items() if k != secret}
    result = run_config([cm.COMPOSE_FILE], env, "-q")
    assert result.returncode != 0
    assert secret in result.stderr
