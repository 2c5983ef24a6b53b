"""Internal routes of the catalog import (``scripts/import_catalog.py``; X-Service-Token required).

Imported songs are upserted through ``POST /index/points`` with their ``source`` and row hash;
these two routes let the import skip unchanged songs and replace the other catalogs.
"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from services.search.deps import Internal, StoreDep
from services.search.routes.index import MAX_ITEMS
from services.search.schemas import ImportedHashes, ReplaceCatalog, Replaced, TrackIds
from services.search.storage.base import Conditions, point_id

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
