"""How a song collection is indexed, in one place for both backends: HNSW graph, int8 scalar
quantization with rescoring, when exact search is kept, and (server only) how it is sharded.

Each backend turns these into its own config objects in one function
(``edge_requests.edge_config``, ``server_requests.collection_params``), so the embedded store and a
Qdrant server index alike. The default numbers were chosen by
``python -m scripts.bench.search_scale`` on structured song vectors; see docs/benchmarks.md for
the measurements behind them.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.search.settings import SearchSettings


@dataclass(frozen=True)
class IndexTuning:
    # HNSW: links per node and candidate list while building; ``ef`` is the candidate list per query.
    m: int = 32
    ef_construct: int = 128
    ef: int = 2048
    # Extra links per payload value (Qdrant builds a sub-graph for every indexed field's large value
    # blocks). 0: none; filters are served by the main graph, or scanned exactly when narrow.
    payload_m: int = 0
    # A segment with fewer vectors than this gets no graph: an exact scan of it costs a few
    # milliseconds and has recall 1.0 by construction (the 28k catalog stays exact).
    exact_below: int = 50_000
    # A filtered query whose filter matches fewer points than this scans those points exactly
    # (through the payload index) instead of walking the graph: small filtered sets stay correct.
    filter_exact_below: int = 50_000
    # int8 scalar quantization: 4x less memory per vector for the first pass; the best
    # ``oversampling`` x limit candidates are then rescored with the original float vectors.
    quantization: bool = True
    quantile: float = 0.99
    oversampling: float = 2.0

    def kilobytes(self, vectors: int, dim: int) -> int:
        """Qdrant sizes its thresholds in KB of float32 vectors, not in vectors."""
        return max(1, vectors * dim * 4 // 1024)


@dataclass(frozen=True)
class ClusterLayout:
    """Distributed Qdrant only: shards per collection, copies of each shard, and how many copies
    must acknowledge a write before it succeeds."""

    shard_number: int = 1
    replication_factor: int = 1
    write_consistency_factor: int = 1

    def __post_init__(self) -> None:
        if min(self.shard_number, self.replication_factor, self.write_consistency_factor) < 1:
            raise ValueError("shard_number, replication_factor and write_consistency_factor must be ≥ 1")
        if self.write_consistency_factor > self.replication_factor:
            raise ValueError(
                f"write_consistency_factor {self.write_consistency_factor} exceeds replication_factor "
                f"{self.replication_factor}: no write could ever succeed"
            )


def tuning_from(settings: SearchSettings) -> IndexTuning:
    return IndexTuning(
        m=settings.hnsw_m,
        ef_construct=settings.hnsw_ef_construct,
        ef=settings.hnsw_ef,
        quantization=settings.quantization,
    )


def layout_from(settings: SearchSettings) -> ClusterLayout:
    return ClusterLayout(
        shard_number=settings.shard_number,
        replication_factor=settings.replication_factor,
        write_consistency_factor=settings.write_consistency_factor,
    )
