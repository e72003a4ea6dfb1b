"""``vidclear synth haze|bracket IN OUT``: make test footage from a clear clip."""

from __future__ import annotations

import argparse
import copy
import dataclasses
import functools
import json
from pathlib import Path

from vidclear.cli.run import add_config_args, config_from_args, execute, finite_float, open_report
from vidclear.session import Session

__all__ = ["add_parser", "run"]

# flag -> (processor section, key, type)
_HAZE_FLAGS = {
    "model": str, "beta": float, "airlight": float, "depth_map": str, "depth_model": str,
    "horizon": float, "density": float, "noise": float, "seed": int,
}
_BRACKET_FLAGS = {"ev": float}

EXAMPLES = """\
examples:
  vidclear synth haze clear.mp4 hazy.mp4 --beta 1.5 --airlight 0.9
  vidclear synth haze lavfi:testsrc2=size=640x360:rate=30:duration=5 fog.mp4 --model uniform \\
      --density 0.5
  vidclear synth bracket clear.mp4 bracketed.mp4 --ev -2 0 2
"""


def _airlight(text: str) -> float | list[float]:
    """``--airlight``: a grey level, or R,G,B, as ``synth_haze.airlight`` takes them.

    The flag refused an RGB value that ``--set synth_haze.airlight=[r,g,b]``
    took (trial 125 F7).
    """
    parts = text.split(",")
    if len(parts) == 1:
        return finite_float(text)
    if len(parts) != 3:
        raise argparse.ArgumentTypeError(f"expected a grey level or R,G,B, got {text!r}")
    return [finite_float(p.strip()) for p in parts]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="synthesize hazy or exposure-bracketed test footage",
                       description="Turn a clear clip (file or lavfi:) into test footage.",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    kinds = p.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True
    haze = kinds.add_parser(
        "haze", help="add haze by the atmospheric scattering model, fog and noise",
        epilog=EXAMPLES, formatter_class=_HazeHelp,
        description="I = J t + A (1 - t), t = exp(-beta d), with a depth map or a ground-plane "
                    "depth model; or a uniform fog overlay; plus optional salt-and-pepper noise. "
                    "Every option is also settable as --set synth_haze.KEY=VALUE.")
    haze.add_argument("--model", choices=("scattering", "uniform"))
    haze.add_argument("--beta", type=finite_float, help="scattering coefficient per depth unit")
    haze.add_argument("--airlight", type=_airlight,
                      help="atmospheric light: a grey level 0..1, or R,G,B (0.8,0.85,0.95: "
                           "a bluish haze)")
    haze.add_argument("--depth-map", dest="depth_map", metavar="IMAGE",
                      help="grey depth image (bright = far); default: the depth model")
    haze.add_argument("--depth-model", dest="depth_model",
                      choices=("ground_plane", "constant", "frame"),
                      help="ground_plane: a road seen from a car, all fog above the "
                           "horizon (road footage); constant: one depth everywhere (any "
                           "footage); frame: depth attached by the source (the synthetic "
                           "RoadScene)")
    haze.add_argument("--horizon", type=finite_float,
                      help="horizon row as a fraction of the height")
    haze.add_argument("--density", type=finite_float, help="fog density for --model uniform")
    haze.add_argument("--noise", type=finite_float, help="salt-and-pepper fraction of pixels")
    haze.add_argument("--seed", type=int)
    bracket = kinds.add_parser(
        "bracket", help="alternate exposures frame by frame with a known response",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Every option is also settable as --set synth_bracket.KEY=VALUE.")
    bracket.add_argument("--ev", type=finite_float, nargs="+",
                         help="exposure pattern in EV stops, e.g. --ev -2 0 2")
    for k in (haze, bracket):
        k.add_argument("input", metavar="IN")
        k.add_argument("output", metavar="OUT")
        add_config_args(k)
        k.set_defaults(func=run)


@functools.cache
def _haze_defaults() -> dict[str, object]:
    """``synth_haze``'s defaults by key, empty ones left out (importing the section loads Numba:
    it is done when help is shown, not on every start of the command)."""
    from vidclear.processors.synth import SynthHazeConfig

    return {f.name: f.default for f in dataclasses.fields(SynthHazeConfig) if f.default != ""}


class _HazeHelp(argparse.RawDescriptionHelpFormatter):
    """Each option's help ends with its default from ``synth_haze`` (a trial read none)."""

    def _format_action(self, action: argparse.Action) -> str:
        if action.dest == "help" or action.dest not in _haze_defaults():
            return super()._format_action(action)
        value = _haze_defaults()[action.dest]
        shown = copy.copy(action)
        shown.help = f"{action.help} (default: {value})" if action.help else f"default: {value}"
        return super()._format_action(shown)


def run(args: argparse.Namespace) -> int:
    section = "synth_haze" if args.kind == "haze" else "synth_bracket"
    flags = _HAZE_FLAGS if args.kind == "haze" else _BRACKET_FLAGS
    # The flags win over presets and --set; the processor chain is always just this one.
    for key in flags:
        value = getattr(args, key, None)
        if value is None:
            continue
        if key == "ev":  # --ev is the EV form of synth_bracket.exposures
            args.overrides += [f"{section}.exposures={json.dumps(value)}", f"{section}.unit=\"ev\""]
        else:
            args.overrides.append(f"{section}.{key}={json.dumps(value)}")
    # Set before the config is read, so the note on settings the chain does not run
    # sees this chain: with the chain set afterwards, --ev was "--set
    # synth_bracket.exposures has no effect" (trial 34).
    args.overrides.append(f"pipeline.processors={json.dumps([section])}")
    config = config_from_args(args, fixed_chain=True)
    open_report(args)  # -n: refuse an existing output or --stats file before anything opens
    session = Session.open(args.input, args.output, config=config, overwrite=args.overwrite)
    return execute(session, args, label=Path(args.input).name or args.input)
