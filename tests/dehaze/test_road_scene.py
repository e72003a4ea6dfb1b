"""Dehazing the synthetic road scene: restored colours are not mistaken for a cast."""

from __future__ import annotations

import numpy as np

from vidclear.dehaze import dehaze_image
from vidclear.dehaze.synth import synthesize_haze
from vidclear.io.sources.synthetic import RoadScene


def _chroma(img: np.ndarray) -> np.ndarray:
    m = img.reshape(-1, 3).astype(np.float64).mean(axis=0)
    return m / m.mean()


def test_grey_haze_on_a_colourful_scene_gets_no_colour_cast():
    scene = RoadScene(width=320, height=180)
    clear = scene.render(1.0)
    hazy = synthesize_haze(clear, beta=2.5, airlight=0.85, horizon=scene.horizon)
    res = dehaze_image(hazy, return_details=True)
    # A grey airlight must be estimated as grey ...
    assert np.ptp(res.airlight) < 0.05
    # ... so the output's mean colour moves towards the clear scene's, never
    # past neutral into a cast the scene does not have.
    out, ref, inp = _chroma(res.image), _chroma(clear), _chroma(hazy)
    assert np.abs(out - ref).max() < np.abs(inp - ref).max() + 0.02
    assert np.abs(out - 1).max() < 0.12
    # and the guard leaves it alone (gains stay at one)
    np.testing.assert_allclose(res.gains, 1.0, atol=0.02)
