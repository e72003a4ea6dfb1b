"""``vidclear demo``: dehaze a built-in hazy clip and write a before/after video."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from pathlib import Path

from vidclear.cli.run import (
    Once,
    add_config_args,
    add_report_arg,
    config_from_args,
    execute,
    finite_float,
    open_report,
)
from vidclear.config.loader import Config
from vidclear.config.sections import OutputConfig
from vidclear.errors import ConfigError, OutputError
from vidclear.io.sinks.encoder import container_for
from vidclear.io.sinks.paths import check_output_path
from vidclear.io.sinks.stream import classify_output
from vidclear.io.sources.synthetic import RoadScene
from vidclear.session import Session

__all__ = ["add_parser", "make_hazy_clip", "run"]

DEFAULT_NAME = "vidclear-demo.mp4"


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="dehaze a built-in hazy clip into a before/after video",
        description="Render a synthetic foggy road clip (nothing is downloaded), dehaze it and "
                    "write the input and the result side by side. Without -o the video goes to "
                    f"./{DEFAULT_NAME} (or -1, -2, ... if that name is taken; -y replaces "
                    "it).",
        epilog="""\
examples:
  vidclear demo                               # ./vidclear-demo.mp4, 4 s at 640x360
  vidclear demo -o fog.mp4 --seconds 10 --size 1280x720 --report fog-report
  vidclear demo --set dehaze.strength=0.6 --keep-input hazy.mp4
""", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", metavar="OUTPUT", action=Once,
                   help="before/after video to write")
    p.add_argument("--seconds", type=finite_float, default=4.0, help="clip length (default 4)")
    p.add_argument("--size", default="640x360", help="clip size WxH (default 640x360)")
    p.add_argument("--keep-input", metavar="HAZY.mp4", action=Once,
                   help="also keep the generated hazy clip under this name")
    add_config_args(p)
    add_report_arg(p)
    p.set_defaults(func=run)


def _free_name(name: str) -> Path:
    path = Path(name)
    k = 1
    while path.exists():
        path = Path(f"{Path(name).stem}-{k}{Path(name).suffix}")
        k += 1
    return path


def make_hazy_clip(path: Path, *, width: int, height: int, seconds: float) -> Path:
    """Render the synthetic road, add ground-plane haze and encode it to ``path``."""
    from vidclear.processors.synth import SynthHaze  # loads Numba kernels: only when used

    scene = RoadScene(width=width, height=height, seconds=seconds)
    haze = SynthHaze(model="scattering", depth_model="frame", beta=2.0)
    config = Config(output=OutputConfig(crf=16, preset="veryfast"))
    Session(scene, [haze], outputs=[path], config=config, overwrite=True).run(signals=False)
    return path


def run(args: argparse.Namespace) -> int:
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--size {args.size!r} is not allowed: expected WxH like 640x360") \
            from None
    if not (16 <= width <= 7680 and 16 <= height <= 4320):
        raise ConfigError(f"--size {args.size} is not allowed: between 16x16 and 7680x4320")
    if not 0 < args.seconds <= 600:
        raise ConfigError(f"--seconds {args.seconds:g} is not allowed: in (0, 600]")
    if args.output and classify_output(args.output) != "file":
        # it advised "-f matroska", an option demo does not have (trial 38)
        raise ConfigError(f"vidclear demo writes a video file, not to {args.output}: give "
                          "-o NAME.mp4")
    # -y replaces the default name, as it does a name given (it wrote -1, -2, ...
    # beside it, trial 158 F7)
    output = (Path(args.output) if args.output else
              Path(DEFAULT_NAME) if args.overwrite else _free_name(DEFAULT_NAME))
    check_output_path(output, inputs=[], overwrite=args.overwrite)  # before 10 s of rendering
    if args.keep_input:  # refused before the hazy clip is written (trial 158 F4)
        named = "the -o file" if args.output else "the output"  # not an -o never given
        for label, other in ((named, str(output)),
                             ("the --stats file", getattr(args, "stats", None))):
            if other and os.path.realpath(args.keep_input) == os.path.realpath(other):
                raise OutputError(f"--keep-input {args.keep_input} is also {label}")
    container_for(output)  # an extension no muxer takes, likewise (trial 54)
    report = open_report(args, title="vidclear demo")
    base = {"pipeline": {"processors": ["dehaze", "side_by_side"]},
            "side_by_side": {"label_before": "hazy input", "label_after": "vidclear"}}
    config = config_from_args(args, base=base)
    if "side_by_side" not in config.pipeline.processors:  # a preset replaced the chain
        chain = (*config.pipeline.processors, "side_by_side")
        config = dataclasses.replace(
            config, pipeline=dataclasses.replace(config.pipeline, processors=chain))
    with tempfile.TemporaryDirectory(prefix="vidclear-demo-") as tmp:
        hazy = Path(args.keep_input) if args.keep_input else Path(tmp) / "hazy.mp4"
        check_output_path(hazy, inputs=[], overwrite=args.overwrite)
        if not args.quiet:
            print(f"vidclear demo: rendering a {args.seconds:g} s foggy road clip "
                  f"({width}x{height})", file=sys.stderr)
        make_hazy_clip(hazy, width=width, height=height, seconds=args.seconds)
        session = Session.open(str(hazy), output, config=config, overwrite=args.overwrite)
        code = execute(session, args, label="demo", report=report)
    if not args.quiet:
        print(f"vidclear demo: before/after video: {output.resolve()}", file=sys.stderr)
    return code
