"""The `vidclear` command's SIGINT before its run takes signals: raised, and remembered.

From its first moment until a run installs its own handlers
(:func:`vidclear.core.signals.stop_signals`), the command takes SIGINT as
Python's own handler does, by raising KeyboardInterrupt, and also notes
that it came. Raised inside a library call, the KeyboardInterrupt can come
out as something else: PyAV turns it into an FFmpeg "exit requested" error,
which a probe takes for an unreadable stream and goes on; Python 3.11 wraps
one raised while a class is made (a dataclass field) in a RuntimeError.
Such a signal was lost (the run went on to its end with exit 0) or ended in
a traceback (trial 141 F2, F3). :func:`stop_signals` looks here when it
installs a run's handlers and stops the run at once for a signal that came
before; the command's error handling asks :func:`interrupted_by` whether an
error was one.

Only the command does this (:func:`take`); imported from a program of
yours, nothing is changed.
"""

from __future__ import annotations

import signal
from typing import Any

_pending: int | None = None


def _remember(signum: int, frame: Any) -> None:
    global _pending
    _pending = signum
    raise KeyboardInterrupt


def take() -> None:
    """Install the remembering handler for SIGINT (ignored or Python's default before).

    A shell starts a script's ``&`` jobs with SIGINT ignored; the run takes
    it anyway, as FFmpeg does (trial 119 F2). A handler a program installed
    is left alone.
    """
    if signal.getsignal(signal.SIGINT) in (signal.SIG_IGN, signal.default_int_handler):
        signal.signal(signal.SIGINT, _remember)


def done() -> None:
    """The command's work is over: a SIGINT or SIGTERM from now until it exits is ignored.

    Its outputs are finished; a Ctrl-C landing while it said so, or while
    the interpreter shut down (a tenth of a second and more), made the exit
    status 130 under a summary of a whole run, so that a script took a
    whole file for one cut short (trial 142 F10; SIGTERM's 143 likewise,
    trial 147 F7). Only where :func:`take` installed the handler (the
    command); a SIGTERM handler of its own is left alone.
    """
    if signal.getsignal(signal.SIGINT) is _remember:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)


def pending() -> int | None:
    """The signal that came before a run's handlers, once (it is forgotten here)."""
    global _pending
    signum, _pending = _pending, None
    return signum


def interrupted_by(exc: BaseException) -> bool:
    """Whether ``exc`` is, or was caused by, a KeyboardInterrupt, or one came meanwhile."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, KeyboardInterrupt):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return _pending is not None
