"""The preview window's own process: shows pictures, reports keys.

Run by :class:`vidclear.io.sinks.window.WindowSink` as a script (by path,
not as a module, so that only OpenCV and NumPy are imported). Qt ends the
process it runs in when its X display goes away ("The X11 connection
broke"); run in the recording's process, that lost the recording (trial
152 F3). Here it ends only this process, and the run finishes its outputs.

Protocol. Standard input carries messages of a 12-byte header, ``struct``
``"<4sII"`` (kind, height, width), then for kind ``IMG`` the BGR uint8
picture, ``height * width * 3`` bytes; kind ``STOP`` (or the end of the
input) closes the window. Standard output carries lines: ``ready`` once
the window is open, ``want`` whenever the next picture may be sent,
``key N`` for each key code from ``cv2.waitKeyEx`` and ``closed`` when the
window was closed by the user.
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import sys
import threading
from typing import BinaryIO

import cv2
import numpy as np

HEADER = struct.Struct("<4sII")


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            return None
        data += chunk
    return bytes(data)


class _Inbox:
    """The newest picture sent, filled by a reader thread."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.picture: np.ndarray | None = None
        self.ended = False

    def read(self, stream: BinaryIO) -> None:
        try:
            while True:
                head = _read_exactly(stream, HEADER.size)
                if head is None:
                    break
                kind, height, width = HEADER.unpack(head)
                if kind != b"IMG ":
                    break
                body = _read_exactly(stream, height * width * 3)
                if body is None:
                    break
                with self.lock:
                    self.picture = np.frombuffer(body, np.uint8).reshape(height, width, 3)
        finally:
            self.ended = True


def _say(line: str) -> bool:
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        return False
    return True


def main(title: str) -> int:
    # Ctrl-C and the terminal's signals are the recording's: this process
    # ends when its input does (the parent closes it, or dies).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    cv2.namedWindow(title, cv2.WINDOW_AUTOSIZE)
    # something to show, and to close, until the first picture: closed while
    # empty (kernels compiling), the window came back with it and the run
    # went on (trial 156 F4)
    waiting = np.full((120, 360, 3), 32, np.uint8)
    cv2.putText(waiting, "waiting for the first picture", (14, 66), cv2.FONT_HERSHEY_SIMPLEX,
                0.6, (220, 220, 220), 1, cv2.LINE_AA)
    cv2.imshow(title, waiting)
    inbox = _Inbox()
    threading.Thread(target=inbox.read, args=(sys.stdin.buffer,), daemon=True).start()
    if not (_say("ready") and _say("want")):
        return 0
    shown = False
    while not inbox.ended:
        with inbox.lock:
            picture, inbox.picture = inbox.picture, None
        if picture is not None:
            cv2.imshow(title, picture)
            if not _say("want"):
                break
        key = cv2.waitKeyEx(15)
        if key != -1 and not _say(f"key {key}"):
            break
        try:
            visible = cv2.getWindowProperty(title, cv2.WND_PROP_VISIBLE) >= 1
            shown = shown or visible  # mapped by the window system: a close now counts
            gone = shown and not visible
        except cv2.error:  # closed by the window manager: Qt's window is gone
            gone = True
        if gone:
            _say("closed")
            break
    try:
        cv2.destroyAllWindows()
        cv2.waitKey(1)
    except cv2.error:
        pass
    return 0


if __name__ == "__main__":
    status = main(sys.argv[1] if len(sys.argv) > 1 else "vidclear")
    with contextlib.suppress(OSError):
        sys.stdout.flush()
    # at once: the reader thread may be blocked on standard input, which
    # Python's shutdown cannot take from it ("could not acquire lock for
    # <stdin>", SIGABRT)
    os._exit(status)
