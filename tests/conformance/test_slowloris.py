"""The preview server under slowloris: 50 slow sockets on the loopback.

Each attacker opens a connection, trickles a request head one header byte
at a time and never finishes it; when the server cuts it off it reconnects
at once. Meanwhile a real viewer (with and without an access token) must get
the page within 1 s, every time.
"""

from __future__ import annotations

import socket
import threading
import time

import numpy as np
import pytest

from vidclear.config.sections import PreviewConfig
from vidclear.core.frame import Frame
from vidclear.io.sinks.http_preview import PreviewServer

TOKEN = "slowloris-test-token-0123456789"
ATTACKERS = 50


def _attacker(port: int, stop: threading.Event, opened: list[int]) -> None:
    while not stop.is_set():
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=1.0)
        except OSError:
            time.sleep(0.05)
            continue
        opened[0] += 1
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            while not stop.is_set():
                s.sendall(b"X")  # a header that never ends
                stop.wait(0.3)
                s.setblocking(False)
                try:
                    if s.recv(4096) == b"":
                        break  # cut off by the server: come back at once
                except BlockingIOError:
                    pass
                except OSError:
                    break
                s.setblocking(True)
        except OSError:
            pass
        finally:
            s.close()


def _page(port: int, query: str) -> tuple[bytes, float]:
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=3.0) as s:
        s.sendall(f"GET /{query} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data, time.monotonic() - t0


@pytest.mark.parametrize("token", [None, TOKEN])
def test_viewer_gets_the_page_within_a_second_under_slowloris(token):
    srv = PreviewServer("127.0.0.1", 0, token=token, config=PreviewConfig(max_width=0))
    srv.publish(Frame(np.zeros((32, 48, 3), np.uint8), pts=0))
    stop = threading.Event()
    opened = [0]
    threads = [threading.Thread(target=_attacker, args=(srv.port, stop, opened), daemon=True)
               for _ in range(ATTACKERS)]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 5
        while opened[0] < ATTACKERS and time.monotonic() < deadline:
            time.sleep(0.05)
        assert opened[0] >= ATTACKERS  # all 50 slow sockets are open
        query = f"?token={token}" if token else ""
        times = []
        for _ in range(8):
            data, took = _page(srv.port, query)
            assert data.startswith(b"HTTP/1.1 200 "), data[:80]
            assert b"<html" in data.lower()
            times.append(took)
            time.sleep(0.1)
        assert max(times) < 1.0, times
        assert srv.status()["slow_clients_cut"] > 0  # room was made by cutting slow ones
    finally:
        stop.set()
        for t in threads:
            t.join(3)
        srv.close()
