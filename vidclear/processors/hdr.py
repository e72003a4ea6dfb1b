"""Pipeline processors: rolling-bracket HDR video and synthetic brackets."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from vidclear.core.frame import Frame
from vidclear.core.processor import Processor
from vidclear.core.schema import Section, param
from vidclear.errors import ConfigError, HDRInputError
from vidclear.hdr._validate import MAX_EXPOSURE_STOPS
from vidclear.hdr.bracket import (
    HIGH,
    LOW,
    PERIODS,
    BracketDetector,
    BracketPattern,
    log_exposure_ratio,
    small_rgb,
)
from vidclear.hdr.response import (
    gamma_response,
    linear_response,
    load_response,
    srgb_response,
)
from vidclear.hdr.rolling import FIT_MISFIT, PhaseTracker, RollingBracket
from vidclear.hdr.signal import HDRSignal
from vidclear.hdr.synth import bracket_tables

__all__ = ["HDRBracket", "HDRBracketConfig", "SynthBracket", "SynthBracketConfig"]

_MAX_PATTERN = 16  # exposures in one pattern, as many as a window may merge
_MAX_EV = 64.0  # |EV| of any one pattern step; the span is bounded separately
#: Frames ``exposures = "auto"`` waits for a pattern before passing the video through.
AUTO_HOLD = 24
# A locked pattern whose steps the frames miss by more than this (natural log
# of exposure, about half a stop), in the median over two periods, is measured
# again: the camera changed its bracket (a 2-exposure clip joined to a
# 3-exposure one flickered by 20 levels to its end: trial 37).
_REFIT_MISFIT = FIT_MISFIT
#: A found pattern whose steps fit its frames worse than this (stops, RMS)
#: is warned about: every real clip in ../shared fits to 0.15 or better
#: (night clips the worst), a bracket made by scaling luma alone, its colour
#: untouched, 0.64, and that output pulsed by 25-40 levels (trial 85).
#: Exposures 4 stops apart fit to 0.46-0.71 from the few readings well
#: exposed in two of them: a bright pan's came out flat, a dark clip's
#: pulsed by 15-31 levels (trials 87, 88). The fit cannot tell them apart,
#: so both are warned about (a bound relative to the step silenced the dark
#: ones).
_FIT_WARN = 0.3
_REAL_FIT = 0.15  # the worst fit of a real clip in ../shared, for the warning's text
#: Frames kept to render again when a changed bracket is found (those still
#: in the delay line, see HDRBracket._redo): two periods of the longest detected.
_REDONE = 2 * PERIODS[-1]


def _pattern(values: tuple[float, ...], unit: str, key: str) -> list[float]:
    """Relative exposures of a bracket pattern, checked so float32 radiance stays finite."""
    if not 2 <= len(values) <= _MAX_PATTERN:
        raise ConfigError(f"{key} has {len(values)} exposure(s): expected at least 2 and at "
                          f"most {_MAX_PATTERN}")
    if unit == "ev":
        if any(abs(v) > _MAX_EV for v in values):
            raise ConfigError(f"{key} = {list(values)} is out of range: EV values must lie in "
                              f"[-{_MAX_EV:g}, {_MAX_EV:g}]")
        vals = [2.0 ** v for v in values]
    else:
        if any(v <= 0 for v in values):
            raise ConfigError(f"{key} = {list(values)} is not allowed: relative exposures "
                              "must be > 0 (or set unit = \"ev\")")
        if any(not 2.0 ** -_MAX_EV <= v <= 2.0 ** _MAX_EV for v in values):
            raise ConfigError(f"{key} = {list(values)} is out of range: relative exposures "
                              f"must lie in [2**-{_MAX_EV:g}, 2**{_MAX_EV:g}]")
        vals = list(values)
    span = math.log2(max(vals) / min(vals))
    if span == 0:  # every frame alike: nothing to merge, and a bracketed video flickered
        raise ConfigError(f"{key} = {list(values)} holds no bracket: the exposures must "
                          "differ")
    if span > MAX_EXPOSURE_STOPS:
        raise ConfigError(f"{key} = {list(values)} is out of range: the pattern spans "
                          f"{span:.3g} stops, at most {MAX_EXPOSURE_STOPS:g} are allowed")
    return vals


def _response(kind: str, path: str | None, section: str) -> np.ndarray | str | None:
    if kind == "srgb":
        return srgb_response()
    if kind == "linear":
        return linear_response()
    if kind == "gamma":
        return gamma_response(2.2)
    if kind == "calibrate":
        return "calibrate"
    if path is None:
        raise ConfigError(f"{section}.response = \"file\" needs {section}.response_path")
    try:
        return load_response(path)
    except HDRInputError as exc:
        raise ConfigError(f"{section}.response_path: {exc}") from None


@dataclass(frozen=True)
class HDRBracketConfig(Section):
    """Settings of the ``hdr_bracket`` processor."""

    section: ClassVar[str] = "hdr_bracket"
    exposures: str | tuple[float, ...] = param(
        "auto", doc="repeating exposure pattern in capture order from the video's first "
                    "frame, or \"auto\": found from the pixels (period 2-5 and the "
                    "exposure ratios)")
    unit: str = param("relative", choices=("relative", "ev"),
                      doc="exposures are relative times or EV (stops)")
    window: int = param(0, lo=0, hi=16, doc="frames merged per output; 0 = pattern length")
    response: str = param("srgb", choices=("srgb", "linear", "gamma", "calibrate", "file"),
                          doc="camera response: assumed, calibrated from the first bracket, "
                              "or read from response_path")
    response_path: str | None = param(None, doc="CSV or .npy response table (response = file)")
    align: bool = param(True, doc="align the window to the newest frame (MTB)")
    align_scale: int = param(2, choices=(1, 2, 4, 8), doc="alignment image reduction")
    align_levels: int = param(4, lo=0, hi=8, doc="MTB pyramid levels at the reduced scale")
    flow: bool = param(False, doc="motion compensation: warp older frames onto the newest with "
                                  "DIS optical flow (replaces align)")
    deghost: float = param(0.7, lo=0.0, hi=10.0,
                           doc="de-ghosting fall-off in log radiance; 0 disables")
    tonemap: str = param("reinhard", choices=("reinhard", "durand"),
                         doc="global (Reinhard 2002) or local (guided base/detail)")
    key: float = param(0.18, lo=0.0, hi=1.0, lo_open=True, doc="middle grey of the output")
    white_percentile: float = param(99.5, lo=50.0, hi=100.0, doc="percentile mapped to white")
    contrast: float = param(50.0, lo=1.0, hi=1e6, lo_open=True,
                            doc="base-layer contrast of the local operator")
    tonemap_tau: float = param(0.5, lo=0.0, hi=60.0,
                               doc="time constant in seconds of the tone-mapping statistics")
    scene_low: float = param(1.0, lo=0.0, hi=20.0, lo_open=True,
                             doc="stops of change that start a faster adaptation")
    scene_high: float = param(3.0, lo=0.0, hi=40.0, lo_open=True,
                              doc="stops of change taken as a scene cut")
    gamma: float = param(2.2, lo=0.1, hi=10.0, doc="display gamma of the output")
    output: str = param("sdr", choices=("sdr", "pq", "hlg"),
                        doc="tone-mapped SDR, or HDR video: 10-bit HEVC, BT.2020, PQ (HDR10) "
                            "or HLG")
    peak_luminance: float = param(1000.0, lo=100.0, hi=10000.0,
                                  doc="HDR output: mastering display peak and mapping "
                                      "ceiling, cd/m²")
    reference_white: float = param(203.0, lo=10.0, hi=1000.0,
                                   doc="HDR output: diffuse white in cd/m² (BT.2408); the "
                                       "scene's log-average sits at key × this")

    renamed: ClassVar[dict[str, str]] = {"time_constant": "tonemap_tau"}  # vidclear 0.1

    def validate(self) -> None:
        if isinstance(self.exposures, str):
            if self.exposures != "auto":
                raise ConfigError(f"{self.section}.exposures = {self.exposures!r} is not "
                                  "allowed: expected \"auto\" or a list of exposures")
        else:
            _pattern(self.exposures, self.unit, f"{self.section}.exposures")
        if self.window == 1:
            raise ConfigError(f"{self.section}.window = 1 is not allowed: expected 0 or >= 2")
        if self.scene_low >= self.scene_high:
            raise ConfigError(f"{self.section}.scene_low = {self.scene_low} must be below "
                              f"scene_high = {self.scene_high}")
        if self.response == "file" and not self.response_path:
            raise ConfigError(f"{self.section}.response = \"file\" needs "
                              f"{self.section}.response_path")
        if self.response_path and self.response != "file":
            # it was read only with response = "file" and ignored without a word (trial 54)
            raise ConfigError(f"{self.section}.response_path is read only with "
                              f"{self.section}.response = \"file\" (it is "
                              f"\"{self.response}\"): set both, or leave response_path out")
        if self.reference_white > self.peak_luminance:
            raise ConfigError(f"{self.section}.reference_white = {self.reference_white:g} "
                              f"must not exceed peak_luminance = {self.peak_luminance:g}")


def _stops(exposures: np.ndarray) -> list[float]:
    """A pattern's exposures in stops above its shortest, sorted."""
    low = float(np.min(exposures))
    return sorted(math.log2(float(e) / low) for e in exposures)


def _ordered_stops(exposures: np.ndarray | Sequence[float]) -> list[float]:
    """A pattern's exposures in stops above its shortest, in capture order."""
    ex = np.asarray(exposures, dtype=np.float64)
    return [math.log2(float(e) / float(ex.min())) for e in ex]


def _same_pattern(found: BracketPattern, exposures: np.ndarray | Sequence[float]) -> bool:
    """Whether a measured pattern is ``exposures`` (capture order), each within half a stop.

    The order counts, not where it starts: ``[16, 4, 1]`` typed for a video
    whose frames go 1, 4, 16 passed the check (sorted, they are the same)
    and the whole clip was merged with the wrong steps (trial 85).
    """
    want = np.asarray(found.stops)
    got = np.asarray(_ordered_stops(exposures))
    return got.size == want.size and any(
        float(np.abs(np.roll(got, -k) - want).max()) <= 0.5 for k in range(got.size))


def _from_first_frame(found: BracketPattern, seen: int) -> list[float]:
    """The pattern's exposures in capture order from the video's first frame.

    ``found`` was measured with its newest frame the ``seen``-th (a clip
    trimmed to start on its long exposure says [16, 1, 4], which typed in
    ``exposures`` merges its first frames right; the pattern's own list
    starts at the shortest).
    """
    return _rotated(found, (found.phase - (seen - 1)) % found.period)


def _rotated(found: BracketPattern, first: int) -> list[float]:
    """The pattern's exposures in capture order, starting with its ``first``-th."""
    p = found.period
    return [float(found.exposures[(first + k) % p]) for k in range(p)]


def _own_exposure(frame: Frame, exposure: float | None) -> float | None:
    """The frame's own ``meta["exposure"]`` when it carries one, else ``exposure``."""
    own = frame.meta.get("exposure")
    return float(own) if isinstance(own, int | float) else exposure


def _held_exposure(found: BracketPattern, n: int, k: int) -> float:
    """The exposure of held frame ``k`` of ``n`` by count; the last one has ``found.phase``."""
    return float(found.exposures[(found.phase - (n - 1 - k)) % found.period])


def _measured_exposures(frames: list[Frame], found: BracketPattern,
                        log_table: np.ndarray) -> list[float]:
    """The pattern exposure of each of ``frames``, measured against the newest one.

    The newest frame has ``found.phase``. Counted back from it, a frame
    repeated or dropped among the frames held while the pattern was found
    gave every frame before it the wrong exposure, and the first frames
    flashed by 20-28 levels (trial 85). Each frame's log exposure ratio to
    the newest (:func:`~vidclear.hdr.bracket.log_exposure_ratio`) picks the
    pattern step nearest it; where none is near (or nothing measures), the
    count's stays.
    """
    n = len(frames)
    exposures = np.asarray(found.exposures, dtype=np.float64)
    le = np.log(exposures)
    tol = PhaseTracker(exposures).tol
    newest = small_rgb(frames[-1].image)
    out = []
    for k, f in enumerate(frames):
        by_count = _held_exposure(found, n, k)
        if k == n - 1:
            out.append(by_count)
            continue
        r, _ = log_exposure_ratio(newest, small_rgb(f.image), log_table)
        target = le[found.phase] + r
        q = int(np.argmin(np.abs(le - target)))
        out.append(float(exposures[q]) if math.isfinite(r) and abs(le[q] - target) < tol
                   else by_count)
    return out


class HDRBracket(Processor[HDRBracketConfig]):
    """Rolling-bracket HDR: every input frame yields one merged, tone-mapped frame.

    The latest ``window`` frames (default one full pattern) are aligned to the
    newest one, merged to radiance with de-ghosting against it, and
    tone-mapped with statistics smoothed over time. Every input frame gives
    an output, so frame count and rate are kept: while the window first
    fills, the frames it holds so far are merged (the very first frame alone
    is linearised and tone-mapped); when the pattern is found from the
    pixels, those frames are held anyway and merge the first full window
    instead, each as its reference. A frame's ``meta["exposure"]`` is used
    when present, otherwise its place in the pattern is found from its
    brightness. Output frames carry ``meta["hdr_phase"]`` and
    ``meta["hdr_shifts"]``.

    With ``exposures = "auto"`` the pattern is found from the first frames
    (:class:`~vidclear.hdr.bracket.BracketDetector`: usually a period plus
    three frames). Those frames are held back until then and the output runs
    that many frames behind the input from there on; ``flush()`` returns the
    frames still held at the end. A video in which no pattern shows within
    :data:`AUTO_HOLD` frames is passed through unchanged (and says so in
    :meth:`report`). :meth:`report` gives the pattern for the run's stats;
    ``on_event`` (a callable taking one line) is told it once when found.

    References
    ----------
    .. [1] S. B. Kang, M. Uyttendaele, S. Winder and R. Szeliski, "High
       dynamic range video", SIGGRAPH 2003.
    """

    name: ClassVar[str] = "hdr_bracket"
    Config: ClassVar[type[Section]] = HDRBracketConfig

    def __init__(self, config: HDRBracketConfig | None = None, **params: object) -> None:
        super().__init__(config, **params)
        c = self.config
        self.on_event: Callable[[str], object] | None = None
        self.notes: list[str] = []
        self._response = _response(c.response, c.response_path, c.section)
        self.engine: RollingBracket | None = None
        self.pattern: BracketPattern | None = None
        self.detector: BracketDetector | None = None
        self._held: list[Frame] = []
        self._out: deque[Frame] = deque()
        self._passthrough = False
        self._misfits: deque[float] = deque(maxlen=8)  # the tracker's, last frames
        self._skips: deque[bool] = deque(maxlen=8)  # the tracker's, last frames
        self._fit_times: deque[float | None] = deque(maxlen=8)  # those frames' times
        self._refit_from: float | None = None  # the first frame off the pattern, when refit
        #: the last frames in, for the engine of a changed bracket and the
        #: frames it renders again (periods of up to 5 are detected:
        #: bracket.PERIODS), and whether each missed the pattern
        self._recent: deque[Frame] = deque(maxlen=_REDONE)
        self._recent_off: deque[bool] = deque(maxlen=_REDONE)
        self._refit: BracketDetector | None = None  # measuring the pattern again
        self._refit_warned = False
        #: the brackets the clip changed to, for the stats (and the phase
        #: changes off the pattern counted by the engines before)
        self._changes: list[dict[str, object]] = []
        self._drops_before = 0
        self._passed = 0  # frames passed through unchanged (no bracket showed)
        self._first_order: list[float] | None = None  # the pattern from the first frame
        self._joined_at: float | None = None  # a trip's join, its file's bracket not found yet
        self._before_join: list[float] | None = None  # the stops before that join
        self._part: object = None  # the trip file the last frame came from
        self.signal = None if c.output == "sdr" else HDRSignal(
            c.output, key=c.key, reference_white=c.reference_white, peak=c.peak_luminance)
        table = self._response if isinstance(self._response, np.ndarray) else srgb_response()
        self._log_table = np.log(table.astype(np.float64))  # what the detectors read with
        #: typed exposures: the pattern the first frames measure, to check them against
        self._check: BracketDetector | None = None
        if isinstance(c.exposures, str):  # "auto"
            self.detector = BracketDetector(self._log_table)
        else:
            self.engine = self._engine(_pattern(c.exposures, c.unit, f"{c.section}.exposures"))
            self._check = BracketDetector(self._log_table)

    def output_colour(self) -> dict[str, Any] | None:
        """The HDR signal's codec, pixel format and tags (PQ or HLG output), or None for SDR."""
        return None if self.signal is None else self.signal.colour_meta()

    def _engine(self, exposures: list[float]) -> RollingBracket:
        c = self.config
        return RollingBracket(
            exposures, window=c.window or None, response=self._response,
            align=c.align, align_scale=c.align_scale, align_levels=c.align_levels,
            deghost=c.deghost, tonemap=c.tonemap, key=c.key,
            white_percentile=c.white_percentile, contrast=c.contrast, tau=c.tonemap_tau,
            scene_low=c.scene_low, scene_high=c.scene_high, gamma=c.gamma,
            output="sdr" if c.output == "sdr" else "radiance", flow=c.flow)

    def _render(self, frame: Frame, exposure: float | None = None,
                engine: RollingBracket | None = None) -> Frame:
        engine = engine or self.engine
        assert engine is not None  # rendering starts once the pattern is known
        out = engine.push(frame.image, time=frame.time, exposure=_own_exposure(frame, exposure))
        meta = {"hdr_phase": engine.last_phase, "hdr_shifts": list(engine.last_shifts)}
        if self.signal is None:  # the tone mapper's display-referred SDR picture
            return frame.replace(out, **meta, display_sdr=True)
        rgb16, av_frame = self.signal.encode(out, engine.last_log_average)
        return Frame(rgb16, pts=frame.pts, time_base=frame.time_base, av_frame=av_frame,
                     meta={**frame.meta, **meta, "colour": self.signal.colour_meta()},
                     original=frame.original or frame)

    def __call__(self, frame: Frame) -> Frame | None:
        if self._check is not None:
            self._check_typed(frame)
        part = frame.meta.get("trip_file")
        if part is not None and part != self._part:
            joined, self._part = self._part is not None, part
            if joined and self.detector is not None and (self.engine is not None
                                                         or self._passthrough):
                self._measure_again(frame)
        if self.engine is not None:
            rendered = self._render(frame)
            self._recent.append(frame)
            rendered = self._watch(frame, rendered)
            if not self._out:
                return rendered
            self._out.append(rendered)
            return self._out.popleft()
        if self._passthrough:
            self._out.append(frame)
            self._passed += 1
            self._look_for_start(frame)
            return self._out.popleft()
        assert self.detector is not None  # auto mode
        self._held.append(frame)
        found = self.detector.feed(frame.image)
        if found is not None:
            self._start(found)
        elif len(self._held) >= AUTO_HOLD:
            self._passthrough = True
            self._passed += len(self._held)
            self._out.extend(self._held)
            self._recent.extend(self._held)
            self._held = []
            self._event(f"hdr_bracket: no alternating exposures found in the first "
                        f"{AUTO_HOLD} frames (patterns of {PERIODS[0]} to {PERIODS[-1]} "
                        "frames are looked for; a longer one can be typed in "
                        f"{self.config.section}.exposures): passing the video through "
                        "unchanged while watching for a bracket to start")
        return self._out.popleft() if self._out else None

    def _look_for_start(self, frame: Frame) -> None:
        """While passing a plain video through, watch for a bracket to start; merge from there.

        A camera switched to alternating exposures a few seconds into a
        recording was never looked at again after the first frames: the
        rest of the clip came out as the raw bracket, flickering by 55
        levels, with exit 0 (trial 85). The detector keeps reading the
        frames passed through; once a pattern shows, its engine starts on
        the last frames (as for a changed bracket, :meth:`_follow`) and the
        frames after this one are merged. The frames the pattern was found
        on are out already, unchanged.
        """
        if self.detector is None:
            return  # typed exposures are merged from the first frame
        self._recent.append(frame)
        found = self.detector.feed(frame.image)
        if found is None:
            return
        run = self._bracket_run(found)
        first = run[0]
        when = f"{first.time:.2f} s" if first.time is not None else "a later frame"
        self._changes.append({"at_s": None if first.time is None else round(first.time, 3),
                              "stops_before": None,
                              "stops": [round(x, 3) for x in _stops(np.asarray(found.exposures))]})
        self._passthrough = False
        self.pattern = found
        self.engine = self._engine(list(found.exposures))
        # the bracket's frames still in the delay line go out merged: passed
        # through, five raw frames strobed by 60 levels at the bracket's
        # period before the merge took over (trial 118 F2)
        queued = {id(f): i for i, f in enumerate(self._out)}
        merged = 0
        for f, out in zip(run, self._render_held(run, found)[0], strict=True):
            i = queued.get(id(f))
            if i is not None:
                self._out[i] = out
                merged += 1
        self._passed -= merged
        self._event(f"hdr_bracket: from {when} the video alternates exposures: found "
                    f"{found.describe()}; merged from there (the "
                    f"{self._passed} frames before were passed through unchanged)")
        self._check_fit(found)

    def _bracket_run(self, found: BracketPattern) -> list[Frame]:
        """The newest frames in that step through ``found``'s exposures one by one.

        Walked back from the newest frame (which has ``found.phase``) while
        each frame's exposure ratio to the next is the pattern's step into
        that next frame's phase (the tolerance of
        :class:`~vidclear.hdr.rolling.PhaseTracker`): where the camera began
        to alternate. A plain frame just before looks like the bracket's
        exposure nearest its own and is merged with it, as it may be.
        """
        frames = list(self._recent)
        le = np.log(np.asarray(found.exposures, dtype=np.float64))
        tol = PhaseTracker(found.exposures).tol
        p = found.period
        phase, k = found.phase, len(frames) - 1
        while k > 0:
            before = (phase - 1) % p
            r, _ = log_exposure_ratio(small_rgb(frames[k - 1].image),
                                      small_rgb(frames[k].image), self._log_table)
            if not (math.isfinite(r) and abs(r - (le[phase] - le[before])) < tol):
                break
            phase, k = before, k - 1
        return frames[k:]

    def _render_held(self, held: list[Frame], found: BracketPattern
                     ) -> tuple[list[Frame], list[float]]:
        """``held`` through the new engine, each merged: the outputs and the exposures.

        Exposures are measured against the newest frame
        (:func:`_measured_exposures`); the frames before the first full
        window merge that whole window (:meth:`_ahead`).
        """
        exps = _measured_exposures(held, found, self._log_table)
        stats = self._prime(held, found, exps)
        outs = []
        for k, f in enumerate(held):
            # every held frame goes through the engine, whose window the frames
            # after these continue; before the first full window its output
            # gives way to the merge of that whole window (_ahead)
            out = self._render(f, exps[k])
            if stats is not None and k < found.period - 1:
                out = self._ahead(held, found, exps, k, stats)
            outs.append(out)
        return outs, exps

    def _measure_again(self, frame: Frame) -> None:
        """At a join of a trip's files: hold frames and find the new file's bracket.

        Another recording may alternate other exposures (or none): merged with
        the last file's pattern, a 3-exposure clip joined to a 2-exposure one
        flickered for 8 frames, one blown out to white (trial 39). The frames
        from the join on are held, as at the start, and go through the engine
        of the pattern found (or pass through unchanged when none shows);
        the frames already delayed come out first.
        """
        if self.engine is not None:
            self._drops_before += self.engine.tracker.drops
        self._before_join = (_stops(self.engine.exposures) if self.engine is not None
                             else None)
        self._joined_at = None if frame.time is None else round(frame.time, 3)
        self.engine = None
        self._passthrough = False
        self._held = []
        self._recent.clear()
        self._recent_off.clear()
        self._misfits.clear()
        self._fit_times.clear()
        self._skips.clear()
        self._refit = None
        self.detector = BracketDetector(self._log_table)
        when = f" at {frame.time:.2f} s" if frame.time is not None else ""
        self._event(f"hdr_bracket: the trip's next file starts{when}: finding its bracket")

    def _check_typed(self, frame: Frame) -> None:
        """Warn once when the typed exposures are not what the first frames measure.

        ``[1, 4]`` typed for a video alternating three exposures, or
        ``[1, 4, 16, 64]``, ran without a word and the output flickered by up
        to 200 levels (trial 37). The pattern is measured as in auto mode,
        over the first :data:`AUTO_HOLD` frames; frames that carry their own
        exposure are not checked.
        """
        assert self._check is not None and self.engine is not None
        if isinstance(frame.meta.get("exposure"), int | float):
            self._check = None
            return
        found = self._check.feed(frame.image)
        typed = _ordered_stops(self.engine.exposures)
        name = f"{self.config.section}.exposures"
        if found is not None:
            seen, self._check = self._check.seen, None
            if not _same_pattern(found, self.engine.exposures):
                self._refit_warned = True  # said once: the watch later says no more
                self._event(f"hdr_bracket: warning: {name} gives {len(typed)} exposures "
                            f"(EV {', '.join(f'{s:+.2f}' for s in typed)}, in capture order) "
                            f"but the video measures {found.describe()}; {name} = \"auto\" "
                            "uses what it measures")
                return
            own = _from_first_frame(found, seen)
            want = _ordered_stops(own)
            if max(abs(a - b) for a, b in zip(typed, want, strict=True)) > 0.5:
                # the right steps, but the video starts elsewhere in them:
                # its first frames took the typed list's first exposures
                # (a clip trimmed to start on its long frame: 109-123
                # against a steady 115 until the phase locked, trial 85)
                self._refit_warned = True
                rel = ", ".join(f"{e / min(own):.3g}" for e in own)
                self._event(f"hdr_bracket: warning: the video's first frame is its EV "
                            f"{want[0]:+.2f} exposure, not the first of {name} (EV "
                            f"{typed[0]:+.2f}): its first frames were merged with the wrong "
                            f"exposures; from the first frame it goes [{rel}]")
        elif self._check.seen >= AUTO_HOLD:
            self._check = None
            if len(typed) > PERIODS[-1]:
                # longer than a pattern is measured for: what tells is whether
                # the frames step through the typed one (a bracket of six,
                # merged right, was warned about as no bracket: trial 118 F3)
                if (len(self._misfits) == self._misfits.maxlen and not any(self._skips)
                        and max(self._misfits) <= FIT_MISFIT):
                    return
                self._refit_warned = True
                self._event(f"hdr_bracket: warning: {name} gives {len(typed)} exposures "
                            f"(patterns of up to {PERIODS[-1]} are measured) but the first "
                            f"{AUTO_HOLD} frames do not step through them: is the video "
                            "bracketed, and in that order?")
                return
            self._refit_warned = True
            self._event(f"hdr_bracket: warning: {name} gives {len(typed)} exposures but no "
                        f"alternating exposures show in the first {AUTO_HOLD} frames: is "
                        "the video bracketed?")

    def _watch(self, frame: Frame, rendered: Frame) -> Frame:
        """Measure the pattern again when the frames stop fitting it; follow a new one.

        The tracker's misfit is watched over the last two periods; past
        :data:`_REFIT_MISFIT` the pattern is measured again as at the start
        (over up to :data:`AUTO_HOLD` frames). A different pattern is taken
        from there on, with a note (typed exposures are only warned about);
        none found is noted once. Returns ``rendered``, ``frame``'s output,
        or that frame rendered again with the new pattern (see :meth:`_redo`).
        """
        assert self.engine is not None
        tracker = self.engine.tracker
        self._recent_off.append(tracker.misfit > _REFIT_MISFIT or tracker.skipped)
        if isinstance(frame.meta.get("exposure"), int | float):
            return rendered  # frames that say their exposure need no pattern
        self._misfits.append(tracker.misfit)
        self._skips.append(tracker.skipped)
        self._fit_times.append(frame.time)
        period = self.engine.exposures.size
        if self._refit is None:
            recent = list(self._misfits)[-2 * period:]
            # Frames out of the pattern's order in half of two periods: fewer
            # exposures than the pattern's, each fitting one of its steps (a
            # 3-exposure bracket turned 2-exposure went on as 3, the last
            # long frame before the change merged into every frame after)
            skipped = sum(list(self._skips)[-2 * period:])
            if len(recent) < 2 * period or (float(np.median(recent)) <= _REFIT_MISFIT
                                            and skipped < period):
                return rendered
            self._refit = BracketDetector(self._log_table)
            # where the frames began to miss the pattern: the change's time,
            # not the frame it was found at a window and a detection later
            # (1.83 s said for a change at 1.50 s: trial 139 F4)
            off = [t for m, k, t in zip(recent, list(self._skips)[-2 * period:],
                                        list(self._fit_times)[-2 * period:], strict=True)
                   if (m > _REFIT_MISFIT or k) and t is not None]
            self._refit_from = off[0] if off else frame.time
        found = self._refit.feed(frame.image)
        when = f"{frame.time:.2f} s" if frame.time is not None else "a later frame"
        if found is None:
            if self._refit.seen >= AUTO_HOLD:
                self._refit = None
                self._misfits.clear()
                self._fit_times.clear()
                self._skips.clear()
                if not self._refit_warned:
                    self._refit_warned = True
                    self._event(f"hdr_bracket: warning: from {when} the frames no longer fit "
                                "the exposure pattern and no other one shows")
            return rendered
        seen, self._refit = self._refit.seen, None
        self._misfits.clear()
        self._fit_times.clear()
        self._skips.clear()
        if _same_pattern(found, self.engine.exposures):
            return rendered  # the same pattern: a passing disturbance
        if self.detector is None:  # typed: the user's pattern stays
            if not self._refit_warned:
                self._refit_warned = True
                self._event(f"hdr_bracket: warning: from {when} the video measures "
                            f"{found.describe()}, not {self.config.section}.exposures")
            return rendered
        at = self._refit_from if self._refit_from is not None else frame.time
        when = f"{at:.2f} s" if at is not None else when
        self._changes.append({"at_s": None if at is None else round(at, 3),
                              "stops_before": [round(x, 3) for x in
                                               _stops(self.engine.exposures)],
                              "stops": [round(x, 3) for x in
                                        _stops(np.asarray(found.exposures))]})
        self._drops_before += self.engine.tracker.drops
        self.pattern = found
        self.engine = self._follow(found)
        self._event(f"hdr_bracket: the bracket changed at {when}: now {found.describe()}")
        return self._redo(found, seen, rendered)

    def _redo(self, found: BracketPattern, seen: int, rendered: Frame) -> Frame:
        """Render the frames of a changed bracket still in the delay line again, with it.

        From the change until the new pattern was found (about two periods
        and a detection) the frames went through the old pattern, which gave
        them the wrong exposures: a bracket widened from 2 to 4 stops came
        out up to 28 levels dark for 7 frames, one narrowed 20 bright. The
        output runs some frames behind (those held while the first pattern
        was found), so the frames of the new bracket not yet out (those the
        new pattern was measured on, and the run of frames before that
        missed the old one) merge a window of the new bracket instead, as
        the first frames do (:meth:`_ahead`). Returns the current frame's.
        """
        frames = list(self._recent)
        off = list(self._recent_off)
        missed = next((k for k, o in enumerate(reversed(off)) if not o), len(off))
        post = frames[-min(max(seen, missed), len(frames)):]
        p = found.period
        if len(post) < p:
            return rendered
        n = len(post)
        redo = min(n, len(self._out) + 1)
        exps = _measured_exposures(post, found, self._log_table)
        outs = [self._ahead(post, found, exps, k, None,
                            window=range(max(0, k - p + 1), max(0, k - p + 1) + p))
                for k in range(n - redo, n)]
        *queued, rendered = outs
        for j, out in enumerate(queued):
            self._out[len(self._out) - len(queued) + j] = out
        return rendered

    def _follow(self, found: BracketPattern) -> RollingBracket:
        """The engine of a changed bracket, carrying on from the last one.

        A fresh engine started with an empty window, no phase and no tone
        statistics: a 2-exposure clip turning 3-exposure flashed two
        near-black frames and pumped by 40 levels for a second (trial 63).
        The new one starts with the old one's tone statistics, and the last
        frames (as many as the new period) go through it with the exposures
        the new pattern gives them, so its window is full and its phase
        locked at the next frame; their outputs are not used (they are out).
        """
        old = self.engine
        engine = self._engine(list(found.exposures))
        if old is not None:
            engine.prime(old.smooth_a.value, old.smooth_b.value)
        recent = list(self._recent)[-found.period:]
        for k, f in enumerate(recent):
            engine.push(f.image, time=f.time,
                        exposure=_own_exposure(f, _held_exposure(found, len(recent), k)))
        return engine

    def _start(self, found: BracketPattern) -> None:
        if self._joined_at is not None:
            # a trip's next file: its bracket goes into the stats' changes
            # (only the last file's showed, trial 85)
            before = self._before_join
            self._changes.append({
                "at_s": self._joined_at, "trip_file": str(self._part),
                "stops_before": None if before is None else [round(x, 3) for x in before],
                "stops": [round(x, 3) for x in _stops(np.asarray(found.exposures))]})
            self._joined_at = None
        self.pattern = found
        self.engine = self._engine(list(found.exposures))
        held, self._held = self._held, []
        outs, exps = self._render_held(held, found)
        self._out.extend(outs)
        own = _rotated(found, list(found.exposures).index(exps[0]))
        self._first_order = [round(e / min(own), 4) for e in own]
        listed = ", ".join(f"{e:.3g}" for e in self._first_order)
        start = "" if own[0] == found.exposures[0] else f"; from the video's first frame [{listed}]"
        self._event(f"hdr_bracket: found {found.describe()} after {len(held)} frames; "
                    f"output runs {len(held) - 1} frames behind{start}")
        self._check_fit(found)

    def _prime(self, held: list[Frame], found: BracketPattern, exps: list[float]
               ) -> tuple[float | None, float | None] | None:
        """Seed the tone mapping with the first full window's statistics; return them.

        Before the window first fills, a frame could only merge the exposures
        held so far; starting on a long exposure (a trimmed clip), its
        clipped highlights set the statistics 20-40 levels too bright for
        those frames. The frames are held anyway while the pattern is found,
        so a scratch engine measures the first full window ahead. None when
        fewer frames than a period are held.
        """
        engine = self.engine
        p = found.period
        if engine is None or len(held) < p:
            return None
        scratch = self._engine(list(found.exposures))
        for k, f in enumerate(held[:p]):
            scratch.push(f.image, time=f.time, exposure=exps[k])
        stats = scratch.smooth_a.value, scratch.smooth_b.value
        engine.prime(*stats)
        return stats

    def _ahead(self, held: list[Frame], found: BracketPattern, exps: list[float], k: int,
               stats: tuple[float | None, float | None] | None,
               window: range | None = None) -> Frame:
        """Held frame ``k``, before the first full window, merged with that window.

        Instead of only the exposures held before it, frame ``k`` merges the
        whole first window (held frames 0 to ``period - 1``, or ``window``)
        with itself as the reference (alignment and de-ghosting against it),
        on a scratch engine primed with that window's statistics (``stats``;
        None measures them on the window). With only the frames before it, a
        long exposure's clipped highlights came out up to 21 levels darker (a
        clip trimmed to start on it).
        """
        scratch = self._engine(list(found.exposures))
        if stats is not None:
            scratch.prime(*stats)
        for j in window or range(found.period):
            if j != k:
                f = held[j]
                scratch.push(f.image, time=f.time, exposure=exps[j])
        return self._render(held[k], exps[k], engine=scratch)

    def _check_fit(self, found: BracketPattern) -> None:
        """Warn when the frames fit the pattern's exposure steps only loosely (see _FIT_WARN)."""
        if found.residual > _FIT_WARN:
            self._event(f"hdr_bracket: warning: the frames fit the exposure pattern only to "
                        f"{found.residual:.2f} stops (real brackets fit to {_REAL_FIT:.2f} or "
                        "better): their brightness changes in ways an exposure does not (colour "
                        "not scaled with it, a fade, strong motion), or exposures too far apart "
                        "share too few well-exposed readings; the output may pulse")

    def _event(self, text: str) -> None:
        self.notes.append(text)
        if self.on_event is not None:
            self.on_event(text)

    def flush(self) -> list[Frame]:
        """Frames still held: the delay line, or every frame when no pattern was found."""
        if self._held:  # the stream ended before a pattern showed
            self._passthrough = True
            self._out.extend(self._held)
            self._held = []
            self._event("hdr_bracket: the video ended before a bracket pattern showed: "
                        "passed through unchanged")
        out = list(self._out)
        self._out.clear()
        return out

    def report(self) -> dict[str, object]:
        """Facts for the run's stats: the pattern used and how it was found."""
        engine = self.engine
        data: dict[str, object] = {
            "source": "typed" if self.detector is None else "detected",
            "exposures": engine.exposures.tolist() if engine is not None else None,
            "stops": ([round(math.log2(e / float(engine.exposures.min())), 3)
                       for e in engine.exposures] if engine is not None else None),
            "passthrough": self._passthrough,
            "passed_through_frames": self._passed,
        }
        if self._first_order is not None:
            # in capture order from the first frame, as exposures is typed
            # (the list above starts at the shortest: a clip trimmed to start
            # on its long frame typed from it merged its first frames wrong)
            data["exposures_from_first_frame"] = self._first_order
        if self.pattern is not None:
            data["detected_after_frames"] = self.detector.seen if self.detector else None
            data["fit_residual_stops"] = round(self.pattern.residual, 4)
        if engine is not None:
            data["phase_changes_off_pattern"] = self._drops_before + engine.tracker.drops
        if self._changes:  # only the last pattern above (trial 73)
            data["changes"] = list(self._changes)
        if self.signal is not None:
            data["hdr_output"] = {
                "transfer": self.signal.transfer, "peak_cd_m2": self.signal.peak,
                "reference_white_cd_m2": self.signal.reference_white,
                "max_cll_measured": round(self.signal.max_cll, 1),
                "max_fall_measured": round(self.signal.max_fall, 1)}
        return {"hdr_bracket": data}

    def reset(self) -> None:
        if self.engine is not None:
            self.engine.reset()

@dataclass(frozen=True)
class SynthBracketConfig(Section):
    """Settings of the ``synth_bracket`` processor."""

    section: ClassVar[str] = "synth_bracket"
    exposures: tuple[float, ...] = param((0.25, 1.0, 4.0), doc="exposure pattern, repeating")
    unit: str = param("relative", choices=("relative", "ev"), doc="relative times or EV")
    response: str = param("srgb", choices=("srgb", "linear", "gamma", "file"),
                          doc="camera response the bracket is recorded with")
    response_path: str | None = param(None, doc="CSV or .npy table for response = file")
    expand: float = param(1.5, lo=0.1, hi=4.0,
                          doc="exponent widening the source's range around mid grey (so the "
                              "EV 0 frames are the source with a wider range, not the "
                              "source itself; 1 keeps it)")
    offset: int = param(0, lo=0, hi=64, doc="pattern index of the first frame")

    def validate(self) -> None:
        _pattern(self.exposures, self.unit, f"{self.section}.exposures")
        if self.response == "file" and not self.response_path:
            raise ConfigError(f"{self.section}.response = \"file\" needs "
                              f"{self.section}.response_path")
        if self.response_path and self.response != "file":
            raise ConfigError(f"{self.section}.response_path is read only with "
                              f"{self.section}.response = \"file\" (it is "
                              f"\"{self.response}\"): set both, or leave response_path out")


#: A first frame with fewer of its channel readings in the exposable range is
#: named by :class:`SynthBracket` (a test pattern of full colours has about 3 %).
_FEW_MIDTONES = 0.1


class SynthBracket(Processor[SynthBracketConfig]):
    """Turn a clip into an alternating-exposure clip with a known response.

    Frame ``i`` is re-exposed with ``exposures[(i + offset) % N]`` and sets
    ``meta["exposure"]`` to it, so :class:`HDRBracket` (or a test) can merge
    it back. uint16 frames are reduced to 8 bits first.

    An exposure whose frame comes out at least half white (or half black) is
    named once, through ``on_event`` and in ``notes``: a bright clip's EV +2
    frames were wholly white, and the HDR run then found no bracket in the
    clip and passed it through (trial 74).
    """

    name: ClassVar[str] = "synth_bracket"
    Config: ClassVar[type[Section]] = SynthBracketConfig

    def __init__(self, config: SynthBracketConfig | None = None, **params: object) -> None:
        super().__init__(config, **params)
        c = self.config
        self.pattern = _pattern(c.exposures, c.unit, f"{c.section}.exposures")
        resp = _response(c.response, c.response_path, c.section)
        self.response = resp if isinstance(resp, np.ndarray) else srgb_response()
        self.tables = bracket_tables(self.pattern, response=self.response, expand=c.expand)
        self._i = 0
        self.notes: list[str] = []
        self.on_event: Callable[[str], object] | None = None
        self._named: set[int] = set()  # exposures already named as clipped or black

    def __call__(self, frame: Frame) -> Frame:
        img = frame.image
        if img.dtype == np.uint16:
            img = (img >> 8).astype(np.uint8)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise HDRInputError(f"synth_bracket needs H×W×3 uint8 frames, got {img.shape} "
                                f"{img.dtype}")
        k = (self._i + self.config.offset) % len(self.pattern)
        self._i += 1
        t = self.tables[k]
        out = np.empty_like(img)
        for c in range(3):
            out[..., c] = t[img[..., c], c]
        if self._i == 1:
            self._check_source(img)
        if k not in self._named:
            self._check_range(out, k)
        return frame.replace(out, exposure=self.pattern[k], bracket_index=k)

    def _check_source(self, img: np.ndarray) -> None:
        """Name a first frame whose readings are nearly all pure black or white, once.

        No exposure moves a reading of 0 or 255: a test pattern of full colours
        (lavfi's ``testsrc``) made "brackets" whose frames differed in a
        gradient strip alone (mean 128 and 132 at EV 0 and +4) with no word
        (trial 105 F11); the HDR run then found no bracket. Under
        :data:`_FEW_MIDTONES` of its channel readings between
        :data:`~vidclear.hdr.bracket.LOW` and :data:`~vidclear.hdr.bracket.HIGH`
        is such a frame.
        """
        sample = img[::4, ::4]
        mid = float(((sample >= LOW) & (sample <= HIGH)).mean())
        if mid >= _FEW_MIDTONES:
            return
        text = (f"synth_bracket: {100 * (1 - mid):.0f} % of the first frame's readings are pure "
                "black or white (full colours, as a test pattern's): no exposure changes them, "
                "so the bracket's frames hardly differ and an HDR run finds little to merge")
        self.notes.append(text)
        if self.on_event is not None:
            self.on_event(text)

    def _check_range(self, out: np.ndarray, k: int) -> None:
        """Name exposure ``k`` once if ``out`` (one of its frames) is half white or half black.

        White and black as the merge and the detector read them: every
        channel past :data:`~vidclear.hdr.bracket.HIGH` or under
        :data:`~vidclear.hdr.bracket.LOW` (exact 255 and 0 missed a frame 55 %
        at 5 or below, trial 87).
        """
        sample = out[::4, ::4]
        white = float(np.all(sample > HIGH, axis=2).mean())
        black = float(np.all(sample < LOW, axis=2).mean())
        if max(white, black) < 0.5:
            return
        self._named.add(k)
        ev = math.log2(self.pattern[k])
        what, way = ("white", "lower") if white >= black else ("black", "higher")
        text = (f"synth_bracket: the EV {ev:+.2g} frames are {100 * max(white, black):.0f} % "
                f"{what}: the clip is too {'bright' if what == 'white' else 'dark'} for this "
                f"bracket and an HDR merge learns nothing from them; {way} exposures keep them "
                "in range")
        self.notes.append(text)
        if self.on_event is not None:
            self.on_event(text)

    def reset(self) -> None:
        self._i = 0
