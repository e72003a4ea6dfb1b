"""The browser preview in a real headless Chromium: page, stream, stats, views."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from tests.live.helpers import need, need_program
from vidclear.config.loader import load_config
from vidclear.live import LiveJob

W, H = 160, 120


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        need(False, "selenium is not installed (pip install -e .[test])")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    need(chromium is not None, "chromium is not installed")
    driver_path = need_program("chromedriver")
    profile = tempfile.mkdtemp(prefix="vidclear-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(chromium)
    # As root Chromium needs --no-sandbox; the network flags stop it calling home.
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                f"--user-data-dir={profile}", "--window-size=1000,700"):
        opts.add_argument(arg)
    drv = webdriver.Chrome(options=opts, service=Service(driver_path))
    drv.set_page_load_timeout(20)
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _wait(fn: Callable[[], object], timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {fn}")


_PIXELS = """
const img = document.getElementById('video');
const c = document.createElement('canvas');
c.width = img.naturalWidth; c.height = img.naturalHeight;
const g = c.getContext('2d');
g.drawImage(img, 0, 0);
const d = g.getImageData(0, 0, c.width, c.height).data;
let sum = 0; for (let i = 0; i < d.length; i += 4) sum += d[i] + 2 * d[i + 1] + 3 * d[i + 2];
return [c.width, c.height, sum];
"""


@pytest.mark.parametrize("token", [None, "browser-token-0123456789"])
def test_page_stream_and_stats_in_headless_chromium(browser, token):
    cfg = load_config(overrides=["pipeline.queue_size=1", "preview.view=split"])
    job = LiveJob(f"lavfi:testsrc2=size={W}x{H}:rate=15", preview="http",
                  listen="127.0.0.1:0", token=token, config=cfg)
    runner = threading.Thread(target=job.run, daemon=True)
    runner.start()
    try:
        drv = browser
        drv.get(job.server.url)
        assert drv.title == "vidclear live preview"
        # The MJPEG stream shows frames: the image has the frame size...
        _wait(lambda: drv.execute_script(
            "return document.getElementById('video').naturalWidth") == W)
        # ...and its pixels change as new frames arrive (testsrc2 moves).
        first = drv.execute_script(_PIXELS)
        assert first[:2] == [W, H]
        _wait(lambda: drv.execute_script(_PIXELS)[2] != first[2], 5)
        # The stats table updates from /stats.json.
        _wait(lambda: int(drv.find_element("id", "updates").text) >= 2)
        out1 = int(drv.find_element("id", "frames_out").text)
        _wait(lambda: int(drv.find_element("id", "frames_out").text) > out1 + 5)
        assert drv.find_element("id", "state").text == "up"
        _wait(lambda: drv.find_element("id", "fps_out").text not in ("-", ""))
        assert 5 < float(drv.find_element("id", "fps_out").text) < 25
        assert drv.find_element("id", "viewers").text == "1"
        # Before/after: the side-by-side view is twice as wide.
        drv.find_element("css selector", "button[data-view=side_by_side]").click()
        _wait(lambda: drv.execute_script(
            "return document.getElementById('video').naturalWidth") == 2 * W)
        src = drv.execute_script("return document.getElementById('video').src")
        assert "view=side_by_side" in src
        assert (f"token={token}" in src) == (token is not None)
    finally:
        job.stop()
        runner.join(10)
    assert not runner.is_alive()
    # Nothing the page asked for was refused; Chromium's own favicon request (404)
    # and its idle pre-connected sockets (408 at shutdown) are all that may be.
    assert job.server.frames_sent > 10
    assert set(job.server.status()["rejected"]) <= {"404", "408"}
