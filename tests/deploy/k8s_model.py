"""Read deploy/k8s the way the cluster would: rendered by kustomize, and each container's
environment resolved as the kubelet does it (the ConfigMap, then ``env`` in order, with
``$(NAME)`` expanded from the variables defined before it)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.deploy import compose_model as cm

K8S = cm.ROOT / "deploy" / "k8s"
PRODUCTION = K8S / "overlays" / "production"
TOOLS = cm.ROOT / ".venv-checks" / "bin"
KUBECTL = TOOLS / "kubectl"
SECRET = "pixelplay-secrets"
# One distinct value per key of the Secret, to see where each one ends up.
DUMMY_SECRETS = {
    "service-token": "service-secret",
    "postgres-password": "pg-secret",
    "auth-db-password": "auth-db-secret",
    "redis-password": "redis-secret",
    "qdrant-api-key": "qdrant-secret",
}
# $$(NAME) is a literal $(NAME); $(NAME) is replaced when NAME is defined earlier.
_REFERENCE = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def render(folder: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        [str(KUBECTL), "kustomize", str(folder)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return doc["spec"]["template"]["spec"]


def workloads(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds = {"Deployment", "StatefulSet", "Job", "CronJob"}
    return {d["metadata"]["name"]: d for d in docs if d["kind"] in kinds}


def container(docs: list[dict[str, Any]], workload: str) -> dict[str, Any]:
    return pod_spec(workloads(docs)[workload])["containers"][0]


def references(value: str) -> list[str]:
    """The variables a value expands, in order."""
    return [m.group(1) for m in _REFERENCE.finditer(value) if m.group(1)]


def expand(value: str, env: dict[str, str]) -> str:
    def replace(m: re.Match[str]) -> str:
        if m.group(1) is None:
            return "$"
        return env.get(m.group(1), m.group(0))

    return _REFERENCE.sub(replace, value)


def secret_refs(docs: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """Every (secret, key) a container's env names."""
    return {
        (ref["name"], ref["key"])
        for doc in workloads(docs).values()
        for c in pod_spec(doc)["containers"]
        for var in c.get("env", [])
        if (ref := var.get("valueFrom", {}).get("secretKeyRef"))
    }


def environment(docs: list[dict[str, Any]], c: dict[str, Any], secrets: dict[str, str]) -> dict[str, str]:
    """The container's environment with ``secrets`` (key -> value) as the content of the Secret."""
    configmaps = by_kind(docs, "ConfigMap")
    env: dict[str, str] = {}
    for source in c.get("envFrom", []):
        env |= configmaps[source["configMapRef"]["name"]]["data"]
    for var in c.get("env", []):
        if "value" in var:
            env[var["name"]] = expand(var["value"], env)
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            assert ref["name"] == SECRET, var
            env[var["name"]] = secrets[ref["key"]]
    return env


def documented_secret_keys() -> set[str]:
    """The keys the overlay's ``kubectl create secret`` comment tells the operator to set."""
    text = (PRODUCTION / "kustomization.yaml").read_text()
    assert f"create secret generic {SECRET}" in text
    return set(re.findall(r"--from-literal=([a-z0-9-]+)=", text))
