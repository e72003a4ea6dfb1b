"""The ``vidclear`` command: argument parsing and one-line errors."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

from vidclear import _sigint
from vidclear._version import __version__
from vidclear.core.signals import guard_terminal
from vidclear.errors import ConfigError, VidclearError

__all__ = ["build_parser", "main"]

# One module per command; each has add_parser(subparsers).
_COMMANDS = ("run", "demo", "synth", "hdr", "batch", "presets", "compile")

EXAMPLES = """\
examples:
  vidclear demo                                    # dehaze a built-in foggy clip
  vidclear run drive.mp4 -o clear.mp4 --preset dashcam --report drive-report
  vidclear run camera:0 --preview window           # live, in a window
  vidclear batch trips/ -o cleared/ -j 2
  vidclear presets --preset dashcam                # every setting of a preset
  vidclear COMMAND --help                          # each command's options and examples
"""


def _ffmpeg_log(verbose: int) -> None:
    """``-vv``/``-vvv``: FFmpeg's own log on stderr, as ``ffmpeg -v verbose|debug`` prints it."""
    import av.logging

    from vidclear.io.sinks.encoder import set_x265_log

    av.logging.restore_default_callback()  # FFmpeg prints itself: safe from every thread
    av.logging.set_libav_level(av.logging.VERBOSE if verbose == 2 else av.logging.DEBUG)
    set_x265_log("info" if verbose == 2 else "debug")  # x265 logs past FFmpeg's level


# FFmpeg options vidclear has no equivalent of, and what to do instead. argparse
# would read the two-letter ones as one-letter options run together: -vn as -v
# -n (a video written anyway), -vf as -v -f (a filter taken for the output
# format: "-vf mp4" wrote MP4 into out.mkv; trial 100 F5)
_OTHERS = "--set output.copy_streams=false leaves audio, subtitles and data out"
_COPIED = ("audio, subtitles and data are copied as they are (re-encoded only where the "
           "container needs); the video is -c:v CODEC; " + _OTHERS)
_FFMPEG_ONLY = {
    "-vf": "vidclear has no filter graph: its processors are chosen with --preset or "
           "--set 'pipeline.processors=[...]'",
    "-filter:v": "vidclear has no filter graph: its processors are chosen with --preset or "
                 "--set 'pipeline.processors=[...]'",
    "-filter_complex": "vidclear has no filter graph",
    "-lavfi": "vidclear has no filter graph",
    "-af": "vidclear does not filter sound: it copies it, or re-encodes it where the "
           "container needs",
    "-vn": "vidclear always writes the video it processes",
    "-i": "INPUT is given without it: vidclear run INPUT -o OUTPUT",
    "-r": "vidclear keeps the input's frame times; it converts no frame rate",
    "-s": "vidclear keeps the input's frame size",
    "-an": _OTHERS,
    "-sn": _OTHERS,
    "-dn": _OTHERS,
    # (trials 138 F5, 141 F5: a bare "unknown option" for the commonest ones)
    "-c": _COPIED,
    "-c:a": _COPIED,
    "-acodec": _COPIED,
    "-codec:a": _COPIED,
    "-c:s": _COPIED,
    "-scodec": _COPIED,
    "-preset": "the encoder's preset is --set output.preset=NAME (--preset names vidclear's "
               "presets: vidclear presets lists them)",
    "-map": "vidclear processes the video stream FFmpeg would pick and copies the others; "
            + _OTHERS,
    # (trial 142 F7)
    "-codec": _COPIED,
    "-codec:v": "vidclear's is -c:v CODEC",
    "-b:a": "sound is copied, or re-encoded where the container needs it, at the "
            "encoder's default rate",
    "-ac": "vidclear keeps the sound's channels",
    "-ar": "vidclear keeps the sound's sample rate",
    "-map_metadata": "container and stream tags are copied as they are",
}


class _Parser(argparse.ArgumentParser):
    """argparse with its usage errors on one line, as every other error of the command.

    argparse prints the whole usage block and ``vidclear run: error: ...``;
    a script that reads ``vidclear: error:`` lines got eight lines and
    another prefix. Subcommand parsers are made of this class too.

    One-letter options are not run together (FFmpeg never does, and its own
    options would be misread), except ``-vv`` and ``-vvv``: an unknown
    single-dash word is refused, with what to do instead where it is one of
    FFmpeg's. Nor is any option abbreviated (``allow_abbrev=False``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # no option is abbreviated either (-s was read as -ss and cut the first
        # second off a run, -p as -pix_fmt, trial 101 F1: a single-dash prefix
        # is refused in _parse_optional, which allow_abbrev does not reach)
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)
        self.commands: dict[str, argparse.ArgumentParser] = {}  # the top level's, by name

    def error(self, message: str) -> NoReturn:
        hint = f"'{self.prog} --help' lists the options"
        print(f"vidclear: error: {_one_line(message)} ({hint})", file=sys.stderr)
        raise SystemExit(2)

    def _parse_optional(self, arg_string: str):  # type: ignore[no-untyped-def]
        if (self._subparsers is None and arg_string.startswith("-")
                and not arg_string.startswith("--") and len(arg_string) >= 2
                and arg_string.split("=", 1)[0] not in self._option_string_actions
                and not arg_string[1].isdigit() and set(arg_string[1:]) != {"v"}):
            word = arg_string.split("=", 1)[0]
            why = _FFMPEG_ONLY.get(word)
            if why is None and os.path.exists(arg_string):
                # a file named like an option: said as an unknown option alone
                # (trial 123 F4); the shell's own ways round it work
                why = (f"{arg_string} is also a file: name it ./{arg_string}, or put -- "
                       "before the inputs")
                self.error(f"unknown option {word} ({why})")
            self.error(f"unknown option {word}" + (f" (FFmpeg's; {why})" if why else ""))
        return super()._parse_optional(arg_string)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vidclear",
        description="Clean up video in real time: dehazing, enhancement and HDR.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
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
    parser.commands = dict(sub.choices)
    return parser


def _one_line(exc: BaseException | str, limit: int = 2000) -> str:
    """An error's or a message's text on one line (names and values can hold newlines),
    cut to ``limit``."""
    text = " ".join(str(exc).splitlines())
    return text if len(text) <= limit else text[:limit] + " ..."


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    print(f"vidclear: warning: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status.

    0 ok, 1 bad input or output, 2 bad usage or configuration, 3 internal
    error, 130 interrupted (the output is still finalized).
    """
    guard_terminal()  # a terminal that closes mid-run must not fail the run (EIO)
    try:
        status = _main(argv)
    except KeyboardInterrupt:  # Ctrl-C while the modules load or the arguments are read
        print("vidclear: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if not _sigint.interrupted_by(exc):
            raise
        print("vidclear: interrupted", file=sys.stderr)
        return 130
    _sigint.done()
    return status


# options naming a file or folder: empty, each meant the current folder or nothing
_PATH_OPTIONS = ("output", "outdir", "stats", "report", "preset", "config", "response_plot")


def _drop_file_protocol(args: argparse.Namespace) -> None:
    """FFmpeg's ``file:`` protocol prefix on paths means the path after it.

    ``-o file:w.mp4`` wrote a file literally named ``file:w.mp4`` and
    ``file:w.mp4`` as an input was "not found" (trial 141 F6). A file whose
    name starts so is reached as ``./file:NAME``, as in FFmpeg.
    """
    for name in (*_PATH_OPTIONS, "input", "images"):
        value = getattr(args, name, None)
        if isinstance(value, str) and value.startswith("file:"):
            setattr(args, name, value[len("file:"):])
        elif isinstance(value, list):
            setattr(args, name, [v[len("file:"):] if isinstance(v, str) and v.startswith("file:")
                                 else v for v in value])


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:  # named by the command's parser: its --help lists them (trial 101 F6)
        command = getattr(parser, "commands", {}).get(getattr(args, "command", None), parser)
        command.error(f"unrecognized arguments: {' '.join(extra)}")
    _drop_file_protocol(args)
    for name in _PATH_OPTIONS:  # "" (an unset shell variable) is no file, nor "."
        value = getattr(args, name, None)
        if isinstance(value, str) and not value.strip():
            option = {"output": "the output", "outdir": "the output folder (-o)"}.get(
                name, f"--{name.replace('_', '-')}")
            what = "empty (\"\", an unset shell variable?)" if not value else "blank"
            print(f"vidclear: error: {option} is {what}", file=sys.stderr)
            return 2
    if any(not str(p).strip() for p in getattr(args, "images", None) or []):  # vidclear hdr
        from vidclear.io.sources.av_source import EMPTY_INPUT

        print(f"vidclear: error: {EMPTY_INPUT}", file=sys.stderr)
        return 2
    if getattr(args, "verbose", 0) >= 2 and not getattr(args, "quiet", False):
        _ffmpeg_log(args.verbose)
    try:
        with warnings.catch_warnings():
            # deprecations meant for users (FutureWarning) as one line each
            warnings.showwarning = _show_warning
            return int(args.func(args) or 0)
    except Exception as exc:
        return _failed(exc)
    except KeyboardInterrupt:
        print("vidclear: interrupted", file=sys.stderr)
        return 130


def _failed(exc: Exception) -> int:
    """The one line and the exit status of an error that ended the command."""
    if _sigint.interrupted_by(exc):
        # a Ctrl-C a library call turned into an error of its own (PyAV's
        # "exit requested", a RuntimeError around a class being made)
        print("vidclear: interrupted", file=sys.stderr)
        return 130
    if isinstance(exc, BrokenPipeError):
        return 1
    if isinstance(exc, (VidclearError, MemoryError)):
        text = "out of memory" if isinstance(exc, MemoryError) else _one_line(exc)
        print(f"vidclear: error: {text}", file=sys.stderr)
        return 2 if isinstance(exc, ConfigError) else 1
    # a bug, not bad input: still one line, unless debugging
    if os.environ.get("VIDCLEAR_DEBUG"):
        raise exc
    print(f"vidclear: error: internal error ({type(exc).__name__}: {_one_line(exc)}); "
          "set VIDCLEAR_DEBUG=1 for the traceback and please report it", file=sys.stderr)
    return 3


if __name__ == "__main__":
    sys.exit(main())
