"""Degenerate frames through every registered processor.

A constant frame has no contrast to enhance, no haze to find and no
dynamic range to compress: it must come out constant, and black must come
out black (a letterbox or a fade to black is not to be lit up). Processors
that keep intensities (enhancers, dehazing) must also keep a constant grey.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from vidclear.core import registry
from vidclear.core.frame import Frame

# Processors that draw or synthesise by design, and what they are for.
EXEMPT = {
    "side_by_side": "draws the before/after labels",
    "dehaze_debug": "renders diagnostic maps (dark channel, transmission) with colour scales",
    "synth_haze": "adds synthetic haze over a depth ramp: a haze generator",
}
# Processors whose output may differ from a constant grey input, but must stay constant.
CHANGES_LEVEL = {"hdr_bracket", "synth_bracket"}
FRAMES = 7  # more than one bracket pattern and any warm-up


def test_exemptions_name_real_processors():
    assert set(EXEMPT) <= set(registry.builtin())
    assert CHANGES_LEVEL <= set(registry.builtin())


def _run(name: str, level: int, shape: tuple[int, int, int], dtype: type) -> list[np.ndarray]:
    proc = registry.get(name)()
    outs = []
    for i in range(FRAMES):
        frame = Frame(np.full(shape, level, dtype), pts=i, time_base=Fraction(1, 30))
        out = proc(frame)
        if out is not None:
            outs.append(out.image)
    flushed = proc.flush() if hasattr(proc, "flush") else None
    outs += [f.image for f in (flushed or [])]
    return outs


@pytest.mark.parametrize("name", [n for n in registry.builtin() if n not in EXEMPT])
@pytest.mark.parametrize("level", [0, 1, 128, 255])
def test_constant_frame_stays_constant(name, level):
    outs = _run(name, level, (36, 50, 3), np.uint8)
    assert len(outs) == FRAMES
    for i, out in enumerate(outs):
        assert out.shape == (36, 50, 3) and out.dtype == np.uint8
        assert out.min() == out.max(), f"{name}: frame {i} of constant {level} is not constant"
        if level == 0:
            assert out.max() == 0, f"{name}: black came out as {out.max()}"
        elif name not in CHANGES_LEVEL:
            assert out.max() == level, f"{name}: constant {level} came out as {out.max()}"


@pytest.mark.parametrize("name", [n for n in registry.builtin()
                                  if n not in EXEMPT and n not in CHANGES_LEVEL])
def test_a_fade_of_flat_frames_keeps_each_frames_level(name):
    # Trial 89 F5: a fade through white made of flat frames, 25 fps. The
    # dehazer's tracked airlight lagged the falling level and 1 / t amplified
    # the gap: 251 -> 244, 249 -> 235 (a frame with no texture has nothing to
    # recover; constant clips had come back exact).
    proc = registry.get(name)()
    levels = [int(255 * abs(np.sin(np.pi * i / 60))) for i in range(60)]
    outs = []
    for i, level in enumerate(levels):
        out = proc(Frame(np.full((36, 50, 3), level, np.uint8), pts=i, time_base=Fraction(1, 25)))
        if out is not None:
            outs.append(out.image)
    assert len(outs) == len(levels)
    off = [(i, lv, int(o.min()), int(o.max()))
           for i, (lv, o) in enumerate(zip(levels, outs, strict=True))
           if o.min() != lv or o.max() != lv]
    assert not off, f"{name}: frames off their level (frame, level, min, max): {off[:5]}"


@pytest.mark.parametrize("noise", [2.0, 3.0])
def test_a_flat_card_with_sensor_noise_is_left_as_it_is(noise):
    # Trial 90 F3: a grey card (or a lens cap) with 2-3 levels of noise was
    # no flat frame and came out 11-17 levels darker; the texture is read on
    # the working luma's local means, where such noise is gone.
    from vidclear.dehaze import dehaze_image

    rng = np.random.default_rng(0)
    for level in (240, 178, 128):
        card = np.clip(level + rng.normal(0, noise, (360, 480, 1)) * np.ones(3), 0, 255)
        card = card.round().astype(np.uint8)
        np.testing.assert_array_equal(dehaze_image(card), card)


@pytest.mark.parametrize("name", ["ace", "msrcr", "clahe", "histeq", "dehaze"])
def test_black_stays_black_in_16_bit_and_grey_frames(name):
    checked = 0
    for shape in ((20, 30, 3), (20, 30)):
        try:
            outs = _run(name, 0, shape, np.uint16)
        except (ValueError, TypeError):
            continue  # grey frames are refused with an error: nothing to check
        assert all(o.max() == 0 for o in outs), name
        checked += 1
    assert checked >= 1  # every one of these takes 16-bit RGB


@pytest.mark.parametrize("name", ["ace", "msrcr"])
def test_a_flat_channel_keeps_its_value_beside_textured_ones(name):
    rng = np.random.default_rng(1)
    img = np.zeros((40, 60, 3), np.uint8)
    img[..., 0] = rng.integers(0, 256, (40, 60))
    img[..., 1] = 90  # no green contrast at all
    out = _run_once(name, img)
    assert (out[..., 1] == 90).all()  # no colour cast from a flat channel
    assert out[..., 0].std() > 10
    assert (out[..., 2] == 0).all()


def _run_once(name: str, img: np.ndarray) -> np.ndarray:
    return registry.get(name)()(Frame(img, pts=0, time_base=Fraction(1, 30))).image
