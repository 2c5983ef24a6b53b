"""Types that cross service boundaries: a song as stored in the search index and shown on a card."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, computed_field

EnrichStatus = Literal["pending", "ok", "not_found", "failed"]

# An audio feature on a 0..1 scale: the search filters and the radar chart use exactly these.
UnitScore = Annotated[float | None, Field(default=None, description="0..1")]


class AudioFeatures(BaseModel):
    danceability: UnitScore
    energy: UnitScore
    valence: UnitScore
    acousticness: UnitScore
    instrumentalness: UnitScore
    speechiness: UnitScore
    liveness: UnitScore
    loudness: float | None = None  # dB, typically -60..0
    tempo: float | None = None  # BPM
    key: int | None = None
    mode: int | None = None
    duration_ms: int | None = None


UNIT_FEATURES = tuple(name for name, f in AudioFeatures.model_fields.items() if f.description == "0..1")


class Enrichment(BaseModel):
    """What the enricher learned from the iTunes Search API (all optional until it ran)."""

    enrich_status: EnrichStatus = "pending"
    enrich_reason: str | None = None
    enriched_at: float | None = None  # unix time of the lookup; newer results win
    art_url: str | None = None
    preview_url: str | None = None
    itunes_url: str | None = None
    itunes_id: int | None = None
    itunes_genre: str | None = None
    itunes_year: int | None = None
    match_score: float | None = None


class SpotifyArt(BaseModel):
    """Album art from Spotify's oEmbed endpoint, keyed by the track id (no matching needed).

    Kept in its own fields, apart from the iTunes result: each source writes only its own fields,
    so a failed lookup of one source can never blank what the other one filled.
    """

    spotify_art_status: EnrichStatus = "pending"
    spotify_art_reason: str | None = None
    spotify_art_at: float | None = None  # unix time of the oEmbed call; newer results win
    spotify_art_url: str | None = None


ArtSource = Literal["itunes", "spotify"]


class Song(AudioFeatures, Enrichment, SpotifyArt):
    """One catalog track: everything a result card needs, stored as the Qdrant point payload."""

    track_id: str
    title: str
    artist: str
    album: str | None = None
    album_id: str | None = None
    genre: str  # the most frequent playlist genre of the track
    genres: list[str] = Field(default_factory=list)
    subgenres: list[str] = Field(default_factory=list)
    playlists: list[str] = Field(default_factory=list)
    release_date: str | None = None
    year: int | None = None
    popularity: int | None = None
    spotify_url: str
    description: str  # the sentence that was embedded with CLIP's text tower
    descriptors: list[str] = Field(default_factory=list)  # the phrases that sentence is made of

    # Provenance is in every answer (computed fields) but never stored: it is derived from the
    # sources' own fields, so a stored copy could only disagree with them.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def art_source(self) -> ArtSource | None:
        """Where the card's art comes from: iTunes' 600x600 art when matched, else Spotify's."""
        if self.enrich_status == "ok" and self.art_url:
            return "itunes"
        if self.spotify_art_status == "ok" and self.spotify_art_url:
            return "spotify"
        return None

    @property
    def needs_art(self) -> bool:
        """No art from either source yet and Spotify not asked yet: worth an oEmbed call."""
        return self.spotify_art_status == "pending" and self.art_source is None

    @property
    def needs_lookup(self) -> bool:
        """Never looked up on iTunes (preview, metadata, 600x600 art)."""
        return self.enrich_status == "pending"

    @property
    def card_art_url(self) -> str | None:
        return {"itunes": self.art_url, "spotify": self.spotify_art_url, None: None}[self.art_source]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def field_sources(self) -> dict[str, str]:
        """Which source each displayed field came from: itunes, spotify or catalog."""
        matched = self.enrich_status == "ok"
        return {
            "art": self.art_source or "none",
            "preview": "itunes" if matched and self.preview_url else "none",
            "genre": "itunes" if matched and self.itunes_genre else "catalog",
            "year": "itunes" if matched and self.itunes_year else "catalog",
        }

    def payload(self) -> dict[str, Any]:
        """The stored form (a Qdrant payload, an import hash): the fields without the derived ones."""
        return self.model_dump(mode="json", exclude=DERIVED_FIELDS)

    @property
    def display_genre(self) -> str:
        """iTunes genre when a good match exists, else the catalog's own (as the original app)."""
        return self.itunes_genre if self.enrich_status == "ok" and self.itunes_genre else self.genre

    @property
    def display_year(self) -> int | None:
        return self.itunes_year if self.enrich_status == "ok" and self.itunes_year else self.year


DERIVED_FIELDS = frozenset(Song.model_computed_fields)
