"""The service's use of explanations: phrase vectors only from the index's model, and an encoder
failure costs a page its reasons, never the search, and is not retried on every page."""

from __future__ import annotations

from pathlib import Path

from services.common.contracts.songs import Song
from services.search.explain import Explainer
from tests.search.conftest import pseudo_vector
from tests.songs import make_song


def song(*descriptors: str) -> Song:
    return make_song("t", descriptors=list(descriptors))


class Embed:
    def __init__(self, model_id: str, fail: bool = False):
        self.model_id, self.fail, self.calls = model_id, fail, 0

    def __call__(self, texts: list[str]) -> tuple[list[list[float]], str]:
        self.calls += 1
        if self.fail:
            raise ConnectionError("encoder down")
        return [pseudo_vector(t, 8) for t in texts], self.model_id


def test_reasons_are_the_songs_phrases_nearest_the_query_and_embedded_once(tmp_path: Path):
    embed = Embed("m")
    explainer = Explainer(tmp_path, embed)
    query = pseudo_vector("calm", 8)
    [reasons] = explainer("m", query, [song("calm", "loud", "fast", "slow")])
    assert reasons[0] == "calm" and len(reasons) == 3
    explainer("m", query, [song("calm", "slow")])
    assert embed.calls == 1  # every phrase was already in the bank
    assert Explainer(tmp_path, Embed("m"))("m", query, [song("calm")]) == [["calm"]]  # saved to disk


def test_an_encoder_serving_another_model_gives_no_reasons_and_stores_nothing(tmp_path: Path):
    explainer = Explainer(tmp_path, Embed("other-model"))
    assert explainer("m", pseudo_vector("x", 8), [song("calm")]) == [[]]
    assert not list(tmp_path.glob("*.json"))


def test_encoder_failure_gives_empty_reasons_and_is_not_retried_at_once(tmp_path: Path):
    embed = Embed("m", fail=True)
    explainer = Explainer(tmp_path, embed)
    for _ in range(3):
        assert explainer("m", pseudo_vector("x", 8), [song("calm"), song("slow")]) == [[], []]
    assert embed.calls == 1
