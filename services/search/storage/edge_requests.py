"""The neutral storage requests in qdrant-edge's terms: shard config, filters, queries, scrolls."""

from __future__ import annotations

from typing import Any

from qdrant_edge import (
    AcornSearchParams,
    Direction,
    Distance,
    EdgeConfig,
    EdgeOptimizersConfig,
    EdgeShard,
    EdgeVectorParams,
    Expression,
    FieldCondition,
    Filter,
    Formula,
    HasIdCondition,
    HnswIndexConfig,
    IsEmptyCondition,
    MatchAny,
    MatchText,
    OrderBy,
    PayloadSchemaType,
    PayloadSelector,
    Prefetch,
    QuantizationSearchParams,
    Query,
    QueryRequest,
    RangeFloat,
    RecommendQuery,
    ScalarQuantizationConfig,
    ScalarType,
    ScrollRequest,
    SearchParams,
    TextIndexParams,
    TokenizerType,
    UpdateOperation,
)

from services.search.audio import AUDIO_DIM
from services.search.storage.base import AUDIO_VECTOR, INDEXED_FIELDS, VECTOR_NAME, Fused, Recommend
from services.search.storage.dialect import FilterDialect
from services.search.storage.store import Scroll, Search
from services.search.storage.tuning import IndexTuning

DIALECT = FilterDialect(
    match_any=lambda key, values: FieldCondition(key, match=MatchAny(values)),
    within=lambda key, low, high: FieldCondition(key, range=RangeFloat(gte=low, lte=high)),
    has_id=lambda ids: HasIdCondition(set(ids)),
    has_word=lambda key, word: FieldCondition(key, match=MatchText(word)),
    is_empty=IsEmptyCondition,
    group=Filter,
)


def edge_config(dim: int, tuning: IndexTuning) -> EdgeConfig:
    """The shard config: description and audio vectors, HNSW graph, int8 quantization, payloads on
    disk."""
    quantization = (
        ScalarQuantizationConfig(ScalarType.Int8, quantile=tuning.quantile, always_ram=True)
        if tuning.quantization
        else None
    )
    return EdgeConfig(
        vectors={
            VECTOR_NAME: EdgeVectorParams(size=dim, distance=Distance.Cosine),
            AUDIO_VECTOR: EdgeVectorParams(size=AUDIO_DIM, distance=Distance.Euclid),
        },
        hnsw_config=HnswIndexConfig(
            m=tuning.m,
            ef_construct=tuning.ef_construct,
            full_scan_threshold=tuning.kilobytes(tuning.filter_exact_below, dim),
            payload_m=tuning.payload_m,
        ),
        quantization_config=quantization,
        optimizers=EdgeOptimizersConfig(indexing_threshold=tuning.kilobytes(tuning.exact_below, dim)),
        # A page reads ~20-200 payloads; on disk they cost RSS nothing at a million songs.
        on_disk_payload=True,
    )


def create_payload_indexes(shard: EdgeShard) -> None:
    """An index for every field a filter may name. Text fields get prefix tokens, lowercased,
    accents folded: "rhap" finds "Bohemian Rhapsody", "DAFT" finds "Daft Punk", "motley crue"
    finds "Mötley Crüe"."""
    kinds = {
        "text": TextIndexParams(tokenizer=TokenizerType.Prefix, lowercase=True, ascii_folding=True),
        "keyword": PayloadSchemaType.Keyword,
        "integer": PayloadSchemaType.Integer,
        "float": PayloadSchemaType.Float,
    }
    for kind, keys in INDEXED_FIELDS.items():
        for key in keys:
            shard.update(UpdateOperation.create_field_index(key, kinds[kind]))


def search_params(tuning: IndexTuning, exact: bool) -> SearchParams:
    if exact:
        return SearchParams(exact=True, quantization=QuantizationSearchParams(ignore=True))
    # ACORN: a filtered walk also looks at neighbours' neighbours, so songs that pass the filter
    # stay connected without extra per-payload links (payload_m 0); unfiltered queries ignore it.
    acorn = AcornSearchParams(enable=True)
    if not tuning.quantization:  # a collection built with int8 vectors would still use them
        return SearchParams(
            hnsw_ef=tuning.ef, quantization=QuantizationSearchParams(ignore=True), acorn=acorn
        )
    rescoring = QuantizationSearchParams(rescore=True, oversampling=tuning.oversampling)
    return SearchParams(hnsw_ef=tuning.ef, quantization=rescoring, acorn=acorn)


def query_request(search: Search, tuning: IndexTuning) -> QueryRequest:
    """A vector or a recommendation, searched with the tuning, or a ``Fused`` ranking."""
    where = DIALECT.filter(search.conditions)
    if isinstance(search.query, Fused):
        ranking = fused_ranking(search.query, where)
    else:
        query = description_query(search.query)
        ranking = {"query": query, "filter": where, "params": search_params(tuning, search.exact)}
    return QueryRequest(
        search.limit, offset=search.offset, with_payload=True, with_vector=search.with_vectors, **ranking
    )


def fused_ranking(fused: Fused, where: Filter | None) -> dict[str, Any]:
    """Two prefetches (description, audio) rescored by the formula of ``Fused``. A candidate found
    by one ranking only gets the other's worst plausible score through the formula defaults."""
    exact = SearchParams(exact=True)
    audio_query = Query.Nearest(list(fused.audio), using=AUDIO_VECTOR)
    prefetches = [
        Prefetch(fused.depth, query=description_query(fused.description), filter=where, params=exact),
        Prefetch(fused.depth, query=audio_query, filter=where, params=exact),
    ]
    description, audio = fused.multipliers()
    formula = Expression.Sum(
        [
            Expression.Mult([Expression.Constant(description), Expression.Variable("$score[0]")]),
            Expression.Mult([Expression.Constant(audio), Expression.Variable("$score[1]")]),
        ]
    )
    return {"prefetches": prefetches, "query": Formula(formula, defaults=fused.defaults())}


def description_query(query: list[float] | Recommend) -> Any:
    if isinstance(query, Recommend):
        return Query.RecommendBestScore(RecommendQuery(query.positives, query.negatives), using=VECTOR_NAME)
    return Query.Nearest(list(query), using=VECTOR_NAME)


def scroll_request(request: Scroll) -> ScrollRequest:
    return ScrollRequest(
        offset=request.after,
        limit=request.limit,
        filter=DIALECT.filter(request.conditions),
        with_payload=PayloadSelector.Include(request.fields) if request.fields else True,
        with_vector=False,
        order_by=OrderBy(request.order_by, Direction.Desc) if request.order_by else None,
    )
