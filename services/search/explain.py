"""Why did this song match? The song's own descriptor phrases nearest the query vector.

Every song carries the phrases its CLIP sentence was built from (``Song.descriptors``, e.g.
"melancholic", "slow", "neo soul ballad", "from the 1970s"; about 80 distinct ones in the catalog).
Each distinct phrase is embedded ONCE per model with the encoder's text tower and kept in a
``PhraseBank``; explaining a hit is then a handful of dot products, never an encoder call per song.
The bank is persisted as JSON next to the collection, in a file named after the model id, so a
restart with the same weights embeds nothing and a different model never reuses stale vectors.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

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
