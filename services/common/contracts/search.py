"""Request and response models of the search service's HTTP API (documented in docs/search.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.common.contracts.songs import UNIT_FEATURES, Enrichment, Song, SpotifyArt

MAX_CANDIDATES = 4000  # deepest ranked list ever fetched; pages beyond it end the results
# What a moodboard takes: the search route that combines the photos and the UI form that
# collects them read the same two numbers.
MIN_PHOTOS, MAX_PHOTOS = 2, 6
# The share of the words in a photo + words search when the caller names none.
DEFAULT_TEXT_WEIGHT = 0.3
# How a search 503 starts when the encoder, not search, is down, so callers can name the right part.
ENCODER_UNAVAILABLE = "the encoder is unavailable"

# Payload fields a feature range may filter on: the 0..1 audio features plus three raw ones.
FILTERABLE_FEATURES = (*UNIT_FEATURES, "loudness", "tempo", "popularity")

Diversity = Literal["off", "artist", "mmr"]


class FeatureRange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> FeatureRange:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min ({self.min}) is greater than max ({self.max})")
        return self


class Filters(BaseModel):
    """Genres (any of), an inclusive year range and inclusive audio-feature ranges."""

    model_config = ConfigDict(extra="forbid")
    genres: list[str] | None = None
    year_min: int | None = None
    year_max: int | None = None
    features: dict[str, FeatureRange] | None = None
    sources: list[str] | None = None  # catalogs (any of): "bundled" or an imported catalog's name

    @model_validator(mode="after")
    def _valid(self) -> Filters:
        if self.year_min is not None and self.year_max is not None and self.year_min > self.year_max:
            raise ValueError(f"year_min ({self.year_min}) is greater than year_max ({self.year_max})")
        unknown = sorted(set(self.features or {}) - set(FILTERABLE_FEATURES))
        if unknown:
            raise ValueError(f"unknown feature(s) {unknown}; known: {list(FILTERABLE_FEATURES)}")
        return self


class Page(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filters: Filters | None = None
    limit: int = Field(20, ge=1)  # upper bound is settings.max_page_size, checked in the route
    offset: int = Field(0, ge=0, le=MAX_CANDIDATES)  # the deepest ranked list diversity builds
    diversity: Diversity = "artist"


class TextQuery(Page):
    text: str = Field(min_length=1, max_length=1000)


class VectorQuery(Page):
    vector: list[float] = Field(min_length=1)
    # When given, it must equal the collection's model: vectors of two models are not comparable.
    model_id: str | None = None


class SimilarQuery(Page):
    track_id: str = Field(min_length=1)
    negative_track_ids: list[str] = Field(default_factory=list, max_length=50)
    # Share of the audio vector in "similar" (0 = description only); None: the service's setting.
    audio_weight: float | None = Field(None, ge=0.0, le=1.0)


class FeedbackQuery(Page):
    """Thumbs up / down on a page: its ``query_vector`` plus the rated songs."""

    vector: list[float] = Field(min_length=1)
    positive_track_ids: list[str] = Field(default_factory=list, max_length=50)
    negative_track_ids: list[str] = Field(default_factory=list, max_length=50)
    model_id: str | None = None


class SearchHit(BaseModel):
    # None: a song listed again without a ranking (the UI's restored last search); search always scores.
    score: float | None = None
    song: Song
    explanation: list[str] = Field(default_factory=list)


class SearchPage(BaseModel):
    hits: list[SearchHit]
    offset: int
    limit: int
    next_offset: int | None
    query_vector: list[float]
    model_id: str
    # "Similar" pages: the share of sound (audio features) in the ranking actually used; 0 when the
    # source song has no audio vector, so the page is by description alone.
    audio_weight: float | None = None


class SongMatch(BaseModel):
    """A song found by its name: enough to show it in a suggestion list and pick it."""

    track_id: str
    title: str
    artist: str
    year: int | None = None
    genre: str | None = None


class NameMatches(BaseModel):
    matches: list[SongMatch]


# --- moodboards: several photos, one playlist ----------------------------------------------------
Order = Literal["ranked", "smooth", "arc"]


class Jump(BaseModel):
    """Mean absolute change between neighbouring songs of a playlist."""

    energy: float
    tempo: float  # BPM


class Jumps(BaseModel):
    ranked: Jump  # the playlist in ranked order
    ordered: Jump  # the playlist as returned (equal to ranked for order "ranked")


class RejectedPhoto(BaseModel):
    index: int  # position among the request's files, from 0: two photos may share a file name
    filename: str
    reason: str


class MoodboardPage(SearchPage):
    """One playlist for several photos: no further pages (``next_offset`` is null)."""

    order: Order
    photos_used: int
    rejected: list[RejectedPhoto] = Field(default_factory=list)
    jumps: Jumps


class MoodboardVectorQuery(Page):
    """A moodboard again from its stored combined vector (history "Run again")."""

    vector: list[float] = Field(min_length=1)
    model_id: str | None = None
    order: Order = "ranked"


class Info(BaseModel):
    collection: str
    backend: Literal["edge", "server"]
    points: int
    model_id: str | None
    dim: int | None
    version: str | None = None  # the concrete collection behind the alias


class FilterOptions(BaseModel):
    genres: list[str]
    year_min: int | None
    year_max: int | None
    sources: list[str] = Field(default_factory=list)  # catalogs in the index ("bundled", imports)


# Times order the results and the index stores only finite numbers: inf or NaN is a 422, not a 503.
class EnrichmentUpdate(Enrichment):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class SpotifyArtUpdate(SpotifyArt):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class EnrichmentResult(Song):
    """The song after the update; ``applied`` is False when the result was older than the stored one."""

    applied: bool
    reason: str | None = None


class PendingPage(BaseModel):
    track_ids: list[str]
    popularity: list[int | None] = Field(default_factory=list)  # catalog popularity, same order
    next: str | None


class EnrichmentStats(BaseModel):
    pending: int = 0
    ok: int = 0
    not_found: int = 0
    failed: int = 0


# --- internal index API (the indexing job and the re-index) --------------------------------------
class VersionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model_id: str = Field(min_length=1)
    dim: int = Field(ge=1, le=8192)


class VersionInfo(BaseModel):
    version: str
    model_id: str
    dim: int
    points: int
    active: bool


class IndexStatus(BaseModel):
    alias: str
    backend: Literal["edge", "server"]
    active: str | None
    versions: list[VersionInfo]


class IndexItem(BaseModel):
    song: Song
    vector: list[float]
    # Which catalog the song comes from ("bundled" or an imported one) and, for imports, the
    # hash of what the row said, so a re-import can skip the songs it would not change.
    source: str = Field("bundled", min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    import_hash: str | None = Field(None, max_length=64)


class IndexPoints(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str | None = None  # None = the collection behind the alias
    model_id: str = Field(min_length=1)
    items: list[IndexItem]


class Upserted(BaseModel):
    upserted: int  # songs written in this request


class IndexPresent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str | None = None
    track_ids: list[str]


class TrackIds(BaseModel):
    track_ids: list[str]


class ImportedHash(BaseModel):
    # Both required: a stored song without an import hash (the bundled catalog) must never match.
    model_config = ConfigDict(extra="forbid")
    track_id: str = Field(min_length=1)
    import_hash: str = Field(min_length=1, max_length=64)


class ImportedHashes(BaseModel):
    """Songs of an import with the hash of their row, to find the ones already stored as is."""

    model_config = ConfigDict(extra="forbid")
    items: list[ImportedHash]


class TakenRequest(BaseModel):
    """Track ids an import is about to write as catalog ``source``."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    track_ids: list[str]


class TakenSong(BaseModel):
    track_id: str
    source: str
    title: str
    artist: str


class TakenSongs(BaseModel):
    """The songs stored under another catalog that the import would replace (same track id)."""

    songs: list[TakenSong]


class ReplaceCatalog(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")


class Replaced(BaseModel):
    source: str
    deleted: int
    remaining: int


class StoredImport(BaseModel):
    song: Song
    source: str
    import_hash: str | None = None


class ImportedPage(BaseModel):
    """One page of the imported songs (every catalog but the bundled one), without vectors: a
    re-index embeds their descriptions with its own model."""

    items: list[StoredImport]
    next: str | None  # cursor of the next page; None after the last


class Activation(BaseModel):
    active: str
    previous: str | None
    dropped: list[str]
