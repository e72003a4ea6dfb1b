"""Child processes that outlive the test that started them.

A test that starts a child with :class:`subprocess.Popen` and fails before it
waits for it (``communicate(timeout=...)`` raising ``TimeoutExpired`` under a
loaded machine, an assertion between start and wait) leaves the child
running: an endless ``vidclear run lavfi:...`` then takes a core for the rest
of the suite and makes later tests time out in turn. ``tests/conftest.py``
runs every test inside :func:`children_killed`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def children_killed(grace: float = 5.0) -> Iterator[list[subprocess.Popen]]:
    """Kill, on exit, every child started through ``subprocess.Popen`` inside.

    ``Popen.__init__`` is wrapped for the duration, so children started by
    ``subprocess.run`` and ``check_output`` are seen too (those wait for
    their own). On exit each one still running is sent SIGKILL and reaped
    (at most ``grace`` seconds each); children that already ended are left
    as they are, their return codes untouched. Yields the list of children
    started so far.
    """
    started: list[subprocess.Popen] = []
    init = subprocess.Popen.__init__

    def tracked(self: subprocess.Popen, *args, **kwargs) -> None:
        init(self, *args, **kwargs)
        started.append(self)

    subprocess.Popen.__init__ = tracked  # type: ignore[method-assign]
    try:
        yield started
    finally:
        subprocess.Popen.__init__ = init  # type: ignore[method-assign]
        for proc in started:
            if proc.poll() is None:
                proc.kill()
                try:
                    proc.wait(grace)
                except subprocess.TimeoutExpired:
                    pass
