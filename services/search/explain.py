"""Why did this song match? The song's own descriptor phrases nearest the query vector.

Every song carries the phrases its CLIP sentence was built from (``Song.descriptors``, e.g.
"melancholic", "slow", "neo soul ballad", "from the 1970s"; about 80 distinct ones in the catalog).
Each distinct phrase is embedded ONCE per model with the encoder's text tower and kept in a
``PhraseBank``; explaining a hit is then a handful of dot products, never an encoder call per song.
The bank is persisted as JSON next to the collection, in a file named after the model id, so a
restart with the same weights embeds nothing and a different model never reuses stale vectors.
``Explainer`` is what the search engine calls for a page: it keeps one bank per model and never
lets a failed explanation fail the search.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from services.common.contracts.songs import Song
from services.search.storage.base import ModelMismatch

log = logging.getLogger(__name__)

MAX_PHRASES = 3  # a card shows at most three reasons
EMBED_CHUNK = 64  # phrases per encoder call (well under the encoder's max_texts)

# Texts → one vector each, in order; in the service this is ``EncoderClient.encode_texts``.
EmbedTexts = Callable[[list[str]], Sequence[Sequence[float]]]


def _unit(vector: Sequence[float]) -> np.ndarray:
    arr = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(arr))
    return arr / norm if norm > 0 else arr


class PhraseBank:
    """Unit vectors of descriptor phrases for one model (``model_id``)."""

    def __init__(self, model_id: str, vectors: dict[str, np.ndarray] | None = None):
        self.model_id = model_id
        self._vectors: dict[str, np.ndarray] = dict(vectors or {})

    def __len__(self) -> int:
        return len(self._vectors)

    def __contains__(self, phrase: object) -> bool:
        return phrase in self._vectors

    def vector(self, phrase: str) -> np.ndarray | None:
        return self._vectors.get(phrase)

    def ensure(self, phrases: Iterable[str], embed: EmbedTexts) -> int:
        """Embed the phrases not yet in the bank (each distinct phrase once); return how many."""
        missing = sorted({p for p in phrases if p and p not in self._vectors})
        for start in range(0, len(missing), EMBED_CHUNK):
            chunk = missing[start : start + EMBED_CHUNK]
            vectors = embed(chunk)
            if len(vectors) != len(chunk):
                raise ValueError(f"encoder returned {len(vectors)} vectors for {len(chunk)} phrases")
            self._vectors.update({p: _unit(v) for p, v in zip(chunk, vectors, strict=True)})
        return len(missing)

    # --- persistence --------------------------------------------------------------------------
    @staticmethod
    def path_for(folder: Path, model_id: str) -> Path:
        """One file per model: ``phrase-vectors-<sha256(model_id)[:16]>.json`` inside ``folder``."""
        digest = hashlib.sha256(model_id.encode()).hexdigest()[:16]
        return folder / f"phrase-vectors-{digest}.json"

    def save(self, folder: Path) -> Path:
        """Write atomically (temp file + rename) so a crash never leaves a half-written bank."""
        folder.mkdir(parents=True, exist_ok=True)
        path = self.path_for(folder, self.model_id)
        vectors = {p: v.tolist() for p, v in sorted(self._vectors.items())}
        body = {"model_id": self.model_id, "vectors": vectors}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body))
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, folder: Path, model_id: str) -> PhraseBank:
        """The saved bank for ``model_id``, or an empty one when missing, unreadable or foreign."""
        path = cls.path_for(folder, model_id)
        try:
            body = json.loads(path.read_text())
        except FileNotFoundError:
            return cls(model_id)
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable phrase bank %s: %s", path, exc)
            return cls(model_id)
        if body.get("model_id") != model_id:  # a hash collision or a hand-copied file
            return cls(model_id)
        return cls(model_id, {p: _unit(v) for p, v in body.get("vectors", {}).items()})


def explain(
    query_vector: Sequence[float] | np.ndarray,
    descriptors: Sequence[str],
    bank: PhraseBank,
    k: int = MAX_PHRASES,
) -> list[str]:
    """The song's ``k`` descriptor phrases with the highest cosine to the query, best first.

    Only phrases of this song that the bank knows are considered, so every returned phrase is one of
    ``descriptors``. Ties break alphabetically, so the answer is deterministic.
    """
    query = _unit(query_vector)
    scored = []
    for phrase in dict.fromkeys(descriptors):  # a phrase listed twice counts once
        vec = bank.vector(phrase)
        if vec is not None and vec.shape == query.shape:
            scored.append((-float(vec @ query), phrase))
    return [phrase for _, phrase in sorted(scored)[:k]]


class Explainer:
    """Explanations for a page of hits: each song's descriptor phrases nearest the query.

    Phrase vectors come from ``embed`` (the encoder's text tower, answering vectors + model id) once
    per phrase and model, and are saved in ``folder``. Vectors from a model other than the index's
    are never stored. An explanation is a nicety: any failure gives [] and embedding is not tried
    again for ``RETRY_S``, so an encoder outage costs searches nothing.
    """

    RETRY_S = 30.0

    def __init__(
        self,
        folder: Path,
        embed: Callable[[list[str]], Any] | None,
        embed_model_id: Callable[[], str | None] | None = None,
    ):
        """``embed(texts)`` answers ``(vectors, model_id)``; or, when ``embed_model_id`` is given,
        only the vectors and ``embed_model_id()`` names their model."""
        self.folder = folder
        if embed is not None and embed_model_id is not None:
            plain, model_of = embed, embed_model_id
            embed = lambda texts: (plain(texts), model_of())  # noqa: E731
        self.embed = embed
        self._banks: dict[str, PhraseBank] = {}
        self._lock = threading.Lock()
        self._failed_at = -self.RETRY_S

    def __call__(self, model_id: str, query_vector: list[float], songs: list[Song]) -> list[list[str]]:
        try:
            bank = self._bank(model_id, [p for s in songs for p in s.descriptors])
            return [explain(query_vector, s.descriptors, bank) for s in songs]
        except Exception as exc:  # noqa: BLE001 - the search result matters more than its reasons
            log.warning("no explanations for this page: %s", exc)
            return [[] for _ in songs]

    def _bank(self, model_id: str, phrases: list[str]) -> PhraseBank:
        with self._lock:
            bank = self._banks.get(model_id)
            if bank is None:
                bank = self._banks[model_id] = PhraseBank.load(self.folder, model_id)
            missing = [p for p in phrases if p not in bank]
            if missing and self.embed is not None and time.monotonic() - self._failed_at > self.RETRY_S:
                try:
                    bank.ensure(missing, lambda texts: self._embed_as(model_id, texts))
                except Exception:
                    self._failed_at = time.monotonic()
                    raise
                bank.save(self.folder)
            return bank

    def _embed_as(self, model_id: str, texts: list[str]) -> list[list[float]]:
        assert self.embed is not None
        vectors, produced_by = self.embed(texts)
        if produced_by != model_id:
            raise ModelMismatch(f"the encoder serves '{produced_by}', the index was built with '{model_id}'")
        return vectors
