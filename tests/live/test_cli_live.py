"""``vidclear run`` with live inputs and previews, as a user runs it."""

from __future__ import annotations

import http.server
import json
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np

from tests.live.helpers import UDPSender, free_port
from tests.media import ffprobe_frame_times, ffprobe_streams

ROOT = Path(__file__).resolve().parents[2]
PY = [sys.executable, "-m", "vidclear"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*PY, *args], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_argument_errors_are_clear():
    cases = [
        (("lavfi:testsrc2", "--preview", "http", "--listen", "0.0.0.0:0"), 2,
         "requires an access token"),
        (("lavfi:testsrc2", "--preview", "http", "--token", "short"), 2,
         "--token must be at least 16"),
        (("camera:57", "--preview", "http"), 1, "no camera at /dev/video57"),
        (("lavfi:testsrc2",), 2, "-o OUTPUT is required"),
    ]
    for args, code, text in cases:
        res = _run("run", *args)
        assert res.returncode == code and text in res.stderr, res.stderr
        assert "Traceback" not in res.stderr


def test_http_preview_without_output_until_interrupted(tmp_path):
    port = free_port()
    stats = tmp_path / "stats.json"
    proc = subprocess.Popen(
        [*PY, "run", "lavfi:testsrc2=size=128x96:rate=20", "--preview", "http",
         "--listen", f"127.0.0.1:{port}", "--stats", str(stats)],
        cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        page = b""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
                break
            except OSError:
                time.sleep(0.2)
        assert b"vidclear live" in page
        time.sleep(1.0)
        live = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/stats.json",
                                                 timeout=2).read())
        assert live["mode"] == "live" and live["frames_out"] > 5
        assert live["input"]["state"] == "up"
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert f"browser preview at http://127.0.0.1:{port}/" in err
    assert "interrupted: showed" in err and "in the http preview" in err  # no file written
    assert "Traceback" not in err
    report = json.loads(stats.read_text())
    assert report["output"] == "http preview" and report["frames_out"] > 5
    assert report["live"]["preview"]["requests"] >= 2


def test_a_live_run_says_what_it_leaves_out_before_it_starts(tmp_path):
    # A live run may last hours; the note that its audio is not copied came
    # only after it ended (a trial). Said first, and once.
    from tests.media import make_clip

    clip = make_clip(tmp_path / "in.mp4", n=10, size=(64, 48))
    res = subprocess.run([*PY, "run", str(clip), "-o", str(tmp_path / "out.mkv"),
                          "--set", "pipeline.mode=live"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    lines = res.stderr.splitlines()
    notes = [i for i, ln in enumerate(lines) if "stream(s) were not copied" in ln]
    wrote = [i for i, ln in enumerate(lines) if ln.startswith("wrote ")]
    assert len(notes) == 1 and len(wrote) == 1 and notes[0] < wrote[0], res.stderr


def test_a_preview_without_a_processor_says_it_showed_the_frames_unprocessed():
    # "the frames are only re-encoded" was said of a preview that encoded
    # nothing (a new-user trial): a preview alone gets its own note.
    port = free_port()
    res = _run("run", "lavfi:testsrc2=size=128x96:rate=20:duration=1", "--set",
               "input.realtime=on", "--preview", "http", "--listen", f"127.0.0.1:{port}")
    assert res.returncode == 0, res.stderr
    notes = [ln for ln in res.stderr.splitlines() if "no processor chosen" in ln]
    assert len(notes) == 1 and "preview showed the frames unprocessed" in notes[0], res.stderr
    assert "re-encoded" not in res.stderr
    assert "showed 20 frames in the http preview, in " in res.stderr


def test_a_file_previewed_while_recorded_keeps_every_frame(tmp_path):
    # --preview made any run live: a file whose processing was slower than its
    # frame rate lost frames from the recording (51 of 90 written: trial 38).
    # It plays at its own rate but runs in file mode: every frame is written.
    import subprocess as sp

    clip = tmp_path / "fast.mp4"  # 300 fps: no processing keeps up with its rate
    sp.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i",
            "testsrc2=size=320x180:rate=300:duration=0.5", "-c:v", "libx264", "-preset",
            "ultrafast", str(clip)], check=True, timeout=60)
    out = tmp_path / "rec.mp4"
    res = subprocess.run([*PY, "run", str(clip), "--preview", "http", "--listen",
                          f"127.0.0.1:{free_port()}", "-o", str(out), "--preset", "dashcam"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "wrote 150 frames" in res.stderr and "dropped 0" in res.stderr, res.stderr
    probe = sp.run(["ffprobe", "-v", "error", "-count_frames", "-show_entries",
                    "stream=nb_read_frames", "-of", "csv=p=0", str(out)],
                   capture_output=True, text=True, check=True)
    assert int(probe.stdout.strip()) == 150
    # a pipe and a lavfi graph too (trial 39: 6 of 90 and 38 of 90 recorded)
    graph = "lavfi:testsrc2=size=320x180:rate=300:duration=0.5"
    ts = tmp_path / "fast.ts"
    sp.run(["ffmpeg", "-v", "error", "-i", str(clip), "-c", "copy", str(ts)], check=True,
           timeout=60)
    for src, stdin in (("-", ts.read_bytes()), (graph, None)):
        res = subprocess.run([*PY, "run", src, "--preview", "http", "--listen",
                              f"127.0.0.1:{free_port()}", "-o", str(out), "-y", "-f",
                              "matroska", "--preset", "dashcam"], input=stdin, cwd=ROOT,
                             capture_output=True, timeout=300)
        err = res.stderr.decode()
        assert res.returncode == 0 and "wrote 150 frames" in err and "dropped 0" in err, err


def test_a_stream_lost_for_good_ends_the_run_with_exit_status_3(tmp_path):
    # Lost and given up on after input.reconnect_timeout, the run said "wrote
    # 41 frames" and exited 0: a recorder's script could not tell the camera
    # dying from the end it asked for (trial 54). The recording is finished.
    sender = UDPSender(free_port(socket.SOCK_DGRAM)).start(60)
    time.sleep(0.05)
    out = tmp_path / "rec.mkv"
    proc = subprocess.Popen([*PY, "run", sender.url, "-o", str(out), "--set",
                             "input.timeout=0.6", "--set", "input.reconnect_timeout=1.0"],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True)
    # the sender stops for good once the recording is under way (on a loaded
    # machine the run can take seconds to start)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None and not any(
            p.stat().st_size > 2000 for p in tmp_path.glob("rec.partial-*.mkv")):
        time.sleep(0.1)
    time.sleep(0.5)
    sender.stop()
    _, err = proc.communicate(timeout=60)
    res = subprocess.CompletedProcess(proc.args, proc.returncode, "", err)
    assert res.returncode == 3, res.stderr
    assert "giving up" in res.stderr and "Traceback" not in res.stderr
    assert (f"error: input {sender.url} was lost and not back within input.reconnect_timeout; "
            f"{out} holds what came before") in res.stderr, res.stderr
    frames = int(ffprobe_streams(out)["streams"][0]["nb_read_frames"])
    assert frames > 10 and f"wrote {frames} frames" in res.stderr, res.stderr


def test_an_mjpeg_camera_over_http_is_recorded_at_its_own_pace(tmp_path):
    # Multipart JPEG carries no frame times: FFmpeg counts the frames at a
    # guessed 25 fps, and a 10 fps camera was recorded 2.5 times too fast
    # (82 frames over 8.2 s written as 3.28 s, trial 55). Its frames are
    # stamped with their capture time, as a camera's are.
    rate, count = 10, 30

    class Camera(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            start = time.monotonic()
            for i in range(count):
                img = np.full((120, 160, 3), (i * 8) % 256, np.uint8)
                jpeg = cv2.imencode(".jpg", img)[1].tobytes()
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                                 + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg + b"\r\n")
                self.wfile.flush()
                time.sleep(max(0.0, start + (i + 1) / rate - time.monotonic()))

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Camera)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    out = tmp_path / "cam.mkv"
    try:
        res = _run("run", f"http://127.0.0.1:{server.server_address[1]}/cam", "-o", str(out),
                   "--set", "input.reconnect=false")
    finally:
        server.shutdown()
        server.server_close()
    assert res.returncode == 0, res.stderr
    times = ffprobe_frame_times(out)
    assert len(times) >= count - 3, res.stderr  # the latest-frame flow counts what it drops
    step = float(np.median(np.diff(times)))
    assert 0.8 / rate < step < 1.2 / rate, (step, times)
    span = times[-1] - times[0]
    assert (len(times) - 1) * 0.8 / rate < span < (count - 1) * 1.25 / rate, (span, len(times))
