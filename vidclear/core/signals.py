"""The signals that end a run gracefully, and a terminal that went away.

A run stops reading input and finishes its outputs with the frames so far on
Ctrl-C (SIGINT), ``kill`` (SIGTERM) and the terminal or SSH session closing
(SIGHUP), as FFmpeg's CLI does; a second signal stops at once (a call that
blocks in C, where a signal cannot reach it, runs through :func:`call_until`).
When the
terminal goes, a write to it fails with EIO (from the hangup on, before the
SIGHUP arrives), and the lines a run prints would have failed it before its
files were closed: the CLI writes to the terminal through
:class:`HangupSafeStream`.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any, TextIO, TypeVar

from vidclear import _sigint

__all__ = ["STOP_SIGNALS", "HangupSafeStream", "call_until", "detach_terminal", "guard_terminal",
           "is_hangup", "stop_signals"]

T = TypeVar("T")

#: SIGINT, SIGTERM and, where the platform has it, SIGHUP (SIGHUP killed a
#: run at once and left its partial file, trial 55).
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def call_until(fn: Callable[[], T], stopped: Callable[[], bool], *,
               discard: Callable[[T], Any] | None = None) -> tuple[bool, T | None]:
    """``fn()`` on a helper thread, waited for here until it returns or ``stopped()``.

    A call that blocks in C (FFmpeg opening a stream that sends nothing, the
    Numba compiler) holds a stop or a signal until it returns: Ctrl-C waited
    out ``input.timeout`` or half a minute of compiling (trials 78 and 80).
    Waiting here, in Python, the stop is seen every 50 ms and a signal's
    exception is raised at once. The helper is left to end with the process.

    Returns
    -------
    (done, result)
        ``(True, fn())``, or ``(False, None)`` when ``stopped()`` came first.
        A result that comes after the caller stopped waiting (stopped, or an
        exception such as KeyboardInterrupt) is handed to ``discard``.

    Raises
    ------
    BaseException
        What ``fn`` raised, or what interrupted the wait.
    """
    done = threading.Event()
    lock = threading.Lock()
    box: dict[str, Any] = {}

    def drop() -> None:  # under the lock: a result nobody takes
        if "result" in box and discard is not None:
            discard(box.pop("result"))

    def call() -> None:
        try:
            result = fn()
        except BaseException as exc:  # raised in the waiting thread
            box["error"] = exc
        else:
            with lock:
                box["result"] = result
                if box.get("abandoned"):
                    drop()
        finally:
            done.set()

    threading.Thread(target=call, name="vc-blocking-call", daemon=True).start()
    try:
        while not done.wait(0.05):
            if stopped():
                with lock:
                    box["abandoned"] = True
                return False, None
    except BaseException:
        with lock:
            box["abandoned"] = True
            drop()
        raise
    if "error" in box:
        raise box["error"]
    return True, box["result"]


def is_hangup(signum: int) -> bool:
    """Whether ``signum`` is SIGHUP (the controlling terminal closed)."""
    return signum == getattr(signal, "SIGHUP", None)


@contextlib.contextmanager
def stop_signals(handler: Callable[[int, Any], None]) -> Iterator[None]:
    """``handler`` installed for every signal of :data:`STOP_SIGNALS` while the block runs.

    Only in the main thread (Python delivers signals there; elsewhere the
    block runs with the handlers as they are). A SIGHUP the process was
    started with ignored stays ignored: ``nohup`` ignores it so that a job
    outlives its terminal, and FFmpeg, which leaves SIGHUP alone, keeps
    that (a ``nohup vidclear run`` stopped at the first hangup after 163
    of 900 frames, trial 60). SIGINT and SIGTERM are taken as FFmpeg takes
    them, ignored or not: a non-interactive shell starts its ``&`` jobs
    with SIGINT ignored, and ``kill -INT PID`` then did nothing to a
    running batch (an earlier trial). On leaving, the handlers before are
    restored, except that SIGHUP stays ignored once one arrived: the
    terminal is gone, and the kernel's own SIGHUP (or the shell's, to the
    process group) landing as the run ends killed it after its files were
    done (trials 56 and 57). A SIGINT the command took before any run's
    handlers, which a library call may have swallowed
    (:mod:`vidclear._sigint`), is handed to ``handler`` on entering.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    hung_up = False

    def noting(signum: int, frame: Any) -> None:
        nonlocal hung_up
        hung_up = hung_up or is_hangup(signum)
        handler(signum, frame)

    old = {s: signal.signal(s, noting) for s in STOP_SIGNALS
           if not (is_hangup(s) and signal.getsignal(s) is signal.SIG_IGN)}
    try:
        early = _sigint.pending()  # the command's Ctrl-C a library call swallowed
        if early is not None:
            noting(early, None)
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, signal.SIG_IGN if hung_up and is_hangup(s) else h)


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


# Standard input, output and error that were terminals when vidclear started:
# once the terminal has hung up, isatty() says False (its tcgetattr fails
# with EIO), and the descriptors were left pointing at it (trial 56).
_TERMINALS = frozenset(fd for fd in (0, 1, 2) if _isatty(fd))


def detach_terminal() -> None:
    """Point standard input, output and error that are (or were) terminals at the null device.

    Only terminals: a standard output that is a pipe or a file carries the
    run's data (``-o -``) and is left alone. Safe to call from a signal
    handler; does nothing where there is no null device to open.
    """
    try:
        null = os.open(os.devnull, os.O_RDWR)
    except OSError:
        return
    try:
        for fd in (0, 1, 2):
            try:
                if fd in _TERMINALS or os.isatty(fd):
                    os.dup2(null, fd)
            except OSError:
                continue
    finally:
        os.close(null)


class HangupSafeStream(io.TextIOBase):
    """A text stream to a terminal that outlives the terminal.

    When a terminal or an SSH session closes, the kernel hangs the terminal
    up before the SIGHUP reaches the run, and every write to it fails with
    EIO in between: the progress bar's next update failed the run, which
    then deleted its partial file (trial 56). A write or flush that fails
    with EIO points the terminal's descriptors at the null device
    (:func:`detach_terminal`) and is dropped; other errors are raised.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            detach_terminal()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            if exc.errno != errno.EIO:
                raise
            detach_terminal()

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self._stream.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self._stream.errors


def guard_terminal() -> None:
    """Make ``sys.stdout`` and ``sys.stderr`` :class:`HangupSafeStream` where they are terminals."""
    if 1 in _TERMINALS and not isinstance(sys.stdout, HangupSafeStream):
        sys.stdout = HangupSafeStream(sys.stdout)
    if 2 in _TERMINALS and not isinstance(sys.stderr, HangupSafeStream):
        sys.stderr = HangupSafeStream(sys.stderr)
