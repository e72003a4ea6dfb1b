"""The live status (``/stats.json`` and the window overlay) has numbers from its first answer."""

from __future__ import annotations

import threading
import time

from vidclear.config.loader import load_config
from vidclear.live import LiveJob


def test_first_snapshot_has_numbers(tmp_path):
    cfg = load_config(preset="webcam", overrides=["output.preset=ultrafast"])
    job = LiveJob("lavfi:testsrc2=size=160x120:rate=30", tmp_path / "rec.mkv", config=cfg,
                  processors=[])
    before = job.status.snapshot()  # not started: no frames yet, but rates are numbers
    assert before["fps_in"] == 0.0 and before["fps_out"] == 0.0
    assert before["process_ms"] is None  # nothing processed yet: no time to report

    status = type(job.status)(job.session)  # a fresh status: its first answer comes next
    runner = threading.Thread(target=job.run)
    runner.start()
    try:
        deadline = time.monotonic() + 20
        while job.session.pipeline.stats.frames_out < 10 and time.monotonic() < deadline:
            time.sleep(0.02)
        first = status.snapshot()
    finally:
        job.stop()
        runner.join(20)
    assert first["frames_out"] >= 10
    # The run so far: about the 30 fps the graph is paced at.
    assert 10 < first["fps_in"] < 60 and 10 < first["fps_out"] < 60, first
    assert first["process_ms"] is not None and first["process_ms"] >= 0
    assert first["latency_ms"] is not None and first["latency_ms"] > 0
