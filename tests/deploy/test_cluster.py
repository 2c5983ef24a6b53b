"""deploy/compose.cluster.yml: three Qdrant nodes that form one cluster, and search's layout settings."""

from __future__ import annotations

from typing import Any

from services.search.settings import SearchSettings
from services.search.storage.tuning import layout_from
from tests.deploy import compose_model as cm

CLUSTER_FILE = cm.ROOT / "deploy" / "compose.cluster.yml"
BASE = cm.load()["services"]
OVERRIDE = cm.load(CLUSTER_FILE)["services"]
PEERS = ["qdrant-2", "qdrant-3"]


def merged(name: str) -> dict[str, Any]:
    """A service as compose merges it: mappings (environment, depends_on) key by key, the rest replaced."""
    out = dict(BASE.get(name, {}))
    for key, value in OVERRIDE.get(name, {}).items():
        both = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = {**out[key], **value} if both else value
    return out


def flag(command: list[str], name: str) -> str | None:
    return command[command.index(name) + 1] if name in command else None


def test_every_node_runs_the_same_qdrant_in_cluster_mode():
    image = BASE["qdrant"]["image"]
    for name in ["qdrant", *PEERS]:
        node = merged(name)
        assert node["image"] == image
        env = node["environment"]
        assert env["QDRANT__CLUSTER__ENABLED"] == "true"
        assert env["QDRANT__CLUSTER__P2P__PORT"] == "6335"
        assert node["command"][0] == "./qdrant"
        assert flag(node["command"], "--uri") == f"http://{name}:6335"  # how the others reach it


def test_peers_join_through_the_first_node_once_it_is_ready():
    assert flag(merged("qdrant")["command"], "--bootstrap") is None  # the first peer starts the cluster
    for name in PEERS:
        node = merged(name)
        assert flag(node["command"], "--bootstrap") == "http://qdrant:6335"
        assert node["depends_on"]["qdrant"]["condition"] == "service_healthy"
        assert node["healthcheck"]["test"]  # search waits for every peer, not only the first


def test_each_node_keeps_its_own_storage_and_no_peer_port_is_published():
    storages = set()
    for name in ["qdrant", *PEERS]:
        node = merged(name)
        assert not node.get("ports")
        assert node["networks"] == ["backend"]  # the internal network only
        storage = [v for v in node["volumes"] if v.endswith(":/qdrant/storage")]
        assert len(storage) == 1
        storages.add(storage[0])
    assert len(storages) == 3


def test_search_waits_for_the_cluster_and_creates_sharded_replicated_collections():
    search = merged("search")
    assert {"qdrant", *PEERS} <= set(search["depends_on"])
    env = search["environment"]
    assert env["QDRANT_URL"] == "http://qdrant:6333"
    layout = layout_from(SearchSettings(**{k: v for k, v in {
        "shard_number": env["PIXELPLAY_SEARCH_SHARD_NUMBER"],
        "replication_factor": env["PIXELPLAY_SEARCH_REPLICATION_FACTOR"],
        "write_consistency_factor": env["PIXELPLAY_SEARCH_WRITE_CONSISTENCY_FACTOR"],
    }.items()}))  # fmt: skip
    # Every shard lives on two of the three nodes, so losing any one node loses no data.
    assert layout.replication_factor == 2
    assert layout.shard_number % 3 == 0  # shards spread evenly over the three nodes
    assert layout.write_consistency_factor <= layout.replication_factor
