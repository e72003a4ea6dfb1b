"""The browser preview server against malformed, hostile and greedy clients."""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time

import cv2
import numpy as np
import pytest

from vidclear.config.sections import PreviewConfig
from vidclear.core.frame import Frame
from vidclear.errors import ConfigError, OutputError
from vidclear.io.sinks.http_preview import PreviewServer, check_listen, parse_listen
from vidclear.io.sinks.views import compose_view

TOKEN = "s3cret-token-0123456789"


def _frame(seed: int = 0, size: tuple[int, int] = (96, 64), *, noise: bool = True) -> Frame:
    w, h = size
    if noise:  # incompressible: large JPEGs
        image = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    else:  # smooth: JPEG keeps it close
        y, x = np.mgrid[0:h, 0:w]
        image = np.stack([x * 255 // w, y * 255 // h, (x + y + seed) % 256], -1).astype(np.uint8)
    before = Frame(image, pts=seed)
    return before.replace(255 - before.image)


def _raw(port: int, data: bytes, *, timeout: float = 5.0) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        if data:
            s.sendall(data)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def _status(resp: bytes) -> int:
    return int(resp.split(b" ", 2)[1]) if resp.startswith(b"HTTP/1.1 ") else -1


def _get(port: int, path: str, *, host: str = "127.0.0.1", method: str = "GET",
         headers: str = "") -> bytes:
    req = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{headers}\r\n"
    return _raw(port, req.encode())


@pytest.fixture
def server():
    cfg = PreviewConfig(max_viewers=3, send_timeout=0.5, request_timeout=0.8, max_width=0)
    srv = PreviewServer("127.0.0.1", 0, config=cfg, stats=lambda: {"fps_out": 12.5})
    srv.publish(_frame(noise=False))
    yield srv
    srv.close()


def test_listen_and_token_rules():
    assert parse_listen("127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_listen("[::1]:9000") == ("::1", 9000)
    for bad in ("8080", "host:", ":80", "h:99999", "h:x"):
        with pytest.raises(ConfigError, match="HOST:PORT"):
            parse_listen(bad)
    assert check_listen("127.0.0.1", None) is None
    assert check_listen("localhost", None) is None
    for host in ("0.0.0.0", "192.168.1.5", "::", "example.com"):
        with pytest.raises(ConfigError, match="requires an access token"):
            check_listen(host, None)
    assert check_listen("0.0.0.0", TOKEN) == TOKEN
    assert len(check_listen("0.0.0.0", "auto") or "") >= 16
    for weak in ("short", "x" * 15, "has space in the token", "a&b" * 8):
        with pytest.raises(ConfigError, match="--token"):
            check_listen("0.0.0.0", weak)
    with pytest.raises(ConfigError, match="requires an access token"):
        PreviewServer("0.0.0.0", 0)


def test_every_interface_gives_an_address_for_other_machines():
    # --listen 0.0.0.0 printed only http://127.0.0.1:PORT, of no use to the
    # remote viewer it was for (trial 78 F11); the page answers at the other
    import urllib.parse
    import urllib.request

    srv = PreviewServer("0.0.0.0", 0, token=TOKEN)
    try:
        srv.publish(_frame(noise=False))
        remote = srv.remote_url
        assert remote is not None and srv.url.startswith("http://127.0.0.1:")
        parts = urllib.parse.urlsplit(remote)
        assert parts.port == srv.port and parts.query == f"token={TOKEN}"
        try:
            ipaddress.ip_address(parts.hostname or "")
        except ValueError:  # no route out: the machine's name, as the system calls it
            assert parts.hostname == socket.gethostname().lower()
        else:
            with urllib.request.urlopen(remote, timeout=5) as answer:
                assert answer.status == 200 and b"stream.mjpg" in answer.read()
    finally:
        srv.close()
    local = PreviewServer("127.0.0.1", 0)
    try:
        assert local.remote_url is None
    finally:
        local.close()
    if socket.has_dualstack_ipv6():  # [::] takes IPv4 viewers too (trial 80 F6: it did not)
        both = PreviewServer("::", 0, token=TOKEN)
        try:
            both.publish(_frame(noise=False))
            url = f"http://127.0.0.1:{both.port}/?token={TOKEN}"
            with urllib.request.urlopen(url, timeout=5) as answer:
                assert answer.status == 200
        finally:
            both.close()


def test_busy_port_is_a_clear_error(server):
    with pytest.raises(OutputError, match=f"cannot listen on 127.0.0.1:{server.port}"):
        PreviewServer("127.0.0.1", server.port)


def test_routes_serve_only_what_they_should(server):
    p = server.port
    page = _get(p, "/")
    assert _status(page) == 200 and b"text/html" in page and b"stream.mjpg" in page
    assert b"Content-Security-Policy" in page and b"nosniff" in page
    stats = _get(p, "/stats.json")
    body = json.loads(stats.split(b"\r\n\r\n", 1)[1])
    assert body["fps_out"] == 12.5 and "viewers" in body["preview"]
    still = _get(p, "/frame.jpg?view=side_by_side")
    assert _status(still) == 200
    img = cv2.imdecode(np.frombuffer(still.split(b"\r\n\r\n", 1)[1], np.uint8), cv2.IMREAD_COLOR)
    want = compose_view(_frame(noise=False), "side_by_side")
    assert img.shape == want.shape == (64, 192, 3)
    assert np.abs(img[..., ::-1].astype(int) - want.astype(int)).mean() < 6
    head = _get(p, "/", method="HEAD")
    assert _status(head) == 200 and head.endswith(b"\r\n\r\n")
    for path in ("/index.html", "/../../etc/passwd", "/stats.json/x", "/%2e%2e/", "/favicon.ico"):
        assert _status(_get(p, path)) == 404, path
    for method in ("POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH"):
        resp = _get(p, "/", method=method)
        assert _status(resp) == 405 and b"Allow: GET, HEAD" in resp, method
    assert _status(_get(p, "/stream.mjpg?view=nonsense")) == 400


@pytest.mark.parametrize("request_bytes,status", [
    (b"\x00\xff\xfe garbage\r\n\r\n", 400),
    (b"GET /\r\n\r\n", 400),                                  # HTTP/0.9
    (b"GET / HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n", 505),
    (b"GET / FOO/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400),
    (b"GET  / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400),      # double space
    (b"get / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400),
    (b"GET http://evil.example/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),                          # no Host
    (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: evil\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nNoColonHere\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n X: folded\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n", 403),    # DNS rebinding
    (b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX: " + b"y" * 9000 + b"\r\n\r\n", 431),
    (b"GET /stats.json?" + b"&".join(b"a%d=1" % i for i in range(50))
     + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400),
])
def test_malformed_requests_get_an_error_and_the_server_survives(server, request_bytes, status):
    assert _status(_raw(server.port, request_bytes)) == status
    assert _status(_get(server.port, "/stats.json")) == 200


def test_clients_that_vanish_or_send_nothing(server):
    p = server.port
    for _ in range(5):  # connect and close at once, or half a request line
        with socket.create_connection(("127.0.0.1", p)):
            pass
        with socket.create_connection(("127.0.0.1", p)) as s:
            s.sendall(b"GET /sta")
    silent = _raw(p, b"", timeout=5)
    assert _status(silent) == 408
    assert _status(_get(p, "/")) == 200


def test_slowloris_is_cut_off_at_the_request_deadline(server):
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        got = b""
        try:
            for _ in range(40):  # one header byte every 0.1 s, never finishing
                s.sendall(b"X")
                time.sleep(0.1)
        except OSError:
            pass
        try:
            got = s.recv(4096)
        except OSError:
            pass
    took = time.monotonic() - t0
    assert _status(got) == 408 or got == b""
    assert took < 3.0  # request_timeout is 0.8 s: the server did not wait for the client
    assert _status(_get(server.port, "/")) == 200


def test_token_is_required_and_checked():
    srv = PreviewServer("127.0.0.1", 0, token=TOKEN, config=PreviewConfig(max_width=0))
    srv.publish(_frame())
    try:
        p = srv.port
        for path in ("/", "/stats.json", "/frame.jpg", "/stream.mjpg"):
            resp = _get(p, path)
            assert _status(resp) == 401 and b"WWW-Authenticate" in resp, path
        assert _status(_get(p, "/?token=wrong-token-0123456789")) == 401
        assert _status(_get(p, f"/?token={TOKEN}x")) == 401
        assert _status(_get(p, f"/?token={TOKEN}")) == 200
        assert _status(_get(p, "/frame.jpg", headers=f"Authorization: Bearer {TOKEN}\r\n")) == 200
        assert _status(_get(p, "/nothing-here")) == 404  # unknown paths reveal nothing more
        assert srv.url.endswith(f"/?token={TOKEN}")
    finally:
        srv.close()


def _open_stream(port: int, view: str = "after") -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(f"GET /stream.mjpg?view={view} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return s


def test_stream_sends_fresh_frames(server):
    with _open_stream(server.port) as s:
        buf = b""
        for i in range(1, 6):
            server.publish(_frame(i))
            time.sleep(0.05)
        deadline = time.monotonic() + 5
        while buf.count(b"--vidclearframe") < 3 and time.monotonic() < deadline:
            buf += s.recv(65536)
    assert buf.startswith(b"HTTP/1.1 200 OK")
    assert b"multipart/x-mixed-replace; boundary=vidclearframe" in buf
    parts = buf.split(b"--vidclearframe")[1:]
    jpegs = [p.split(b"\r\n\r\n", 1)[1] for p in parts[:2]]
    imgs = [cv2.imdecode(np.frombuffer(j[:-2] if j.endswith(b"\r\n") else j, np.uint8),
                         cv2.IMREAD_COLOR) for j in jpegs]
    assert all(im is not None and im.shape == (64, 96, 3) for im in imgs)
    assert np.abs(imgs[0].astype(int) - imgs[1].astype(int)).mean() > 20  # different frames


def test_many_and_slow_viewers_never_block_the_publisher(server):
    big = [_frame(i, size=(640, 480)) for i in range(4)]  # noise: large JPEGs
    viewers = [_open_stream(server.port, v) for v in ("after", "before", "split")]
    try:
        time.sleep(0.3)
        assert server.viewers == 3
        extra = _raw(server.port, b"GET /stream.mjpg HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert _status(extra) == 503 and b"Retry-After" in extra
        # The viewers never read: their sockets fill up. Publishing stays instant.
        worst = 0.0
        t_end = time.monotonic() + 2.0
        i = 0
        while time.monotonic() < t_end:
            t0 = time.perf_counter()
            server.publish(big[i % 4])
            worst = max(worst, time.perf_counter() - t0)
            i += 1
            time.sleep(1 / 60)
        assert worst < 0.02, worst
        deadline = time.monotonic() + 5
        while server.viewers and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.viewers == 0 and server.viewers_dropped == 3
        # A well-behaved viewer is served again afterwards.
        assert _status(_get(server.port, "/frame.jpg")) == 200
    finally:
        for v in viewers:
            v.close()


def test_connection_flood_cuts_the_oldest_idle_connections():
    srv = PreviewServer("127.0.0.1", 0, config=PreviewConfig(max_viewers=1, request_timeout=5.0))
    srv.publish(_frame())
    idle = []
    try:
        for _ in range(srv.max_connections + 10):
            idle.append(socket.create_connection(("127.0.0.1", srv.port), timeout=5))
        time.sleep(0.5)
        # the oldest idle connections were cut (408) to make room for newer ones
        cut = 0
        for s in idle[:5]:
            s.settimeout(2)
            try:
                resp = s.recv(4096)
            except OSError:
                resp = b""
            cut += _status(resp) == 408
        assert cut == 5
        assert srv.status()["slow_clients_cut"] >= 10
        assert srv.status()["connections"] <= srv.max_per_address
        t0 = time.monotonic()  # a real request gets through while the flood is open
        assert _status(_get(srv.port, "/")) == 200
        assert time.monotonic() - t0 < 1.0
    finally:
        for s in idle:
            s.close()
    srv.close()


def test_busy_connections_are_not_cut_and_newcomers_get_503():
    cfg = PreviewConfig(max_viewers=2, max_per_address=2, send_timeout=5.0)
    srv = PreviewServer("127.0.0.1", 0, config=cfg)
    srv.publish(_frame())
    streams = [_open_stream(srv.port) for _ in range(2)]
    try:
        time.sleep(0.3)
        assert _status(_get(srv.port, "/")) == 503  # both slots serve real streams
        assert srv.status()["slow_clients_cut"] == 0
    finally:
        for s in streams:
            s.close()
        srv.close()


def test_viewers_who_left_free_their_slots_while_no_frame_comes():
    # During an outage (no new frame), viewers who had closed their page kept
    # their slots until the next frame: eight reloads locked every later
    # viewer out with 503 while nobody watched (trial 152 F1)
    cfg = PreviewConfig(max_viewers=2, max_per_address=2, send_timeout=5.0)
    srv = PreviewServer("127.0.0.1", 0, config=cfg)
    srv.publish(_frame())  # one frame, then none: the source went silent
    try:
        for _ in range(3):
            streams = [_open_stream(srv.port) for _ in range(2)]
            time.sleep(0.3)
            assert srv.status()["viewers"] == 2
            for s in streams:
                s.close()
            deadline = time.monotonic() + 5
            while srv.status()["viewers"] and time.monotonic() < deadline:
                time.sleep(0.1)
            assert srv.status()["viewers"] == 0
        with _open_stream(srv.port) as s:
            assert s.recv(64).startswith(b"HTTP/1.1 200")
        # one that only stops sending (nc -N, socat) still reads: not cut (it
        # was, a second into the silence: trial 154 F1)
        with _open_stream(srv.port) as s:
            s.shutdown(socket.SHUT_WR)
            time.sleep(2.5)
            assert srv.status()["viewers"] == 1
            srv.publish(_frame(1))
            s.settimeout(5)
            got = b""
            while got.count(b"Content-Type: image/jpeg") < 2:
                chunk = s.recv(65536)
                assert chunk, got[:200]
                got += chunk
    finally:
        srv.close()


def test_close_ends_streams_promptly(server):
    s = _open_stream(server.port)
    time.sleep(0.2)
    t0 = time.monotonic()
    threading.Thread(target=server.close).start()
    s.settimeout(5)
    data = b""
    try:
        while chunk := s.recv(65536):
            data += chunk
    except OSError:
        pass
    s.close()
    assert time.monotonic() - t0 < 3
