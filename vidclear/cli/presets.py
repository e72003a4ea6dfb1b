"""``vidclear presets``: list presets, or show every key of a config."""

from __future__ import annotations

import argparse
import tomllib

from vidclear.cli.run import add_config_source_args, config_from_args
from vidclear.config.loader import available_presets, preset_path
from vidclear.core import registry

__all__ = ["add_parser", "run"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("presets", help="list presets, processors and the resolved config",
                       description="Without options, list presets and processors. With "
                                   "--preset/--config/--set, print the resolved configuration "
                                   "as TOML.",
                       epilog="""\
examples:
  vidclear presets                                   # list presets and processors
  vidclear presets --preset dashcam                  # every key the preset sets, as TOML
  vidclear presets --preset dashcam --set dehaze.strength=0.6 > mine.toml
  vidclear run drive.mp4 -o clear.mp4 --config mine.toml
""", formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_source_args(p)  # it writes nothing: no -y, --stats or -q (trial 39)
    p.set_defaults(func=run)


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return repr(v)


def run(args: argparse.Namespace) -> int:
    if not (args.preset or args.config or args.overrides):
        print("presets:")
        for name in available_presets():
            with open(preset_path(name), "rb") as fh:
                procs = tomllib.load(fh).get("pipeline", {}).get("processors", [])
            print(f"  {name:<14} processors = {procs}")
        print("processors:")
        for name in registry.available():
            print(f"  {name}")
        return 0
    config = config_from_args(args)
    # every section, [preview] too: a preset saved with `presets ... > mine.toml`
    # lost its live-preview settings (trial 121 F2)
    tables = ("pipeline", "input", "output", "preview")
    names = [*tables, *config.pipeline.processors]
    for name in dict.fromkeys(names):
        section = getattr(config, name) if name in tables else config.processor_config(name)
        print(f"[{name}]")
        for key, value in section.to_dict().items():
            # TOML has no null: an unset value is shown commented out (read
            # back, the missing key keeps its default, which is unset)
            print(f"# {key} =   (unset)" if value is None else f"{key} = {_toml_value(value)}")
        print()
    return 0
