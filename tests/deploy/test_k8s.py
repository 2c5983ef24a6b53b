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
from tests.deploy import k8s_model as km

K8S, TOOLS, KUBECTL = km.K8S, km.TOOLS, km.KUBECTL
render, by_kind, pod_spec, workloads = km.render, km.by_kind, km.pod_spec, km.workloads
pytestmark = pytest.mark.skipif(not KUBECTL.exists(), reason="no .venv-checks: run scripts/install.sh --test")

HTTP_SERVICES = {"encoder": 8101, "search": 8102, "auth": 8103, "ui": 7860}
WORKLOADS = {"qdrant", "postgres", "redis", "encoder", "search", "auth", "enricher", "ui"}
SECRETS = km.DUMMY_SECRETS
# The workloads that talk to Redis: search queues the songs of a page, the workers and enrich-all.
REDIS_CLIENTS = {"search", "enricher", "enrich-all"}


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict[str, Any]], Path]:
    docs = render(K8S / "overlays" / "production")
    path = tmp_path_factory.mktemp("k8s") / "production.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    return docs, path


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
    secret_words = ("PASSWORD", "SECRET", "TOKEN", "API_KEY", "REQUIREPASS")
    for name, doc in workloads(docs).items():
        for container in pod_spec(doc)["containers"]:
            from_secret = set()
            for var in container.get("env", []):
                if "valueFrom" in var:
                    assert var["valueFrom"]["secretKeyRef"]["name"] == km.SECRET, (name, var["name"])
                    from_secret.add(var["name"])
                elif any(word in var["name"] for word in secret_words):
                    # Only a copy of a secret variable: $(REDIS_PASSWORD), nothing written here.
                    assert set(km.references(var["value"])) <= from_secret, (name, var["name"])
                    assert not km.expand(var["value"], dict.fromkeys(from_secret, "")), (name, var["name"])
                elif "@" in var["value"]:
                    # A URL with credentials takes its password from the Secret, nothing else.
                    userinfo = var["value"].split("://", 1)[1].split("@", 1)[0]
                    password = userinfo.split(":", 1)[1]
                    assert km.references(password) and set(km.references(password)) <= from_secret, (
                        name, var["name"],
                    )  # fmt: skip
    config = by_kind(docs, "ConfigMap")["pixelplay-config"]["data"]
    assert not [k for k in config if any(w in k for w in secret_words)]
    assert not [k for k, v in config.items() if "@" in v], "credentials in the ConfigMap"


def test_every_expanded_variable_is_defined_before_its_use(production):
    """The kubelet leaves $(NAME) as it is when NAME comes later or not at all: a silent wrong value."""
    docs, _ = production
    for name, doc in workloads(docs).items():
        for container in pod_spec(doc)["containers"]:
            defined = (
                set(by_kind(docs, "ConfigMap")["pixelplay-config"]["data"])
                if container.get("envFrom")
                else set()
            )
            for var in container.get("env", []):
                assert set(km.references(var.get("value", ""))) <= defined, (name, var["name"])
                defined.add(var["name"])
            for arg in [*container.get("command", []), *container.get("args", [])]:
                assert set(km.references(arg)) <= defined, (name, arg)


def test_the_overlay_documents_every_key_of_the_secret(production):
    docs, _ = production
    used = km.secret_refs(docs)
    assert {secret for secret, _ in used} == {km.SECRET}
    assert {key for _, key in used} == km.documented_secret_keys() == set(SECRETS)


def test_redis_demands_its_password_and_every_client_url_carries_it(production):
    docs, _ = production
    redis = km.container(docs, "redis")
    env = km.environment(docs, redis, SECRETS)
    args = [km.expand(arg, env) for arg in redis["args"]]
    assert args[args.index("--requirepass") + 1] == SECRETS["redis-password"]
    # The probes' redis-cli authenticates, and only a PONG passes (an error reply exits 0).
    assert env["REDISCLI_AUTH"] == SECRETS["redis-password"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert "grep -q PONG" in redis[probe]["exec"]["command"][-1]
    assert "REDIS_URL" not in by_kind(docs, "ConfigMap")["pixelplay-config"]["data"]
    clients = set()
    for name, doc in workloads(docs).items():
        for container in pod_spec(doc)["containers"]:
            url = km.environment(docs, container, SECRETS).get("REDIS_URL")
            if url is not None:
                assert url == f"redis://:{SECRETS['redis-password']}@redis:6379/0", name
                clients.add(name)
    assert clients == REDIS_CLIENTS


def test_qdrant_demands_its_api_key_and_search_sends_it(production):
    docs, _ = production
    qdrant = km.environment(docs, km.container(docs, "qdrant"), SECRETS)
    assert qdrant["QDRANT__SERVICE__API_KEY"] == SECRETS["qdrant-api-key"]
    search = km.environment(docs, km.container(docs, "search"), SECRETS)
    assert search["QDRANT_API_KEY"] == SECRETS["qdrant-api-key"]
    assert search["QDRANT_URL"] == "http://qdrant:6333"


def test_auth_connects_as_the_role_the_init_script_creates(production):
    docs, _ = production
    postgres_container = km.container(docs, "postgres")
    postgres = km.environment(docs, postgres_container, SECRETS)
    auth = km.environment(docs, km.container(docs, "auth"), SECRETS)
    role, password = postgres["AUTH_DB_USER"], postgres["AUTH_DB_PASSWORD"]
    assert role != postgres["POSTGRES_USER"], "auth must not be the superuser"
    assert password == SECRETS["auth-db-password"] != postgres["POSTGRES_PASSWORD"]
    assert auth["DATABASE_URL"] == f"postgresql://{role}:{password}@postgres:5432/{postgres['POSTGRES_DB']}"
    # The init script is compose's own, mounted where the entrypoint runs it on the first start.
    volumes = {v["name"]: v for v in pod_spec(workloads(docs)["postgres"])["volumes"]}
    mounts = {m["mountPath"]: volumes.get(m["name"]) for m in postgres_container["volumeMounts"]}
    initdb, role_sql = mounts["/docker-entrypoint-initdb.d"], mounts["/pixelplay"]
    configmap = by_kind(docs, "ConfigMap")[initdb["configMap"]["name"]]["data"]
    assert initdb["configMap"]["defaultMode"] & 0o111, "the entrypoint sources a script it cannot execute"
    assert [item["path"] for item in initdb["configMap"]["items"]] == ["10-app-role.sh"]
    assert [item["path"] for item in role_sql["configMap"]["items"]] == ["app-role.sql"]
    postgres_dir = cm.ROOT / "deploy" / "postgres"
    assert configmap["10-app-role.sh"] == (postgres_dir / "initdb" / "10-app-role.sh").read_text()
    assert configmap["app-role.sql"] == (postgres_dir / "app-role.sql").read_text()


def test_qdrant_is_a_three_node_cluster_that_bootstraps_from_its_first_pod(production, tmp_path: Path):
    docs, _ = production
    qdrant = workloads(docs)["qdrant"]
    assert qdrant["kind"] == "StatefulSet" and qdrant["spec"]["replicas"] == 3
    assert by_kind(docs, "Service")["qdrant-headless"]["spec"]["clusterIP"] == "None"
    container = pod_spec(qdrant)["containers"][0]
    assert km.environment(docs, container, SECRETS)["QDRANT__CLUSTER__ENABLED"] == "true"
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
    assert allowed("redis") == REDIS_CLIENTS
    config = by_kind(docs, "ConfigMap")["pixelplay-config"]["data"]
    calls = {"search": ["encoder", "redis"], "ui": ["encoder", "search", "auth"],
             "enricher": ["search", "redis"], "enrich-all": ["search", "redis"],
             "index": ["encoder", "search"], "auth": ["postgres"]}  # fmt: skip
    for client, targets in calls.items():
        for target in targets:
            assert client in allowed(target), f"{client} cannot reach {target}"
    assert config["QDRANT_URL"] == "http://qdrant:6333"
