"""Live runs: a camera, stream or paced graph, processed and previewed as it happens.

>>> job = LiveJob("lavfi:testsrc2=size=640x360:rate=30", preview="http")  # doctest: +SKIP
>>> job.run()                                                             # doctest: +SKIP

A live run uses the pipeline's ``"live"`` flow: every channel keeps only the
newest frames and drops (and counts) the oldest, so the picture never falls
behind the input. With ``pipeline.queue_size = 1`` the processor always
takes the newest captured frame, and the added latency is at most one frame
interval (the wait for the next capture) plus the processing and output
time.
"""

from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from vidclear.config.loader import Config
from vidclear.config.sections import PreviewConfig
from vidclear.core.processor import Processor
from vidclear.core.sink import Sink
from vidclear.core.source import Source
from vidclear.errors import ConfigError, OutputError
from vidclear.io.sinks.encoder import EncoderSink
from vidclear.io.sinks.http_preview import (
    HttpPreviewSink,
    PreviewServer,
    check_listen,
    parse_listen,
)
from vidclear.io.sinks.paths import check_output_path, write_file
from vidclear.io.sinks.stream import classify_output
from vidclear.io.sinks.views import VIEWS
from vidclear.io.sources import classify_input
from vidclear.io.sources.network import remote_file
from vidclear.pipeline.stats import PipelineStats
from vidclear.session import Session, build_processors

__all__ = ["LiveControls", "LiveJob", "LiveStatus", "set_strength"]

PREVIEWS = ("window", "http")


def set_strength(processors: Sequence[Processor[Any]], value: float) -> float | None:
    """Set ``strength`` on every processor whose config has one (clipped to 0..1).

    Goes through :meth:`Processor.configure`, so the next frame uses the new
    value. Returns the value set, or None when no processor has a strength.
    """
    value = float(np.clip(value, 0.0, 1.0))
    done = None
    for proc in processors:
        if hasattr(proc.config, "strength"):
            proc.configure(strength=value)
            done = value
    return done


class LiveControls:
    """What a preview's keys change: view, pause, strength, snapshots, quit.

    Parameters
    ----------
    processors : sequence of Processor
        The chain; ``strength`` is changed on those that have one.
    config : PreviewConfig, optional
        First view, strength step and snapshot folder.

    Raises
    ------
    ConfigError
        ``preview.snapshot_dir`` is set but no folder this user can write to.
    """

    def __init__(self, processors: Sequence[Processor[Any]], *,
                 config: PreviewConfig | None = None) -> None:
        self.processors = list(processors)
        self.config = config or PreviewConfig()
        folder = self.config.snapshot_dir
        if folder and not (os.path.isdir(folder) and os.access(folder, os.W_OK | os.X_OK)):
            # checked at the start: a missing folder was found at the first
            # snapshot, mid-run (trial 152 F4)
            raise ConfigError(f"preview.snapshot_dir = {folder!r} is not a folder this user "
                              "can write to (create it first)")
        self.view = self.config.view
        self.paused = False
        self.quit_requested = False
        self.session: Session | None = None
        self.snapshots: list[Path] = []
        self.status_line: Callable[[], str] = lambda: ""
        self._last_view = "split" if self.view == "after" else self.view

    @property
    def strength(self) -> float | None:
        for proc in self.processors:
            value = getattr(getattr(proc, "config", None), "strength", None)
            if value is not None:
                return float(value)
        return None

    def adjust_strength(self, steps: int) -> float | None:
        """Move strength by ``steps`` × ``preview.strength_step``."""
        current = self.strength
        if current is None:
            return None
        return set_strength(self.processors, round(current + steps * self.config.strength_step, 4))

    def toggle_split(self) -> str:
        """Switch between the result alone and the last before/after view."""
        if self.view == "after":
            self.view = self._last_view
        else:
            self._last_view, self.view = self.view, "after"
        return self.view

    def cycle_view(self) -> str:
        self.view = VIEWS[(VIEWS.index(self.view) + 1) % len(VIEWS)]
        return self.view

    def snapshot(self, rgb: np.ndarray) -> Path:
        """Save an RGB uint8 image as a numbered PNG in the snapshot folder."""
        folder = Path(self.config.snapshot_dir or ".")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = folder / f"vidclear-snapshot-{stamp}-{len(self.snapshots) + 1:03d}.png"
        ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        if not ok:
            raise OutputError(f"cannot write snapshot {path}: OpenCV cannot encode it")
        # whole or not at all, a full disk said as such (not by OpenCV's log)
        write_file(path, data.tobytes(), label="snapshot")
        self.snapshots.append(path)
        return path

    def quit(self) -> None:
        """Stop the run gracefully (the recording is finalized)."""
        self.quit_requested = True
        if self.session is not None:
            self.session.stop(interrupted=False)

    def __repr__(self) -> str:
        return (f"LiveControls(view={self.view!r}, paused={self.paused}, "
                f"strength={self.strength}, snapshots={len(self.snapshots)})")


class LiveStatus:
    """Live stats over the last second or so, for the previews and the page.

    ``fps_in``/``fps_out`` and ``process_ms`` are measured over a sliding
    window of about ``window`` seconds; latency is over the last frames the
    sink received.
    """

    def __init__(self, session: Session, controls: LiveControls | None = None, *,
                 window: float = 1.0) -> None:
        self.session = session
        self.pipeline = session.pipeline
        self.source = session.source
        self.sink = session.tee
        self.controls = controls
        self.window = window
        self._samples: collections.deque[tuple[float, int, int, int, float]] = \
            collections.deque(maxlen=256)
        self._lock = threading.Lock()

    def _sample(self) -> tuple[float, int, int, int, float]:
        st = self.pipeline.stats
        proc = st.stage("process")
        return (time.monotonic(), st.stage("decode").frames, st.frames_out,
                proc.frames, proc.busy_s)

    def snapshot(self) -> dict[str, Any]:
        """The live figures; numbers from the first call on.

        Rates come from the last ``window`` seconds; until a window has
        passed (the first answers of ``/stats.json``) they are averaged over
        the run so far. ``process_ms`` and latency are None only before the
        first frame has been processed.
        """
        now = self._sample()
        with self._lock:
            self._samples.append(now)
            while len(self._samples) > 2 and now[0] - self._samples[1][0] >= self.window:
                self._samples.popleft()
            old = self._samples[0]
        dt = now[0] - old[0]
        if dt > 0.2:
            fps_in = (now[1] - old[1]) / dt
            fps_out = (now[2] - old[2]) / dt
        else:  # too early for a window: the run so far
            wall = self.pipeline.stats.wall_s
            fps_in = now[1] / wall if wall > 0 else 0.0
            fps_out = now[2] / wall if wall > 0 else 0.0
        frames = now[3] - old[3]
        process_ms: float | None = 1000 * (now[4] - old[4]) / frames if frames else None
        if process_ms is None and now[3]:
            process_ms = 1000 * now[4] / now[3]
        st = self.pipeline.stats
        latency = self.sink.recent_latency_ms()
        data: dict[str, Any] = {
            "mode": st.mode,
            "wall_s": round(st.wall_s, 2),
            "fps_in": round(fps_in, 2),
            "fps_out": round(fps_out, 2),
            "process_ms": None if process_ms is None else round(process_ms, 2),
            "latency_ms": latency.get("p50"),
            "latency_p95_ms": latency.get("p95"),
            "frames_in": now[1],
            "frames_out": now[2],
            "dropped": st.dropped,
            "drops": {name: s.drops for name, s in st.stages.items()},
            "input": self.source.status(),
        }
        if self.controls is not None:
            data.update(view=self.controls.view, paused=self.controls.paused,
                        strength=self.controls.strength)
        return data

    def line(self) -> str:
        """One line for the window's overlay."""
        s = self.snapshot()
        parts = [f"fps {s['fps_out'] or 0:.1f}/{s['fps_in'] or 0:.1f}"]
        if s["latency_ms"] is not None:
            parts.append(f"latency {s['latency_ms']:.0f} ms")
        if s["process_ms"] is not None:
            parts.append(f"proc {s['process_ms']:.0f} ms")
        parts.append(f"drops {s['dropped']}")
        if s.get("strength") is not None:
            parts.append(f"strength {s['strength']:.2f}")
        if s["input"].get("state") == "down":
            parts.append(f"INPUT DOWN {s['input'].get('down_for_s', 0):.0f} s")
        return "  ".join(parts)


class LiveJob:
    """Live controls and status on a :class:`~vidclear.session.Session`.

    Builds the previews (an OpenCV window or a browser page), the controls
    their keys drive and the live status they show, and assembles them with
    the source, the processors and an optional recording into one session.

    Parameters
    ----------
    input : str
        ``camera:N``, ``/dev/videoN``, a stream URL, ``lavfi:<graph>`` or a file.
    output : path-like, optional
        Record here (a crash-safe container in live mode). Optional when
        previewing.
    config : Config, optional
        ``pipeline.mode = "auto"`` means live here.
    preview : {"window", "http"}, optional
        Show the run in an OpenCV window or serve it to browsers.
    listen : str
        ``HOST:PORT`` for ``preview="http"``; 127.0.0.1:8080 by default.
    token : str, optional
        Access token for the browser preview; required for a non-loopback
        ``listen`` ("auto" makes one).
    on_event : callable, optional
        Receives one-line reports (stream lost / back, preview address).
    processors : sequence of Processor, optional
        Use these instead of building ``config.pipeline.processors``.

    Raises
    ------
    ConfigError
        Neither output nor preview, a bad preview name or listen address,
        or a non-loopback address without a token.
    InputError, OutputError
        The input cannot be opened, the output or the port is unusable.
    """

    def __init__(
        self,
        input: str,
        output: str | os.PathLike[str] | None = None,
        *,
        config: Config | None = None,
        overwrite: bool = False,
        preview: str | None = None,
        listen: str = "127.0.0.1:8080",
        token: str | None = None,
        on_event: Callable[[str], Any] | None = None,
        processors: Sequence[Processor[Any]] | None = None,
    ) -> None:
        self.config = cfg = config or Config()
        if preview is not None and preview not in PREVIEWS:
            raise ConfigError(f"--preview {preview!r} is not allowed: use window or http")
        if output is None and preview is None:
            raise ConfigError("a live run needs -o OUTPUT, --preview window|http, or both")
        host, port = parse_listen(listen)
        self.token = check_listen(host, token) if preview == "http" else None
        if preview == "window":
            from vidclear.io.sinks.window import gui_problem

            problem = gui_problem()
            if problem:
                raise OutputError(f"--preview window: {problem}")
        if output is not None and not (isinstance(output, str)
                                       and classify_output(output) != "file"):
            # a URL or stdout is no file to check (`-o udp://...` was refused as
            # "output folder does not exist: .../udp:", trial 78 F4)
            check_output_path(Path(output), inputs=[input], overwrite=overwrite)
        procs = list(processors) if processors is not None else build_processors(cfg)
        self.controls = LiveControls(procs, config=cfg.preview)
        self.server: PreviewServer | None = None
        previews: list[Sink] = []

        def make_previews(_source: Source) -> list[Sink]:
            # Made once the input is open, so the page is not served before there is a picture.
            if preview == "http":
                self.server = PreviewServer(host, port, token=self.token, config=cfg.preview,
                                            stats=self._stats)
                previews.append(HttpPreviewSink(self.server))
            elif preview == "window":
                from vidclear.io.sinks.window import WindowSink

                previews.append(WindowSink(self.controls, max_width=cfg.preview.max_width))
            return previews

        def close_server() -> None:
            if self.server is not None:
                self.server.close()

        live = cfg.pipeline.mode != "file"
        pace = None
        kind = classify_input(str(input))
        if (cfg.pipeline.mode == "auto" and output is not None
                and (kind in ("file", "pipe", "lavfi")
                     or (kind == "url" and remote_file(str(input), cfg.input)))):
            # A file (or a pipe, or a lavfi graph) previewed while recorded: played at
            # its own rate, but every frame goes into the recording. Run live, a
            # dehaze slower than the frame rate dropped 39 of 90 frames from it
            # (trial 38; a pipe and a graph, trial 39; a file on a server, trial 54).
            # Cameras and streams run live.
            live, pace = False, cfg.input.realtime != "off"
        try:
            self.session = Session.open(
                input, output, config=cfg, overwrite=overwrite, live=live, pace=pace,
                sinks=make_previews, processors=procs, on_event=on_event,
                on_close=[close_server], label=f"{preview} preview")
        except BaseException:
            for sink in previews:
                sink.abort()
            close_server()
            raise
        self.controls.session = self.session
        self.status = LiveStatus(self.session, self.controls)
        self.controls.status_line = self.status.line
        self.session.add_report(self.stats_extra)
        if self.server is not None and on_event is not None:
            remote = self.server.remote_url
            on_event(f"browser preview at {self.server.url}"
                     + (f" (from other machines {remote})" if remote else ""))

    @property
    def recorder(self) -> EncoderSink | None:
        return self.session.recorders[0] if self.session.recorders else None

    def _stats(self) -> dict[str, Any]:
        return self.status.snapshot()

    def run(self, *, on_progress: Callable[[PipelineStats], Any] | None = None,
            signals: bool = False) -> PipelineStats:
        """Run until the input ends, :meth:`stop`, or quit from the window."""
        return self.session.run(on_progress=on_progress, signals=signals)

    def stop(self) -> None:
        self.session.stop()

    def close(self) -> None:
        """Release a job that will not run: its input, outputs and previews
        (:meth:`Session.close <vidclear.session.Session.close>`)."""
        self.session.close()

    def __enter__(self) -> LiveJob:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stats_extra(self) -> dict[str, Any]:
        """Live facts for ``--stats``: input state, reconnects, preview."""
        extra: dict[str, Any] = {"live": {
            "input": self.session.source.status(),
            "recent_latency_ms": self.session.tee.recent_latency_ms(),
            "snapshots": [str(p) for p in self.controls.snapshots],
        }}
        if self.server is not None:
            extra["live"]["preview"] = self.server.status()
        return extra

    def __repr__(self) -> str:
        return f"LiveJob({self.session!r})"
