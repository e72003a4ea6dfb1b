"""Run a batch: expand the inputs, skip what is done, farm out jobs, record each result.

>>> from vidclear.batch import BatchOptions, run_batch
>>> report = run_batch(["footage/"], BatchOptions(outdir=Path("clear"), preset="dashcam"))

Every finished job is recorded in the state file at once (see
:mod:`vidclear.batch.state`), so a killed batch loses at most the jobs that
were running. Long files are split into segments (see
:mod:`vidclear.batch.segments`) whose results are joined here, in the
driver, as soon as the last segment of a file is done.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import hashlib
import json
import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vidclear.batch.inputs import BatchItem, collect_inputs, collect_trips
from vidclear.batch.segments import (
    estimate_frames,
    join_segments,
    part_suffix,
    plan_segments,
    unjoinable,
)
from vidclear.batch.state import (
    STATE_NAME,
    BatchState,
    StateWriteError,
    config_hash,
    input_identity,
    written,
)
from vidclear.config.loader import load_config
from vidclear.core.signals import detach_terminal, is_hangup, stop_signals
from vidclear.errors import ConfigError, OutputError, VidclearError
from vidclear.io.sinks.encoder import IMAGE_SUFFIXES, check_encoder, container_for
from vidclear.io.sinks.paths import check_output_path, partial_path, stale_partials, write_file

__all__ = ["BatchOptions", "run_batch"]

SEGMENT_DIR = ".vidclear-segments"
# a segment that failed for want of room keeps the finished ones (see _handle)
_NO_ROOM = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})
REPORT_NAME = "batch-report.json"
#: the row of a file written whole whose record the state file could not take
UNRECORDED_NOTE = ("written whole, but its record could not be saved: the same command "
                   "run again processes it again")


@dataclass
class BatchOptions:
    """Settings of one ``vidclear batch`` run (see ``vidclear batch --help``)."""

    outdir: Path
    preset: str | None = None
    config_file: str | None = None
    overrides: list[str] = field(default_factory=list)
    jobs: int | None = None
    engine: str = "local"
    address: str | None = None
    cpus_per_job: float = 1.0
    overwrite: bool = False
    retries: int = 2
    segment_seconds: float = 300.0
    overlap: float | None = None  # None: warm_up_seconds() of the run's config
    suffix: str | None = None
    report: Path | None = None
    progress: bool | None = None
    trips: bool = False

    def validate(self) -> None:
        if self.jobs is not None and self.jobs < 1:
            raise ConfigError(f"--jobs {self.jobs} is not allowed: give 1 or more")
        if self.retries < 0:
            raise ConfigError(f"--retries {self.retries} is not allowed: give 0 or more")
        for name, value in (("--segment-seconds", self.segment_seconds),
                            ("--overlap", self.overlap)):
            # NaN, inf: an internal error
            if value is not None and not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} {value:g} is not allowed: give a finite number of "
                                  "seconds, 0 or more")
        if not (math.isfinite(self.cpus_per_job) and self.cpus_per_job > 0):
            raise ConfigError("--cpus-per-job must be a finite number more than 0")


# A segment's warm-up (--overlap) by default: three time constants of the
# smoothed airlight (2 s: within 5 % of its one-pass value at the seam) and at
# least the dehazer's memory_seconds (twice dehaze.airlight_hold); shorter, a
# segment whose warm-up began after a fall of the airlight estimate held an
# uncovering of the brightest haze that one pass followed, 22-24 levels apart
# after the seam (trials 176 F2 and 177 F1-F2).
_MIN_OVERLAP = 6.0


def _hold_span(config: Any) -> float:
    """The dehazer's ``memory_seconds`` in ``config`` (a loaded Config), 0 without it."""
    if "dehaze" not in config.pipeline.processors:
        return 0.0
    return float(config.processor_config("dehaze").memory_seconds)


def warm_up_seconds(config: Any) -> float:
    """The seconds a segment runs before its first frame for ``config`` (a loaded Config)."""
    return max(_MIN_OVERLAP, _hold_span(config))


@dataclass
class _File:
    item: BatchItem
    tables: dict[str, Any] = field(default_factory=dict)
    chash: str = ""
    identity: dict[str, Any] = field(default_factory=dict)
    status: str = "pending"  # pending | running | done | skipped | failed | interrupted
    error: str = ""
    frames_total: int = 0
    frames_done: int = 0
    segments: list[Any] | None = None
    seg_dir: Path | None = None
    keep_parts: bool = False  # failed at the join: its finished parts wait for the rerun
    seg_results: dict[int, dict[str, Any]] = field(default_factory=dict)
    attempts: collections.Counter[str] = field(default_factory=collections.Counter)
    result: dict[str, Any] = field(default_factory=dict)
    started: float = 0.0
    wall_s: float = 0.0
    note: str = ""  # why a long file runs in one piece


def _parts(f: _File) -> list[Path]:
    """The paths of ``f``'s segment outputs, in order; none for a file run whole."""
    if f.segments is None or f.seg_dir is None:
        return []
    return [f.seg_dir / f"part-{s.index:05d}{part_suffix(f.item.output)}" for s in f.segments]


def _remove_partials(path: Path) -> int:
    """Delete temporary files that killed runs left for ``path``; returns how many.

    ``NAME.partial-PID.EXT`` is only removed when process PID is gone, so a
    recording another process is still writing is left alone.
    """
    removed = 0
    for p in stale_partials(path):
        with contextlib.suppress(OSError):
            p.unlink()
            removed += 1
    return removed


def _drop_segments(seg_dir: Path) -> None:
    """Remove one file's segment folder, and the folders above it that are left empty.

    ``seg_dir`` is ``OUTDIR/.vidclear-segments/OUTPUT-KEY/RUN-TAG`` (see
    ``_Run._plan``).
    """
    shutil.rmtree(seg_dir, ignore_errors=True)
    with contextlib.suppress(OSError):
        seg_dir.parent.rmdir()  # the output's, when no other run's parts are left
        seg_dir.parent.parent.rmdir()  # the batch's, when no other output's are


def _result_path(part: Path) -> Path:
    return part.with_name(part.name + ".json")


def _save_result(part: Path, result: dict[str, Any]) -> None:
    """Keep a finished segment's result beside its part, for a rerun that joins it.

    A rerun that only joined kept parts reported "0 local workers", no
    processors and no notes (trial 71). Best effort: a part without its
    result (a full disk, a kill between the two) is joined all the same.
    """
    with contextlib.suppress(OSError, VidclearError, TypeError, ValueError):
        write_file(_result_path(part), json.dumps(result, default=str).encode("utf-8"),
                   label="segment result")


def _saved_result(part: Path) -> dict[str, Any]:
    """The result :func:`_save_result` kept for ``part``; ``{}`` if none could be read."""
    with contextlib.suppress(OSError, ValueError):
        saved = json.loads(_result_path(part).read_text(encoding="utf-8"))
        if isinstance(saved, dict):
            return saved
    return {}


def _sweep_old_segments(outdir: Path) -> None:
    """Remove segment folders of the layout before ``OUTPUT-KEY/RUN-TAG`` (parts right inside).

    Nothing of this version reads them, and no run of it would ever have
    swept them (trial 71).
    """
    root = outdir / SEGMENT_DIR
    with contextlib.suppress(OSError):
        for folder in root.iterdir():
            if folder.is_dir() and any(p.is_file() for p in folder.glob("part-*")):
                shutil.rmtree(folder, ignore_errors=True)


def _check_report_path(path: Path, items: list[BatchItem], *, overwrite: bool,
                       read: list[str], outdir: Path) -> None:
    """Refuse a ``--report`` file that is an input or an output of the batch, or another file.

    It may replace an earlier batch report (a batch run again to resume
    writes its report again), or anything else with ``-y``; never an input
    or an output of this batch, a file it reads (``read``: its manifests and
    ``--config``) or its state file in ``outdir``. Its folder must exist and
    take a new file.

    Raises
    ------
    OutputError
        With the reason, before any job starts.
    """
    real = os.path.realpath(path)
    if real == os.path.realpath(outdir / STATE_NAME):
        raise OutputError(f"--report {path} is the batch's state file; refusing to overwrite "
                          "it (a rerun could not resume)")
    for item in items:
        for src in item.sources:
            if os.path.realpath(src) == real:
                raise OutputError(f"--report {path} is an input of this batch; refusing to "
                                  "overwrite an input")
        if os.path.realpath(item.output) == real:
            raise OutputError(f"--report {path} is also the output of {item.input.name}")
    for spec in read:  # with -y a manifest or the config file became the report (trial 38)
        if os.path.isfile(spec) and os.path.realpath(spec) == real:
            raise OutputError(f"--report {path} is a file this batch reads; refusing to "
                              "overwrite it")
    check_output_path(path, inputs=[], overwrite=True, label="--report")
    if path.is_file() and not overwrite and not _is_batch_report(path):
        raise OutputError(f"--report {path} already exists and is no batch report "
                          "(use -y to replace it)")


def _is_batch_report(path: Path) -> bool:
    """Whether ``path`` holds a report a batch wrote (JSON with its files and totals)."""
    try:
        if path.stat().st_size > 256 << 20:
            return False
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and {"files", "totals", "outdir"} <= data.keys()


def _write_json_atomic(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=2, default=str) + "\n"
    write_file(path, text.encode("utf-8"), label="batch report")


def _frames_expected(f: _File, inflight: dict[str, int],
                     tasks: dict[str, tuple[_File, dict[str, Any]]]) -> int:
    """The frames ``f`` will have given: its count once done or failed, else its
    header's guess, at least what it has given so far."""
    if f.status in ("done", "failed"):
        return f.frames_done
    running = sum(n for tid, n in inflight.items() if tasks[tid][0] is f)
    return max(f.frames_total, f.frames_done + running)


class _Bar:
    """The overall progress bar: frames with fps and ETA, files done/failed."""

    def __init__(self, total: int, files: int, enabled: bool | None) -> None:
        from tqdm import tqdm

        self.files = files
        self.bar = tqdm(total=total or None, unit="f", desc="batch", file=sys.stderr,
                        dynamic_ncols=True, disable=None if enabled is None else not enabled)

    def update(self, frames: int, done: int, failed: int, total: int | None = None) -> None:
        if total and self.bar.total and total != self.bar.total:
            # a file's header guessed its frames (a variable-rate clip from its
            # duration at the top rate): its real count once done, or what it
            # has passed; the bar stopped at 50 % (trial 146 F3)
            self.bar.total = total
        if frames > 0 and self.bar.n == 0:
            # the rate and ETA count from the first frame: the workers' first
            # minute compiling kernels made the ETA 7 hours for a 1-minute
            # batch (trial 83 F5); the summary line keeps the whole wall time
            self.bar.reset(total=self.bar.total)
        if frames > self.bar.n:
            self.bar.update(frames - self.bar.n)
        post = {"files": f"{done}/{self.files}"}
        if failed:
            post["failed"] = str(failed)
        self.bar.set_postfix(post, refresh=False)

    def close(self) -> None:
        self.bar.close()


def _prepare(items: list[BatchItem], opts: BatchOptions, state: BatchState) -> list[_File]:
    files = []
    extra = {"segment_seconds": opts.segment_seconds, "overlap": opts.overlap}
    for item in items:
        f = _File(item)
        files.append(f)
        try:
            config = load_config(preset=opts.preset, config_file=opts.config_file,
                                 overrides=[*opts.overrides, *item.overrides])
        except ConfigError as exc:
            f.status, f.error = "failed", f"ConfigError: {exc}"
            continue
        f.tables = config.to_dict()
        f.chash = config_hash(f.tables, extra)
        try:
            if item.parts:  # a trip: every chunk's identity, in order
                ids = [input_identity(p) for p in item.parts]
                joined = "|".join(i["sha256_sample"] for i in ids)
                f.identity = {"parts": ids,
                              "sha256_sample": hashlib.sha256(joined.encode()).hexdigest()}
            else:
                f.identity = input_identity(item.input)
        except OSError as exc:
            f.status, f.error = "failed", f"InputError: cannot read input {item.input}: " \
                                          f"{exc.strerror or exc}"
            continue
        if state.is_done(item.key, f.identity, f.chash, item.output):
            f.status = "skipped"
            f.result = dict(state.get(item.key) or {})
            continue
        if item.output.exists() and not opts.overwrite and not state.wrote(item.key,
                                                                          item.output):
            # the name, not the path: the row names the output, and the table
            # cut the remedy off a long path (trial 61)
            f.status, f.error = "failed", (f"OutputError: {item.output.name} already exists "
                                           "and is not the file this batch wrote (use -y)")
    return files


def run_batch(
    inputs: list[str],
    opts: BatchOptions,
    *,
    on_file: Callable[[dict[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """Process every input; returns the report (also written as JSON).

    Parameters
    ----------
    inputs : list of str
        Files, directories, globs and manifests (see :mod:`vidclear.batch.inputs`).
    opts : BatchOptions
        Output folder, config, engine and resume settings.
    on_file : callable, optional
        Called with each file's report entry as soon as it is finished.

    Returns
    -------
    dict
        ``{"files": [...], "totals": {...}, "interrupted": bool, ...}``; a
        file's ``status`` is ``done``, ``skipped`` (finished by an earlier
        run), ``failed`` (with ``error``) or ``pending`` (not reached).

    Raises
    ------
    ConfigError
        The shared config or an option is invalid (nothing is started).
    """
    opts.validate()
    if not str(opts.outdir).strip():  # Path("") is the current folder
        raise ConfigError('the output folder is empty ("", an unset shell variable?)')
    outdir = Path(opts.outdir).resolve()
    # Validate the shared config before touching anything.
    base = load_config(preset=opts.preset, config_file=opts.config_file,
                       overrides=opts.overrides)
    notes: list[str] = []
    if opts.overlap is None:
        opts = replace(opts, overlap=warm_up_seconds(base))
    elif 0 < opts.segment_seconds and opts.overlap < (span := _hold_span(base)):
        # No duration is promised: a held uncovering lasts until the estimate
        # is believed or the haze moves, which can be longer than the hold
        # (trial 178 F2).
        notes.append(f"--overlap {opts.overlap:g} is shorter than twice dehaze.airlight_hold "
                     f"({span:g} s): after a seam a segment may hold an airlight that one "
                     "pass followed, and differ from it (the airlight's jump hold)")
    if (opts.suffix or "").lower().lstrip(".") not in IMAGE_SUFFIXES:
        # --set output.codec=nosuch failed every file on its own, not once up front
        check_encoder(base.output)
    if opts.suffix and not base.output.format:
        # --ext .txt likewise, after OUTDIR and its state were made (trial 146 F4)
        container_for(Path("out").with_suffix("." + opts.suffix.lstrip(".")),
                      f"--ext {opts.suffix}")
    if opts.trips:
        items = collect_trips(inputs, outdir, suffix=opts.suffix, order=base.input.order,
                              container=base.output.format)
    else:
        items = collect_inputs(inputs, outdir, suffix=opts.suffix, notes=notes,
                               container=base.output.format)
    read = [*inputs, *([opts.config_file] if opts.config_file else [])]  # never a report
    # a --report in OUTDIR itself is checked once the batch has made OUTDIR (it was
    # refused, "folder does not exist", for a new OUTDIR, trial 83 F4); any other
    # is refused now, not after the whole batch has run
    report_path = Path(opts.report) if opts.report is not None else outdir / REPORT_NAME
    in_outdir = Path(os.path.realpath(report_path)).parent == outdir
    if not in_outdir:
        _check_report_path(report_path, items, overwrite=opts.overwrite, read=read,
                           outdir=outdir)
    if opts.engine == "ray" and opts.address is not None:
        # a cluster nothing answers for is refused before OUTDIR is made
        from vidclear.batch.engines.ray_engine import check_address
        check_address(opts.address)
    outdir_existed = outdir.exists()
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {outdir}: {exc.strerror or exc}") from None
    if in_outdir:
        _check_report_path(report_path, items, overwrite=opts.overwrite, read=read,
                           outdir=outdir)
    state = BatchState(outdir)
    _sweep_old_segments(outdir)
    files = _prepare(items, opts, state)
    t0 = time.perf_counter()
    run = _Run(files, opts, outdir, state, base.to_dict(), on_file)
    claims = (state.path.exists(), dict(state.jobs))
    # the output folders (OUTDIR and those under it) that exist before any job is planned
    folders = {d for f in files for d in f.item.output.parents
               if d == outdir or outdir in d.parents}
    had = {d for d in folders if d.exists() and (d != outdir or outdir_existed)}
    with run.signals.installed():
        try:
            interrupted = run.execute()
        except VidclearError:
            if not any(f.started for f in files):  # the engine did not start (a Ray address)
                _unclaim(state, claims, sorted(folders - had, key=lambda d: -len(d.parts)))
            raise
        if interrupted:
            try:
                _mark_interrupted(files, state)
            except StateWriteError as exc:  # still full: the table says what the run did
                run.state_error = run.state_error or str(exc)
            else:  # saved after all (a disk full for a moment): those records are in it
                for f in files:  # (the row said they were lost, trial 130 F7)
                    if f.note == UNRECORDED_NOTE:
                        f.note = ""
        # Workers of a killed earlier run may have been still dying when their files
        # were planned: sweep their partial files once more now that they are gone.
        for f in files:
            _remove_partials(f.item.output)
            for part in _parts(f):  # the stopped workers' (trial 71: 3 of 5 Ctrl-C)
                _remove_partials(part)
            if f.status == "failed" and f.seg_dir is not None and not f.keep_parts:
                # a file whose processing failed leaves no parts behind in the
                # user's folder (trial 64); one interrupted, or failed at the
                # join (a full disk), keeps them for the rerun, which joins
                # them (trial 70: 750 of 750 frames were done again)
                _drop_segments(f.seg_dir)
        report = _report(files, opts, outdir, run, time.perf_counter() - t0, interrupted)
        report["notes"] = notes
        if run.state_error:
            report["state_error"] = run.state_error
        try:
            _write_json_atomic(opts.report or outdir / REPORT_NAME, report)
        except OutputError as exc:
            if not run.state_error:
                raise
            report["report_error"] = str(exc)  # the disk is full: the table still shows
    return report


class _Run:
    def __init__(self, files: list[_File], opts: BatchOptions, outdir: Path,
                 state: BatchState, base_tables: dict[str, Any],
                 on_file: Callable[[dict[str, Any]], Any] | None) -> None:
        self.files = files
        self.opts = opts
        self.outdir = outdir
        self.state = state
        self.base_tables = base_tables
        self.on_file = on_file
        self.tasks: dict[str, tuple[_File, dict[str, Any]]] = {}
        self.pending: collections.deque[str] = collections.deque()
        self.running: dict[str, int] = {}
        self.engine: Any = None
        self.workers = 0
        self.nodes: set[str] = set()
        self.signals = _Signals()
        self.state_error = ""  # why the state file could not be saved, if it could not

    # -- planning ----------------------------------------------------------
    def _plan(self, f: _File) -> None:
        item = f.item
        f.frames_total = sum(estimate_frames(p)[0] for p in item.sources)
        # a trim runs whole, as a whole run trims it (segments read the whole
        # file: a trimmed input came out untrimmed, trial 111 F2)
        config = load_config(base=f.tables)
        given = config.input
        overlap = warm_up_seconds(config) if self.opts.overlap is None else self.opts.overlap
        whole = unjoinable(item.output) or (
            "it is trimmed (input.start, input.duration or input.end)" if given.trim else None)
        try:
            # A trip runs whole: its state must carry across every join, not restart per segment.
            f.segments = None if item.parts or whole else plan_segments(
                item.input, segment_seconds=self.opts.segment_seconds, overlap=overlap,
                check=not given.allow_truncated)
        except VidclearError as exc:
            self._fail(f, f"{type(exc).__name__}: {exc}")
            return
        seconds = estimate_frames(item.input)[1] if not item.parts else None
        if f.segments is None and seconds and self.opts.segment_seconds > 0 \
                and seconds >= 2 * self.opts.segment_seconds:
            f.note = (f"one piece: {seconds:.0f} s, but " + (whole or (
                "it cannot be cut at keyframes (too few keyframes, a display rotation, "
                "untimed packets, a clock that goes back or Matroska files joined)")))
        item.output.parent.mkdir(parents=True, exist_ok=True)
        _remove_partials(item.output)
        if (self.state.get(item.key) or {}).get("status") != "done":
            # Claimed before any worker writes: a rerun after a hard kill knows the
            # output (complete or not) is this batch's own and finishes it.
            self.state.record(item.key, {"status": "running", "input": str(item.input),
                                         "output": str(item.output)})
        if f.segments is None:
            self._segments_of(item, keep=None)
            source: str | list[str] = [str(p) for p in item.parts] if item.parts \
                else str(item.input)
            self._add_task(f, f"{item.key}", {"kind": "file", "input": source,
                                              "output": str(item.output),
                                              "tables": f.tables})
            return
        # the input's size and time too: its first and last MiB alone took an
        # input edited in the middle for the one whose parts were kept, and
        # the joined output was the old input's (trial 71)
        ident = f.identity
        tag = hashlib.sha256(f"{item.key}|{ident.get('size')}|{ident.get('mtime_ns')}|"
                             f"{ident['sha256_sample']}|{f.chash}".encode())
        name = tag.hexdigest()[:20]
        f.seg_dir = self._segments_of(item, keep=name) / name
        f.seg_dir.mkdir(parents=True, exist_ok=True)
        for seg, part in zip(f.segments, _parts(f), strict=True):
            _remove_partials(part)
            if part.exists():  # finished by an earlier, interrupted run
                f.seg_results[seg.index] = {"frames": seg.frames, **_saved_result(part),
                                            "ok": True, "reused": True}
                f.frames_done += int(f.seg_results[seg.index].get("frames", seg.frames))
                continue
            self._add_task(f, f"{item.key}#{seg.index}", {
                "kind": "segment", "input": str(item.input), "output": str(part),
                "tables": f.tables, "segment": seg.to_dict()})
        if len(f.seg_results) == len(f.segments):
            self._join(f)

    def _segments_of(self, item: BatchItem, keep: str | None) -> Path:
        """The folder of ``item``'s segments, emptied of what other runs left there.

        Parts an earlier run left for this output with other settings or
        another input, or before a rerun that runs it whole, are of no use
        to any run now (trial 70: kept for good after an interrupted run was
        started again with one setting changed; trial 71: with
        ``--segment-seconds 0``). ``keep`` names this run's own folder in it
        (``RUN-TAG``), if it is cut into segments.
        """
        mine = self.outdir / SEGMENT_DIR / hashlib.sha256(item.key.encode()).hexdigest()[:16]
        if mine.is_dir():
            for stale in mine.iterdir():
                if stale.name != keep:
                    shutil.rmtree(stale, ignore_errors=True)
            if keep is None:
                with contextlib.suppress(OSError):  # the folders left empty
                    mine.rmdir()
                    mine.parent.rmdir()
        return mine

    def _add_task(self, f: _File, task_id: str, task: dict[str, Any]) -> None:
        self.tasks[task_id] = (f, task)
        self.pending.append(task_id)

    # -- events ------------------------------------------------------------
    def _fail(self, f: _File, error: str, *, record: bool = True) -> None:
        f.status, f.error = "failed", error
        if f.started:  # its row showed 0.0 s after 750 frames (trial 70)
            f.wall_s = time.perf_counter() - f.started
        for tid in [t for t in self.pending if self.tasks[t][0] is f]:
            self.pending.remove(tid)
        if record:  # never for outputs this batch did not write (see BatchState.owns)
            # what the batch wrote there before (if still there) stays its own
            kept = self.state.output_record(f.item.key) if self.state.wrote(
                f.item.key, f.item.output) else {}
            self.state.record(f.item.key, {"status": "failed", "input": str(f.item.input),
                                       "identity": f.identity, "config_hash": f.chash,
                                       "error": error, **kept})
        self._emit(f)

    def _keep_parts(self, f: _File, kept: int, error: str) -> None:
        """Fail ``f`` keeping its ``kept`` finished segments for the same command run again."""
        f.keep_parts = True
        where = f.seg_dir.relative_to(self.outdir) if f.seg_dir is not None else SEGMENT_DIR
        # the kept parts first: the table cuts a long error at 100 characters
        self._fail(f, f"{kept} finished segments kept for the same command run again ({where}; "
                      f"delete it if there will be none): {error}")

    def _done(self, f: _File, result: dict[str, Any]) -> None:
        f.status = "done"
        f.wall_s = time.perf_counter() - f.started if f.started else 0.0
        f.result = {"status": "done", "input": str(f.item.input),
                    "output": str(f.item.output), "identity": f.identity,
                    "config_hash": f.chash, **written(f.item.output), **result}
        try:
            self.state.record(f.item.key, f.result)
        except StateWriteError:
            # the output is whole, but the rerun cannot know it: the row said
            # a plain "done" for a file the next run processed again (trial 126 F5)
            f.note = UNRECORDED_NOTE
            raise
        finally:
            self._emit(f)

    def _emit(self, f: _File) -> None:
        if self.on_file is not None:
            self.on_file(_entry(f))

    def _join(self, f: _File) -> None:
        if f.segments is None or f.seg_dir is None:
            raise RuntimeError("_join called for a file that was not segmented")
        if not f.started:  # every part kept by an earlier run: the row times the join
            f.started = time.perf_counter()
        parts = _parts(f)
        config = load_config(base=f.tables)
        # beside the file a link points to, so the final rename stays on one file system
        tmp = partial_path(Path(os.path.realpath(f.item.output)), f.item.output.suffix)
        try:
            counts = join_segments(f.item.input, parts, f.item.output, config=config.output,
                                   tmp=tmp)
        except (VidclearError, OSError) as exc:
            self._keep_parts(f, len(parts), f"{type(exc).__name__}: {exc}")
            return
        results = [f.seg_results[s.index] for s in f.segments]
        frames = sum(int(r.get("frames", 0)) for r in results)
        busy = sum(float(r.get("seconds", 0.0)) for r in results)
        reused = sum(int(r.get("frames", 0)) for r in results if r.get("reused"))
        said = _segment_notes([r.get("notes", []) for r in results], parts,
                              f.item.output) + list(counts.get("notes", []))
        # recorded done before its parts go: a kill between the two redid
        # five of six segments (trial 71)
        self._done(f, {"frames": frames, "segments": len(parts), "worker_seconds": busy,
                       **({"frames_reused": reused} if reused else {}),
                       "warm_frames": sum(int(r.get("warm_frames", 0)) for r in results),
                       "frames_damaged": sum(int(r.get("frames_damaged", 0)) for r in results),
                       "packets_copied": counts["packets_copied"],
                       **({"notes": said} if said else {}),
                       # each segment's processors report on their own part: the first's
                       "processors": results[0].get("processors", {}) if results else {}})
        _drop_segments(f.seg_dir)

    def _handle(self, task_id: str, result: dict[str, Any]) -> None:
        f, task = self.tasks[task_id]
        self.running.pop(task_id, None)
        if result.get("node"):
            self.nodes.add(str(result["node"]))
        if f.status == "failed":
            return
        if not result.get("ok"):
            f.attempts[task_id] += 1
            if result.get("transient") and f.attempts[task_id] <= self.opts.retries:
                self.pending.appendleft(task_id)
                return
            error = f"{result.get('error_type', 'Error')}: {result.get('error')}"
            if task["kind"] == "segment" and result.get("errno") in _NO_ROOM:
                # a full disk is no fault of the finished segments: they wait
                # for the same command run again (trial 71: 250 of 500 frames
                # were thrown away)
                self._keep_parts(f, sum(1 for r in f.seg_results.values() if r.get("ok")),
                                 error)
                return
            self._fail(f, error)
            return
        if task["kind"] == "file":
            f.frames_done = int(result.get("frames", 0))
            self._done(f, {k: result[k] for k in ("frames", "stats", "packets_copied",
                                                  "decode_errors", "frames_damaged", "notes",
                                                  "packets_dropped_at_joins", "seconds", "host",
                                                  "processors")
                           if k in result})
            return
        index = task["segment"]["index"]
        f.seg_results[index] = result
        _save_result(Path(task["output"]), result)
        f.frames_done = sum(int(r.get("frames", 0)) for r in f.seg_results.values())
        if f.segments is not None and len(f.seg_results) == len(f.segments):
            self._join(f)

    # -- main loop ---------------------------------------------------------
    def execute(self) -> bool:
        todo = [f for f in self.files if f.status == "pending"]
        for f in self.files:
            if f.status == "failed":
                self._fail(f, f.error, record=False)
            elif f.status == "skipped":
                self._emit(f)
        try:
            for f in todo:
                self._plan(f)
        except StateWriteError as exc:  # a full disk before any job ran (trial 123 F1)
            self.state_error = str(exc)
            return True
        if not self.pending:
            return False
        from vidclear.batch.engines import make_engine

        total = sum(f.frames_total for f in todo)
        bar = _Bar(total, len(self.files), self.opts.progress)
        interrupted = False
        inflight: dict[str, int] = {}  # frames each running task has reported
        self.signals.raising = True
        try:
            self.engine = make_engine(self.opts.engine, jobs=self.opts.jobs,
                                      address=self.opts.address,
                                      cpus_per_job=self.opts.cpus_per_job,
                                      warm_tables=self.base_tables)
            while self.pending or self.engine.busy:
                while self.pending and self.engine.busy < self.engine.workers:
                    tid = self.pending.popleft()
                    f = self.tasks[tid][0]
                    if not f.started:
                        f.started, f.status = time.perf_counter(), "running"
                    self.engine.submit(tid, self.tasks[tid][1])
                    self.running[tid] = 0
                    # the workers that ran jobs, not -j: "-j 100000" on one file
                    # said "on 100000 local workers" (trial 37)
                    self.workers = max(self.workers, self.engine.busy)
                for tid, result in self.engine.results(0.25):
                    inflight.pop(tid, None)
                    self._handle(tid, result)
                for tid, n in self.engine.progress():
                    if tid in self.running:
                        inflight[tid] = n
                frames = sum(f.frames_done for f in self.files) + sum(inflight.values())
                done = sum(1 for f in self.files if f.status in ("done", "skipped"))
                failed = sum(1 for f in self.files if f.status == "failed")
                total = sum(_frames_expected(f, inflight, self.tasks) for f in todo)
                bar.update(frames, done, failed, total)
        except (KeyboardInterrupt, StateWriteError) as exc:
            interrupted = True
            if isinstance(exc, StateWriteError):
                # a full disk at the state's save: stopped as for Ctrl-C, and
                # said after the table; the whole batch had ended in that one
                # line, no table, no report (trial 123 F1)
                self.state_error = str(exc)
            # what the stopped jobs had processed: an unsegmented file's row
            # said 0 frames after 500 (trial 60)
            if self.engine is not None:
                for tid, n in self.engine.progress():
                    if tid in self.running:
                        inflight[tid] = n
            for tid, n in inflight.items():
                self.tasks[tid][0].frames_done += n
        finally:
            self.signals.raising = False  # finishing: a signal now waits for the report
            if self.engine is not None:
                self.engine.shutdown(cancel=interrupted)
            bar.close()
        return interrupted


class _Signals:
    """SIGINT, SIGTERM and SIGHUP for a batch: KeyboardInterrupt while it runs jobs.

    Installed for the whole batch (SIGINT too: a batch started in the
    background by a non-interactive shell inherits it ignored, and `kill
    -INT` did nothing). While it finishes (the engine shut down, the report
    written) a signal is only noted: one that landed there lost the table
    and ``batch-report.json`` of a batch whose files were all done.
    """

    def __init__(self) -> None:
        self.raising = False
        self.late = False

    def handler(self, signum: int, _frame: Any) -> None:
        if is_hangup(signum):
            detach_terminal()  # the batch's last lines must not fail on a closed terminal
        if self.raising:
            raise KeyboardInterrupt
        self.late = True

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        self.raising, self.late = False, False
        with stop_signals(self.handler):
            yield



def _segment_notes(notes: list[list[str]], parts: list[Path], output: Path) -> list[str]:
    """The segments' ``notes`` as one run of ``output`` would give them.

    A part's file name in a note becomes the output's; a note every segment
    gave is said once, as the whole run says it (its encoder's, its
    source's); the rest are prefixed with their segment's number.
    """
    named = [[n.replace(str(part), str(output)) for n in said]
             for said, part in zip(notes, parts, strict=False)]
    common = set.intersection(*map(set, named)) if named else set()
    out: list[str] = []
    for i, said in enumerate(named):
        for n in said:
            line = n if n in common else f"segment {i + 1}: {n}"
            if line not in out:
                out.append(line)
    return out


def _kept_frames(f: _File) -> int:
    """The frames of ``f``'s finished segments: its parts on disk, as a rerun reuses them.

    Counted from the results the batch received, a Ctrl-C landing between a
    segment's end and its result left a finished part out ("60 not kept"
    for frames the rerun reused), or counted a result whose frames were not
    yet added to the row ("-60 not kept"; trial 146 F5). A part is renamed
    into place whole, so one that exists is finished.
    """
    kept = 0
    for seg, part in zip(f.segments or [], _parts(f), strict=False):
        if part.exists():
            result = f.seg_results.get(seg.index) or {"frames": seg.frames,
                                                       **_saved_result(part)}
            kept += int(result.get("frames", seg.frames))
    return kept


def _entry(f: _File) -> dict[str, Any]:
    r = f.result
    frames = int(r.get("frames", f.frames_done) or 0)
    wall = f.wall_s or float(r.get("seconds", 0.0) or 0.0)
    # the speed of this run's work: a join of parts an earlier run made read
    # 9602 fps (trial 71)
    now = frames - int(r.get("frames_reused", 0) or 0)
    entry: dict[str, Any] = {"input": str(f.item.input), "output": str(f.item.output),
                             "status": f.status, "frames": frames,
                             "wall_s": round(wall, 3),
                             "fps": round(now / wall, 2) if wall > 0 else 0.0}
    if f.error:
        entry["error"] = f.error
    if f.note:
        entry["note"] = f.note
    if f.segments is not None and (f.status == "interrupted" or f.keep_parts):
        # its finished segments stay for the rerun (trial 70: "not kept", they
        # were; trial 72: a failed join's 600 frames counted nowhere)
        entry["frames_kept"] = kept = _kept_frames(f)
        entry["frames"] = max(frames, kept)
    # tries that failed and were tried again (a failure that is not
    # transient is not retried, and its one try is no retry)
    retried = sum(f.attempts.values()) - (1 if f.status == "failed" else 0)
    if retried > 0:
        entry["retries"] = retried
    for k in ("segments", "frames_reused", "warm_frames", "packets_copied", "decode_errors",
              "frames_damaged",
              "packets_dropped_at_joins", "notes", "processors", "stats", "worker_seconds",
              "host"):
        if k in r and (k != "processors" or r[k]):  # only processors that report (HDR's)
            entry[k] = r[k]
    return entry


def _unclaim(state: BatchState, claims: tuple[bool, dict[str, dict[str, Any]]],
             made: list[Path]) -> None:
    """Undo the claims of a batch whose engine never started, and the folders it made.

    ``claims`` is whether the state file existed and its records before the
    jobs were claimed; ``made`` the output folders (OUTDIR and those under
    it) this batch created, deepest first. A Ray address that refused the
    connection left an OUTDIR holding only a state file with every job
    "running" (trial 96 F4). Only empty folders are removed.
    """
    existed, jobs = claims
    with contextlib.suppress(OSError, VidclearError):
        if existed:
            state.jobs = jobs
            state.save()
        else:
            state.path.unlink(missing_ok=True)
    for folder in made:
        with contextlib.suppress(OSError):
            folder.rmdir()


def _mark_interrupted(files: list[_File], state: BatchState) -> None:
    """After Ctrl-C: a started job is ``interrupted``, one never started ``pending``.

    Every job is claimed in the state file ("running") before any worker
    writes, so that a rerun after a hard kill knows the output is its own;
    left like that, jobs that never started read as running.
    """
    for f in files:
        if f.status not in ("pending", "running"):
            continue
        f.status = "interrupted" if f.started else "pending"
        if f.started:  # its row showed 0.0 s and 0.0 fps after 276 frames (trial 61)
            f.wall_s = time.perf_counter() - f.started
        rec = state.get(f.item.key)
        if rec is not None and rec.get("status") == "running":
            state.jobs[state.key(f.item.key)] = {**rec, "status": f.status,
                                                 "recorded_at": time.time()}
    state.save()


def _report(files: list[_File], opts: BatchOptions, outdir: Path, run: _Run, wall: float,
            interrupted: bool) -> dict[str, Any]:
    entries = [_entry(f) for f in files]
    counts = collections.Counter(e["status"] for e in entries)
    frames = sum(e["frames"] for e in entries if e["status"] == "done")
    reused = sum(e.get("frames_reused", 0) for e in entries if e["status"] == "done")
    # processed by jobs Ctrl-C stopped: their rows show them, their output is not
    # kept (a rerun does them again) but for a long file's finished segments;
    # the summary said "0 frames" beside "350"
    kept = sum(e.get("frames_kept", 0) for e in entries)
    lost = sum(e["frames"] - e.get("frames_kept", 0) for e in entries
               if e["status"] == "interrupted")
    # frames each run dropped (a constant-rate output's taken ticks): in the
    # files' stats and notes, not in the summary (trial 104's batch into AVI)
    dropped = sum(int((e.get("stats") or {}).get("dropped", 0) or 0) for e in entries)
    return {
        "outdir": str(outdir), "engine": opts.engine, "workers": run.workers,
        "nodes": len(run.nodes) or None, "interrupted": interrupted,
        "wall_s": round(wall, 3),
        "totals": {"files": len(entries), "done": counts["done"], "skipped": counts["skipped"],
                   "failed": counts["failed"], "interrupted": counts["interrupted"],
                   "pending": counts["pending"] + counts["running"],
                   "frames": frames, "frames_reused": reused,
                   "fps": round((frames - reused) / wall, 2) if wall > 0 else 0.0,
                   "frames_not_kept": lost, "frames_kept_for_rerun": kept,
                   "frames_dropped": dropped},
        "files": entries,
    }
