"""Turn a song's genre, audio features and era into the natural sentence that CLIP embeds.

The original app used 18 captions built from energy, valence and tempo only. Here every song gets
a sentence assembled from up to eight descriptor phrases, e.g.
"a melancholic, calm, slow acoustic neo soul ballad from the 1970s".
The phrases themselves are kept too: search explains a match by the phrases nearest the query.
The full mapping is documented in docs/catalog.md; keep the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass

# (upper bound, word): the first band whose bound exceeds the value wins.
VALENCE_BANDS = (
    (0.2, "melancholic"),
    (0.4, "wistful"),
    (0.6, "bittersweet"),
    (0.8, "cheerful"),
    (1.01, "euphoric"),
)
ENERGY_BANDS = ((0.3, "calm"), (0.5, "mellow"), (0.7, "lively"), (0.85, "energetic"), (1.01, "intense"))
TEMPO_BANDS = ((80, "slow"), (105, "laid-back"), (125, "mid-tempo"), (145, "upbeat"), (1000, "fast"))

GENRE_NOUNS = {
    "pop": "pop song",
    "rap": "rap track",
    "rock": "rock song",
    "edm": "EDM track",
    "r&b": "R&B song",
    "latin": "Latin track",
}
# Subgenres whose name already says the genre ("hard rock", "latin pop") need no genre noun.
SELF_NAMED = ("rock", "pop", "hip hop", "rap", "house", "edm", "soul", "trap", "reggaeton")


def _band(value: float, bands: tuple[tuple[float, str], ...]) -> str:
    return next(word for bound, word in bands if value < bound)


def era(year: int | None) -> str | None:
    """'the 1970s', or 'the early/late 2010s' for the crowded recent decades."""
    if year is None:
        return None
    decade = year // 10 * 10
    if decade >= 2000:
        return f"the {'early' if year % 10 < 5 else 'late'} {decade}s"
    return f"the {decade}s"


@dataclass(frozen=True)
class Description:
    moods: tuple[str, ...]  # valence word, energy word
    tempo: str | None
    textures: tuple[str, ...]  # acoustic / electronic / instrumental / danceable / spoken
    style: str  # subgenre, e.g. "neo soul"
    noun: str  # "ballad", "rap track", ...
    era: str | None

    @property
    def head(self) -> str:
        """The style and its noun together: "neo soul ballad", "big room EDM track"."""
        return self.style if self.style.endswith(self.noun) else f"{self.style} {self.noun}"

    def phrases(self) -> list[str]:
        """The descriptor phrases, each one meaningful on its own for explanations."""
        parts = [*self.moods, *(p for p in [self.tempo] if p), *self.textures, self.head]
        if self.era:
            parts.append(f"from {self.era}")
        return list(dict.fromkeys(parts))  # keep order, drop repeats

    def sentence(self) -> str:
        words = [", ".join(self.moods)] if self.moods else []
        words += [p for p in [self.tempo] if p]
        words += [*self.textures, self.head]
        text = " ".join(words)
        if self.era:
            text += f" from {self.era}"
        return f"{_article(text)} {text}"


def _article(text: str) -> str:
    """'an' before a vowel sound ("an upbeat", "an EDM"), 'a' otherwise ("a euphoric")."""
    lower = text.lower()
    vowel_sound = lower[:1] in "aeiou" and not lower.startswith(("eu", "uni", "use"))
    return "an" if vowel_sound or text.startswith(("EDM", "R&B")) else "a"


def describe(
    *,
    genre: str,
    subgenre: str | None,
    year: int | None,
    energy: float | None,
    valence: float | None,
    tempo: float | None,
    danceability: float | None,
    acousticness: float | None,
    instrumentalness: float | None,
    speechiness: float | None,
) -> Description:
    """Map one song's features to its description. Missing features are simply left out."""
    moods = tuple(
        _band(v, bands) for v, bands in ((valence, VALENCE_BANDS), (energy, ENERGY_BANDS)) if v is not None
    )
    tempo_word = _band(tempo, TEMPO_BANDS) if tempo else None
    textures: list[str] = []
    if instrumentalness is not None and instrumentalness >= 0.5:
        textures.append("instrumental")
    if acousticness is not None and acousticness >= 0.6:
        textures.append("acoustic")
    elif acousticness is not None and acousticness < 0.05 and genre == "edm":
        textures.append("electronic")
    if danceability is not None and danceability >= 0.75:
        textures.append("danceable")
    if speechiness is not None and speechiness >= 0.33 and genre != "rap":
        textures.append("spoken-word")

    noun = GENRE_NOUNS.get(genre, f"{genre} song")
    # A slow, quiet, acoustic or sad song reads as a ballad whatever its playlist genre.
    if (
        tempo_word in ("slow", "laid-back", None)
        and (energy is not None and energy < 0.4)
        and ((acousticness or 0) >= 0.5 or (valence is not None and valence < 0.3))
        and genre in ("pop", "r&b", "rock", "latin")
    ):
        noun = "ballad"
    style = (subgenre or genre).strip()
    if noun != "ballad" and any(word in style for word in SELF_NAMED):
        noun = "song" if genre in ("pop", "rock", "r&b") else "track"
    return Description(moods, tempo_word, tuple(textures), style, noun, era(year))
