"""The hybrid blend: weights 0 and 1 are the pure queries, anything between is a unit mix."""

from __future__ import annotations

import math

import numpy as np
import pytest

from services.search.vectors import blend, normalise


def test_normalise_gives_unit_length_and_rejects_zero():
    assert normalise([3.0, 4.0]) == pytest.approx([0.6, 0.8])
    with pytest.raises(ValueError, match="zero length"):
        normalise([0.0, 0.0])
    with pytest.raises(ValueError, match="empty"):
        normalise([])
    with pytest.raises(ValueError):
        normalise([math.nan, 1.0])


def test_weight_zero_is_the_image_and_one_is_the_text():
    image, text = [2.0, 0.0, 0.0], [0.0, 0.0, 5.0]
    assert blend(image, text, 0.0) == pytest.approx([1.0, 0.0, 0.0])
    assert blend(image, text, 1.0) == pytest.approx([0.0, 0.0, 1.0])


def test_blend_normalises_inputs_before_mixing():
    # Without normalising first, the longer text vector would dominate at w=0.5.
    mixed = blend([1.0, 0.0], [0.0, 100.0], 0.5)
    assert mixed == pytest.approx([math.sqrt(0.5), math.sqrt(0.5)])


def test_blend_is_unit_length_and_moves_towards_the_text_as_weight_grows():
    rng = np.random.default_rng(1)
    image, text = rng.standard_normal(64).tolist(), rng.standard_normal(64).tolist()
    t = np.asarray(normalise(text))
    previous = -2.0
    for w in (0.0, 0.2, 0.4, 0.6, 0.8, 1.0):
        vec = np.asarray(blend(image, text, w))
        assert np.linalg.norm(vec) == pytest.approx(1.0)
        assert vec @ t > previous
        previous = float(vec @ t)


@pytest.mark.parametrize("weight", [-0.1, 1.5])
def test_weight_outside_zero_one_is_refused(weight):
    with pytest.raises(ValueError, match="between 0 and 1"):
        blend([1.0, 0.0], [0.0, 1.0], weight)


def test_vectors_of_different_sizes_and_cancelling_vectors_are_refused():
    with pytest.raises(ValueError, match="differ in size"):
        blend([1.0, 0.0], [1.0, 0.0, 0.0], 0.5)
    with pytest.raises(ValueError, match="cancel"):
        blend([1.0, 0.0], [-1.0, 0.0], 0.5)
