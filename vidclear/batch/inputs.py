"""Turn the INPUTS of ``vidclear batch`` into one work item per file.

INPUTS may be files, directories (searched recursively for video files),
glob patterns (``clips/**/*.mp4``) and manifests. A manifest is a CSV file
(``.csv``) or a JSON-lines file (``.jsonl``/``.ndjson``) with one row per
input:

* ``input`` (required): the file, relative to the manifest's folder unless absolute;
* ``output`` (optional): the output path relative to OUTDIR;
* any other ``section.key`` column/field (or a ``set`` object in JSON lines)
  overrides the config for that file only, exactly like ``--set``. Empty CSV
  cells are ignored.

Output names mirror the input tree: every input is placed relative to the
common folder of all the roots it was found from (a directory input is its
own root; a file or glob is rooted at its folder), under OUTDIR.
"""

from __future__ import annotations

import csv
import glob
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidclear.batch.state import STATE_NAME, BatchState
from vidclear.errors import ConfigError, InputError
from vidclear.io.sinks.encoder import suffix_for_container
from vidclear.io.sources.av_source import EMPTY_INPUT
from vidclear.io.sources.trip import leave_out, written_by_vidclear
from vidclear.io.suffixes import SCANNED_SUFFIXES, broken_links_note, output_suffix

__all__ = ["BatchItem", "collect_inputs", "read_manifest"]

MANIFEST_SUFFIXES = frozenset({".csv", ".jsonl", ".ndjson"})


@dataclass(frozen=True)
class BatchItem:
    """One input file and where its output goes.

    Attributes
    ----------
    input : Path
        Absolute path of the input file.
    output : Path
        Absolute path of the output file (inside OUTDIR).
    overrides : tuple of str
        ``section.key=value`` overrides for this file only (from a manifest).
    parts : tuple of Path
        For a trip (``--trips``): the chunk files, in order, that run as one
        input into ``output``; ``input`` is then their folder.
    """

    input: Path
    output: Path
    overrides: tuple[str, ...] = field(default=())
    parts: tuple[Path, ...] = field(default=())

    @property
    def sources(self) -> list[Path]:
        """The files this job reads: the trip's chunks, or the input itself."""
        return list(self.parts) if self.parts else [self.input]

    @property
    def key(self) -> str:
        """The state-file key: the output path (one output per job)."""
        return str(self.output)


@dataclass
class _Found:
    path: Path
    root: Path
    output: str | None = None
    overrides: tuple[str, ...] = ()


def _override_text(key: str, value: Any) -> str:
    if isinstance(value, str):
        return f"{key}={json.dumps(value)}"
    if isinstance(value, bool):
        return f"{key}={'true' if value else 'false'}"
    if isinstance(value, (list, tuple)):
        return f"{key}={json.dumps(list(value))}"
    return f"{key}={value}"


def read_manifest(path: Path) -> list[tuple[Path, str | None, tuple[str, ...]]]:
    """Rows of a CSV or JSON-lines manifest as ``(input, output, overrides)``."""
    base = path.parent
    rows: list[dict[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read manifest {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".csv":
        rows = list(csv.DictReader(text.splitlines()))
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"manifest {path} line {n} is not JSON: {exc.msg}") from None
            if not isinstance(row, dict):
                raise ConfigError(f"manifest {path} line {n}: expected a JSON object")
            rows.append(row)
    out = []
    for n, row in enumerate(rows, 1):
        src = row.get("input")
        if not src:
            raise ConfigError(f"manifest {path} row {n} has no 'input' (allowed: input, "
                              "output, section.key overrides, set)")
        overrides: list[str] = []
        settings = dict(row.get("set") or {})
        for k, v in row.items():
            if k in ("input", "output", "set"):
                continue
            if k is None or "." not in k:
                raise ConfigError(f"manifest {path}: unknown column {k!r}; allowed are input, "
                                  "output and section.key overrides such as dehaze.strength")
            settings[k] = v
        for k, v in settings.items():
            if v is None or v == "":
                continue
            overrides.append(f"{k}={v}" if isinstance(v, str) and path.suffix == ".csv"
                             else _override_text(k, v))
        p = Path(src)
        out.append(((p if p.is_absolute() else base / p).resolve(),
                    row.get("output") or None, tuple(overrides)))
    return out


def _glob_root(pattern: str) -> Path:
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if glob.has_magic(part):
            break
        fixed.append(part)
    return Path(*fixed).resolve() if fixed else Path.cwd()


def _outputs_below(root: Path, outdir: Path) -> Path | None:
    """``outdir`` when it is a folder below ``root`` (its files are earlier outputs), else None."""
    return outdir if outdir != root and outdir.is_relative_to(root) else None


def _written_here(outdir: Path) -> set[str]:
    """The outputs a batch into ``outdir`` recorded in its state file (none if unreadable)."""
    if not (outdir / STATE_NAME).exists():
        return set()
    return BatchState(outdir).outputs()


def _other_batches(root: Path) -> list[Path]:
    """Folders below ``root`` holding a batch state file: another batch's OUTDIR."""
    return sorted(f.parent for f in root.rglob(STATE_NAME) if f.parent != root)


def _find(spec: str, outdir: Path, notes: list[str]) -> list[_Found]:
    """What ``spec`` names; a folder or glob skips OUTDIR and other batches' OUTDIRs below it."""
    if not spec.strip():  # Path("") is the current folder
        raise InputError(EMPTY_INPUT)
    p = Path(spec)
    if p.suffix.lower() in MANIFEST_SUFFIXES and p.is_file():
        return [_Found(path, path.parent, out, ov) for path, out, ov in read_manifest(p)]
    if p.is_dir():
        root = p.resolve()
        files = leave_out(sorted(f for f in root.rglob("*")
                                 if f.is_file() and f.suffix.lower() in SCANNED_SUFFIXES),
                          root, spec, notes)
        broken = broken_links_note(spec, root.rglob("*"))
        if broken:  # left out without a word (trial 123 F2)
            notes.append(broken)
    elif glob.has_magic(spec) and not p.exists():  # 'clip[1].mp4' that exists is a name
        root = _glob_root(spec)
        files = sorted(Path(f).resolve() for f in glob.glob(spec, recursive=True)
                       if Path(f).is_file())
        if not files:
            raise InputError(f"no files match {spec!r}")
    elif not p.exists():
        if "://" in spec:  # "no such file or folder: http://..." (trial 55)
            raise InputError(f"{spec}: a batch takes local files, folders, patterns and "
                             "manifests, not URLs (download it first, or `vidclear run` it)")
        # A typo, most likely: refused before OUTDIR is made or any job runs.
        raise InputError(f"no such file or folder: {spec}")
    else:
        # A file; a corrupt one becomes a failed job, not a batch error.
        path = p.resolve()
        return [_Found(path, path.parent)]
    skip = _outputs_below(root, outdir)
    kept = [f for f in files if not (skip and f.is_relative_to(skip))]
    if outdir == root or root.is_relative_to(outdir):
        # OUTDIR is the input folder (or holds it): the outputs this batch wrote
        # sit among the inputs; run again to resume, they were read back as new
        # inputs and refused as "would overwrite its input" (trial 37)
        written = _written_here(outdir)
        kept = [f for f in kept if str(f) not in written]
    for other in _other_batches(root):
        if skip and other.is_relative_to(skip):
            continue
        inside = [f for f in kept if f.is_relative_to(other)]
        if inside:
            notes.append(f"skipped {len(inside)} file(s) in {other}: another batch's output "
                         f"folder (it holds {STATE_NAME}); name it to process them")
            kept = [f for f in kept if not f.is_relative_to(other)]
    ours = [f for f in kept if written_by_vidclear(str(f))]
    if ours:
        # earlier outputs (of a run, or of a batch whose state file is gone)
        # were processed again without a word: a folder or pattern never reads
        # outputs back, as a trip's folder refuses them (trial 146 F2)
        notes.append(f"skipped {len(ours)} file(s) that carry vidclear's mark, earlier "
                     f"outputs of vidclear (e.g. {ours[0]}): name them to process them again")
        kept = [f for f in kept if f not in ours]
    return [_Found(f, root) for f in kept]


def collect_trips(specs: list[str], outdir: Path, *, suffix: str | None = None,
                  order: str = "name", container: str = "") -> list[BatchItem]:
    """One trip job per folder: its video files, in order, into ``OUTDIR/FOLDER.EXT``.

    A dashcam writes one file every minute or so; ``vidclear batch --trips``
    runs each folder of such chunk files as one recording (continuous time,
    audio kept, smoothed state carried across the joins; see
    :class:`vidclear.io.sources.TripSource`).

    Parameters
    ----------
    specs : list of str
        Folders; each is one trip (its files directly inside, not below).
    order : {"name", "time"}
        File-name order, or the containers' creation time.
    container : str, optional
        As :func:`collect_inputs`' (the first file's extension, else the
        forced container's).

    Raises
    ------
    InputError
        An input is not a folder, holds no video files, or two folders would
        write one output.
    """
    from vidclear.io.sources.trip import expand_inputs

    if not specs:
        raise InputError("batch --trips needs at least one folder of chunk files")
    outdir = outdir.resolve()
    items: list[BatchItem] = []
    seen: dict[Path, Path] = {}
    for spec in specs:
        if not spec.strip():  # Path("") is the current folder
            raise InputError(EMPTY_INPUT)
        folder = Path(spec).resolve()
        if not folder.is_dir():
            raise InputError(f"batch --trips: {spec} is not a folder of chunk files")
        subfolders = [d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")]
        if subfolders and not any(p.is_file() and p.suffix.lower() in SCANNED_SUFFIXES
                                  for p in folder.iterdir()):
            # the folder's own advice was a glob pattern, which --trips refuses (trial 39)
            raise InputError(f"batch --trips: {spec} holds no video files itself; name its "
                             f"trip folders, e.g. {Path(spec) / '*'}/ or "
                             f"{Path(spec) / subfolders[0].name}")
        parts = tuple(Path(p) for p in expand_inputs([str(folder)], order=order))
        ext = suffix or suffix_for_container(container, parts[0].suffix)
        out = outdir / (folder.name + (ext if ext.startswith(".") else f".{ext}"))
        if out in seen:
            raise InputError(f"trips {seen[out]} and {folder} would both write {out}")
        seen[out] = folder
        items.append(BatchItem(folder, out, (), parts))
    return items


def collect_inputs(specs: list[str], outdir: Path, *, suffix: str | None = None,
                   notes: list[str] | None = None, container: str = "") -> list[BatchItem]:
    """Expand INPUTS into :class:`BatchItem` objects, in a stable order.

    Parameters
    ----------
    specs : list of str
        Files, directories, glob patterns and manifests.
    outdir : Path
        The output folder; outputs mirror the input tree below it.
    suffix : str, optional
        Output extension (e.g. ``".mp4"``); by default each output keeps its
        input's extension.
    container : str, optional
        The container forced by ``output.format`` (an FFmpeg muxer name):
        without ``suffix``, an output whose extension it does not list takes
        its own (``avi`` -> ``.avi``).

    Raises
    ------
    InputError
        An input does not exist, nothing was found, a glob matched
        nothing, two inputs map to one output, or an output is one of the
        inputs. Files inside ``outdir``
        found by a folder or glob are skipped (the outputs of an earlier run
        when OUTDIR lies inside an input folder), as are files in folders
        below an input holding another batch's state file (a line is added
        to ``notes`` for each).
    """
    if not specs:
        raise InputError("batch needs at least one input (file, folder, glob or manifest)")
    outdir = outdir.resolve()
    found: list[_Found] = []
    notes = [] if notes is None else notes
    for spec in specs:
        found.extend(_find(spec, outdir, notes))
    if not found:
        raise InputError(f"no video files found in {' '.join(specs)}")
    roots = {str(f.root) for f in found if f.output is None}
    common = Path(os.path.commonpath(sorted(roots))) if roots else outdir
    items: list[BatchItem] = []
    seen: dict[Path, Path] = {}
    settings: dict[Path, tuple[str, ...]] = {}
    for f in found:
        if f.output is not None:
            out = (outdir / f.output).resolve()
        else:
            rel = f.path.relative_to(common) if f.path.is_relative_to(common) else Path(
                f.path.name)
            out = outdir / rel
        if suffix:
            out = out.with_suffix(suffix if suffix.startswith(".") else f".{suffix}")
        else:
            out = out.with_suffix(suffix_for_container(container, output_suffix(out.suffix)))
        if not out.is_relative_to(outdir):
            raise InputError(f"output {out} for {f.path} is outside {outdir}")
        if out in seen:
            if seen[out] == f.path and settings[out] == f.overrides:
                continue  # the same file named twice
            if seen[out] == f.path:  # a pq row and an hlg row: one was dropped (trial 37)
                raise InputError(f"two rows for {f.path} with different settings would both "
                                 f"write {out}: give each row its own output")
            raise InputError(f"inputs {seen[out]} and {f.path} would both write {out}")
        if out == f.path:
            raise InputError(f"output {out} would overwrite its input; choose another OUTDIR")
        seen[out], settings[out] = f.path, f.overrides
        items.append(BatchItem(f.path, out, f.overrides))
    inputs = {it.input for it in items}
    for it in items:  # one job's output is another's input (a manifest chaining files)
        if it.output in inputs:
            raise InputError(f"output {it.output} would overwrite an input of this batch; "
                             "choose other output names or another OUTDIR")
    return items
