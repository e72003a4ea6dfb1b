"""The ``vidclear`` command: argument parsing and one-line errors."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from vidclear._version import __version__
from vidclear.errors import ConfigError, VidclearError

__all__ = ["build_parser", "main"]

# One module per command; each has add_parser(subparsers).
_COMMANDS = ("run", "demo", "synth", "hdr", "batch", "presets")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vidclear",
        description="Clean up video in real time: dehazing, enhancement and HDR.",
    )
    parser.add_argument("--version", action="version", version=f"vidclear {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _COMMANDS:
        try:
            module = importlib.import_module(f"vidclear.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"vidclear.cli.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (0 ok, 1 runtime error, 2 usage/config)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"vidclear: error: {exc}", file=sys.stderr)
        return 2
    except VidclearError as exc:
        print(f"vidclear: error: {exc}", file=sys.stderr)
        return 1
    except MemoryError:
        print("vidclear: error: out of memory", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("vidclear: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
