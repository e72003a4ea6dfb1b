"""``vidclear run INPUT -o OUTPUT``: process one file, stream, camera or lavfi graph.

``--preview window|http`` shows the run live (``-o`` is then optional);
URLs and cameras always run live (drop oldest, reconnect).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from vidclear.cli.progress import Progress, summary_line
from vidclear.config.loader import Config, load_config
from vidclear.errors import ConfigError, OutputError
from vidclear.io.sources import classify_input
from vidclear.pipeline.stats import PipelineStats
from vidclear.session import Session

__all__ = ["add_config_args", "add_parser", "config_from_args", "execute", "run"]

EXIT_INTERRUPTED = 130


def add_config_args(p: argparse.ArgumentParser) -> None:
    """The options every processing command shares."""
    p.add_argument("--preset", metavar="NAME", help="a preset from configs/ (dashcam, webcam, ...)")
    p.add_argument("--config", metavar="FILE.toml", help="TOML file overriding the preset")
    p.add_argument("--set", dest="overrides", metavar="SECTION.KEY=VALUE", action="append",
                   default=[], help="override one key; repeatable (value read as TOML)")
    p.add_argument("-y", "--overwrite", action="store_true",
                   help="overwrite an existing output (never an input)")
    p.add_argument("--stats", metavar="FILE.json", help="write the final per-stage stats as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    p.add_argument("--progress", action="store_true",
                   help="show the progress bar even when stderr is not a terminal")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "run", help="process a video file, stream or lavfi graph into a new file",
        description="Process INPUT through the configured processors and encode it to OUTPUT. "
                    "INPUT is a file, a URL (rtsp://, udp://, http://, srt://) or "
                    "lavfi:<graph> such as lavfi:testsrc2=size=1280x720:rate=30:duration=5.",
    )
    p.add_argument("input", metavar="INPUT", nargs="+",
                   help="file, URL, camera:N or /dev/videoN, or lavfi:<graph>; several files, "
                        "a folder or a glob pattern run as one trip (continuous time, audio "
                        "kept, smoothed state carried across the joins)")
    p.add_argument("-o", "--output", metavar="OUTPUT",
                   help="file to write; its extension picks the container "
                        "(optional with --preview)")
    p.add_argument("--preview", choices=("window", "http"),
                   help="watch the run live: an OpenCV window, or a browser page with an "
                        "MJPEG stream and live stats")
    p.add_argument("--listen", metavar="HOST:PORT", default="127.0.0.1:8080",
                   help="address of the browser preview (default 127.0.0.1:8080; a "
                        "non-loopback address requires --token)")
    p.add_argument("--token", metavar="SECRET",
                   help="access token for the browser preview ('auto' makes one)")
    add_trim_args(p)
    add_config_args(p)
    p.set_defaults(func=run)


def add_trim_args(p: argparse.ArgumentParser) -> None:
    """FFmpeg's input-side ``-ss``, ``-t`` and ``-to`` (seconds or [HH:]MM:SS[.m])."""
    p.add_argument("-ss", dest="trim_start", metavar="POSITION",
                   help="start this far into the input (seeks to the keyframe before, then "
                        "trims exactly; the output starts at 0); = --set input.start=")
    p.add_argument("-t", dest="trim_duration", metavar="DURATION",
                   help="process this much from the start; = --set input.duration=")
    p.add_argument("-to", dest="trim_end", metavar="POSITION",
                   help="stop at this position of the input (-t wins when both are given); "
                        "= --set input.end=")
    p.add_argument("--split", action="store_true",
                   help="with several inputs: one output per input in the folder -o DIR "
                        "(named like the inputs), the smoothed state still carried across")
    p.add_argument("-f", dest="format", metavar="FORMAT",
                   help="output container (FFmpeg muxer name: matroska, mpegts, nut, mp4, flv); "
                        "needed for -o - (standard output); = --set output.format=")


def trim_overrides(args: argparse.Namespace) -> list[str]:
    """``--set`` overrides for the -ss / -t / -to given on the command line."""
    from vidclear.io.sources.trim import parse_time

    out = []
    for flag, attr, key in (("-ss", "trim_start", "start"), ("-t", "trim_duration", "duration"),
                            ("-to", "trim_end", "end")):
        text = getattr(args, attr, None)
        if text is not None:
            seconds = parse_time(text, option=flag)
            if seconds < 0:
                raise ConfigError(f"{flag} {text!r} is not allowed: expected a time >= 0")
            out.append(f"input.{key}={seconds!r}")
    if getattr(args, "format", None):
        out.append(f"output.format={json.dumps(args.format)}")
    return out


def config_from_args(args: argparse.Namespace, base: dict | None = None) -> Config:
    return load_config(preset=args.preset, config_file=args.config,
                       overrides=args.overrides, base=base)


def _write_stats(path: str | None, stats: PipelineStats, extra: dict) -> None:
    if not path:
        return
    data = {**extra, **stats.snapshot()}
    try:
        Path(path).write_text(json.dumps(data, indent=2) + "\n")
    except OSError as exc:
        raise OutputError(f"cannot write stats to {path}: {exc.strerror or exc}") from None


def _first_compile(session: Session) -> bool:
    """True when a processor's Numba kernels have no on-disk cache yet."""
    if os.environ.get("NUMBA_CACHE_DIR") or os.environ.get("NUMBA_DISABLE_JIT"):
        return False  # the cache lives elsewhere (or there is none): don't guess
    for proc in session.processors:
        # The kernels of a processor adapter live in the domain package of its name.
        domain = type(proc).__module__.rpartition(".")[2]
        module = sys.modules.get(f"vidclear.{domain}")
        folder = Path(getattr(module, "__file__", "") or ".").parent
        if domain in ("dehaze", "hdr", "enhance") and \
                not any((folder / "__pycache__").glob("*.nbi")):
            return True
    return False


def execute(session: Session, args: argparse.Namespace, *, label: str) -> int:
    """Run an opened session with progress, signals, summary and ``--stats``."""
    quiet = getattr(args, "quiet", False)
    if not quiet and _first_compile(session):
        print("vidclear: first run: compiling the Numba kernels (about 20 s, once; "
              "cached afterwards)", file=sys.stderr)
    enabled = False if quiet else (True if getattr(args, "progress", False) else None)
    total = session.source.info.frame_count if session.mode == "file" else None
    bar = Progress(total=total, enabled=enabled, desc=label)
    output = session.output_label

    def on_signal(signum: int) -> None:
        bar.bar.write(f"vidclear: signal {signum}: finishing {output} with the frames so far",
                      file=sys.stderr)

    for rec in session.recorders:
        rec.quiet = quiet
    if not quiet:
        session.on_processor_event(lambda text: bar.bar.write(f"vidclear: {text}",
                                                              file=sys.stderr))
    try:
        stats = session.run(on_progress=bar, signals=True, on_signal=on_signal)
    finally:
        bar.close()
    _write_stats(getattr(args, "stats", None), stats, session.report())
    if not quiet:
        print(summary_line(stats, output), file=sys.stderr)
        for label_ in session.skipped_streams:
            print(f"vidclear: note: stream {label_} was not copied (container cannot hold it)",
                  file=sys.stderr)
        joins = session.report().get("packets_dropped_at_joins", 0)
        if joins:
            print(f"vidclear: note: {joins} audio/subtitle packets that overlapped the previous "
                  "file at a join were left out", file=sys.stderr)
        for note in session.notes:
            print(f"vidclear: note: {note}", file=sys.stderr)
        if session.source.decode_errors:
            print(f"vidclear: warning: {session.source.decode_errors} damaged packets were "
                  "skipped", file=sys.stderr)
    return EXIT_INTERRUPTED if stats.interrupted else 0


def _is_live(args: argparse.Namespace, config: Config) -> bool:
    return bool(args.preview) or config.pipeline.mode == "live" \
        or classify_input(args.input[0]) in ("url", "camera")


def run(args: argparse.Namespace) -> int:
    args.overrides = [*trim_overrides(args), *args.overrides]
    config = config_from_args(args)
    first = args.input[0]
    label = Path(first).name or first
    if len(args.input) > 1:
        label += f" (+{len(args.input) - 1})"
    if _is_live(args, config) and len(args.input) > 1:
        raise ConfigError("live runs and previews take one input; several files run as a trip "
                          "to an output file")
    if not _is_live(args, config):
        if not args.output:
            raise ConfigError("-o OUTPUT is required (or watch live with --preview window|http)")
        session = Session.open(args.input, args.output, config=config,
                               overwrite=args.overwrite, split=args.split)
        return execute(session, args, label=label)
    from tqdm import tqdm

    from vidclear.live import LiveJob

    def event(text: str) -> None:
        if not args.quiet or text.startswith("browser preview at"):
            tqdm.write(f"vidclear: {text}", file=sys.stderr)

    live = LiveJob(first, args.output, config=config, overwrite=args.overwrite,
                   preview=args.preview, listen=args.listen, token=args.token, on_event=event)
    return execute(live.session, args, label=label)
