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
from services.search.storage.base import (
    AUDIO_VECTOR,
    FLOAT_FIELDS,
    INTEGER_FIELDS,
    KEYWORD_FIELDS,
    TEXT_FIELDS,
    VECTOR_NAME,
    Conditions,
    Fused,
    Recommend,
)
from services.search.storage.dialect import FilterDialect, to_filter
from services.search.storage.store import Scroll, Search
from services.search.storage.tuning import IndexTuning


class EdgeDialect(FilterDialect):
    def match_any(self, key: str, values: list[str]) -> Any:
        return FieldCondition(key, match=MatchAny(values))

    def within(self, key: str, low: float | None, high: float | None) -> Any:
        return FieldCondition(key, range=RangeFloat(gte=low, lte=high))

    def has_id(self, ids: list[str]) -> Any:
        return HasIdCondition(set(ids))

    def has_word(self, key: str, word: str) -> Any:
        return FieldCondition(key, match=MatchText(word))

    def is_empty(self, key: str) -> Any:
        return IsEmptyCondition(key)

    def group(self, must: list[Any] | None = None, should: list[Any] | None = None,
              must_not: list[Any] | None = None) -> Any:  # fmt: skip
        return Filter(must=must, should=should, must_not=must_not)


DIALECT = EdgeDialect()


def edge_filter(cond: Conditions | None) -> Filter | None:
    return to_filter(cond, DIALECT)


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
    text = TextIndexParams(tokenizer=TokenizerType.Prefix, lowercase=True, ascii_folding=True)
    schemas: list[tuple[str, Any]] = [
        *((key, text) for key in TEXT_FIELDS),
        *((key, PayloadSchemaType.Keyword) for key in KEYWORD_FIELDS),
        *((key, PayloadSchemaType.Integer) for key in INTEGER_FIELDS),
        *((key, PayloadSchemaType.Float) for key in FLOAT_FIELDS),
    ]
    for key, schema in schemas:
        shard.update(UpdateOperation.create_field_index(key, schema))


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
    """A vector or a recommendation, searched with the tuning; a ``Fused`` query as two
    prefetches (description, audio) rescored by its formula. A candidate found by one ranking only
    gets the other's worst plausible score through the formula defaults."""
    where = edge_filter(search.conditions)
    page = {
        "limit": search.limit,
        "offset": search.offset,
        "with_payload": True,
        "with_vector": search.with_vectors,
    }
    if not isinstance(search.query, Fused):
        query = description_query(search.query)
        return QueryRequest(query=query, filter=where, params=search_params(tuning, search.exact), **page)
    fused, exact = search.query, SearchParams(exact=True)
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
    return QueryRequest(prefetches=prefetches, query=Formula(formula, defaults=fused.defaults()), **page)


def description_query(query: list[float] | Recommend) -> Any:
    if isinstance(query, Recommend):
        return Query.RecommendBestScore(RecommendQuery(query.positives, query.negatives), using=VECTOR_NAME)
    return Query.Nearest(list(query), using=VECTOR_NAME)


def scroll_request(request: Scroll) -> ScrollRequest:
    return ScrollRequest(
        offset=request.after,
        limit=request.limit,
        filter=edge_filter(request.conditions),
        with_payload=PayloadSelector.Include(request.fields) if request.fields else True,
        with_vector=False,
        order_by=OrderBy(request.order_by, Direction.Desc) if request.order_by else None,
    )
