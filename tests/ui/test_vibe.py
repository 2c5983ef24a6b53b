from services.common.contracts.songs import Song
from services.ui.vibe import vibe_summary
from tests.ui.helpers import song_dict


def _songs(*specs):
    return [Song(**song_dict(f"s{i}", genre=g, energy=e, valence=v)) for i, (g, e, v) in enumerate(specs)]


def test_vibe_names_the_majority_genre_and_averages_in_words():
    songs = _songs(("rock", 0.9, 0.8), ("rock", 0.8, 0.9), ("pop", 0.7, 0.7))
    assert vibe_summary(songs) == "Mostly rock (2 of 3) · high-energy and upbeat (energy 0.80, mood 0.80)"


def test_vibe_without_a_majority_says_leaning_and_calm_sad_words():
    songs = _songs(("jazz", 0.1, 0.1), ("soul", 0.2, 0.2), ("pop", 0.3, 0.3), ("jazz", 0.2, 0.2))
    assert vibe_summary(songs) == "Leaning jazz (2 of 4) · calm and melancholic (energy 0.20, mood 0.20)"


def test_vibe_uses_display_genre_and_copes_with_missing_features():
    songs = [
        Song(
            **song_dict("a", genre="pop", enrich_status="ok", itunes_genre="Soul", energy=None, valence=0.45)
        )
    ]
    assert vibe_summary(songs) == "Mostly Soul (1 of 1) · bittersweet (mood 0.45)"
    assert vibe_summary([]) == ""
