"""Read the compose files the way Compose does, without a daemon: YAML (anchors and merge keys),
``${VAR}`` interpolation from an env file."""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
OVERRIDE_FILES = sorted((ROOT / "deploy").glob("compose.*.yml"))
ENV_EXAMPLE = ROOT / ".env.example"
# What the override files need from .env besides .env.example (each one's required settings).
OVERRIDE_ENV = {
    "PIXELPLAY_ENCODER_CLIP_CHECKPOINT": "/models/demo",
    "PIXELPLAY_AUTH_SMTP_HOST": "smtp.example.com",
    "PIXELPLAY_AUTH_SMTP_USER": "pixelplay",
    "PIXELPLAY_AUTH_SMTP_PASSWORD": "smtp-secret",
    "PIXELPLAY_AUTH_SPOTIFY_CLIENT_ID": "spotify-client",
    "PIXELPLAY_AUTH_SPOTIFY_REDIRECT_URL": "https://pixelplay.example.com/spotify/callback",
    "PIXELPLAY_AUTH_SPOTIFY_TOKEN_KEY": "spotify-key",
}

# $$ (a literal $), ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}, $NAME
_VAR = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(ValueError):
    """A ``${NAME:?message}`` whose variable is unset or empty, as ``docker compose`` reports it."""


@dataclass(frozen=True)
class VarUse:
    name: str
    op: str | None  # None, ":-", "-", ":?", "?"
    arg: str | None


def variable_uses(text: str) -> list[VarUse]:
    """Every ``${VAR}`` reference in ``text`` (escaped ``$$`` is not a reference)."""
    uses = []
    for match in _VAR.finditer(text):
        if match["escaped"]:
            continue
        name = match["braced"] or match["bare"]
        uses.append(VarUse(name, match["op"], match["arg"]))
    return uses


def interpolate(text: str, env: dict[str, str]) -> str:
    """Substitute variables like Compose does; raise ``MissingVariable`` for a failed ``:?``/``?``."""

    def substitute(match: re.Match[str]) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["bare"]
        op, arg, value = match["op"], match["arg"] or "", env.get(name)
        if op == ":-":
            return value if value else arg
        if op == "-":
            return arg if value is None else value
        if op in (":?", "?") and (value is None or (op == ":?" and value == "")):
            raise MissingVariable(f"{name}: {arg}")
        return value or ""

    return _VAR.sub(substitute, text)


def read_env_file(path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """``KEY=value`` lines of a Compose env file (comments and blank lines skipped)."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def load(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    """The compose file as parsed YAML, before interpolation (anchors and ``<<`` merges resolved).

    A fresh copy each call, so a test may change it; the parse itself is done once per file.
    """
    return copy.deepcopy(_parse(path))


@functools.cache
def _parse(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def load_interpolated(path: Path, env: dict[str, str]) -> dict[str, Any]:
    """Interpolate every string value of the parsed file, as Compose does after parsing."""

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return interpolate(node, env) if isinstance(node, str) else node

    return walk(load(path))


def environment(service: dict[str, Any]) -> dict[str, str | None]:
    """A service's ``environment`` as a mapping, from either the list or the mapping form."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    return {key: None if value is None else str(value) for key, value in env.items()}


def is_job(service: dict[str, Any]) -> bool:
    """A one-shot container (runs to completion), as opposed to a long-running service."""
    return service.get("restart") == "no"
