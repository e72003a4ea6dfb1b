"""The Ray engine: a local runtime started by the CLI, and a simulated two-node cluster.

Both must give byte-identical outputs to the local engine (x264 on one thread
is deterministic), including a long file run in segments.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import ray  # in the test extra: CI must run these, never skip them
from ray.cluster_utils import Cluster

from vidclear.batch import BatchOptions, run_batch

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ["output.threads=1", "output.preset=ultrafast", 'pipeline.processors=["dehaze"]']


def digests(outdir: Path) -> dict[str, str]:
    return {str(p.relative_to(outdir)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(outdir.rglob("*.mp4"))}


@pytest.fixture(scope="module")
def inputs(clips: Path, tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    bad = tmp_path_factory.mktemp("bad") / "in"
    bad.mkdir()
    (bad / "corrupt.mp4").write_bytes(b"\0\0\0\x18ftypisom" + b"\x5a" * 4000)
    return [str(clips / "in"), str(clips / "long.mp4"), str(bad / "corrupt.mp4")]


@pytest.fixture(scope="module")
def local_result(inputs: list[str], tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("local")
    rep = run_batch(inputs, BatchOptions(outdir=out, overrides=SETTINGS, jobs=2,
                                         segment_seconds=1.0, overlap=1.0, progress=False))
    return out, rep


def test_cli_ray_engine_starts_local_runtime(inputs, local_result, tmp_path: Path) -> None:
    out = tmp_path / "ray"
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "PYTHONPATH": str(ROOT),
           "RAY_USAGE_STATS_ENABLED": "0"}
    cmd = [sys.executable, "-m", "vidclear", "batch", *inputs, "-o", str(out), "--engine",
           "ray", "-j", "2", "--segment-seconds", "1", "--overlap", "1",
           *[a for s in SETTINGS for a in ("--set", s)]]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 1, proc.stderr[-2000:]  # the corrupt file failed alone
    assert "corrupt.mp4" in proc.stderr and "4 segments" in proc.stderr
    rep = json.loads((out / "batch-report.json").read_text())
    assert rep["engine"] == "ray" and rep["totals"]["done"] == 4
    assert rep["totals"]["failed"] == 1
    local_out, local_rep = local_result
    assert local_rep["totals"]["done"] == 4
    assert digests(out) == digests(local_out)
    assert len(digests(out)) == 4


def test_ray_multi_node_cluster(inputs, local_result, tmp_path: Path) -> None:
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    cluster.add_node(num_cpus=1)
    try:
        ray.init(address=cluster.address, include_dashboard=False, log_to_driver=False,
                 runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "NUMBA_NUM_THREADS": "1"}})
        cluster.wait_for_nodes()
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2
        out = tmp_path / "cluster"
        rep = run_batch(inputs, BatchOptions(outdir=out, overrides=SETTINGS, engine="ray",
                                             segment_seconds=1.0, overlap=1.0,
                                             progress=False))
        assert rep["workers"] == 2  # one actor per node: each asks for 1 CPU
        assert rep["nodes"] == 2  # jobs really ran on both nodes
        assert rep["totals"]["done"] == 4 and rep["totals"]["failed"] == 1
        assert digests(out) == digests(local_result[0])
        # Resume on the cluster: nothing left to do.
        again = run_batch(inputs, BatchOptions(outdir=out, overrides=SETTINGS, engine="ray",
                                               segment_seconds=1.0, overlap=1.0,
                                               progress=False))
        assert again["totals"]["skipped"] == 4 and again["totals"]["done"] == 0
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_the_cli_starts_its_own_runtime_beside_a_running_cluster(inputs, tmp_path: Path) -> None:
    # Without --address the CLI starts a local Ray runtime of its own, as its
    # help says. ray.init() with no address joins the last cluster started on
    # the machine instead, if one runs: beside another test's cluster (the
    # test workers run side by side) the batch ran on that cluster's workers,
    # which lacked vidclear's path, and lost its per-file messages.
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        out = tmp_path / "own"
        env = {**os.environ, "NUMBA_NUM_THREADS": "1", "PYTHONPATH": str(ROOT),
               "RAY_USAGE_STATS_ENABLED": "0"}
        env.pop("RAY_ADDRESS", None)
        cmd = [sys.executable, "-m", "vidclear", "batch", inputs[1], "-o", str(out),
               "--engine", "ray", "-j", "1", "--segment-seconds", "1", "--overlap", "1",
               *[a for s in SETTINGS for a in ("--set", s)]]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=240)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert "existing Ray cluster" not in proc.stderr, proc.stderr[-2000:]
        assert cluster.address not in proc.stderr
        assert len(digests(out)) == 1
    finally:
        cluster.shutdown()


def test_an_address_no_ray_cluster_answers_on_is_refused_at_once(inputs, tmp_path: Path
                                                                   ) -> None:
    # A closed port was retried by ray.init for minutes (still at 120 s), a
    # port that takes the connection but is no Ray cluster (a web server)
    # with no end, and a ray:// address nothing answers on ended after 30 s
    # as an "internal error" (trials 94 F2, F3 and 95 F2, F3).
    import socket
    import threading
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # free, and nothing listens once closed
    web = socket.create_server(("127.0.0.1", 0))
    web_port = web.getsockname()[1]

    def answer_as_http() -> None:  # an HTTP/1 server's reply to anything
        with contextlib.suppress(OSError):
            while True:
                conn, _ = web.accept()
                with conn:
                    conn.recv(1024)
                    conn.sendall(b"HTTP/1.0 400 Bad request\r\n\r\n")

    threading.Thread(target=answer_as_http, daemon=True).start()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0"}
    cases = ((f"127.0.0.1:{port}", "no Ray cluster reachable there"),
             (f"ray://127.0.0.1:{port}", "no Ray cluster reachable there"),
             (f"127.0.0.1:{web_port}", "not a Ray cluster"),
             ("head-node", "expected auto, HOST:PORT"),
             ("", "expected auto, HOST:PORT"),  # started a local runtime (trial 96 F6)
             (f"http://127.0.0.1:{web_port}", "expected auto, HOST:PORT"))
    try:
        for address, says in cases:
            out = tmp_path / (address.replace(":", "_").replace("/", "_") or "empty")
            t0 = time.monotonic()
            proc = subprocess.run([sys.executable, "-m", "vidclear", "batch", inputs[1], "-o",
                                   str(out), "--engine", "ray", "--address", address],
                                  cwd=ROOT, env=env, capture_output=True, text=True,
                                  timeout=120)
            assert proc.returncode == 2 and says in proc.stderr, proc.stderr[-2000:]
            assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr[-2000:]
            assert time.monotonic() - t0 < 30.0
            assert not out.exists()  # refused before OUTDIR was made
    finally:
        web.close()


def test_workers_import_the_vidclear_the_driver_imported(inputs, tmp_path: Path) -> None:
    # Ray puts the driver's current folder first on its workers' path: run
    # from a checkout with vidclear installed from it, the workers imported
    # the checkout's source instead of the installed copy (trial 96 F2). A
    # folder holding another "vidclear" stands in for that checkout here.
    cwd = tmp_path / "checkout"
    (cwd / "vidclear").mkdir(parents=True)
    (cwd / "vidclear" / "__init__.py").write_text(
        'raise ImportError("the vidclear in the driver\'s folder was imported")\n')
    out = tmp_path / "out"
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "PYTHONPATH": str(ROOT),
           "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    # -P: the driver itself does not put its folder first (a console script does not)
    proc = subprocess.run([sys.executable, "-P", "-m", "vidclear", "batch", inputs[1], "-o",
                           str(out), "--engine", "ray", "-j", "1",
                           *[a for s in SETTINGS for a in ("--set", s)]],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(digests(out)) == 1
