"""Helpers for the live tests: a UDP MPEG-TS sender, a slow processor, tool checks."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from dataclasses import dataclass
from typing import ClassVar

import av
import numpy as np
import pytest

from vidclear.core.frame import Frame
from vidclear.core.processor import Processor
from vidclear.core.schema import Section, param

# scripts/test.sh sets this: there a missing browser, Xvfb or GUI build is a
# failure, never a silent skip.
REQUIRE_TOOLS = os.environ.get("VIDCLEAR_REQUIRE_LIVE_TOOLS") == "1"


def need(condition: bool, reason: str) -> None:
    """Skip when ``condition`` is false, or fail when the tools are required."""
    if condition:
        return
    if REQUIRE_TOOLS:
        pytest.fail(f"required for the live tests: {reason}")
    pytest.skip(reason)


def need_program(name: str) -> str:
    path = shutil.which(name)
    need(path is not None, f"{name} is not installed")
    return str(path)


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class SlowConfig(Section):
    section: ClassVar[str] = "slow"
    delay: float = param(0.1, lo=0.0, hi=10.0, doc="seconds per frame")


class Slow(Processor):
    """A deliberately slow processor: sleeps, then inverts the image."""

    name = "slow"
    Config = SlowConfig

    def __call__(self, frame: Frame) -> Frame:
        time.sleep(self.config.delay)
        return frame.replace(255 - frame.image)


class UDPSender:
    """Send a 30 fps MPEG-TS stream (MPEG-1 video) to udp://127.0.0.1:PORT.

    ``start(seconds)`` sends in a thread; each frame's grey level encodes
    its number, so a receiver can tell fresh frames from stale ones.
    """

    def __init__(self, port: int, *, size: tuple[int, int] = (160, 120), rate: int = 30) -> None:
        self.port, self.size, self.rate = port, size, rate
        self.sent = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"udp://127.0.0.1:{self.port}"

    def start(self, seconds: float) -> UDPSender:
        self._stop.clear()
        self._thread = threading.Thread(target=self._send, args=(seconds,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self.join()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join(30)

    def _send(self, seconds: float) -> None:
        w, h = self.size
        out = av.open(f"udp://127.0.0.1:{self.port}?pkt_size=1316", "w", format="mpegts")
        try:
            st = out.add_stream("mpeg1video", rate=self.rate)
            st.width, st.height, st.pix_fmt = w, h, "yuv420p"
            st.codec_context.options = {"g": "5", "bf": "0"}
            t0 = time.monotonic()
            i = 0
            while time.monotonic() - t0 < seconds and not self._stop.is_set():
                img = np.full((h, w, 3), 20 + (7 * i) % 200, np.uint8)
                img[: h // 4, : (i * 4) % w + 1] = 255
                frame = av.VideoFrame.from_ndarray(img, format="rgb24")
                frame.pts = i
                for packet in st.encode(frame):
                    out.mux(packet)
                i += 1
                self.sent += 1
                time.sleep(max(0.0, t0 + i / self.rate - time.monotonic()))
            for packet in st.encode(None):
                out.mux(packet)
        finally:
            out.close()
