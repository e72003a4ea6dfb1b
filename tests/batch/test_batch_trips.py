"""``vidclear batch --trips``: each folder of chunk files is one recording, one output."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from tests.media import ffprobe_frame_times, ffprobe_packets, make_clip
from vidclear.batch import BatchOptions, run_batch
from vidclear.batch.inputs import collect_trips
from vidclear.errors import InputError


@pytest.fixture()
def trips(tmp_path: Path) -> Path:
    root = tmp_path / "sd"
    for name, n in (("trip-a", 3), ("trip-b", 2)):
        (root / name).mkdir(parents=True)
        for i in range(n):
            make_clip(root / name / f"{i:04d}.mp4", n=20, size=(96, 64))
    return root


def test_each_folder_runs_as_one_trip_and_resumes(trips: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    opts = BatchOptions(outdir=out, trips=True, jobs=1, progress=False,
                        overrides=['pipeline.processors=["copy"]', "output.preset=ultrafast"])
    report = run_batch([str(trips / "trip-a"), str(trips / "trip-b")], opts)
    assert report["totals"]["done"] == 2 and report["totals"]["failed"] == 0
    for name, n in (("trip-a", 3), ("trip-b", 2)):
        times = ffprobe_frame_times(out / f"{name}.mp4")
        assert len(times) == 20 * n  # every chunk's frames, one continuous clock
        assert max(b - a for a, b in itertools.pairwise(times)) < 0.05
        chunk_audio = len(ffprobe_packets(trips / name / "0000.mp4", "a:0"))
        written = len(ffprobe_packets(out / f"{name}.mp4", "a:0"))
        assert written >= n * chunk_audio - (n - 1)
        # the packets left out at the joins are counted and noted as in a single
        # run (the batch had neither: trial 34)
        entry = next(f for f in report["files"] if f["input"].endswith(name))
        assert entry["packets_dropped_at_joins"] == n * chunk_audio - written
        assert any("at a join" in note for note in entry["notes"]) == (written < n * chunk_audio)
    again = run_batch([str(trips / "trip-a"), str(trips / "trip-b")], opts)
    assert again["totals"]["skipped"] == 2
    # A changed chunk makes its trip run again; the other stays done.
    chunk = trips / "trip-b" / "0001.mp4"
    make_clip(chunk, n=25, size=(96, 64))
    os.utime(chunk, ns=(1, 1))
    third = run_batch([str(trips / "trip-a"), str(trips / "trip-b")], opts)
    assert third["totals"]["skipped"] == 1 and third["totals"]["done"] == 1
    assert len(ffprobe_frame_times(out / "trip-b.mp4")) == 45


def test_trips_need_folders(trips: Path, tmp_path: Path) -> None:
    opts = BatchOptions(outdir=tmp_path / "out", trips=True, progress=False)
    with pytest.raises(InputError, match="is not a folder"):
        run_batch([str(trips / "trip-a" / "0000.mp4")], opts)


def test_a_folder_of_trip_folders_is_named_for_trips(tmp_path: Path) -> None:
    # the advice was a glob pattern, which --trips refuses (trial 39)
    root = tmp_path / "trips"
    (root / "t1").mkdir(parents=True)
    (root / "t1" / "a.mp4").write_bytes(b"x")
    with pytest.raises(InputError, match=r"holds no video files itself; name its trip "
                                         r"folders, e\.g\. .*trips/\*/ or .*trips/t1"):
        collect_trips([str(root)], tmp_path / "out")
