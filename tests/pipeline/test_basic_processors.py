"""copy and side_by_side."""

from __future__ import annotations

import numpy as np
import pytest

from vidclear.core import Frame
from vidclear.processors.basic import Copy, SideBySide, side_by_side


def test_copy_returns_the_same_frame():
    f = Frame(np.zeros((2, 2, 3), np.uint8), pts=3)
    assert Copy()(f) is f


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_side_by_side_layout_and_labels(dtype):
    before = np.full((90, 120, 3), 40, dtype)
    after = np.full((90, 120, 3), 200, dtype)
    out = side_by_side(before, after)
    assert out.shape == (90, 240, 3) and out.dtype == dtype
    # Unlabelled parts are the inputs untouched.
    assert (out[-10:, :120] == 40).all() and (out[-10:, 120:] == 200).all()
    # The label area differs from the plain input (dark box with text).
    assert (out[:15, :40] != 40).any() and (out[:15, 120:160] != 200).any()
    v = side_by_side(before, after, layout="vertical", scale=0.5, label_before="")
    assert v.shape == (90, 60, 3)
    assert (v[:45] == 40).all()  # no label drawn on the first half


def test_side_by_side_pairs_with_the_original_frame():
    src = Frame(np.full((20, 30, 3), 10, np.uint8), pts=0)
    processed = src.replace(np.full((20, 30, 3), 250, np.uint8))
    out = SideBySide(label_before="", label_after="")(processed)
    assert out.image.shape == (20, 60, 3)
    assert (out.image[:, :30] == 10).all() and (out.image[:, 30:] == 250).all()
    assert out.pts == 0


def test_side_by_side_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="differ in shape"):
        side_by_side(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8))
