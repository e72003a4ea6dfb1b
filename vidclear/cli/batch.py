"""``vidclear batch INPUTS... -o OUTDIR``: many files, resumable, local pool or Ray."""

from __future__ import annotations

import argparse
import sys
import unicodedata
from pathlib import Path
from typing import Any

from vidclear.cli.progress import damaged_text
from vidclear.cli.run import (
    COPY_ONLY_NOTE,
    Once,
    add_encoder_args,
    agree_with_sets,
    chose_processors,
    encoder_overrides,
    finite_float,
    seconds,
)

__all__ = ["add_parser", "format_table", "run"]

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "batch", help="process many files into a folder; resumable, in parallel (local or Ray)",
        description="Process every INPUT into OUTDIR, mirroring the input tree. INPUTS are "
                    "files, folders, globs or manifests (.csv / .jsonl with an 'input' column, "
                    "an optional 'output' and per-file section.key overrides). Finished jobs "
                    "are recorded in OUTDIR/.vidclear-batch.json: running the same command "
                    "again skips them and redoes only what changed or failed.",
        epilog="""\
examples:
  vidclear batch trips/ -o cleared/ --preset dashcam       # a folder, mirrored into cleared/
  vidclear batch 'trips/**/*.mp4' -o cleared/ -j 2 --ext .mkv
  vidclear batch jobs.csv -o cleared/ --engine ray --address auto
  vidclear batch trips/ -o cleared/                        # again: resumes, skips what is done
""", formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT")
    p.add_argument("-o", "--outdir", required=True, action=Once, metavar="OUTDIR",
                   help="output folder")
    p.add_argument("--preset", metavar="NAME", action=Once,
                   help="a preset from configs/ (dashcam, ...)")
    p.add_argument("--config", metavar="FILE.toml", action=Once,
                   help="TOML file overriding the preset")
    p.add_argument("--set", dest="overrides", metavar="SECTION.KEY=VALUE", action="append",
                   default=[], help="override one key for every file; repeatable")
    add_encoder_args(p)
    p.add_argument("-j", "--jobs", type=int, metavar="N",
                   help="parallel jobs (default: CPU count; on Ray: cluster CPUs / "
                        "--cpus-per-job)")
    p.add_argument("--engine", choices=("local", "ray"), default="local",
                   help="local: process pool on this machine; ray: Ray actors (vidclear[ray])")
    p.add_argument("--address", metavar="ADDR",
                   help="join this Ray cluster (e.g. ray://head:10001 or auto); default: "
                        "start a local Ray runtime")
    p.add_argument("--cpus-per-job", type=finite_float, default=1.0, metavar="N",
                   help="CPUs each Ray job asks for (default 1)")
    p.add_argument("--segment-seconds", type=seconds, default=300.0, metavar="S",
                   help="split files longer than 1.5×S at keyframes into segments of about "
                        "S seconds processed in parallel (0 = never split; default 300)")
    p.add_argument("--overlap", type=seconds, default=None, metavar="S",
                   help="seconds each segment decodes and processes before its first frame "
                        "to warm temporal state (default 6 = 3× the airlight time constant, "
                        "or twice dehaze.airlight_hold when that is longer)")
    p.add_argument("--retries", type=int, default=2, metavar="N",
                   help="retries of a job after a transient failure (default 2)")
    p.add_argument("--ext", metavar="EXT", help="output extension (default: the input's)")
    p.add_argument("--trips", action="store_true",
                   help="each INPUT folder holds the chunk files of one recording: run it as "
                        "one trip into OUTDIR/FOLDER.EXT (continuous time, audio kept, smoothed "
                        "state carried across the joins)")
    p.add_argument("--report", metavar="FILE.json", action=Once,
                   help="where to write the JSON report (default OUTDIR/batch-report.json)")
    group = p.add_mutually_exclusive_group()
    group.add_argument("-y", "--overwrite", action="store_true",
                       help="overwrite outputs this batch did not write itself")
    group.add_argument("-n", "--no-overwrite", action="store_true",
                       help="never overwrite (the default without -y): outputs this batch did "
                            "not write are errors")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    p.add_argument("--progress", action="store_true",
                   help="show the progress bar even when stderr is not a terminal")
    p.set_defaults(func=run)


def _width(text: str) -> int:
    """Terminal columns ``text`` takes, as composed (NFC): wide characters two, marks none.

    ``len`` counted a file named in Japanese as half its width and pushed
    that row's columns out of line (trial 123 F3). Combining marks, format
    characters (a zero-width space or joiner) and Hangul vowel and final
    jamo (a macOS file name's decomposed syllables) take no cell of their
    own (trial 130 F6). Emoji joined into one picture are counted piece by
    piece.
    """
    def cells(c: str) -> int:
        if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf") \
                or "\u1160" <= c <= "\u11ff":
            return 0
        return 2 if unicodedata.east_asian_width(c) in ("W", "F") else 1

    return sum(cells(c) for c in unicodedata.normalize("NFC", text))


def _fmt_row(cells: list[str], widths: list[int]) -> str:
    padded = [c + " " * (w - _width(c)) if i == 0 or i == len(cells) - 1
              else " " * (w - _width(c)) + c
              for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
    return "  ".join(padded).rstrip()


def _label(output: str, outdir: str | None) -> str:
    """A file's row name: its output's path below OUTDIR (a/x.mp4 and b/x.mp4 differ)."""
    try:
        return str(Path(output).relative_to(outdir)) if outdir else Path(output).name
    except ValueError:
        return Path(output).name


def _ran_a_processor(report: dict[str, Any]) -> bool:
    """Whether a file done ran a processor besides ``copy`` (a manifest row can choose one)."""
    for entry in report["files"]:
        if entry.get("status") != "done":
            continue
        names = (entry.get("stats") or {}).get("processors_ms_per_frame") or {}
        if entry.get("processors") or any(str(n).split(":", 1)[-1] != "copy" for n in names):
            return True
    return False


def format_table(report: dict[str, Any]) -> str:
    """The end-of-batch summary: one row per file, then the totals."""
    head = ["file", "status", "frames", "fps", "seconds", "note"]
    rows = []
    whole: list[str] = []  # errors the table cuts, in full below it
    for e in report["files"]:
        note = e.get("error", "") or e.get("note", "")
        if not note and e.get("segments"):
            note = f"{e['segments']} segments"
            if e.get("frames_reused"):
                note += f", {e['frames_reused']} frames of them made by an earlier run"
        if e["status"] == "skipped":  # done by an earlier run: no time of this one's
            fps = secs = "-"
            note = note or "done by an earlier run"
        else:
            fps, secs = f"{e['fps']:.1f}", f"{e['wall_s']:.1f}"
        if len(note) > 100:  # the whole error below the table, and in batch-report.json
            if e.get("error"):
                # the cause came after the cut (trial 72: "No space left on device")
                whole.append(f"{_label(e['output'], report.get('outdir'))}: {note}")
            note = note[:98].rsplit(" ", 1)[0].rstrip() + "..."
        rows.append([_label(e["output"], report.get("outdir")), e["status"], str(e["frames"]),
                     fps, secs, note])
    widths = [max(_width(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = [_fmt_row(head, widths)] + [_fmt_row(r, widths) for r in rows] + whole
    t = report["totals"]
    stopped = f"{t['interrupted']} interrupted, " if t.get("interrupted") else ""
    lost, kept = int(t.get("frames_not_kept") or 0), int(t.get("frames_kept_for_rerun") or 0)
    gone = int(t.get("frames_dropped") or 0)
    said = ([f"of the interrupted files {lost} not kept"] if lost else []) + (
        [f"{kept} kept in finished segments for a rerun"] if kept else []) + (
        [f"{gone} dropped"] if gone else [])
    dropped = f" (and {', '.join(said)})" if said else ""
    reused = int(t.get("frames_reused") or 0)
    earlier = f", {reused} of them made by an earlier run" if reused else ""
    # a join of kept parts alone runs no job: it said "on 0 local workers" (trial 71)
    n = report["workers"]
    on = f"on {n} {report['engine']} worker{'s' if n != 1 else ''}" if n else "with no job run"
    lines.append(f"{t['done']} done, {t['skipped']} skipped (already done), {t['failed']} "
                 f"failed, {stopped}{t['pending']} not run; {t['frames']} frames{earlier}"
                 f"{dropped} in {report['wall_s']:.1f} s ({t['fps']:.1f} fps) {on}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from vidclear.batch import BatchOptions, run_batch

    encoder = encoder_overrides(args)
    agree_with_sets(encoder, args.overrides)
    args.overrides = [*encoder, *args.overrides]
    if args.engine != "ray":
        idle = [o for o, given in (("--address", args.address is not None),
                                   ("--cpus-per-job", args.cpus_per_job != 1.0)) if given]
        if idle:  # ran on the local engine without a word (trial 37)
            verb = "apply" if len(idle) > 1 else "applies"
            print(f"vidclear: note: {' and '.join(idle)} {verb} to --engine ray only: this "
                  "batch runs on the local engine", file=sys.stderr)

    opts = BatchOptions(
        outdir=Path(args.outdir), preset=args.preset, config_file=args.config,
        overrides=list(args.overrides), jobs=args.jobs, engine=args.engine,
        address=args.address, cpus_per_job=args.cpus_per_job, overwrite=args.overwrite,
        retries=args.retries, segment_seconds=args.segment_seconds, overlap=args.overlap,
        suffix=args.ext, report=Path(args.report) if args.report else None,
        progress=False if args.quiet else (True if args.progress else None),
        trips=args.trips,
    )
    report = run_batch(args.inputs, opts)
    for note in report.get("notes", []):
        print(f"vidclear: note: {note}", file=sys.stderr)
    if not args.quiet:
        print(format_table(report), file=sys.stderr)
    for entry in report["files"]:  # what a single run would say, under the table
        if entry["status"] == "skipped":
            continue  # said when it was done
        name = entry["input"]
        if args.quiet and entry["status"] == "failed":
            # -q prints errors: a failed file was said nowhere but in the
            # report file, as `vidclear run -q` says its error (trial 146 F1)
            why = " ".join(str(entry.get("error") or "failed").split())
            print(f"vidclear: error: {name}: {why}", file=sys.stderr)
        for note in entry.get("notes") or []:
            # a note that names the file already is not prefixed twice (trial 120 F8)
            named = note if note.startswith(f"{name}:") else f"{name}: {note}"
            print(f"vidclear: note: {named}", file=sys.stderr)
        n = int(entry.get("frames_damaged") or 0)
        if n:
            stats = entry.get("stats") or {}
            text = damaged_text(n, list(stats.get("damaged_at_s") or []),
                                bool(stats.get("damaged_at_end")))
            print(f"vidclear: warning: {name}: {text}", file=sys.stderr)
    if not args.quiet and not report.get("report_error"):
        print(f"report: {opts.report or Path(report['outdir']) / 'batch-report.json'}",
              file=sys.stderr)
        if report["totals"]["done"] and not chose_processors(args.preset, args.config,
                                                             list(args.overrides)) \
                and not _ran_a_processor(report):
            print(f"vidclear: note: {COPY_ONLY_NOTE}", file=sys.stderr)
    if report.get("state_error"):
        # a full disk at the state's save (trial 123 F1): what ran is in the table
        unsaved = f"; {report['report_error']}" if report.get("report_error") else ""
        print(f"vidclear: error: {report['state_error']}: the batch stopped there; the table "
              f"above is what it did{unsaved}; free space and run the same command again to "
              "resume", file=sys.stderr)
        return EXIT_FAILED
    if report["interrupted"]:
        print("vidclear: batch interrupted; run the same command again to resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    return EXIT_FAILED if report["totals"]["failed"] else 0
