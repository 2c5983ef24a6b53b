import re

from services.ui.radar import RADAR_AXES, radar_svg


def _shape_points(svg: str) -> list[tuple[float, float]]:
    points = re.search(r'class="pp-radar-shape" points="([^"]+)"', svg).group(1)
    return [tuple(map(float, p.split(","))) for p in points.split()]


def test_radar_is_inline_svg_with_one_vertex_per_axis_and_labels():
    svg = radar_svg({"energy": 1.0, "valence": 0.5, "danceability": 0.25, "acousticness": 0.0})
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert len(_shape_points(svg)) == len(RADAR_AXES) == 4
    for _, label in RADAR_AXES:
        assert f">{label}</text>" in svg
    assert (
        'aria-label="Audio features: energy 1.00, valence 0.50, danceability 0.25, acousticness 0.00"' in svg
    )


def test_radar_vertex_distance_is_proportional_to_the_value():
    svg = radar_svg({"energy": 1.0, "valence": 0.5, "danceability": 0.25, "acousticness": 0.0}, size=132)
    width = int(re.search(r'viewBox="0 0 (\d+) ', svg).group(1))
    cx, cy = width / 2, 132 / 2
    dists = [((x - cx) ** 2 + (y - cy) ** 2) ** 0.5 for x, y in _shape_points(svg)]
    assert dists[0] > 0 and dists[3] == 0
    assert abs(dists[1] / dists[0] - 0.5) < 0.02
    assert abs(dists[2] / dists[0] - 0.25) < 0.02
    x_energy, y_energy = _shape_points(svg)[0]
    assert abs(x_energy - cx) < 0.1 and y_energy < cy  # energy points straight up


def test_radar_clamps_out_of_range_and_marks_missing_values():
    svg = radar_svg({"energy": 7.0, "valence": None, "danceability": float("nan"), "acousticness": -1})
    full = radar_svg({"energy": 1.0})
    assert _shape_points(svg)[0] == _shape_points(full)[0]
    assert "valence n/a" in svg and "danceability n/a" in svg
