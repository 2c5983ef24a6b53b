"""Explanations: the song's own phrases nearest the query, each phrase embedded once per model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from services.search.explain import PhraseBank, explain


class CountingEmbedder:
    """Wraps the tiny model's text tower and records every text it is asked to embed."""

    def __init__(self, embedder):
        self.embedder = embedder
        self.seen: list[str] = []

    def __call__(self, texts: list[str]) -> list[list[float]]:
        self.seen += texts
        return self.embedder.encode_texts(texts).tolist()


def test_each_distinct_phrase_is_embedded_once(tiny_embedder, small_songs):
    embed = CountingEmbedder(tiny_embedder)
    bank = PhraseBank(tiny_embedder.model_id)
    phrases = [p for song in small_songs for p in song.descriptors]
    added = bank.ensure(phrases, embed)
    assert added == len(set(phrases)) == len(bank)
    assert len(embed.seen) == len(set(embed.seen)) == len(set(phrases))
    assert len(phrases) > 3 * len(set(phrases))  # songs share phrases: per-song embedding would cost more
    assert bank.ensure(phrases, embed) == 0  # second call embeds nothing


def test_explanations_are_own_phrases_deterministic_and_ranked(tiny_embedder, small_songs):
    bank = PhraseBank(tiny_embedder.model_id)
    bank.ensure([p for s in small_songs for p in s.descriptors], CountingEmbedder(tiny_embedder))
    query = tiny_embedder.encode_texts(["a rainy night by the window"])[0]
    for song in small_songs[:50]:
        reasons = explain(query, song.descriptors, bank)
        assert 1 <= len(reasons) <= 3
        assert len(reasons) == min(3, len(set(song.descriptors)))
        assert set(reasons) <= set(song.descriptors)
        assert explain(query, list(reversed(song.descriptors)), bank) == reasons  # order-independent
        cosines = [float(bank.vector(p) @ (query / np.linalg.norm(query))) for p in reasons]
        assert cosines == sorted(cosines, reverse=True)
        unit = query / np.linalg.norm(query)
        others = set(song.descriptors) - set(reasons)
        assert all(float(bank.vector(p) @ unit) <= min(cosines) + 1e-9 for p in others)


def test_query_equal_to_a_phrase_vector_puts_that_phrase_first(tiny_embedder, small_songs):
    bank = PhraseBank(tiny_embedder.model_id)
    song = next(s for s in small_songs if len(s.descriptors) >= 4)
    bank.ensure(song.descriptors, CountingEmbedder(tiny_embedder))
    for phrase in song.descriptors:
        assert explain(bank.vector(phrase), song.descriptors, bank)[0] == phrase


def test_unknown_phrases_are_skipped_not_invented():
    bank = PhraseBank("m", {"calm": np.array([1.0, 0.0]), "fast": np.array([0.0, 1.0])})
    assert explain([1.0, 0.2], ["calm", "never embedded", "fast"], bank) == ["calm", "fast"]
    assert explain([1.0, 0.2], [], bank) == []


def test_bank_persists_per_model_id(tmp_path: Path, tiny_embedder):
    bank = PhraseBank("model-a")
    bank.ensure(["calm", "slow"], CountingEmbedder(tiny_embedder))
    path = bank.save(tmp_path)
    assert json.loads(path.read_text())["model_id"] == "model-a"
    again = PhraseBank.load(tmp_path, "model-a")
    assert len(again) == 2 and np.allclose(again.vector("calm"), bank.vector("calm"))
    assert len(PhraseBank.load(tmp_path, "model-b")) == 0  # other weights never reuse these vectors
    path.write_text("{not json")
    assert len(PhraseBank.load(tmp_path, "model-a")) == 0  # a corrupt file is ignored, not fatal
