"""Preview in an OpenCV HighGUI window, with keys to steer the live run.

Keys (also shown with ``h``):

==========  ==============================================
``b``       toggle the before | after split
``v``       cycle the views: after, split, side by side, before
space, p    pause / resume the picture (processing goes on)
``+`` ``-`` strength up / down (also ``]`` ``[``)
``s``       save a snapshot PNG of what the window shows
``q``, Esc  quit (the recording is finalized)
``h``       show / hide this help
==========  ==============================================

The window lives in a process of its own (``_window_process.py``): Qt ends
the process it runs in when the X display goes away, which in the
recording's process lost the recording (trial 152 F3). The sink's thread
composes each picture here and sends the newest one whenever the window
asks for it, so a slow screen never slows the pipeline down; keys come
back as lines.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from vidclear.core.frame import Frame
from vidclear.errors import OutputError
from vidclear.io.sinks._window_process import HEADER
from vidclear.io.sinks.views import compose_view
from vidclear.kernels.draw import draw_label

__all__ = ["KEYS", "WindowSink", "gui_problem"]

KEYS = {
    ord("q"): "quit", 27: "quit",
    ord("b"): "split", ord("v"): "view",
    ord(" "): "pause", ord("p"): "pause",
    ord("+"): "stronger", ord("="): "stronger", ord("]"): "stronger",
    ord("-"): "weaker", ord("_"): "weaker", ord("["): "weaker",
    ord("s"): "snapshot", ord("h"): "help",
}
_HELP = ("b split   v view   space pause   +/- strength   s snapshot   q quit",)


def gui_problem() -> str | None:
    """Why a HighGUI window cannot open here, or None when it can."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return "no display to open a window on (DISPLAY is not set); use --preview http"
    # Read the build information rather than asking HighGUI: with the Qt
    # backend, the first HighGUI call creates the application object on the
    # calling thread, and every later call must come from that thread.
    gui = ""
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            gui = line.split(":", 1)[1].strip()
            break
    if not gui or gui.upper() == "NONE":
        return ("this OpenCV build has no GUI (a -headless wheel); install "
                "opencv-contrib-python, or use --preview http")
    if sys.platform.startswith("linux"):
        return _display_problem()
    return None


_PROBE = ("import cv2\n"
          "cv2.namedWindow('vidclear display check', cv2.WINDOW_AUTOSIZE)\n"
          "cv2.destroyAllWindows()\n")


#: the displays (as _display_names() names them) that took a window in this process
_DISPLAYS_OK: set[str] = set()


def _display_problem() -> str | None:
    """Why the display named by ``DISPLAY`` / ``WAYLAND_DISPLAY`` cannot take a window, or None.

    Asked of a child process: where the display is stale or unreachable,
    or only Wayland is set and OpenCV's Qt has no Wayland plugin, Qt
    aborts the whole process at the first window (exit 134, the recording
    lost, no vidclear line: trial 127 F2), which nothing in this process
    can catch. A display that took a window is not asked again in this
    process (a live run checks before its input opens, and the window once
    it has: two probes of half a second each); the window's own process
    says so if it has gone since.
    """
    if _display_names() in _DISPLAYS_OK:
        return None
    try:
        res = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                             timeout=20, check=False)
    except subprocess.TimeoutExpired:
        # the probe's own command said nothing to a user (trial 156 F3)
        return (f"the display ({_display_names()}) did not answer within 20 s; use "
                "--preview http")
    except (OSError, subprocess.SubprocessError) as exc:
        return f"could not check the display ({exc}); use --preview http"
    if res.returncode == 0:
        _DISPLAYS_OK.add(_display_names())
        return None
    where = _display_names()
    said = [ln.strip() for ln in res.stderr.splitlines() if ln.strip()]
    why = next((ln for ln in said if "could not" in ln.lower() or "cannot" in ln.lower()),
               said[-1] if said else f"exit status {res.returncode}")
    return f"the display ({where}) cannot open a window: {why}; use --preview http"


def _display_names() -> str:
    return ", ".join(f"{k}={os.environ[k]}" for k in ("DISPLAY", "WAYLAND_DISPLAY")
                     if os.environ.get(k))


def _hud(image: np.ndarray, lines: list[str]) -> None:
    """Draw text lines at the bottom-left of a BGR uint8 image, in place."""
    draw_label(image, "\n".join(lines), corner="bottom-left", scale=max(0.4, image.shape[0] / 900))


_CHILD = Path(__file__).with_name("_window_process.py")


class WindowSink:
    """Show processed frames in a window; keys act on ``controls``.

    The window is shown by a child process; if it ends on its own (the X
    display went away, the window manager killed it) the run stops as on
    ``q`` with a warning, and the recording is finalized.

    Parameters
    ----------
    controls : LiveControls
        Holds the view, pause state and strength, saves snapshots and stops
        the run (see :class:`vidclear.live.LiveControls`).
    title : str
        Window title.
    max_width : int
        Shrink wider images to this width; 0 = full size.

    Raises
    ------
    OutputError
        No display, an OpenCV build without GUI, or the window did not open.
    """

    def __init__(self, controls: Any, *, title: str = "vidclear", max_width: int = 1280) -> None:
        problem = gui_problem()
        if problem:
            raise OutputError(f"--preview window: {problem}")
        self.controls = controls
        self.title = title
        self.max_width = max_width
        self.frames_written = 0
        self.frames_shown = 0
        self.show_help = False
        self.last_action: str | None = None
        self.shown: np.ndarray | None = None
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._seq = 0
        self._want = False  # the window asked for the next picture
        self._closing = threading.Event()
        self._ready = threading.Event()
        self._ended = threading.Event()  # the window's process said its last line
        self._said: collections.deque[str] = collections.deque(maxlen=20)
        try:
            # its own session: Ctrl-C at the terminal is the recording's to handle
            self._proc = subprocess.Popen(
                [sys.executable, str(_CHILD), title], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise OutputError(f"--preview window: could not start the window: {exc}") from exc
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._pipe: IO[bytes] = self._proc.stdin
        self._events = threading.Thread(target=self._listen, args=(self._proc.stdout,),
                                        name="vc-window-keys", daemon=True)
        self._errors = threading.Thread(target=self._drain, name="vc-window-log", daemon=True)
        self._events.start()
        self._errors.start()
        deadline = time.monotonic() + 30.0
        while not (self._ready.wait(0.05) or self._ended.is_set()
                   or time.monotonic() > deadline):
            pass
        if not self._ready.is_set():
            self._stop_process()  # its log read to the end: the reason below
            raise OutputError(f"--preview window: the window did not open: {self._reason()}")
        self._thread = threading.Thread(target=self._loop, name="vc-window", daemon=True)
        self._thread.start()

    # -- pipeline side -----------------------------------------------------
    def write(self, frame: Frame) -> None:
        with self._cond:
            self._frame = frame
            self._seq += 1
            self._cond.notify_all()
        self.frames_written += 1

    def close(self, *, complete: bool = True) -> None:
        self._closing.set()
        with self._cond:
            self._cond.notify_all()
        if threading.current_thread() is not self._thread:
            self._thread.join(1.0)
            if self._thread.is_alive():  # held in a write: the window stopped reading
                self._proc.kill()  # its pipe breaks, the write returns
                self._thread.join(2.0)
        self._stop_process()

    def abort(self) -> None:
        self.close(complete=False)

    # -- keys ----------------------------------------------------------------
    def handle_key(self, key: int) -> str | None:
        """Apply a key code from ``cv2.waitKeyEx``; returns the action taken."""
        action = KEYS.get(key)
        if action is None and 0 <= key < 0x80 and chr(key).isalpha():
            action = KEYS.get(ord(chr(key).lower()))
        c = self.controls
        if action == "quit":
            c.quit()
        elif action == "split":
            c.toggle_split()
        elif action == "view":
            c.cycle_view()
        elif action == "pause":
            c.paused = not c.paused
        elif action == "stronger":
            c.adjust_strength(+1)
        elif action == "weaker":
            c.adjust_strength(-1)
        elif action == "snapshot":
            if self.shown is not None:
                try:
                    c.snapshot(cv2.cvtColor(self.shown, cv2.COLOR_BGR2RGB))
                except OutputError as exc:
                    # said, and the window goes on: the error ended the window's
                    # thread, and no key, q neither, worked after it (trial 152 F4)
                    warnings.warn(str(exc), RuntimeWarning, stacklevel=1)
        elif action == "help":
            self.show_help = not self.show_help
        self.last_action = action or self.last_action
        return action

    # -- the window's process ------------------------------------------------
    def _listen(self, stream: IO[bytes]) -> None:
        """Read the window's lines: ready, want, key N, closed."""
        closed = False
        try:
            for raw in stream:
                line = raw.decode("ascii", "replace").strip()
                if line == "ready":
                    self._ready.set()
                elif line == "want":
                    with self._cond:
                        self._want = True
                        self._cond.notify_all()
                elif line.startswith("key "):
                    self.handle_key(int(line[4:]))
                    with self._cond:  # the picture shows the new state
                        self._cond.notify_all()
                elif line == "closed":
                    closed = True
                    self.controls.quit()  # the user closed the window
        except (OSError, ValueError):
            pass
        self._ended.set()
        with self._cond:
            self._cond.notify_all()
        if self._ready.is_set() and not closed and not self._closing.is_set():
            self._errors.join(2.0)
            warnings.warn(f"the preview window went away ({self._reason()}); the run stops "
                          "as on q and its outputs are finished", RuntimeWarning, stacklevel=1)
            self.controls.quit()

    def _drain(self) -> None:
        assert self._proc.stderr is not None
        for raw in self._proc.stderr:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self._said.append(line)

    def _reason(self) -> str:
        """The window process's last words, or its exit status."""
        said = list(self._said)
        pick = next((ln for ln in reversed(said) if "could not" in ln.lower()
                     or "cannot" in ln.lower() or "broke" in ln.lower()),
                    said[-1] if said else None)
        if pick:
            return pick
        code = self._proc.poll()
        return "its process ended" if code is None else f"its process ended, status {code}"

    def _stop_process(self) -> None:
        """Ask the window's process to end; kill it after 3 s.

        Asked from a thread of its own: a process that stopped reading (frozen,
        SIGSTOP) left a picture half-sent, and the STOP written after it
        blocked the run's end for good, Ctrl-C too (trial 156 F1). Killed, its
        pipe breaks and every write blocked on it returns.
        """
        def ask() -> None:
            try:
                self._pipe.write(HEADER.pack(b"STOP", 0, 0))
                self._pipe.close()
            except (OSError, ValueError):
                pass

        threading.Thread(target=ask, name="vc-window-stop", daemon=True).start()
        try:
            self._proc.wait(3.0)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        for thread, stream in ((self._events, self._proc.stdout),
                               (self._errors, self._proc.stderr)):
            if thread is not threading.current_thread():
                thread.join(2.0)  # read to its end: the process is gone
            if stream is not None and not thread.is_alive():
                stream.close()

    # -- the sink's thread -----------------------------------------------------
    def _render(self, frame: Frame) -> np.ndarray:
        rgb = compose_view(frame, self.controls.view, max_width=self.max_width)
        bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
        lines = [self.controls.status_line()]
        if self.controls.paused:
            lines.append("PAUSED")
        if self.show_help:
            lines.extend(_HELP)
        self.shown = bgr.copy()  # snapshots are taken without the text
        _hud(bgr, lines)
        return bgr

    def _state(self) -> tuple[Any, ...]:
        c = self.controls
        return (c.paused, c.view, self.show_help, c.strength)

    def _loop(self) -> None:
        seen = 0
        drawn: tuple[Any, ...] | None = None  # what the picture in the window shows
        shown_frame: Frame | None = None
        while True:
            with self._cond:
                while not (self._closing.is_set() or self._ended.is_set()):
                    new = self._seq != seen and self._frame is not None
                    if self._want and ((new and not self.controls.paused)
                                       or (shown_frame is not None
                                           and self._state() != drawn)):
                        break
                    self._cond.wait(0.1)
                else:
                    return
                frame, seq = self._frame, self._seq
                self._want = False
            state = self._state()
            if frame is not None and seq != seen and not self.controls.paused:
                seen, shown_frame, drawn = seq, frame, state
                picture = self._render(frame)
                self.frames_shown += 1
            else:
                # paused: the frame on screen drawn again with PAUSED and the
                # view chosen (nothing showed until the picture went on,
                # trial 152 F5)
                assert shown_frame is not None
                drawn = state
                picture = self._render(shown_frame)
            height, width = picture.shape[:2]
            try:
                self._pipe.write(HEADER.pack(b"IMG ", height, width))
                self._pipe.write(np.ascontiguousarray(picture).data)
                self._pipe.flush()
            except (OSError, ValueError):
                return  # the window's process ended: _listen says so

    def __repr__(self) -> str:
        return f"WindowSink({self.title!r}, shown={self.frames_shown})"
