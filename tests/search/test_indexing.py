"""The indexing job and the alias re-index, through the real SearchClient and the search app."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from scripts.index_catalog import index_songs
from scripts.reindex import reindex
from services.common.clients.search import SearchClient
from services.common.contracts.search import Activation
from services.common.contracts.songs import Enrichment, Song
from services.common.http import ServiceError
from tests.search.conftest import TOKEN, StandInEncoder

pytestmark = pytest.mark.filterwarnings("ignore:.*(Local mode|local Qdrant).*:UserWarning")


@pytest.fixture
def search(empty_client: TestClient) -> SearchClient:
    """A SearchClient whose HTTP goes to the in-process app (TestClient is an httpx.Client)."""
    client = SearchClient("http://testserver", token=TOKEN)
    client._http = empty_client
    return client


def snapshot(search: SearchClient, songs: list[Song]) -> dict[str, tuple]:
    """Every song's stored payload and a page of neighbours: what "the same collection" means here."""
    out = {}
    for song in songs:
        similar = search.similar(song.track_id, limit=3, diversity="off")
        out[song.track_id] = (search.song(song.track_id), [h.song.track_id for h in similar.hits])
    return out


def test_indexing_twice_gives_the_same_collection(search: SearchClient, catalog_slice: list[Song]):
    encoder = StandInEncoder()
    songs = catalog_slice[:120]
    first = index_songs(songs, search, encoder, batch_size=32, progress=False)
    assert (first.songs, first.skipped, first.upserted) == (120, 0, 120)
    assert first.texts == len({s.description for s in songs})  # each distinct sentence embedded once
    before = snapshot(search, songs[:10])
    calls = encoder.text_calls

    second = index_songs(songs, search, encoder, batch_size=32, progress=False)
    assert (second.skipped, second.upserted, second.texts) == (120, 0, 0)
    assert encoder.text_calls == calls  # nothing re-embedded
    assert search.info().points == 120
    assert snapshot(search, songs[:10]) == before


def test_interrupted_indexing_resumes_where_it_stopped(search: SearchClient, catalog_slice: list[Song]):
    encoder = StandInEncoder()
    index_songs(catalog_slice[:50], search, encoder, progress=False)  # "killed" after 50 songs
    resumed = index_songs(catalog_slice[:150], search, encoder, progress=False)
    assert (resumed.skipped, resumed.upserted) == (50, 100)
    assert search.info().points == 150
    assert search.info().model_id == encoder.id


def test_indexing_with_another_model_is_refused(search: SearchClient, catalog_slice: list[Song]):
    index_songs(catalog_slice[:20], search, StandInEncoder("test:model-a"), progress=False)
    with pytest.raises(ServiceError) as err:
        index_songs(catalog_slice[:20], search, StandInEncoder("test:model-b"), progress=False)
    assert err.value.status == 409 and "reindex" in err.value.detail


def test_reindex_switches_model_keeps_enrichment_and_drops_old(search: SearchClient, catalog_slice):
    songs = catalog_slice[:80]
    index_songs(songs, search, StandInEncoder("test:model-a"), progress=False)
    track = songs[0].track_id
    search.update_enrichment(
        track,
        Enrichment.model_validate({"enrich_status": "ok", "enriched_at": 10.0, "preview_url": "https://p"}),
    )
    report, activation = reindex(songs, search, StandInEncoder("test:model-b"), progress=False)
    assert report.upserted == 80 and report.skipped == 0
    assert activation == Activation(active="songs_v2", previous="songs_v1", dropped=["songs_v1"])
    info = search.info()
    assert (info.model_id, info.points) == ("test:model-b", 80)
    assert search.song(track).preview_url == "https://p"
    page = search.search_vector([0.1] * 32, limit=5)
    assert page.model_id == "test:model-b" and len(page.hits) == 5
    with pytest.raises(ServiceError) as err:  # this app's query encoder still serves model-a
        search.search_text("neon city")
    assert err.value.status == 409


def test_failed_reindex_leaves_the_old_index_in_place(search: SearchClient, catalog_slice: list[Song]):
    songs = catalog_slice[:40]
    index_songs(songs, search, StandInEncoder("test:model-a"), progress=False)

    class Broken(StandInEncoder):
        def encode_texts(self, texts):
            raise RuntimeError("encoder died half way")

    with pytest.raises(RuntimeError):
        reindex(songs, search, Broken("test:model-b"), progress=False)
    status = search.index_status()
    assert status.active == "songs_v1" and [v.version for v in status.versions] == ["songs_v1"]
    assert search.info().model_id == "test:model-a"


def test_client_methods_cover_the_public_contract(search: SearchClient, catalog_slice: list[Song]):
    index_songs(catalog_slice[:60], search, StandInEncoder(), progress=False)
    assert search.ready() and search.filters().genres
    first = search.search_text("quiet", limit=10, filters={"year_min": 2000})
    assert all(h.song.year >= 2000 for h in first.hits)
    more = search.search_vector(first.query_vector, limit=10, offset=10, filters={"year_min": 2000})
    assert not {h.song.track_id for h in first.hits} & {h.song.track_id for h in more.hits}
    image = search.search_image(b"png bytes", "p.png", "image/png", text="quiet", weight=0.5, limit=5)
    assert len(image.hits) == 5
    assert search.enrichment_stats().pending == 60
    assert len(search.pending_enrichment(limit=25).track_ids) == 25
    with pytest.raises(ServiceError) as err:
        search.song("missing")
    assert err.value.status == 404
