"""``vidclear hdr``: merge an exposure bracket of stills into a radiance map."""

from __future__ import annotations

import argparse
import glob
import importlib.util
import inspect
import io
import math
import signal
import statistics
import sys
import time
import warnings
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from vidclear.errors import ConfigError, HDRInputError, InputError, OutputError

if TYPE_CHECKING:
    from vidclear.hdr.tonemap import ToneMapper

__all__ = ["add_parser", "run"]


def _seconds(text: str) -> float:
    """An exposure time as a camera shows it: ``0.004``, ``1/250`` or ``2``."""
    try:
        value = float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        value = math.nan
    except OverflowError:  # 1e400: a traceback (trial 155 F4)
        value = math.inf
    if not (math.isfinite(value) and value > 0):  # named as typed, not in sorted order
        raise argparse.ArgumentTypeError(
            f"invalid exposure time {text!r}: expected seconds > 0 such as 0.004 or 1/250")
    return value


TONEMAPS = ("linear", "gamma", "reinhard", "reinhard_local", "reinhard2005", "drago", "mantiuk",
            "durand")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``hdr`` subcommand to an argparse subparsers object."""
    from vidclear.cli.run import Once

    p = subparsers.add_parser(
        "hdr", help="merge an exposure bracket into a radiance map (.hdr or .exr) and "
                    "tone-mapped images",
        description="Align, calibrate, merge and tone-map a bracket of differently exposed "
                    "photos. Exposure times come from --times or from each photo's EXIF "
                    "(JPEG, TIFF, PNG, HEIC; needs vidclear[stills]).",
        epilog="""\
examples:
  vidclear hdr dark.jpg mid.jpg bright.jpg -o scene.hdr        # times from EXIF
  vidclear hdr IMG_1.HEIC IMG_2.HEIC IMG_3.HEIC -o scene.exr   # OpenEXR, 32-bit float
  vidclear hdr a.png b.png c.png --times 0.004 0.016 0.064 -o scene.hdr \\
      --tonemap reinhard,drago --response-plot response.png
  vidclear hdr IMG_1.JPG IMG_2.JPG IMG_3.JPG --deghost -o street.hdr   # people walked past
""", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", nargs="+", metavar="IMG",
                   help="the exposures (any order), or a folder of them")
    p.add_argument("--times", nargs="+", type=_seconds, metavar="T",
                   help="exposure times in seconds, one per image, as numbers or "
                        "fractions (1/250) (default: EXIF)")
    p.add_argument("-o", "--output", required=True, action=Once, metavar="OUT.hdr|OUT.exr",
                   help="radiance map to write: Radiance .hdr (RGBE), or OpenEXR .exr "
                        "(32-bit float, ZIP; needs vidclear[stills]); tone-mapped images go "
                        "beside it")
    p.add_argument("--tonemap", default="reinhard",
                   help="comma-separated operators: " + ", ".join(TONEMAPS) + " (or 'none'), "
                        "each with its settings after colons if wanted, e.g. "
                        "drago:bias=0.8,reinhard:key=0.25:gamma=2.4")
    p.add_argument("--response-plot", metavar="PNG", action=Once,
                   help="also plot the recovered response curves (needs vidclear[report])")
    p.add_argument("--align", dest="align", action="store_true", default=True,
                   help="align to the middle exposure with median threshold bitmaps, keeping "
                        "a shift only where it improves agreement (default)")
    p.add_argument("--no-align", dest="align", action="store_false", help="skip alignment")
    p.add_argument("--calibrate", choices=("debevec", "robertson"), default="debevec",
                   help="response calibration method")
    p.add_argument("--deghost", type=_width, nargs="?", const=SUGGESTED_DEGHOST, default=0.0,
                   metavar="WIDTH",
                   help="for a scene that moved between the shots (people, leaves, cars): "
                        "take what moved from the reference exposure alone, readings that "
                        "disagree with it by more than their noise losing weight with this "
                        f"width in natural-log radiance (alone: {SUGGESTED_DEGHOST}; off by "
                        "default, every reading merged as Debevec and Malik do)")
    p.add_argument("--reference", metavar="IMG",
                   help="the exposure de-ghosting keeps (with --deghost; default: the one "
                        "with the most merge weight, the best exposed)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("-y", "--overwrite", action="store_true", help="replace existing outputs")
    group.add_argument("-n", "--no-overwrite", action="store_true",
                       help="never overwrite (the default without -y): an existing output is "
                            "an error")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="print nothing but warnings and errors (no progress, no 'wrote' line)")
    p.set_defaults(func=run)


def _width(text: str) -> float:
    """A de-ghosting width: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (np.isfinite(value) and value >= 0):
        if Path(text).exists():  # `--deghost a.jpg b.jpg c.jpg`: argparse took a file for it
            raise argparse.ArgumentTypeError(f"expected a width, got the file {text!r}: put "
                                             "--deghost after the images, or give it a width "
                                             "(--deghost 0.5)")
        raise argparse.ArgumentTypeError(f"expected a width >= 0 in natural-log radiance "
                                         f"(0 turns de-ghosting off), got {text!r}")
    return value


def _bits(path: Path) -> int:
    """Bits per sample of a PNG or TIFF (8 for other files or when it cannot tell)."""
    if path.suffix.lower() not in (".png", ".tif", ".tiff"):
        return 8
    import cv2

    from vidclear.hdr.io import imread_quietly

    img = imread_quietly(path, cv2.IMREAD_UNCHANGED)
    return 16 if img is not None and img.dtype == np.uint16 else 8


def response_plot(response: np.ndarray, *, title: str) -> np.ndarray:
    """The camera response per channel as an RGB uint8 image, drawn with matplotlib.

    ``response`` is a 256×3 (or 256) table of relative exposure per pixel
    value, as :func:`~vidclear.hdr.response.camera_response_Debevec1997` returns it; the plot
    shows log2 of it (stops) against the 8-bit value, with a legend.
    """
    import cv2
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from vidclear.hdr.response import as_response

    stops = np.log2(as_response(response).astype(np.float64))
    fig = Figure(figsize=(6.4, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    z = np.arange(stops.shape[0])
    for c, (name, colour) in enumerate((("red", "tab:red"), ("green", "tab:green"),
                                        ("blue", "tab:blue"))):
        ax.plot(z, stops[:, c], color=colour, lw=1.4, label=f"{name} channel")
    ax.set_xlim(0, 255)
    ax.set_xlabel("pixel value (8-bit)")
    ax.set_ylabel("log2 relative exposure (stops; 0 at value 128)")
    ax.set_title(title)
    ax.grid(True, color="0.9")
    ax.legend(loc="lower right")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    bgr = cv2.imdecode(np.frombuffer(buf.getvalue(), np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:  # matplotlib wrote something OpenCV cannot read: never expected
        raise OutputError("cannot draw the response plot")
    return np.ascontiguousarray(bgr[:, :, ::-1])


_PLOT_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp"})


def _tone_mapper(item: str) -> ToneMapper:
    """``name`` or ``name:key=value:key=value`` (one ``--tonemap`` item) as a ToneMapper.

    (The operators' settings could not be given from the command line, so
    Reinhard 2005's gamma or Drago's bias were fixed, trial 63.)
    """
    from vidclear.hdr.tonemap import OPERATORS, ToneMapper

    name, *settings = (part.strip() for part in item.split(":"))
    if name not in OPERATORS:
        raise ConfigError(f"--tonemap {name!r} is not allowed: expected one of "
                          + ", ".join(TONEMAPS))
    defaults = {p.name: p.default for p in inspect.signature(OPERATORS[name]).parameters.values()
                if p.kind is inspect.Parameter.KEYWORD_ONLY}
    params: dict[str, float | int] = {}
    for setting in settings:
        key, eq, text = (x.strip() for x in setting.partition("="))
        if key not in defaults:
            raise ConfigError(f"--tonemap {item!r}: {name} has no setting {key!r}: expected "
                              + ", ".join(defaults))
        if key in params:  # (the last one was taken without a word, trial 65)
            raise ConfigError(f"--tonemap {item!r} gives {key} twice")
        try:
            value = float(text) if eq else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            # (the example is the setting's own default: "=0.8" for a whole
            # number was then refused, trial 68)
            raise ConfigError(f"--tonemap {item!r}: {key} needs a number, as "
                              f"{key}={1 if defaults[key] is None else defaults[key]}")
        is_int = isinstance(defaults[key], int) and not isinstance(defaults[key], bool)
        if is_int and not value.is_integer():
            raise ConfigError(f"--tonemap {item!r}: {key} needs a whole number")
        params[key] = int(value) if is_int else value
    try:
        mapper = ToneMapper(name, params)
        if params:  # the operator's own range checks, before the merge writes anything
            mapper(np.full((4, 4, 3), 0.5, np.float32))
    except (HDRInputError, ValueError) as exc:  # (the filters' own range errors too)
        raise ConfigError(f"--tonemap {item!r}: {exc}") from None
    return mapper


def _outputs(out: Path, ops: list[str], plot: str | None) -> list[Path]:
    paths = [out]
    if out.suffix.lower() not in (".hdr", ".exr"):
        raise ConfigError(f"output {out} must end in .hdr or .exr")
    paths += [out.with_name(f"{out.stem}_{op}.png") for op in ops]
    if plot:
        if Path(plot).suffix.lower() not in _PLOT_SUFFIXES:
            raise ConfigError(f"--response-plot {plot} must end in one of "
                              + ", ".join(sorted(_PLOT_SUFFIXES)))
        paths.append(Path(plot))
    seen: dict[Path, Path] = {}
    for path in paths:  # checked before any work: a later write replaced an earlier one
        if path.resolve() in seen:
            raise ConfigError(f"two outputs would both be written to {path}: choose "
                              "another -o or --response-plot name")
        seen[path.resolve()] = path
    return paths


#: The largest share of pixels whose median threshold bitmaps differ
#: (:func:`vidclear.hdr.align.bitmap_disagreement`) between two exposures next to
#: each other in time that still show one scene: the real brackets in ../shared
#: 0.015 at most, made ones with a contrasty camera or a moving band up to 0.16;
#: photos of other scenes 0.53-0.76. (Measured as radiance through sRGB, a
#: contrasty camera's right bracket read 0.68-0.74 against other scenes' 0.67 and
#: up: trial 155 F1.)
_OTHER_SCENE = 0.3


def _warn_other_scenes(images: list[Path], pix: list[np.ndarray]) -> bool:
    """Warn where two exposures in a row (time order, aligned) show different scenes.

    Two unrelated photos of one size were merged as a bracket, exit 0 and
    no word (trial 132 F5: a wrong file picked from a folder). A warning,
    not a refusal: a bracket may hold a subject that moved across most of
    the frame. Returns whether it warned.
    """
    from vidclear.hdr.align import bitmap_disagreement

    warned = False
    for k in range(1, len(pix)):
        if images[k].resolve() == images[k - 1].resolve():
            continue
        d = bitmap_disagreement(pix[k - 1], pix[k])
        if math.isfinite(d) and d > _OTHER_SCENE:
            print(f"vidclear: warning: {images[k - 1]} and {images[k]} may not show one "
                  f"scene: their median threshold bitmaps differ on {100 * d:.0f} % of the "
                  f"pixels (a bracket's neighbours on under {100 * _OTHER_SCENE:.0f} %); is "
                  "one from another bracket?", file=sys.stderr)
            warned = True
    return warned


#: a step between exposures the pictures read this many stops from its times is
#: warned of: right times read within 0.24 on Memorial and within 0.15 on trial
#: 155's made brackets (a band moving, hand-held shifts aligned), a time half a
#: stop off 0.5 (scratch runs of 7 December; a warning, not a refusal)
MISTIMED_STOPS = 0.4


def _one_time_off(measured: np.ndarray, given: np.ndarray,
                  index: list[int]) -> list[tuple[int, float]]:
    """The exposures whose time alone, ``shift`` stops off, explains the steps measured.

    ``measured`` and ``given`` are the K - 1 steps in stops (NaN where not
    measured; ``index`` lists the rest). Exposure ``j`` is a candidate when
    the steps that do not touch it agree with the times at one scale
    (within 0.35 stops: Memorial's right steps spread 0.3 about theirs, its
    film's long exposures reading short) and the one or two that do are off
    by one amount (within 0.35 stops), 0.4 stops or more. Memorial with its
    1/8 s typed 0.177 s is named 0.6 stops off (0.5 typed).
    """
    found = []
    last = len(given)  # the index of the last exposure
    for j in range(last + 1):
        touch = [k for k in (j - 1, j) if 0 <= k < last]
        rest = [k for k in index if k not in touch]
        if not rest or not any(k in index for k in touch):
            continue
        scale = float(np.median(measured[rest] / given[rest]))
        if any(abs(measured[k] / scale - given[k]) >= 0.35 for k in rest):
            continue
        # the exposure's true time later than typed lengthens the step before
        # it and shortens the one after
        shifts = [float(measured[k] / scale - given[k]) if k == j - 1
                  else float(given[k] - measured[k] / scale) for k in touch if k in index]
        if max(shifts) - min(shifts) >= 0.35:
            continue
        shift = sum(shifts) / len(shifts)
        if abs(shift) >= MISTIMED_STOPS:
            found.append((j, shift))
    return found


def _warn_mistimed(images: list[Path], times: list[float], pix: list[np.ndarray]) -> None:
    """Warn of an exposure time the pictures read about half a stop or more off.

    ``images``, ``times`` and the aligned ``pix`` are in order of time, three
    or more (:func:`~vidclear.hdr.response.exposure_steps` measures the steps
    up to a common scale: two exposures have one step, which nothing checks).
    A time one stop off merged without a word, the radiance 36 times as far
    off as with the right time (trial 155 F5; trial 134 F3).
    """
    from vidclear.hdr.response import exposure_steps

    if len(pix) < 3:
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the calibration says these once
            measured = exposure_steps(pix, times)
    except HDRInputError:
        return  # the calibration refuses it, in its own words
    given = np.diff(np.log2(np.asarray(times, dtype=np.float64)))
    off = measured - given
    known = np.isfinite(off)
    if known.sum() < 2:
        return

    def stops(x: float) -> str:
        return f"{x:.1f} stop{'' if abs(round(x, 1)) == 1 else 's'}"

    moved = "; or did the camera or the scene move between them?"
    warn = "A wrong time bends the camera response and the merge"
    if len(pix) == 3:  # two steps: their ratio is all the pictures can tell
        if known.all() and abs(off[0] - off[1]) >= 2 * MISTIMED_STOPS:
            print(f"vidclear: warning: the pictures put the steps from {images[0]} to "
                  f"{images[1]} and on to {images[2]} in the ratio "
                  f"{float(measured[1] / measured[0]):.2f}, the times "
                  f"({', '.join(f'{t:g}' for t in times)} s) in the ratio "
                  f"{float(given[1] / given[0]):.2f}: is one of the times wrong{moved} "
                  f"{warn}", file=sys.stderr)
        return
    if not any(abs(off[k]) >= MISTIMED_STOPS for k in np.flatnonzero(known)):
        return
    index = [int(k) for k in np.flatnonzero(known)]
    found = _one_time_off(measured, given, index)
    if len(found) == 1:
        frame, shift = found[0]
        read = times[frame] * 2.0 ** shift
        how = "longer" if shift > 0 else "shorter"
        print(f"vidclear: warning: {images[frame]} looks {stops(abs(shift))} {how} than "
              f"its exposure time ({times[frame]:g} s): the pictures put it near {read:.3g} s "
              f"beside the others: is its time right{moved} {warn}", file=sys.stderr)
        return
    # else the scale the most steps agree with (within a fifth of a stop); a tie
    # between scales leaves which times are wrong open (the first and last of
    # five typed off read like the middle two: trial 157 F4)
    agree = {k: frozenset(j for j in index
                          if abs(measured[j] * given[k] / measured[k] - given[j]) < 0.2)
             for k in index}
    most = max(len(v) for v in agree.values())
    best = {v for v in agree.values() if len(v) == most}
    if len(best) > 1 or most < 2:
        rel_m = measured / np.nanmax(measured)
        rel_g = given / given[index].max()
        print(f"vidclear: warning: the steps between the exposures do not follow their times "
              f"in more than one place, and which times are wrong the pictures cannot tell: "
              f"in proportion the pictures read them "
              f"{' : '.join('?' if not known[k] else f'{rel_m[k]:.2f}' for k in range(len(off)))}"
              f", the times {' : '.join(f'{x:.2f}' for x in rel_g)} ({', '.join(map(str, images))}"
              f"): are the times right{moved} {warn}", file=sys.stderr)
        return
    k0 = min(k for k, v in agree.items() if v in best)
    scaled = measured * given[k0] / measured[k0]
    bad = [k for k in index if abs(scaled[k] - given[k]) >= MISTIMED_STOPS]
    if not bad:
        return
    said = "; ".join(f"{stops(float(scaled[k]))} from {images[k]} to {images[k + 1]}, where "
                     f"the times ({times[k]:g} s, {times[k + 1]:g} s) say "
                     f"{stops(float(given[k]))}" for k in bad)
    print(f"vidclear: warning: the pictures read steps between exposures their times do not "
          f"give: {said}: are the times right{moved} {warn}", file=sys.stderr)


def _refuse_mixed_colour(images: list[Path], pix: list[np.ndarray]) -> None:
    """Refuse a bracket of colour exposures with a greyscale one among them.

    The grey frame's one channel stood for all three: merged, the sky came
    out pink and yellow, and with no warning (trial 63). A frame is grey
    when its three channels are equal everywhere (a colour photo's never are).
    """
    grey = [p for p, im in zip(images, pix, strict=True)
            if np.array_equal(im[..., 0], im[..., 1]) and np.array_equal(im[..., 1], im[..., 2])]
    if grey and len(grey) < len(images):
        names = ", ".join(str(p) for p in grey)
        raise InputError(f"{names} {'is' if len(grey) == 1 else 'are'} greyscale but the other "
                         "exposures are colour: a bracket's exposures must all be colour (or "
                         "all greyscale), from one camera")


# A pair of exposures says how brightness grows with time only where enough
# pixels are well exposed in both (Memorial's darkest frames share 2-4 % of
# their pixels, near the black floor, and rise a level or five a stop there).
_JUDGED_SHARE = 0.05
# The mean level of a bracket's exposure grows with its time t as t^k: k is
# 1 for linear data, about 1 / 2.2 for sRGB, 0.25-0.65 over the labelled
# steps of every real bracket in ../shared (Memorial, Frobisher, the desktop
# and street brackets' consistent frames). An exposure whose level grows
# under this share of its bracket's typical k for its time (or under
# _SLOW_FLOOR, where no typical k can be had) is not the exposure its time
# says: the desktop bracket's frame labelled 16 s is 1.07 x its 1 s frame
# (k 0.025), the street bracket's 1/2 s frame 1.04 x its 1/32 s one; merged,
# they bent the response into a staircase and the colours (trial 74).
_SLOW_SHARE = 0.3
_SLOW_FLOOR = 0.05
# ... measured on pixels the longer exposure records at most this level: a
# camera's S-shaped response flattens above it, and a correctly timed frame of
# a snow scene or a window, 222 -> 244 for twice the time (k 0.14 against the
# bracket's 0.6), was left out as mistimed (trial 75).
_JUDGED_TOP = 200.0


def _times_contradicted(images: list[Path], times: list[float],
                        pix: list[np.ndarray]) -> tuple[list[str], list[int] | None]:
    """Where a longer exposure is no brighter than a shorter one (times typed wrong).

    ``images``, ``times`` and ``pix`` are in order of exposure time. The
    mean level of an exposure bracket rises with the time; reversed times
    gave a tone-negative merge and one file given twice a flat grey one,
    both without a word. A file named twice, and two files with one
    exposure time, are reported too.

    Returns the warnings (each exposure against the one before it) and,
    when fewer than half of those comparisons contradict the times, the
    exposures to leave out: each no brighter than the last exposure before
    it that is kept. A run of frames labelled 1/32 to 1/4 s that are one
    exposure (a street bracket of trial 54) keeps the first; merged, the run
    made the response a staircase and the sky mint green. None where every
    exposure contradicts the one before it, or any is clearly darker than
    the one before (:func:`~vidclear.hdr.response.clearly_darker`): times
    given in reverse or swapped, whose merge was a grey, tone-inverted picture, or one with dark and
    blown blobs, written with exit status 0 (trials 63, 64). Which of two
    swapped times is wrong the pictures cannot say.
    """
    from vidclear.hdr.response import clearly_darker

    out = []
    seen: dict[Path, Path] = {}
    for p in images:
        if p.resolve() in seen:
            out.append(f"{p} is given twice (as {seen[p.resolve()]} too): it adds no "
                       "exposure to the bracket")
        seen.setdefault(p.resolve(), p)
    flat = [im.mean(axis=2) if im.ndim == 3 else im.astype(np.float64) for im in pix]

    def well_exposed(a: np.ndarray, b: np.ndarray, *, dark: np.ndarray) -> np.ndarray:
        """Where frames a and b are both neither clipped nor black. Black is the
        ``dark`` frame's own floor (its 1st percentile) plus 16 levels: Debevec's
        darkest Memorial frames sit at 16-20 with noise, and read as "no
        brighter" four times with the published times."""
        floor = max(8.0, float(np.percentile(dark, 1)) + 16.0)
        return (a > floor) & (a < 247) & (b > floor) & (b < 247)

    def levels(i: int, k: int) -> tuple[float, float, float]:
        """Mean levels of exposures i and k where neither is clipped or black (whole
        means where under 1 % of pixels are), and that share of the pixels."""
        a, b = flat[i], flat[k]
        both = well_exposed(a, b, dark=a)
        share = float(both.mean())
        if share < 0.01:
            return float(a.mean()), float(b.mean()), share
        return float(a[both].mean()), float(b[both].mean()), share

    def rises(i: int, k: int) -> bool:
        """Whether most values well exposed in both rise (by a level) from i to k: a lit
        object that moved darkens where it left more than a night frame brightens, and
        the means called a right 1 s, 2 s pair reversed (trial 134 F2)."""
        a, b = flat[i], flat[k]
        both = well_exposed(a, b, dark=a)
        return bool(both.any()) and float(np.median(b[both] - a[both])) >= 1.0

    def growth(i: int, k: int) -> float | None:
        """k in level ∝ t^k between exposures i < k (see _SLOW_SHARE), measured where
        both are well exposed and k below a response's shoulder (_JUDGED_TOP); None
        where under _JUDGED_SHARE of the pixels are, or k is no brighter there."""
        a, b = flat[i], flat[k]
        mask = well_exposed(a, b, dark=a) & (b <= _JUDGED_TOP)
        if mask.mean() < _JUDGED_SHARE:
            return None
        ma, mb = float(a[mask].mean()), float(b[mask].mean())
        if mb <= ma + 1.0:
            return None
        return math.log(mb / max(ma, 1.0)) / math.log(times[k] / times[i])

    steps = []
    for k in range(1, len(pix)):
        if times[k] >= 1.5 * times[k - 1]:
            step = growth(k - 1, k)
            if step is not None:
                steps.append(step)
    slow = max(_SLOW_FLOOR, _SLOW_SHARE * statistics.median(steps)) if steps else _SLOW_FLOOR

    def dimmer(i: int, k: int) -> tuple[float, float] | None:
        """The mean levels of exposures i < k where neither is clipped or black, when
        k's is no brighter, or far less brighter than its time says (under 1.5 × the
        time: clearly darker); None when it is as bright as its time says, or the
        pair says nothing."""
        ma, mb, share = levels(i, k)
        up = share >= 0.01 and rises(i, k)  # then no darker, whatever the means say
        if times[k] < 1.5 * times[i]:
            # steps of a third or half a stop: brightness grows too little to
            # judge, but a clearly darker longer exposure is a reversal (such
            # brackets given in reverse merged without a word into a picture
            # 1.4 stops off, trial 75)
            return (mb, ma) if share >= 0.01 and clearly_darker(mb, ma) and not up else None
        if share < 0.01:
            # Exposures far apart share no well-exposed pixel: a 2-frame bracket
            # given in reverse (1/8 and 8 s) went through without a word (trial
            # 64). Their whole means still tell a reversal (not two black frames).
            return (mb, ma) if clearly_darker(mb, ma) else None
        if mb <= ma + 1.0:
            return None if up else (mb, ma)
        step = growth(i, k)
        return (mb, ma) if step is not None and step < slow else None

    def differ(i: int, k: int) -> bool:
        """Whether exposures i and k, typed with one time, are clearly not one exposure
        (their mean levels where both are well exposed, else whole, 6 % and a level
        apart: a third of a stop is 11 % in 8-bit sRGB, one exposure's noise under 2 %)."""
        a, b = flat[i], flat[k]
        both = well_exposed(a, b, dark=np.minimum(a, b))
        if both.mean() >= 0.01:
            a, b = a[both], b[both]
        ma, mb = float(a.mean()), float(b.mean())
        return abs(ma - mb) > max(1.0, 0.06 * max(ma, mb))

    pairs = reversal = 0
    for k in range(1, len(pix)):
        if times[k] == times[k - 1] and images[k].resolve() != images[k - 1].resolve():
            out.append(f"{images[k - 1]} and {images[k]} have the same exposure time "
                       f"({times[k]:g} s): a bracket needs different exposures; are the "
                       "times right?")
            reversal += differ(k - 1, k)  # one of them is not that exposure
            continue
        found = dimmer(k - 1, k)
        if found is not None:
            pairs += 1
            reversal += clearly_darker(*found)
            how = ("no brighter than" if found[0] <= found[1] + 1.0 else
                   f"hardly brighter, for {times[k] / times[k - 1]:.3g} × the time, than")
            out.append(f"{images[k]} ({times[k]:g} s) is {how} "
                       f"{images[k - 1]} ({times[k - 1]:g} s; mean levels {found[0]:.1f} "
                       f"and {found[1]:.1f} where neither is clipped): are the exposure "
                       "times right?")
    dim: list[int] = []
    if pairs == len(pix) - 1 or reversal:
        return out, None
    if pairs and 2 * pairs < len(pix) - 1:
        ref = 0
        for k in range(1, len(pix)):
            if dimmer(ref, k) is not None:
                dim.append(k)
            else:
                ref = k
    return out, dim


#: pixels over all exposures from which ``vidclear hdr`` says what it does as it goes
#: (three 4 MP exposures take some 15 s on two cores)
_LOUD_PIXELS = 8_000_000
# the de-ghosting width --deghost suggests (natural-log radiance); off by default: on
# static brackets with a film scan's fog level (Memorial) or times a stop off it moved
# the merge (README, "De-ghosting")
SUGGESTED_DEGHOST = 0.5

#: what a folder given as IMG is read for (other files in it are left out)
_BRACKET_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".bmp", ".webp",
                     ".heic", ".heif", ".hif")


def _made_here(f: Path, outputs: list[Path]) -> bool:
    """Whether ``f`` is an output of this run, or a tone-mapped image an earlier run
    wrote beside its radiance map (``NAME_OPERATOR.png`` beside ``NAME.hdr`` or ``.exr``)."""
    if any(f.resolve() == o.resolve() for o in outputs):
        return True
    if f.suffix.lower() != ".png":
        return False
    # every operator's suffix (reinhard_local's holds an underscore: trial 75)
    stems = [f.stem[:-len(op) - 1] for op in TONEMAPS if f.stem.endswith("_" + op)]
    return any(stem and f.with_name(stem + ext).exists()
               for stem in stems for ext in (".hdr", ".exr"))


def _expand_folders(paths: list[Path], outputs: list[Path], *, quiet: bool = False) -> list[Path]:
    """``paths`` with each folder replaced by the photos directly in it, by name.

    A folder of brackets was "hdr needs at least 2 exposures" (trial 54). In
    a folder, this run's outputs and an earlier run's tone-mapped images are
    left out, with a note: run again on its own folder, vidclear counted its
    tone-mapped PNG and response plot as exposures ("got 3 --times for 5
    images", trial 74).

    Raises
    ------
    InputError
        A folder without a photo, or a pattern (``'b/e*.png'``) that matches
        no file.
    """
    out: list[Path] = []
    for p in paths:
        if not p.exists() and glob.has_magic(str(p)):
            # the shell hands on a pattern that matches nothing as it is: that
            # was "hdr needs at least 2 exposures" (trial 132 F6)
            raise InputError(f"no file matches {p}")
        if not p.is_dir():
            out.append(p)
            continue
        found = sorted(f for f in p.iterdir()
                       if f.is_file() and f.suffix.lower() in _BRACKET_SUFFIXES
                       and not f.name.startswith("."))
        ours = [f for f in found if _made_here(f, outputs)]
        if ours and not quiet:  # -q: warnings and errors only (trial 134 F4)
            print(f"vidclear: note: left out of {p}: {', '.join(f.name for f in ours)} "
                  "(vidclear's outputs, not exposures)", file=sys.stderr)
        found = [f for f in found if f not in ours]
        if not found:
            raise InputError(f"folder {p} holds no photos ("
                             + ", ".join(_BRACKET_SUFFIXES[:6]) + ", ...)")
        out.extend(found)
    return out


def run(args: argparse.Namespace) -> int:
    """Run ``vidclear hdr``; raises VidclearError subclasses on user errors.

    SIGINT, SIGTERM and SIGHUP stop it as Ctrl-C does (exit status 128 plus
    the signal): SIGTERM killed it with no word and could leave a temporary
    ``.NAME.tmp.png`` beside the outputs, and a background job ignored
    ``kill -INT`` (trial 61).
    """
    from vidclear.core.signals import stop_signals

    stopped: list[int] = []

    def stop(signum: int, frame: object) -> None:
        stopped.append(signum)
        raise KeyboardInterrupt

    with stop_signals(stop):
        try:
            return _run(args, stopped)
        except KeyboardInterrupt:
            print("vidclear: interrupted", file=sys.stderr)
            return 128 + (stopped[0] if stopped else signal.SIGINT)


def _run(args: argparse.Namespace, stopped: list[int]) -> int:
    from vidclear.errors import HDRInputError
    from vidclear.hdr.align import align_Ward2003, valid_region
    from vidclear.hdr.deghost import best_exposed
    from vidclear.hdr.io import (
        exif_exposure_time,
        read_image,
        require_openexr,
        write_image_atomic,
    )
    from vidclear.hdr.merge import merge_Debevec1997, merge_Robertson2003
    from vidclear.hdr.response import camera_response_Debevec1997, camera_response_Robertson2003
    from vidclear.hdr.tonemap import to_uint8
    from vidclear.io.sinks.paths import check_output_path

    items = [] if args.tonemap.strip() == "none" else \
        [s.strip() for s in args.tonemap.split(",") if s.strip()]
    if not items and args.tonemap.strip() != "none":
        raise ConfigError(f"--tonemap {args.tonemap!r} names no operator: expected a "
                          "comma-separated list of " + ", ".join(TONEMAPS) + ", or none")
    mappers = [_tone_mapper(item) for item in items]
    ops = [m.operator for m in mappers]
    for k, op in enumerate(ops):
        if op in ops[:k]:
            raise ConfigError(f"--tonemap names {op!r} twice")
    if getattr(args, "response_plot", None) and importlib.util.find_spec("matplotlib") is None:
        raise ConfigError("--response-plot needs matplotlib: pip install 'vidclear[report]'")
    outs = _outputs(Path(args.output), ops, getattr(args, "response_plot", None))
    images = _expand_folders([Path(p) for p in args.images], outs, quiet=args.quiet)
    if len(images) < 2:
        raise InputError("hdr needs at least 2 exposures")
    if outs[0].suffix.lower() == ".exr":
        require_openexr()  # before any work
    plot = getattr(args, "response_plot", None)
    for k, o in enumerate(outs):  # as vidclear run checks them: a read-only folder is found
        # now, not after the merge (trial 37); the files named after -o say so (trial 38)
        label = ("output" if k == 0 else "--response-plot" if plot and k == len(outs) - 1
                 else f"the tone-mapped output (from -o {outs[0].name})")
        if k and label != "--response-plot" and o.is_dir():
            raise OutputError(f"{label} {o} is a folder: choose another -o (the tone-mapped "
                              "images are named after it)")
        check_output_path(o, inputs=[str(p) for p in images],
                          overwrite=bool(getattr(args, "overwrite", False)), label=label)
    if args.times is not None:
        times = list(args.times)
        if len(times) != len(images):  # a usage error (exit 2), as the other --times ones
            raise ConfigError(f"got {len(times)} --times for {len(images)} images: give one "
                              "exposure time per image")
    else:
        times = []
        for p in images:
            t = exif_exposure_time(p)
            if t is None:
                raise InputError(f"{p} has no usable EXIF exposure time: give --times")
            times.append(t)
    # Work in order of exposure time, so nothing downstream depends on the order
    # of the arguments (alignment takes the middle exposure as its reference).
    order = sorted(range(len(images)), key=lambda k: (times[k], str(images[k])))
    images = [images[k] for k in order]
    times = [times[k] for k in order]
    reference = _reference(args, images)
    started = time.perf_counter()
    pix = [read_image(p) for p in images]
    loud = sum(p.shape[0] * p.shape[1] for p in pix) >= _LOUD_PIXELS

    def stage(text: str) -> None:
        """Say what a long run does now (three 54 MP exposures took 228 s without a
        word, trial 74); small brackets finish in seconds and say nothing."""
        if loud and not args.quiet:
            print(f"vidclear: {text} ({time.perf_counter() - started:.0f} s in)", file=sys.stderr)

    stage(f"read {len(pix)} exposures of {pix[0].shape[1]}x{pix[0].shape[0]}")
    deep = [p for p in images if _bits(p) > 8]
    if deep:  # reduced without a word (trial 37)
        print(f"vidclear: note: {', '.join(str(p) for p in deep)}: "
              f"{'is' if len(deep) == 1 else 'are'} 16-bit, read as 8 bits (the camera "
              "response and the merge work on 8-bit exposures)", file=sys.stderr)
    for p, im in zip(images, pix, strict=True):  # named by file: the order above is by time
        if im.shape[:2] != pix[0].shape[:2]:
            raise InputError(f"{p} is {im.shape[1]}×{im.shape[0]} but {images[0]} is "
                             f"{pix[0].shape[1]}×{pix[0].shape[0]}: the exposures must be "
                             "the same size")
    _refuse_mixed_colour(images, pix)
    contradictions, dim = _times_contradicted(images, times, pix)
    for warning in contradictions:
        print(f"vidclear: warning: {warning}", file=sys.stderr)
    if dim is None:
        raise InputError("the exposure times run against the pictures (the warnings above), "
                         "as if times were swapped, given in reverse order or typed twice; "
                         "correct --times (or the files' EXIF) and run again")
    if dim and len(images) - len(dim) >= 2:
        # a minority that contradicts its times: left out
        one = len(dim) == 1
        print(f"vidclear: note: left out {', '.join(str(images[k]) for k in dim)}: no "
              "brighter than a shorter exposure, or far less than the time says, so "
              f"{'its time is' if one else 'their times are'}"
              f" wrong; merged, {'it' if one else 'they'} would bend the camera response "
              f"(correct --times to keep {'it' if one else 'them'})", file=sys.stderr)
        keep = [k for k in range(len(images)) if k not in dim]
        if reference is not None and reference not in keep:
            raise InputError(f"--reference {args.reference} is one of the exposures left out "
                             "(above): choose another, or correct its time")
        reference = None if reference is None else keep.index(reference)
        images = [images[k] for k in keep]
        times = [times[k] for k in keep]
        pix = [pix[k] for k in keep]
    try:
        rows, cols = slice(None), slice(None)
        if args.align:
            stage("aligning")
            pix, shifts = align_Ward2003(pix, times=times)
            rows, cols = valid_region(shifts, pix[0].shape)
        if not _warn_other_scenes(images, [p[rows, cols] for p in pix]):
            # another scene reads as steps of its own
            _warn_mistimed(images, times, [p[rows, cols] for p in pix])
        calib = (camera_response_Debevec1997 if args.calibrate == "debevec"
                 else camera_response_Robertson2003)
        merge = merge_Debevec1997 if args.calibrate == "debevec" else merge_Robertson2003
        # calibrated where every exposure holds real pixels: the edge bands a
        # shift repeats broke the curve of a hand-held bracket (trial 37)
        stage(f"calibrating the camera response ({args.calibrate})")
        with warnings.catch_warnings(record=True) as said:  # said as vidclear says things
            warnings.simplefilter("always", UserWarning)
            response = calib([np.ascontiguousarray(p[rows, cols]) for p in pix], times)
            stage("merging")
            if args.deghost:
                reference = best_exposed(np.stack(pix)) if reference is None else reference
            radiance = merge(pix, times, response=response, deghost=args.deghost,
                             reference=reference)
        for line in dict.fromkeys(str(w.message) for w in said
                                  if issubclass(w.category, UserWarning)):
            print(f"vidclear: warning: {line.removeprefix('vidclear.hdr: ')}", file=sys.stderr)
        for w in said:
            if not issubclass(w.category, UserWarning):
                warnings.warn(w.message, w.category, stacklevel=1)
    except HDRInputError as exc:
        raise InputError(str(exc)) from None
    written: list[Path] = []
    try:
        write_image_atomic(outs[0], radiance)
        written.append(outs[0])
        for mapper, path in zip(mappers, outs[1:], strict=False):
            stage(f"tone mapping ({mapper.operator})")
            write_image_atomic(path, to_uint8(mapper(radiance)))
            written.append(path)
        if getattr(args, "response_plot", None):
            title = f"camera response ({args.calibrate} calibration)"
            write_image_atomic(outs[-1], response_plot(response, title=title))
            written.append(outs[-1])
    except KeyboardInterrupt:
        # each file is whole (written atomically), but the set is not: say which
        # (Ctrl-C left 5 of 7 and said only "interrupted", trial 60)
        left = [str(o) for o in outs if o not in written]
        print(f"vidclear: interrupted: wrote {', '.join(str(o) for o in written) or 'nothing'}"
              f"; not written: {', '.join(left)}", file=sys.stderr)
        return 128 + (stopped[0] if stopped else signal.SIGINT)
    except OutputError:
        if written:  # a full disk after some of the set: which are whole (trial 159 F1)
            left = [str(o) for o in outs if o not in written]
            print(f"vidclear: note: wrote {', '.join(str(o) for o in written)} (each whole); "
                  f"not written: {', '.join(left)}", file=sys.stderr)
        raise
    ghost = f"; de-ghosted against {images[reference]}" if reference is not None else ""
    if not args.quiet:  # -q, as run, synth and demo take it (trial 133 F3)
        print(f"wrote {', '.join(str(o) for o in outs)} "
              f"(radiance {float(np.min(radiance)):.3g}..{float(np.max(radiance)):.3g}{ghost})")
    return 0


def _reference(args: argparse.Namespace, images: list[Path]) -> int | None:
    """The index in ``images`` of ``--reference`` (None when not given).

    Raises
    ------
    ConfigError
        It names no exposure of the run.
    """
    if not getattr(args, "reference", None):
        return None
    if not args.deghost:  # it was taken without a word, and the run said "de-ghosted" (trial 79)
        raise ConfigError("--reference names the exposure de-ghosting keeps: add --deghost "
                          "(off by default)")
    want = Path(args.reference).resolve()
    for k, p in enumerate(images):
        if p.resolve() == want:
            return k
    raise ConfigError(f"--reference {args.reference} is not one of the exposures merged "
                      f"({', '.join(p.name for p in images)})")
