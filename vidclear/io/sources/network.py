"""Network streams that reconnect by themselves: RTSP, UDP MPEG-TS, HTTP, SRT.

A live stream can stop at any time (a camera reboots, Wi-Fi drops, the
sender restarts). :class:`NetworkSource` notices (a read times out after
``input.timeout`` seconds, or the demuxer reports an error or the end),
reports that the stream is down, and reopens it with exponential backoff
until it is back, it is stopped, or ``input.reconnect_timeout`` passes.
Timestamps continue across the gap, so a recording stays playable: the
gap appears as a gap in time, never as timestamps going backwards.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

import av

from vidclear.config.sections import InputConfig
from vidclear.core.frame import Frame
from vidclear.core.source import Source, StreamInfo
from vidclear.errors import InputError
from vidclear.io.sources.av_source import AVSource

__all__ = ["NetworkSource", "stream_options"]


def stream_options(url: str) -> dict[str, str]:
    """Low-latency FFmpeg options for a live ``url``.

    Small probe sizes so the first picture arrives within a fraction of a
    second, and a UDP receive buffer that survives a short stall without
    aborting the read. The packets read while probing are kept: with
    ``fflags=nobuffer`` they were dropped, and a UDP recording lost its
    first second (one GOP) without a count (trial 38); the latest-frame
    flow now drops what it cannot keep, and counts it.
    """
    opts = {"probesize": "500000", "analyzeduration": "1000000"}
    if url.lower().startswith("udp"):
        opts.update({"overrun_nonfatal": "1", "fifo_size": "50000"})
    return opts


class NetworkSource(Source):
    """Frames from a network stream, reopened whenever it is lost.

    Parameters
    ----------
    url : str
        ``rtsp://``, ``udp://``, ``http(s)://``, ``srt://``, ``rtmp://`` ...
    config : InputConfig, optional
        ``timeout`` (seconds of silence that count as a loss), ``reconnect``,
        ``reconnect_delay``, ``reconnect_max_delay``, ``reconnect_timeout``,
        ``rtsp_transport``.
    on_event : callable, optional
        Called with a one-line message when the stream is lost, on each
        failed attempt, and when it is back.

    Attributes
    ----------
    reconnects : int
        How many times the stream came back.
    down : bool
        True while the stream is lost.

    Raises
    ------
    InputError
        The first open fails (a wrong address should fail at once, not
        retry forever).
    """

    kind = "url"

    def __init__(
        self,
        url: str,
        *,
        config: InputConfig | None = None,
        on_event: Callable[[str], Any] | None = None,
    ) -> None:
        super().__init__(url)
        self.config = config or InputConfig()
        self.on_event = on_event
        self.reconnects = 0
        self.attempts = 0
        self.last_error = ""
        self._downtime = 0.0
        self._down_since: float | None = None
        self._decode_errors_closed = 0
        self._lock = threading.Lock()
        self._src: AVSource | None = self._open()
        first = self._src
        # Timing, size and rate of the first connection define the output.
        self.time_base: Fraction = first.time_base
        self.rate: Fraction | None = first.rate
        self.width, self.height = first.width, first.height
        self.metadata: dict[str, str] = first.metadata
        # Audio is not carried across reconnects (its timestamps would jump):
        # info.side_streams stays empty, and the run's notes say what was left
        # out, from the first connection (as for a file: Session.notes).
        self.uncopied_streams: list[str] = list(first.uncopied_streams)
        self.other_video_streams: int = first.other_video_streams
        self.video_choice: tuple[int, int, int] = first.video_choice

    @property
    def info(self) -> StreamInfo:
        return StreamInfo(spec=self.spec, width=self.width, height=self.height,
                          time_base=self.time_base, rate=self.rate, metadata=self.metadata,
                          is_live=True)

    def _open(self) -> AVSource:
        return AVSource(self.spec, config=self.config, copy_streams=False,
                        options=stream_options(self.spec))

    # -- status ----------------------------------------------------------
    @property
    def down(self) -> bool:
        return self._down_since is not None

    @property
    def downtime_s(self) -> float:
        """Seconds the stream has been lost in total (including now)."""
        with self._lock:
            now_down = time.monotonic() - self._down_since if self._down_since else 0.0
            return self._downtime + now_down

    @property
    def decode_errors(self) -> int:
        src = self._src
        return self._decode_errors_closed + (src.decode_errors if src is not None else 0)

    def status(self) -> dict[str, Any]:
        """Connection state for live stats."""
        since = self._down_since
        return {
            "state": "down" if since is not None else "up",
            "down_for_s": round(time.monotonic() - since, 2) if since is not None else 0.0,
            "reconnects": self.reconnects,
            "reconnect_attempts": self.attempts,
            "downtime_s": round(self.downtime_s, 3),
            "last_error": self.last_error,
        }

    def _event(self, text: str) -> None:
        if self.on_event is not None:
            self.on_event(f"input {self.spec}: {text}")

    # -- iteration -------------------------------------------------------
    def stop(self) -> None:
        """End iteration: after the current packet, or at once while reconnecting."""
        super().stop()
        src = self._src
        if src is not None:
            src.stop()

    def _frames(self) -> Iterator[Frame]:
        tb = self.time_base
        offset = 0  # output ticks where the current connection's first frame goes
        last_out: int | None = None
        last_capture: float | None = None
        step = max(1, round(1 / (self.rate * tb))) if self.rate else 1
        while not self.stopped:
            src = self._src
            if src is None:
                return
            seg_first: int | None = None
            ended = False  # read to its end: a resource of known length (an HTTP file)
            finite = self._finite(src)
            try:
                for frame in src:
                    pts = frame.pts or 0
                    captured = frame.meta.get("capture_time", time.monotonic())
                    if seg_first is None:
                        seg_first = pts
                        if last_out is not None and last_capture is not None:
                            # Continue after the real gap, measured between captures.
                            offset = last_out + max(step, round((captured - last_capture) / tb))
                    last_capture = captured
                    rel = (pts - seg_first) * (frame.time_base or tb)
                    out = offset + round(rel / tb)
                    if last_out is not None and out <= last_out:
                        out = last_out + 1
                    last_out = out
                    self._frames_decoded += 1
                    image = frame.image if frame.av_frame is None else None
                    yield Frame(image, pts=out, time_base=tb, meta=frame.meta,
                                av_frame=frame.av_frame)
                reason = "the stream ended or went silent"
                ended = finite and not src.decode_errors
                if src.decode_errors:
                    reason = f"no data for {self.config.timeout:g} s or a read error"
            except (InputError, av.FFmpegError, OSError) as exc:
                reason = str(exc) or type(exc).__name__
            finally:
                self._decode_errors_closed += src.decode_errors
                src.close()
                self._src = None
            if self.stopped or not self.config.reconnect or ended:
                # a file served over HTTP ends: it was recorded again and again, 4 s
                # thirty times over, for as long as the run lasted (trial 39)
                return
            with self._lock:
                self._down_since = time.monotonic()
            self.last_error = reason
            self._event(f"stream lost ({reason}); reconnecting")
            if not self._reconnect():
                return

    def _finite(self, src: AVSource) -> bool:
        """Whether ``src`` is a file served over HTTP(S) or FTP: it has a length in bytes.

        The server's length (Content-Length; FFmpeg's avio size) tells a file
        from a live stream, which has none. (MPEG-TS declares no duration.)
        """
        scheme = self.spec.split("://", 1)[0].lower()
        if scheme not in ("http", "https", "ftp"):
            return False
        try:
            return src.byte_size > 0
        except (AttributeError, InputError, av.FFmpegError):
            return False

    def _reconnect(self) -> bool:
        cfg = self.config
        delay = cfg.reconnect_delay
        lost_at = self._down_since or time.monotonic()
        while not self.wait(delay):
            self.attempts += 1
            try:
                src = self._open()
            except InputError as exc:
                self.last_error = str(exc)
                waited = time.monotonic() - lost_at
                if cfg.reconnect_timeout and waited >= cfg.reconnect_timeout:
                    self._event(f"still down after {waited:.1f} s; giving up")
                    self._end_down()
                    return False
                self._event(f"still down after {waited:.1f} s (attempt {self.attempts})")
                delay = min(max(cfg.reconnect_max_delay, 0.05), max(0.05, delay * 2))
                continue
            if self.stopped:
                src.close()
                break
            self._src = src
            self.reconnects += 1
            gap = self._end_down()
            self._event(f"stream back after {gap:.1f} s (reconnect {self.reconnects})")
            return True
        self._end_down()
        return False

    def _end_down(self) -> float:
        with self._lock:
            gap = time.monotonic() - self._down_since if self._down_since else 0.0
            self._downtime += gap
            self._down_since = None
        return gap

    def _close(self) -> None:
        src = self._src
        if src is not None:
            src.close()

    def __repr__(self) -> str:
        return (f"NetworkSource({self.spec!r}, {self.width}x{self.height}, rate={self.rate}, "
                f"reconnects={self.reconnects}, down={self.down})")
