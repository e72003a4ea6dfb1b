"""The run report's two pictures, drawn with matplotlib's object API on an Agg canvas."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

__all__ = ["contact_sheet", "rolling_fps", "timeline"]

_DPI = 110


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI)
    return buf.getvalue()


def _when(t: float | None, index: int) -> str:
    return f"{t:.2f} s  (frame {index})" if t is not None else f"frame {index}"


def contact_sheet(thumbs: list[tuple[int, float | None, np.ndarray, np.ndarray]], *,
                  title: str = "", input_label: str = "input") -> bytes:
    """PNG of the input (top row) and the result (bottom row) at each thumbnail's time.

    ``thumbs`` holds ``(frame index, time in the output in s or None, before, after)``
    with RGB uint8 images; ``input_label`` names the top row.
    """
    n = max(1, len(thumbs))
    h, w = thumbs[0][2].shape[:2] if thumbs else (9, 16)
    ah, aw = thumbs[0][3].shape[:2] if thumbs else (9, 16)
    col_w = 2.8
    fig = Figure(figsize=(col_w * n + 0.6, col_w * (h / w + ah / aw) + 0.9),
                 layout="constrained")
    fig.suptitle(f"{title}: before and after along the run" if title else "before and after")
    if not thumbs:
        fig.text(0.5, 0.5, "no frames were written", ha="center", va="center")
        return _png(fig)
    axes = fig.subplots(2, n, squeeze=False)
    for col, (index, t, before, after) in enumerate(thumbs):
        for row, img in enumerate((before, after)):
            ax = axes[row][col]
            ax.imshow(img, interpolation="none")
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0][col].set_title(_when(t, index), fontsize=9)
    axes[0][0].set_ylabel(input_label, fontsize=11 if len(input_label) < 12 else 8)
    axes[1][0].set_ylabel("vidclear", fontsize=11)
    return _png(fig)


def rolling_fps(wall_s: np.ndarray, *, window: float = 1.0) -> np.ndarray:
    """Frames per second at each frame, over the ``window`` seconds before it.

    ``wall_s`` holds increasing arrival times in seconds; the first frame
    (and any frame with no earlier one in its window) gets NaN.
    """
    wall = np.asarray(wall_s, dtype=np.float64)
    start = np.searchsorted(wall, wall - window, side="left")
    idx = np.arange(wall.size)
    span = wall - wall[start]
    with np.errstate(divide="ignore", invalid="ignore"):
        fps = np.where(span > 0, (idx - start) / span, np.nan)
    return fps


def _levels_and_phases(ax_lev: Any, ax_ph: Any, t: np.ndarray,
                       cols: dict[str, np.ndarray], style: dict[str, object]) -> None:
    """Without a dehazer: the mean level in and out, and the HDR exposure phase.

    (Half the figure said "no dehaze processor in this run" for an HDR run,
    trial 63.)
    """
    ax_lev.plot(t, cols["level_in"], color="0.45", label="input", **style)
    ax_lev.plot(t, cols["level_out"], color="tab:purple", label="output", **style)
    ax_lev.set_ylabel("mean level (0–255)")
    ax_lev.set_title("brightness", fontsize=10, loc="left")
    ax_lev.legend(loc="upper right", fontsize=8, ncols=2)
    phase = cols["hdr_phase"]
    if np.isnan(phase).all():
        ax_ph.text(0.5, 0.5, "no dehaze or HDR bracket processor in this run",
                   transform=ax_ph.transAxes, ha="center", va="center", color="0.4")
        return
    ax_ph.step(t, phase, where="mid", color="tab:orange", lw=1.0,
               label="exposure of each input frame in the bracket (0: first)")
    top = int(np.nanmax(phase))
    ax_ph.set_yticks(range(top + 1))
    ax_ph.set_ylim(-0.3, top + 0.6)
    ax_ph.set_ylabel("bracket phase")
    ax_ph.set_title("rolling HDR bracket", fontsize=10, loc="left")
    ax_ph.legend(loc="upper right", fontsize=8)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1, strict=True))


def timeline(cols: dict[str, np.ndarray], *, title: str = "") -> bytes:
    """PNG of airlight, strength and haze density, fps and latency against the time in the output.

    ``cols`` are the report's per-frame columns (``time_s``, ``wall_s``,
    ``latency_ms``, ``airlight_r/g/b``, ``strength``, ``density``,
    ``scene_cut``, ``jit_warmup``): frames that waited for the JIT are shaded
    and kept off the latency axis's scale.
    """
    fig = Figure(figsize=(11, 9.5), layout="constrained")
    fig.suptitle(f"{title}: over time" if title else "over time")
    axes = fig.subplots(4, 1, sharex=True)
    n = cols["wall_s"].size
    if n == 0:
        fig.text(0.5, 0.5, "no frames were written", ha="center", va="center")
        return _png(fig)
    t = cols["time_s"]
    xlabel = "time in the output (s)"
    if np.isnan(t).all():
        t, xlabel = cols["wall_s"], "wall time since the first frame (s)"
    wall, lat = cols["wall_s"], cols["latency_ms"]
    warm = cols["jit_warmup"] > 0
    # a short run is a few points: lines alone drew nothing for one frame (trial 37)
    style: dict[str, object] = {"lw": 1.2, **({"marker": "o", "ms": 4} if n < 20 else {})}

    ax_air, ax_str, ax_fps, ax_lat = axes
    has_dehaze = not np.isnan(cols["strength"]).all()
    if not has_dehaze:
        _levels_and_phases(ax_air, ax_str, t, cols, style)
    else:
        ax_air.set_ylabel("airlight (0–1)")
        ax_str.set_ylabel("0–1")
        for key, colour, name in (("airlight_r", "tab:red", "R"), ("airlight_g", "tab:green", "G"),
                                  ("airlight_b", "tab:blue", "B")):
            ax_air.plot(t, cols[key], color=colour, label=f"airlight {name}", **style)
        ax_str.plot(t, cols["strength"], color="tab:purple", label="strength", **style)
        ax_str.plot(t, cols["density"], color="tab:orange", label="haze density", **style)
        ax_str.set_ylim(-0.03, 1.08)
        air = np.concatenate([cols[k] for k in ("airlight_r", "airlight_g", "airlight_b")])
        lo, hi = float(np.nanmin(air)), float(np.nanmax(air))
        if hi - lo < 0.1:  # don't blow a drift of a few thousandths up to the full height
            mid = min(max((lo + hi) / 2, 0.05), 0.95)
            ax_air.set_ylim(mid - 0.05, mid + 0.05)
        ax_air.set_title("airlight and dehazing", fontsize=10, loc="left")
        cuts = t[1:][cols["scene_cut"][1:] > 0]  # the first frame always starts a scene
        for ax in (ax_air, ax_str):
            for i, x in enumerate(cuts):
                ax.axvline(x, color="0.3", ls="--", lw=0.8,
                           label="scene cut" if i == 0 and ax is ax_str else None)
            ax.legend(loc="upper right", fontsize=8, ncols=4)

    fps = rolling_fps(wall)
    ax_fps.plot(t, fps, color="tab:blue", label="frames out per second (1 s window)", **style)
    ax_fps.set_ylabel("fps")
    ax_fps.set_ylim(bottom=0)
    ax_fps.legend(loc="lower right", fontsize=8)

    if np.isnan(lat).all():
        ax_lat.text(0.5, 0.5, "no capture times: latency unknown", transform=ax_lat.transAxes,
                    ha="center", va="center", color="0.4")
    else:
        steady = lat[~warm & ~np.isnan(lat)]
        ax_lat.plot(t, lat, color="tab:red", label="end-to-end latency", **style)
        if steady.size:
            top = float(steady.max()) * 1.25 + 1
            ax_lat.set_ylim(0, top)
            off = lat[warm & (lat > top)]
            if off.size:
                ax_lat.annotate(f"warm-up frames up to {off.max() / 1000:.1f} s (off scale)",
                                xy=(0.01, 0.9), xycoords="axes fraction", fontsize=8,
                                color="0.25", va="top")
        ax_lat.legend(loc="upper right", fontsize=8)
    ax_lat.set_ylabel("latency (ms)")
    ax_lat.set_xlabel(xlabel)

    for k, (first, last) in enumerate(_runs(warm)):
        x0, x1 = t[first], t[min(last + 1, n - 1)]
        for ax in axes:
            ax.axvspan(x0, max(x1, x0 + 1e-3), color="0.85", zorder=0,
                       label="waited for the JIT" if k == 0 and ax is ax_fps else None)
    if warm.any():
        ax_fps.legend(loc="lower right", fontsize=8)
    for ax in axes:
        ax.grid(True, color="0.92")
    return _png(fig)
