"""A bounded hand-off between pipeline threads, with two flow policies."""

from __future__ import annotations

import collections
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

from vidclear.errors import ConfigError

__all__ = ["Cancelled", "Channel"]

T = TypeVar("T")


class Cancelled(Exception):
    """The pipeline was aborted; the thread that sees this should return."""


class Channel(Generic[T]):
    """A bounded FIFO between two threads.

    With ``drop_oldest=False`` (file mode) a full channel blocks the producer:
    backpressure, no frame lost. With ``drop_oldest=True`` (live mode) a full
    channel discards its oldest item so latency stays bounded; every discard
    is counted in :attr:`drops`.

    The producer ends the stream with :meth:`close`; consumers iterate until
    the channel is closed and empty. :meth:`cancel` wakes everyone and makes
    every later call raise :class:`Cancelled`.
    """

    def __init__(self, maxsize: int, *, drop_oldest: bool = False) -> None:
        if maxsize < 1:
            raise ConfigError(f"a channel holds at least 1 frame, got maxsize={maxsize}")
        self.maxsize = maxsize
        self.drop_oldest = drop_oldest
        self.drops = 0
        self.max_depth = 0
        self._items: collections.deque[T] = collections.deque()
        self._cond = threading.Condition()
        self._closed = False
        self._cancelled = False

    @property
    def depth(self) -> int:
        return len(self._items)

    def put(self, item: T) -> None:
        with self._cond:
            if self._closed:
                raise RuntimeError("put() on a closed channel")
            while len(self._items) >= self.maxsize and not self._cancelled:
                if self.drop_oldest:
                    self._items.popleft()
                    self.drops += 1
                    break
                self._cond.wait()
            if self._cancelled:
                raise Cancelled
            self._items.append(item)
            self.max_depth = max(self.max_depth, len(self._items))
            self._cond.notify_all()

    def close(self) -> None:
        """No more items will come; consumers finish what is queued."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def cancel(self) -> None:
        """Abort: drop what is queued and wake every waiting thread."""
        with self._cond:
            self._cancelled = True
            self._items.clear()
            self._cond.notify_all()

    def __iter__(self) -> Iterator[T]:
        while True:
            with self._cond:
                while not self._items and not self._closed and not self._cancelled:
                    self._cond.wait()
                if self._cancelled:
                    raise Cancelled
                if not self._items:
                    return
                item = self._items.popleft()
                self._cond.notify_all()
            yield item
