"""The neutral storage requests in qdrant-client's terms: collection config, filters, queries,
scrolls."""

from __future__ import annotations

from typing import Any

from qdrant_client import QdrantClient, models

from services.search.audio import AUDIO_DIM
from services.search.storage.base import AUDIO_VECTOR, INDEXED_FIELDS, VECTOR_NAME, Fused, Recommend
from services.search.storage.dialect import FilterDialect
from services.search.storage.store import Scroll, Search
from services.search.storage.tuning import ClusterLayout, IndexTuning

DIALECT = FilterDialect(
    match_any=lambda key, values: models.FieldCondition(key=key, match=models.MatchAny(any=values)),
    within=lambda key, low, high: models.FieldCondition(key=key, range=models.Range(gte=low, lte=high)),
    has_id=lambda ids: models.HasIdCondition(has_id=list(ids)),
    has_word=lambda key, word: models.FieldCondition(key=key, match=models.MatchText(text=word)),
    is_empty=lambda key: models.IsEmptyCondition(is_empty=models.PayloadField(key=key)),
    group=models.Filter,
)


def collection_params(dim: int, tuning: IndexTuning, layout: ClusterLayout) -> dict[str, Any]:
    """``create_collection`` arguments: description and audio vectors, HNSW, int8 quantization,
    payloads on disk, cluster layout."""
    quantization = (
        models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(
                type=models.ScalarType.INT8, quantile=tuning.quantile, always_ram=True
            )
        )
        if tuning.quantization
        else None
    )
    return {
        "vectors_config": {
            VECTOR_NAME: models.VectorParams(size=dim, distance=models.Distance.COSINE),
            AUDIO_VECTOR: models.VectorParams(size=AUDIO_DIM, distance=models.Distance.EUCLID),
        },
        "hnsw_config": models.HnswConfigDiff(
            m=tuning.m,
            ef_construct=tuning.ef_construct,
            full_scan_threshold=tuning.kilobytes(tuning.filter_exact_below, dim),
            payload_m=tuning.payload_m,
        ),
        "optimizers_config": models.OptimizersConfigDiff(
            indexing_threshold=tuning.kilobytes(tuning.exact_below, dim)
        ),
        "quantization_config": quantization,
        # Payloads are read for one page of hits; the indexed fields stay in RAM either way.
        "on_disk_payload": True,
        "shard_number": layout.shard_number,
        "replication_factor": layout.replication_factor,
        "write_consistency_factor": layout.write_consistency_factor,
    }


def create_payload_indexes(client: QdrantClient, collection: str) -> None:
    """An index for every field a filter may name; text fields as on the edge shard (prefix
    tokens, lowercased, accents folded). qdrant-client's local mode ignores these settings and
    matches whole words only (see docs/search.md)."""
    kinds = {
        "text": models.TextIndexParams(
            type=models.TextIndexType.TEXT,
            tokenizer=models.TokenizerType.PREFIX,
            lowercase=True,
            ascii_folding=True,
        ),
        "keyword": models.PayloadSchemaType.KEYWORD,
        "integer": models.PayloadSchemaType.INTEGER,
        "float": models.PayloadSchemaType.FLOAT,
    }
    for kind, keys in INDEXED_FIELDS.items():
        for key in keys:
            client.create_payload_index(collection, key, field_schema=kinds[kind])


def search_params(tuning: IndexTuning, exact: bool) -> models.SearchParams:
    if exact:
        return models.SearchParams(exact=True, quantization=models.QuantizationSearchParams(ignore=True))
    acorn = models.AcornSearchParams(enable=True)  # filtered walks stay connected (see edge_requests.py)
    if not tuning.quantization:  # a collection built with int8 vectors would still use them
        ignore = models.QuantizationSearchParams(ignore=True)
        return models.SearchParams(hnsw_ef=tuning.ef, quantization=ignore, acorn=acorn)
    rescoring = models.QuantizationSearchParams(rescore=True, oversampling=tuning.oversampling)
    return models.SearchParams(hnsw_ef=tuning.ef, quantization=rescoring, acorn=acorn)


def query_arguments(search: Search, tuning: IndexTuning) -> dict[str, Any]:
    """``query_points`` arguments: a vector or a recommendation, searched with the tuning, or a
    ``Fused`` ranking."""
    where = DIALECT.filter(search.conditions)
    if isinstance(search.query, Fused):
        ranking = fused_ranking(search.query, where)
    else:
        params = search_params(tuning, search.exact)
        query = description_query(search.query)
        ranking = {"query": query, "using": VECTOR_NAME, "query_filter": where, "search_params": params}
    page = {"limit": search.limit, "offset": search.offset, "with_vectors": search.with_vectors}
    return {**page, "with_payload": True, **ranking}


def fused_ranking(fused: Fused, where: models.Filter | None) -> dict[str, Any]:
    """Two prefetches rescored by the formula of ``Fused``, with the same defaults as the edge
    backend for a candidate found by one ranking only."""
    exact = models.SearchParams(exact=True)
    prefetch = [
        models.Prefetch(
            query=description_query(fused.description), using=VECTOR_NAME, filter=where,
            limit=fused.depth, params=exact,
        ),
        models.Prefetch(
            query=list(fused.audio), using=AUDIO_VECTOR, filter=where, limit=fused.depth, params=exact
        ),
    ]  # fmt: skip
    description, audio = fused.multipliers()
    formula = models.SumExpression(
        sum=[
            models.MultExpression(mult=[description, "$score[0]"]),
            models.MultExpression(mult=[audio, "$score[1]"]),
        ]
    )
    return {"prefetch": prefetch, "query": models.FormulaQuery(formula=formula, defaults=fused.defaults())}


def description_query(query: list[float] | Recommend) -> Any:
    if isinstance(query, Recommend):
        return models.RecommendQuery(
            recommend=models.RecommendInput(
                positive=query.positives,
                negative=query.negatives or None,
                strategy=models.RecommendStrategy.BEST_SCORE,
            )
        )
    return list(query)


def scroll_arguments(request: Scroll) -> dict[str, Any]:
    """``scroll`` arguments for ``request``."""
    order = (
        models.OrderBy(key=request.order_by, direction=models.Direction.DESC) if request.order_by else None
    )
    return {
        "scroll_filter": DIALECT.filter(request.conditions),
        "limit": request.limit,
        "offset": request.after,
        "with_payload": request.fields or True,
        "with_vectors": False,
        "order_by": order,
    }
