"""Internal routes of the catalog import (``scripts/import_catalog.py``; X-Service-Token required).

Imported songs are upserted through ``POST /index/points`` with their ``source`` and row hash;
these routes let the import skip unchanged songs and replace the other catalogs, and let the
re-index (``scripts/reindex.py``) page through the imported songs to carry them into a new version.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query

from services.common.contracts.search import (
    ImportedHashes,
    ImportedPage,
    ReplaceCatalog,
    Replaced,
    StoredImport,
    TakenRequest,
    TakenSong,
    TakenSongs,
    TrackIds,
)
from services.search.deps import Internal, StoreDep
from services.search.routes.index import MAX_ITEMS
from services.search.storage.base import BUNDLED_SOURCE, Conditions, point_id

router = APIRouter(prefix="/catalog", tags=["index"], dependencies=Internal)


@router.post("/unchanged", response_model=TrackIds)
def unchanged(body: ImportedHashes, store: StoreDep) -> TrackIds:
    """The track ids stored with exactly this ``import_hash`` (re-importing them changes nothing)."""
    if len(body.items) > MAX_ITEMS:
        raise HTTPException(422, f"at most {MAX_ITEMS} items per request")
    wanted = {point_id(i.track_id): i.import_hash for i in body.items}
    stored = store.retrieve(None, list(wanted))
    same = [p for p in stored if p.payload.get("import_hash") == wanted[p.id]]
    return TrackIds(track_ids=[str(p.payload.get("track_id")) for p in same])


@router.post("/taken", response_model=TakenSongs)
def taken(body: TakenRequest, store: StoreDep) -> TakenSongs:
    """Which of these track ids another catalog holds: a row with a Spotify id has the same track
    id, so the same point, in every catalog, and importing it replaces that catalog's song."""
    if len(body.track_ids) > MAX_ITEMS:
        raise HTTPException(422, f"at most {MAX_ITEMS} track ids per request")
    stored = store.retrieve(None, [point_id(t) for t in body.track_ids])
    songs = [
        TakenSong(
            track_id=str(p.payload.get("track_id")),
            source=p.payload.get("source") or BUNDLED_SOURCE,
            title=str(p.payload.get("title")),
            artist=str(p.payload.get("artist")),
        )
        for p in stored
    ]
    return TakenSongs(songs=[s for s in songs if s.source != body.source])


@router.post("/replace", response_model=Replaced)
def replace(body: ReplaceCatalog, store: StoreDep) -> Replaced:
    """Keep only the songs of ``source``: the bundled catalog and every other import go. A source
    with no songs is refused (409): replacing with it would empty the index, and that is what a
    misspelt name or a file whose every row was refused would ask for."""
    if store.count(None, Conditions(match_any={"source": [body.source]})) == 0:
        raise HTTPException(409, f"catalog {body.source!r} has no songs; nothing was deleted")
    before = store.count()
    store.delete_other_sources(None, body.source)
    remaining = store.count()
    return Replaced(source=body.source, deleted=before - remaining, remaining=remaining)


@router.get("/imported", response_model=ImportedPage)
def imported(
    store: StoreDep,
    version: str | None = None,
    after: str | None = None,
    limit: int = Query(500, ge=1, le=MAX_ITEMS),
) -> ImportedPage:
    """A page of the songs of every imported catalog in ``version`` (default: the active one), with
    their source and import hash; pass ``next`` back as ``after`` for the following page."""
    not_bundled = Conditions(exclude_any={"source": [BUNDLED_SOURCE]})
    points, cursor = store.scroll(version, not_bundled, limit, after)
    items = [
        StoredImport(song=p.payload, source=p.payload["source"], import_hash=p.payload.get("import_hash"))
        for p in points
        if p.payload.get("source")  # a song stored before sources existed is a bundled one
    ]
    return ImportedPage(items=items, next=cursor)
