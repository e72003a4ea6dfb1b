"""What a server says about a file before FFmpeg reads it: its length, and whether it seeks.

FFmpeg's HTTP reader finds both out as it goes, and a wrong guess costs a
whole run: a file taken for a stream was replayed forever (trial 55), and
a seek on a server that takes no range requests landed late without a word
(``-ss`` on a Matroska file lost 37 frames, trial 55). RFC 9110 gives the
headers: ``Content-Length``, ``Accept-Ranges`` and the 206 answer to a
``Range`` request (sections 8.6, 14.3 and 14.2).
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request

__all__ = ["accepts_ranges", "asked", "content_length"]

# What each URL's server said, once a process: the CLI, the session and the
# source each need it, and every question is a connection (a server that
# serves one client, FFmpeg's ``-listen 1``, is gone after the first).
_LENGTHS: dict[str, tuple[float, int | None]] = {}  # (when asked, the answer)
_ANSWERED: set[str] = set()  # URLs whose server answered that question
_KEPT_S = 60.0  # how long an answer is kept (a library's process may live long)


def asked(url: str) -> bool:
    """Whether the server of ``url`` answered :func:`content_length` in this process."""
    return url in _ANSWERED


def streamed(url: str) -> None:
    """``url``'s server sent a stream after answering: no one-client server (:func:`asked`).

    A live server that restarted refused a reconnection, and the error
    blamed a server for one client and advised ``pipeline.mode=file``
    (trial 127 F5).
    """
    _ANSWERED.discard(url)


def content_length(url: str, timeout: float | None) -> int | None:
    """The server's length of ``url`` in bytes.

    0 for a stream (no length given, a multipart or chunked answer), None
    when the server could not be asked (FFmpeg's opening then decides).
    Asked with ``HEAD``, else the start of a ``GET`` (servers that refuse
    or drop ``HEAD``), once a process (the answer is kept).
    """
    kept = _LENGTHS.get(url)
    if kept is None or time.monotonic() - kept[0] > _KEPT_S:
        _ANSWERED.discard(url)
        kept = _LENGTHS[url] = (time.monotonic(), _ask_length(url, timeout))
    return kept[1]


def _ask_length(url: str, timeout: float | None) -> int | None:
    for method in ("HEAD", "GET"):
        request = urllib.request.Request(url, method=method if url.startswith("http") else None,
                                         headers={"User-Agent": "vidclear"})
        try:
            with urllib.request.urlopen(request, timeout=timeout or 10) as reply:
                _ANSWERED.add(url)
                headers = reply.headers
                kind = (headers.get("Content-Type") or "").lower()
                if kind.startswith("multipart/"):
                    return 0
                if "chunked" in (headers.get("Transfer-Encoding") or "").lower():
                    return 0
                length = headers.get("Content-Length")
                return int(length) if length and length.strip().isdigit() else 0
        except urllib.error.HTTPError as exc:
            _ANSWERED.add(url)
            if method == "HEAD" and exc.code in (400, 403, 405, 501):
                continue  # a server that takes no HEAD: the start of a GET
            return None
        except (urllib.error.URLError, OSError, ValueError):
            if method == "HEAD":
                continue  # one that drops the connection on HEAD, likewise
            return None
    return None


def accepts_ranges(url: str, timeout: float | None) -> bool | None:
    """Whether the server of an ``http(s)://`` ``url`` answers range requests (can seek).

    True when its ``Accept-Ranges`` header says ``bytes`` or a request for
    the first byte is answered with 206 Partial Content; False when it says
    ``none`` or answers that request with the whole file (200); None when
    it could not be asked, and for other schemes (FTP seeks with REST).
    """
    if not url.lower().startswith(("http://", "https://")):
        return None
    try:
        request = urllib.request.Request(url, method="HEAD", headers={"User-Agent": "vidclear"})
        with urllib.request.urlopen(request, timeout=timeout or 10) as reply:
            said = (reply.headers.get("Accept-Ranges") or "").strip().lower()
        if said == "bytes":
            return True
        if said == "none":
            return False
    except (urllib.error.URLError, OSError, ValueError):
        pass  # a server that refuses HEAD: the range request answers
    request = urllib.request.Request(url, headers={"User-Agent": "vidclear", "Range": "bytes=0-0"})
    try:
        with urllib.request.urlopen(request, timeout=timeout or 10) as reply:
            return reply.status == 206
    except (urllib.error.URLError, OSError, ValueError):
        return None
