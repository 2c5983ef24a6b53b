"""Static checks of docker-compose.yml and the deploy/compose.*.yml overrides (no daemon needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.deploy import compose_model as cm
from tests.deploy import dockerfile_model as dm
from tests.deploy import locks
from tests.deploy.test_settings_env import DUMMY_SECRETS

COMPOSE = cm.load()
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
STAGES = dm.parse()
ALL_FILES = [cm.COMPOSE_FILE, *cm.OVERRIDE_FILES]
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY", re.IGNORECASE)
REQUIRED_VAR = re.compile(r"^\$\{[A-Z_][A-Z0-9_]*:\?[^}]*\}$")


def build_targets(service: dict[str, Any]) -> list[str]:
    """Dockerfile targets a service can be built from; ${ENCODER_TARGET:-encoder} may pick the baked one."""
    build = service.get("build")
    if not build:
        return []
    target = build["target"]
    uses = cm.variable_uses(target)
    if not uses:
        return [target]
    targets = {use.arg for use in uses if use.arg}  # the default of ${VAR:-default}
    if any(use.name == "ENCODER_TARGET" for use in uses):
        targets.add("encoder-baked")  # the other documented choice (.env.example)
    return sorted(targets)


def has_healthcheck(service: dict[str, Any]) -> bool:
    """A compose healthcheck that is not disabled, or a HEALTHCHECK in every image target it builds."""
    check = service.get("healthcheck")
    if check is not None:
        return not check.get("disable") and bool(check.get("test"))
    targets = build_targets(service)
    return bool(targets) and all(dm.effective(STAGES, t, "HEALTHCHECK") for t in targets)


def test_every_compose_file_parses_to_services() -> None:
    for path in ALL_FILES:
        data = cm.load(path)
        assert isinstance(data, dict) and isinstance(data.get("services"), dict), path.name
        assert data["services"], f"{path.name} defines no services"


def test_the_stack_has_every_service_and_job() -> None:
    long_running = {name for name, svc in SERVICES.items() if not cm.is_job(svc)}
    jobs = {name for name, svc in SERVICES.items() if cm.is_job(svc)}
    assert long_running == {
        "qdrant",
        "postgres",
        "redis",
        "encoder",
        "search",
        "auth",
        "enricher",
        "ui",
        "caddy",
    }
    assert SERVICES["caddy"]["profiles"] == ["tls"]  # the https proxy starts only when asked for
    assert {"index", "reindex", "enrich-all", "seed-demo-user", "build-catalog"} <= jobs
    # Only the idempotent index build runs on `up`; every other job waits for `--profile jobs run`.
    on_up = {name for name in jobs if "jobs" not in (SERVICES[name].get("profiles") or [])}
    assert on_up == {"index"}


def test_overrides_only_touch_existing_services() -> None:
    for path in cm.OVERRIDE_FILES:
        # The cluster override adds the Qdrant peers (tests/deploy/test_cluster.py checks them).
        peers = {"qdrant-2", "qdrant-3"} if path.name == "compose.cluster.yml" else set()
        unknown = set(cm.load(path)["services"]) - set(SERVICES) - peers
        assert not unknown, f"{path.name} adds services compose does not define: {unknown}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_dependencies_wait_for_health(name: str) -> None:
    depends = SERVICES[name].get("depends_on") or {}
    assert isinstance(depends, dict), f"{name}: use the long depends_on form with a condition"
    for dep, spec in depends.items():
        assert dep in SERVICES, f"{name} depends on unknown service {dep}"
        condition = (spec or {}).get("condition")
        assert condition in ("service_healthy", "service_completed_successfully"), (
            f"{name} -> {dep}: condition {condition!r}; starting is not being ready"
        )
        if condition == "service_healthy":
            assert has_healthcheck(SERVICES[dep]), f"{name} waits for {dep} to be healthy, it has no check"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_a_url_points_at_is_a_healthy_dependency(name: str) -> None:
    """The URLs in a service's environment name the services it calls: it must wait for them."""
    env = cm.environment(SERVICES[name])
    depends = SERVICES[name].get("depends_on") or {}
    for key, value in env.items():
        if not value or "://" not in value:
            continue
        host = urlsplit(cm.interpolate(value, DUMMY_SECRETS)).hostname
        if host in SERVICES:
            assert host in depends, f"{name}.{key} calls {host} but {name} does not depend on it"
            assert depends[host]["condition"] == "service_healthy", f"{name} -> {host}"


@pytest.mark.parametrize("name", sorted(n for n, s in SERVICES.items() if not cm.is_job(s)))
def test_long_running_services_restart_and_have_healthchecks(name: str) -> None:
    service = SERVICES[name]
    assert service.get("restart") in ("unless-stopped", "always", "on-failure"), name
    assert has_healthcheck(service), f"{name} has neither a compose healthcheck nor an image HEALTHCHECK"
    assert service.get("stop_grace_period"), f"{name}: set a stop_grace_period for a clean shutdown"


@pytest.mark.parametrize("name", sorted(n for n, s in SERVICES.items() if cm.is_job(s)))
def test_jobs_run_once_on_demand(name: str) -> None:
    service = SERVICES[name]
    assert service.get("restart") == "no", f"{name}: a one-off job must not restart"
    assert service.get("command"), f"{name}: a job needs an explicit command"
    assert service.get("healthcheck", {}).get("disable") is True, f"{name}: a job has nothing to probe"


def test_only_the_ui_is_published_by_default() -> None:
    published = {name for name, svc in SERVICES.items() if svc.get("ports") and not svc.get("profiles")}
    assert published == {"ui"}
    ui_address = cm.interpolate(SERVICES["ui"]["ports"][0], cm.read_env_file()).split(":")[0]
    assert ui_address == "127.0.0.1", "the UI is reached through the TLS proxy, not published to the network"


def _host_ports(files: list[Path]) -> dict[str, list[str]]:
    env = {**cm.read_env_file(), "POSTGRES_PASSWORD": "x"}
    ports: dict[str, list[str]] = {}
    for path in files:
        for name, svc in cm.load(path)["services"].items():
            for spec in svc.get("ports") or []:
                parts = cm.interpolate(str(spec), env).split(":")
                assert len(parts) == 3, f"{name}: publish as ADDRESS:HOST:CONTAINER, got {spec}"
                ports.setdefault(f"{parts[0]}:{parts[1]}", []).append(name)
    return ports


def test_published_host_ports_do_not_clash_with_every_override() -> None:
    clashes = {port: names for port, names in _host_ports(ALL_FILES).items() if len(names) > 1}
    assert not clashes


def test_debug_api_ports_bind_to_loopback_by_default() -> None:
    env = cm.read_env_file()
    for path in cm.OVERRIDE_FILES:
        for name, svc in cm.load(path)["services"].items():
            for spec in svc.get("ports") or []:
                address = cm.interpolate(str(spec), {"API_BIND_ADDRESS": env["API_BIND_ADDRESS"]})
                assert address.startswith("127.0.0.1:"), f"{path.name}: {name} publishes {spec}"


@pytest.mark.parametrize("name", sorted(n for n, s in SERVICES.items() if s.get("build")))
def test_build_contexts_dockerfiles_and_targets_exist(name: str) -> None:
    build = SERVICES[name]["build"]
    context = cm.ROOT / build["context"]
    assert context.is_dir(), f"{name}: no build context {context}"
    assert (context / build["dockerfile"]).is_file(), f"{name}: no {build['dockerfile']}"
    for target in build_targets(SERVICES[name]):
        assert target in STAGES, f"{name}: {build['dockerfile']} has no stage {target!r}"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_images_are_pinned(name: str) -> None:
    image = cm.interpolate(SERVICES[name].get("image", ""), cm.read_env_file())
    if SERVICES[name].get("build"):
        assert image, f"{name}: name the built image so jobs can reuse it"
        return
    repo, _, tag = image.rpartition(":")
    assert repo and tag and tag != "latest", f"{name}: pin an image tag, got {image!r}"
    assert re.search(r"\d+\.\d+", tag), f"{name}: pin at least major.minor, got {tag!r}"


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_secrets_are_never_literal_values(path: Path) -> None:
    for name, svc in cm.load(path)["services"].items():
        for key, value in cm.environment(svc).items():
            if value is None:
                continue
            if SECRET_NAME.search(key):
                assert REQUIRED_VAR.match(value), f"{name}.{key} must be exactly ${{VAR:?message}}"
            netloc = urlsplit(value).netloc if "://" in value else ""
            if "@" in netloc and ":" in netloc.split("@")[0]:
                password = netloc.split("@")[0].split(":", 1)[1]
                assert REQUIRED_VAR.match(password), f"{name}.{key}: password in a URL must be ${{VAR:?}}"
        for arg in (svc.get("build") or {}).get("args", {}) or {}:
            assert not SECRET_NAME.search(arg), f"{name}: build arg {arg} would be stored in the image"


def test_dockerfile_holds_no_secrets() -> None:
    for stage in STAGES.values():
        for ins in stage.all("ENV") + stage.all("ARG"):
            assert not SECRET_NAME.search(ins.args), f"Dockerfile:{ins.line} {ins.keyword} {ins.args}"


def _env_example_names() -> set[str]:
    """Variables .env.example sets or documents (an optional one may stay commented out)."""
    names = set(cm.read_env_file())
    for line in cm.ENV_EXAMPLE.read_text().splitlines():
        if m := re.match(r"^#\s*([A-Z][A-Z0-9_]*)=", line.strip()):
            names.add(m[1])
    return names


@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.name)
def test_every_variable_used_is_in_env_example(path: Path) -> None:
    used = {use.name for use in cm.variable_uses(path.read_text())}
    missing = used - _env_example_names()
    assert not missing, f"{path.name} uses variables .env.example does not list: {sorted(missing)}"


def test_env_example_ships_no_secret_values() -> None:
    for key, value in cm.read_env_file().items():
        if SECRET_NAME.search(key):
            assert value == "", f".env.example must leave {key} empty for the operator to fill"


def test_missing_secret_stops_interpolation() -> None:
    env = cm.read_env_file()  # secrets empty, as shipped
    with pytest.raises(cm.MissingVariable, match="PASSWORD|PIXELPLAY_SERVICE_TOKEN|QDRANT_API_KEY"):
        cm.load_interpolated(cm.COMPOSE_FILE, env)


def test_interpolation_follows_compose_rules() -> None:
    env = {"SET": "v", "EMPTY": ""}
    assert cm.interpolate("${SET:-d}/${EMPTY:-d}/${EMPTY-d}/${UNSET-d}/$$HOME/$SET", env) == "v/d//d/$HOME/v"
    with pytest.raises(cm.MissingVariable, match="EMPTY: need it"):
        cm.interpolate("${EMPTY:?need it}", env)
    assert cm.interpolate("${EMPTY?only unset fails}", env) == ""


def _module_exists(module: str) -> bool:
    base = cm.ROOT.joinpath(*module.split("."))
    return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()


def _modules_in(command: list[str]) -> list[str]:
    """Python modules a container command runs: ``-m mod``, ``-A mod`` (celery), ``mod:app`` (uvicorn)."""
    found = [command[i + 1] for i, word in enumerate(command[:-1]) if word in ("-m", "-A")]
    found += [word.split(":")[0] for word in command if re.fullmatch(r"[\w.]+:\w+", word)]
    return [module for module in found if module.split(".")[0] in ("services", "scripts")]


APP_COMMANDS = sorted(n for n, s in SERVICES.items() if s.get("build") and s.get("command"))


@pytest.mark.parametrize("name", APP_COMMANDS)
def test_compose_commands_run_existing_modules(name: str) -> None:
    command = SERVICES[name]["command"]
    assert isinstance(command, list), f"{name}: use the exec (list) form"
    modules = _modules_in(command)
    assert modules, f"{name}: no PixelPlay module in {command}"
    for module in modules:
        assert _module_exists(module), f"{name} runs {module}, which does not exist"


@pytest.mark.parametrize("target", ["encoder", "search", "auth", "enricher", "ui"])
def test_image_commands_run_existing_modules(target: str) -> None:
    command = json.loads(dm.effective(STAGES, target, "CMD").args)
    modules = _modules_in(command)
    assert modules, f"{target}: no PixelPlay module in {command}"
    for module in modules:
        assert _module_exists(module), f"{target} image runs {module}, which does not exist"


@pytest.mark.parametrize("name", sorted(n for n, s in SERVICES.items() if s.get("build")))
def test_what_a_container_runs_is_declared_for_its_image(name: str) -> None:
    """The import scan checks each image's lock against IMAGE_MODULES: a job run in an image whose
    list lacks it could import a package that image does not install."""
    build = SERVICES[name]["build"]
    image = build["args"]["SERVICE"]  # whose lock the image installs
    target = cm.interpolate(build["target"], {})
    command = SERVICES[name].get("command") or json.loads(dm.effective(STAGES, target, "CMD").args)
    for module in _modules_in(command):
        declared = locks.IMAGE_MODULES[image]
        assert module in declared, f"{name} runs {module}: list it in IMAGE_MODULES[{image!r}]"


def test_env_example_lists_nothing_compose_ignores() -> None:
    """A variable no compose file reads would look like a setting but change nothing."""
    used = {use.name for path in ALL_FILES for use in cm.variable_uses(path.read_text())}
    compose_own = {"COMPOSE_PROJECT_NAME", "COMPOSE_FILE"}  # read by the compose tool itself
    stale = _env_example_names() - used - compose_own
    assert not stale, f".env.example lists variables no compose file uses: {sorted(stale)}"


# Capabilities a container may add back after dropping all: the official images' entrypoints
# chown their data directory and drop to their own user; Caddy binds ports 80 and 443.
CAPS_ALLOWED = {
    "postgres": {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"},
    "redis": {"CHOWN", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"},
    "caddy": {"NET_BIND_SERVICE"},
}


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_container_runs_with_least_privilege(name: str) -> None:
    service = SERVICES[name]
    assert service.get("cap_drop") == ["ALL"], f"{name}: drop every capability"
    assert set(service.get("cap_add") or []) <= CAPS_ALLOWED.get(name, set()), name
    assert "no-new-privileges:true" in (service.get("security_opt") or []), name
    assert service.get("read_only") is True, f"{name}: read-only root filesystem"
    assert "/tmp" in (service.get("tmpfs") or []), f"{name}: a memory /tmp on a read-only root"


def test_infrastructure_needs_its_secrets() -> None:
    env = {**cm.read_env_file(), **DUMMY_SECRETS}
    stack = cm.load_interpolated(cm.COMPOSE_FILE, env)["services"]
    assert "--requirepass" in stack["redis"]["command"]
    assert stack["qdrant"]["environment"]["QDRANT__SERVICE__API_KEY"] == DUMMY_SECRETS["QDRANT_API_KEY"]
    assert stack["search"]["environment"]["QDRANT_API_KEY"] == DUMMY_SECRETS["QDRANT_API_KEY"]
    for name in ("enricher", "enrich-all"):
        assert stack[name]["environment"]["REDIS_URL"].startswith("redis://:redis-secret@")
