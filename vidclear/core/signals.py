"""The signals that end a run gracefully, and a terminal that went away.

A run stops reading input and finishes its outputs with the frames so far on
Ctrl-C (SIGINT), ``kill`` (SIGTERM) and the terminal or SSH session closing
(SIGHUP), as FFmpeg's CLI does; a second signal stops at once. After SIGHUP
the terminal is gone: a write to it fails with EIO, and the lines a run
prints as it finishes would have failed it before its files were closed.
"""

from __future__ import annotations

import os
import signal

__all__ = ["STOP_SIGNALS", "detach_terminal", "is_hangup"]

#: SIGINT, SIGTERM and, where the platform has it, SIGHUP (SIGHUP killed a
#: run at once and left its partial file, trial 55).
STOP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def is_hangup(signum: int) -> bool:
    """Whether ``signum`` is SIGHUP (the controlling terminal closed)."""
    return signum == getattr(signal, "SIGHUP", None)


def detach_terminal() -> None:
    """Point standard input, output and error that are terminals at the null device.

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
                if os.isatty(fd):
                    os.dup2(null, fd)
            except OSError:
                continue
    finally:
        os.close(null)
