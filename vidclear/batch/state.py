"""The resumable state of a batch: one record per finished job, written atomically.

The state lives in ``OUTDIR/.vidclear-batch.json``. After every finished job
the whole file is rewritten to a temporary file, flushed with ``fsync`` and
moved over the old one with :func:`os.replace` (then the folder is synced),
so a kill at any moment leaves either the old or the new state, never a torn
one. A rerun skips a job when its record says ``done``, the input's identity
and the config hash are unchanged and the output file is still there with
the recorded size.

Input identity is ``(size, mtime_ns, sample hash)``. The hash is a SHA-256 of
the size and the first and last MiB of the file (the whole file when it is
under 2 MiB): bounded work per file, yet it catches a file replaced by
another of the same size and time stamp in nearly every real case (container
headers and trailers differ). A change confined to the middle of a large
file that keeps its size and mtime is not detected; touch the file to force
a redo.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vidclear.config.loader import canonical_tables
from vidclear.errors import OutputError

__all__ = ["STATE_NAME", "BatchState", "config_hash", "input_identity"]

STATE_NAME = ".vidclear-batch.json"
_SAMPLE = 1 << 20  # bytes hashed at each end of a file
_VERSION = 2


def input_identity(path: Path) -> dict[str, Any]:
    """Size, mtime (ns) and a bounded content hash of ``path``.

    Raises
    ------
    OSError
        The file cannot be read.
    """
    st = path.stat()
    h = hashlib.sha256(str(st.st_size).encode())
    with open(path, "rb") as fh:
        if st.st_size <= 2 * _SAMPLE:
            h.update(fh.read())
        else:
            h.update(fh.read(_SAMPLE))
            fh.seek(st.st_size - _SAMPLE)
            h.update(fh.read(_SAMPLE))
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256_sample": h.hexdigest()}


def file_sha256(path: Path) -> str:
    """The SHA-256 of the whole file at ``path`` (:func:`hashlib.file_digest`).

    Raises
    ------
    OSError
        The file cannot be read.
    """
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


# what is recorded of each finished output (see BatchState.wrote)
_WRITTEN = ("output_size", "output_sample", "output_ctime_ns", "output_sha256")


def written(output: Path) -> dict[str, Any]:
    """The record of an output just finished: its size, the bounded content hash of
    :func:`input_identity`, its inode change time (ns) and the SHA-256 of the whole file.

    Raises
    ------
    OSError
        The file cannot be read.
    """
    ident = input_identity(output)
    return dict(zip(_WRITTEN, (ident["size"], ident["sha256_sample"],
                               output.stat().st_ctime_ns, file_sha256(output)), strict=True))


def config_hash(tables: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> str:
    """SHA-256 of a job's config tables (and any settings that change its output)."""
    blob = json.dumps({"config": canonical_tables(tables), "extra": dict(extra or {})},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)



class StateWriteError(OutputError):
    """The batch state file could not be written (a full disk): the batch stops there.

    What this run did is still reported (the table, ``batch-report.json``
    where it can be written), as for an interruption; the same command run
    again resumes from what the state file last held.
    """

class BatchState:
    """The records of a batch, keyed by output path.

    An output inside the output folder is stored by its path relative to
    it (POSIX separators), any other by its absolute path, so a finished
    folder that is moved, copied or mounted elsewhere still resumes: keyed
    by absolute paths (state version 1), every file of a copied folder
    was "already exists and was not written by this batch" (trial 54).
    Version 1 files are read with their keys made relative to the folder
    they name in common.

    Parameters
    ----------
    outdir : Path
        The batch's output folder; the state file lives directly in it.
    """

    def __init__(self, outdir: Path) -> None:
        self.outdir = Path(outdir)
        self.path = self.outdir / STATE_NAME
        self.jobs: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self.jobs = dict(data.get("jobs", {}))
                if data.get("version", 1) < 2:
                    self.jobs = _relative_keys(self.jobs, self.outdir)
            except (OSError, ValueError, AttributeError, TypeError):
                # An unreadable state only costs a redo; keep a copy for inspection.
                with contextlib.suppress(OSError):
                    os.replace(self.path, self.path.with_suffix(".json.bad"))
                self.jobs = {}

    def key(self, output: str | Path) -> str:
        """The stored key of ``output`` (an absolute path)."""
        p = Path(output)
        try:
            return p.relative_to(self.outdir).as_posix()
        except ValueError:
            return str(p)

    def outputs(self) -> set[str]:
        """The absolute paths of the outputs recorded here."""
        return {str(self.outdir / k) if not Path(k).is_absolute() else k for k in self.jobs}

    def get(self, key: str) -> dict[str, Any] | None:
        """The record of output ``key`` (an absolute path), if any."""
        return self.jobs.get(self.key(key))

    def is_done(self, key: str, identity: Mapping[str, Any], chash: str, output: Path) -> bool:
        """True when ``key`` finished with this input identity and config, output intact."""
        rec = self.get(key)
        if not rec or rec.get("status") != "done":
            return False
        if rec.get("identity") != dict(identity) or rec.get("config_hash") != chash:
            return False
        try:
            return output.stat().st_size == rec.get("output_size")
        except OSError:
            return False

    def owns(self, key: str) -> bool:
        """True when an earlier run of this batch wrote (or tried to write) ``key``."""
        return self.key(key) in self.jobs

    def wrote(self, key: str, output: Path) -> bool:
        """True when the file at ``output`` is still the one this batch finished as ``key``.

        Its size and a bounded content hash (:func:`input_identity`'s) must
        match those recorded when the batch wrote it, and, where its inode
        change time moved (a copied folder, a touch, any write, whatever
        mtime it was given back), the SHA-256 of the whole file. A file the
        user has since changed is theirs: a rerun with another config replaced
        a hand-edited output without -y (trial 60). Older records compare
        what they kept; a job claimed and then killed (status "running") owns
        what it left.
        """
        rec = self.get(key)
        if rec and rec.get("status") == "running":
            return True  # claimed before writing, then killed before its record: its own
        if not rec or "output_size" not in rec:
            return False
        try:
            now = input_identity(output)
            if now["size"] != rec["output_size"] or rec.get(
                    "output_sample", now["sha256_sample"]) != now["sha256_sample"]:
                return False
            if "output_sha256" not in rec:
                return True
            if output.stat().st_ctime_ns == rec.get("output_ctime_ns"):
                return True  # not written to since (a write sets the ctime, no tool sets it back)
            # touched, copied, or edited in the middle (which the sample does not
            # cover: trial 61 rewrote 8 bytes at 1.2 MB of a 2.4 MB output; trial
            # 62 set the mtime back after such an edit)
            return file_sha256(output) == rec["output_sha256"]
        except OSError:
            return False

    def output_record(self, key: str) -> dict[str, Any]:
        """What was recorded of the file this batch finished as ``key`` (see :func:`written`)."""
        rec = self.get(key) or {}
        return {k: rec[k] for k in _WRITTEN if k in rec}

    def record(self, key: str, record: Mapping[str, Any]) -> None:
        """Store one job's record and save the state atomically."""
        self.jobs[self.key(key)] = {**record, "recorded_at": time.time()}
        self.save()

    def save(self) -> None:
        """Write the state: temp file, fsync, os.replace, fsync the folder."""
        data = {"version": _VERSION, "jobs": self.jobs}
        folder = self.path.parent
        try:
            fd, tmp = tempfile.mkstemp(prefix=".vidclear-batch.", suffix=".tmp", dir=folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    json.dump(data, fh, indent=1, sort_keys=True)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            raise StateWriteError(f"cannot write batch state {self.path}: "
                                  f"{exc.strerror or exc}") from None
        _fsync_dir(folder)

    def __repr__(self) -> str:
        done = sum(1 for r in self.jobs.values() if r.get("status") == "done")
        return f"BatchState({str(self.path)!r}, jobs={len(self.jobs)}, done={done})"


def _relative_keys(jobs: dict[str, dict[str, Any]], outdir: Path) -> dict[str, dict[str, Any]]:
    """Version 1's absolute keys, relative to ``outdir`` or else to the folder they share.

    A version 1 file's keys are absolute paths under the folder it was
    written in. Where the folder has since moved, that is the deepest
    folder holding them all (a batch whose outputs all went into one
    subfolder resumes as a new batch there: a redo, as before).
    """
    keys = [Path(k) for k in jobs]
    if not keys or not all(k.is_absolute() for k in keys):
        return jobs
    if all(k.is_relative_to(outdir) for k in keys):
        base = outdir
    else:
        base = Path(os.path.commonpath([str(k.parent) for k in keys]))
    return {k.relative_to(base).as_posix(): rec for k, rec in zip(keys, jobs.values(),
                                                                  strict=True)}
