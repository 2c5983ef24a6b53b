"""deploy/k8s: rendered with kustomize, validated against the Kubernetes schemas offline, scanned
with checkov, and checked for what PixelPlay needs (every service, probes, resources, secrets).

The tools live in .venv-checks (``scripts/install.sh --test``, deploy/requirements-checks.txt).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy import compose_model as cm

K8S = cm.ROOT / "deploy" / "k8s"
TOOLS = cm.ROOT / ".venv-checks" / "bin"
KUBECTL = TOOLS / "kubectl"
pytestmark = pytest.mark.skipif(not KUBECTL.exists(), reason="no .venv-checks: run scripts/install.sh --test")

HTTP_SERVICES = {"encoder": 8101, "search": 8102, "auth": 8103, "ui": 7860}
WORKLOADS = {"qdrant", "postgres", "redis", "encoder", "search", "auth", "enricher", "ui"}


def render(folder: Path) -> list[dict[str, Any]]:
    out = subprocess.run(
        [str(KUBECTL), "kustomize", str(folder)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], Path]:
    docs = render(K8S / "overlays" / "production")
    path = tmp_path_factory.mktemp("k8s") / "production.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return docs, path


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return doc["spec"]["template"]["spec"]


def workloads(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    kinds = {"Deployment", "StatefulSet", "Job", "CronJob"}
    return {d["metadata"]["name"]: d for d in docs if d["kind"] in kinds}


def test_the_base_renders_too():
    names = {(d["kind"], d["metadata"]["name"]) for d in render(K8S / "base")}
    assert ("StatefulSet", "qdrant") in names


def test_manifests_are_valid_for_kubernetes(production):
    _, path = production
    tool = TOOLS / "kubernetes-validate"
    out = subprocess.run(
        [str(tool), "--strict", "--quiet", str(path)], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_checkov_finds_nothing(production):
    _, path = production
    env = {**os.environ, "LOG_LEVEL": "ERROR"}
    out = subprocess.run(
        [str(TOOLS / "checkov"), "-f", str(path), "--config-file", str(K8S / ".checkov.yaml"), "--quiet"],
        capture_output=True, text=True, timeout=600, env=env, cwd=path.parent,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]


def test_every_service_of_the_compose_stack_runs_in_the_overlay_namespace(production):
    docs, _ = production
    assert set(workloads(docs)) >= WORKLOADS
    assert all(d["metadata"].get("namespace") == "pixelplay" for d in docs if d["kind"] != "Namespace")
    # Optional compose profiles (the tls reverse proxy) are an Ingress's job on Kubernetes.
    compose_long_running = {
        n for n, s in cm.load()["services"].items() if not cm.is_job(s) and not s.get("profiles")
    }
    assert compose_long_running <= set(workloads(docs))


def test_http_services_probe_readyz_and_healthz_and_have_a_service(production):
    docs, _ = production
    services = by_kind(docs, "Service")
    for name, port in HTTP_SERVICES.items():
        container = pod_spec(workloads(docs)[name])["containers"][0]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": port}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": port}
        assert services[name]["spec"]["ports"][0]["port"] == port


def test_every_container_is_bounded_and_unprivileged(production):
    docs, _ = production
    for name, doc in workloads(docs).items():
        spec = pod_spec(doc)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]) and {"cpu", "memory"} <= set(
                resources["limits"]
            )
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name
            assert container["securityContext"]["readOnlyRootFilesystem"] is True, name


def test_secrets_come_only_from_the_secret(production):
    docs, _ = production
    assert not by_kind(docs, "Secret")  # created by the operator, never shipped in the manifests
    for name, doc in workloads(docs).items():
        for container in pod_spec(doc)["containers"]:
            for var in container.get("env", []):
                if any(word in var["name"] for word in ("PASSWORD", "SECRET", "TOKEN", "DATABASE_URL")):
                    ref = var["valueFrom"]["secretKeyRef"]
                    assert ref["name"] == "pixelplay-secrets", (name, var["name"])
    config = by_kind(docs, "ConfigMap")["pixelplay-config"]["data"]
    assert not [k for k in config if any(w in k for w in ("PASSWORD", "SECRET", "TOKEN"))]


def test_qdrant_is_a_three_node_cluster_that_bootstraps_from_its_first_pod(production, tmp_path: Path):
    docs, _ = production
    qdrant = workloads(docs)["qdrant"]
    assert qdrant["kind"] == "StatefulSet" and qdrant["spec"]["replicas"] == 3
    assert by_kind(docs, "Service")["qdrant-headless"]["spec"]["clusterIP"] == "None"
    container = pod_spec(qdrant)["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["QDRANT__CLUSTER__ENABLED"] == "true"
    # Run the start command with a stand-in ./qdrant that prints its arguments, as each pod would.
    stub = tmp_path / "qdrant"
    stub.write_text('#!/bin/sh\necho "$@"\n')
    stub.chmod(0o755)
    bash = shutil.which("bash")
    assert bash is not None
    started = {}
    for pod in ("qdrant-0", "qdrant-2"):
        script = [bash, *container["command"][1:], *container["args"]]
        env = {"HOSTNAME": pod, "PATH": "/usr/bin:/bin"}
        out = subprocess.run(script, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30)
        assert out.returncode == 0, out.stderr
        started[pod] = out.stdout.split()
    assert started["qdrant-0"] == ["--uri", "http://qdrant-0.qdrant-headless:6335"]
    assert started["qdrant-2"] == [
        "--bootstrap", "http://qdrant-0.qdrant-headless:6335", "--uri", "http://qdrant-2.qdrant-headless:6335"
    ]  # fmt: skip


def test_the_encoder_scales_on_cpu(production):
    docs, _ = production
    hpa = by_kind(docs, "HorizontalPodAutoscaler")["encoder"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "encoder"}
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"] >= 1
    assert "cpu" in pod_spec(workloads(docs)["encoder"])["containers"][0]["resources"]["requests"]


def test_jobs_run_existing_modules_and_only_the_index_runs_on_apply(production):
    docs, _ = production
    assert set(by_kind(docs, "Job")) == {"index"}
    on_demand = by_kind(docs, "CronJob")
    assert {"reindex", "enrich-all"} <= set(on_demand)
    assert all(job["spec"]["suspend"] is True for job in on_demand.values())
    for name, doc in {**by_kind(docs, "Job"), **on_demand}.items():
        command = pod_spec(doc)["containers"][0]["command"]
        assert command[:2] == ["python", "-m"], name
        assert (cm.ROOT / (command[2].replace(".", "/") + ".py")).exists(), name


def test_network_policies_let_each_caller_reach_what_it_calls(production):
    """Every URL a workload is configured with must be open to it, and nothing else to the stores."""
    docs, _ = production
    policies = by_kind(docs, "NetworkPolicy")
    assert policies["default-deny-ingress"]["spec"]["podSelector"] == {}

    def allowed(target: str) -> set[str]:
        rule = policies[target]["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]
        return set(rule["values"])

    assert allowed("postgres") == {"auth"}
    assert allowed("qdrant") == {"search", "qdrant"}
    config = by_kind(docs, "ConfigMap")["pixelplay-config"]["data"]
    calls = {"search": ["encoder"], "ui": ["encoder", "search", "auth"], "enricher": ["search", "redis"],
             "index": ["encoder", "search"], "auth": ["postgres"]}  # fmt: skip
    for client, targets in calls.items():
        for target in targets:
            assert client in allowed(target), f"{client} cannot reach {target}"
    assert config["QDRANT_URL"] == "http://qdrant:6333"
