"""Loading a run's configuration: preset, TOML file and ``--set`` overrides.

Later sources win: built-in defaults < ``--preset NAME`` < ``--config FILE``
< each ``--set section.key=value`` in order. Every table and key is checked;
an unknown one is refused with the list of allowed names.
"""

from __future__ import annotations

import dataclasses
import os
import select
import stat
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from vidclear.config.sections import (
    X26X_PRESETS,
    InputConfig,
    OutputConfig,
    PipelineConfig,
    PreviewConfig,
)
from vidclear.core import registry
from vidclear.core.schema import BARE_WORD, Section
from vidclear.errors import ConfigError

__all__ = ["Config", "available_presets", "canonical_tables", "load_config", "parse_override",
           "preset_path", "read_config_file"]

_CORE: dict[str, type[Section]] = {
    "pipeline": PipelineConfig,
    "input": InputConfig,
    "output": OutputConfig,
    "preview": PreviewConfig,
}


@dataclasses.dataclass(frozen=True)
class Config:
    """A whole run's settings: the core sections plus one per processor.

    ``processors`` maps processor names to their config sections; a processor
    without an entry runs with its defaults.
    """

    pipeline: PipelineConfig = dataclasses.field(default_factory=PipelineConfig)
    input: InputConfig = dataclasses.field(default_factory=InputConfig)
    output: OutputConfig = dataclasses.field(default_factory=OutputConfig)
    preview: PreviewConfig = dataclasses.field(default_factory=PreviewConfig)
    processors: Mapping[str, Section] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        # Config(pipeline="x") was taken as it was and failed later, deep in a run
        for name, cls in _CORE.items():
            value = getattr(self, name)
            if not isinstance(value, cls):
                raise ConfigError(
                    f"Config.{name} must be a {cls.__name__} instance, got {type(value).__name__} "
                    f"{value!r:.60} (load_config(overrides=...) builds a Config from keys)")
        if not isinstance(self.processors, Mapping):
            raise ConfigError(f"Config.processors must map processor names to their "
                              f"settings, got {type(self.processors).__name__}")
        for key, sec in self.processors.items():
            if not isinstance(key, str) or not isinstance(sec, Section):
                raise ConfigError(f"Config.processors[{key!r}] must be a processor's config "
                                  f"section, got {type(sec).__name__}")
            want = registry.get(key).Config if key in registry.available() else None
            if want is not None and not isinstance(sec, want):
                raise ConfigError(f"Config.processors[{key!r}] must be a {want.__name__} instance, "
                                  f"got {type(sec).__name__}")

    def processor_config(self, name: str) -> Section:
        """The settings for processor ``name`` (its defaults if none were given)."""
        if name in self.processors:
            return self.processors[name]
        return registry.get(name).Config()

    def to_dict(self) -> dict[str, dict[str, Any]]:
        out = {name: getattr(self, name).to_dict() for name in _CORE}
        out.update({name: sec.to_dict() for name, sec in self.processors.items()})
        return out


def canonical_tables(tables: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``tables`` (as :meth:`Config.to_dict` gives them) without processor tables at defaults.

    The same settings hash the same whether a processor's table was written
    out with its defaults or left out: ``vidclear presets --preset transcode
    > t.toml`` adds an empty-looking ``[copy]``, and ``--config t.toml``
    hashed differently from ``--preset transcode`` (a batch redid every file).
    """
    out: dict[str, Any] = {}
    for name, table in tables.items():
        if name not in _CORE and name in registry.available():
            try:
                if registry.get(name).Config().to_dict() == dict(table):
                    continue
            except ConfigError:
                pass
        out[name] = table
    return out


def _preset_dirs() -> list[Path]:
    here = Path(__file__).resolve().parent.parent
    return [here / "presets", here.parent / "configs"]


def available_presets() -> list[str]:
    """Names of the presets shipped with vidclear."""
    names: set[str] = set()
    for d in _preset_dirs():
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.toml"))
    return sorted(names)


def preset_path(name: str) -> Path:
    """The TOML file of preset ``name``, one of :func:`available_presets`.

    Raises
    ------
    ConfigError
        ``name`` is no shipped preset: a path (``/any/file``, ``../x``: any
        TOML file was loaded as a preset, trial 140 F8; ``--config`` takes
        files) or an unknown name (an encoder preset such as ``slow`` is
        named with what sets it, trial 141 F5).
    """
    if name in available_presets():
        for d in _preset_dirs():
            candidate = d / f"{name}.toml"
            if candidate.is_file():
                return candidate
    hint = ""
    if name in X26X_PRESETS:
        hint = f" ({name!r} is an encoder preset: --set output.preset={name})"
    elif "/" in name or "\\" in name or name.endswith(".toml"):
        hint = " (a file of settings is given with --config FILE)"
    raise ConfigError(
        f"unknown preset {name!r}: available presets are {', '.join(available_presets())}{hint}"
    )


#: Limits on what a configuration may hold; real configs are far inside them.
MAX_CONFIG_BYTES = 1 << 20  # a whole TOML file
MAX_DEPTH = 8  # tables and arrays nested in one another (real configs use 3)
MAX_STRING = 4096  # characters in one string (PATH_MAX on Linux)
MAX_ITEMS = 1024  # entries in one array or table


def _check_limits(value: Any, where: str, depth: int = 0) -> None:
    """Refuse values nested, long or large beyond any real configuration."""
    if depth > MAX_DEPTH:
        raise ConfigError(f"{where} nests tables or arrays more than {MAX_DEPTH} deep")
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise ConfigError(f"{where} is a string of {len(value)} characters: at most "
                          f"{MAX_STRING} are allowed")
    if isinstance(value, Mapping | list | tuple) and len(value) > MAX_ITEMS:
        raise ConfigError(f"{where} holds {len(value)} entries: at most {MAX_ITEMS} are allowed")
    if isinstance(value, Mapping):
        for k, v in value.items():
            _check_limits(k, f"{where} key", depth + 1)
            _check_limits(v, f"{where}.{k}" if where else str(k), depth + 1)
    elif isinstance(value, list | tuple):
        for v in value:
            _check_limits(v, where, depth + 1)


def _parse_toml(text: str, origin: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(text)
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise ConfigError(f"{origin} nests tables or arrays more than {MAX_DEPTH} deep") \
            from None
    try:
        _check_limits(data, "")
    except ConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    return data


def read_config_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The tables of a TOML config file, as :func:`load_config` reads it (a UTF-8 BOM allowed).

    Raises
    ------
    ConfigError
        The file is missing, unreadable, too large or not valid TOML.
    """
    return _read_toml(Path(path))


#: Seconds a config file that is a pipe (``--config <(...)``) may stay silent.
PIPE_WAIT_S = 10.0


def _read_bytes(path: Path, limit: int) -> bytes:
    """Up to ``limit`` bytes of a config file; a pipe may stay silent :data:`PIPE_WAIT_S`.

    A pipe nobody writes to blocked the run for ever without a word (trial
    86); a shell's process substitution writes at once. The pipe is read
    through the descriptor that waited (closed, its data would be lost).
    """
    if not stat.S_ISFIFO(path.stat().st_mode):
        with open(path, "rb") as fh:
            return fh.read(limit)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        ready, _, _ = select.select([fd], [], [], PIPE_WAIT_S)
        if not ready:
            raise ConfigError(f"config file {path} is a pipe nothing was written to in "
                              f"{PIPE_WAIT_S:g} s")
        os.set_blocking(fd, True)
        return fh.read(limit)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        raw = _read_bytes(path, MAX_CONFIG_BYTES + 1)
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(f"config file {path} is larger than {MAX_CONFIG_BYTES >> 20} MiB")
        # utf-8-sig: Windows Notepad starts UTF-8 files with a byte order mark,
        # which TOML does not allow ("Invalid statement at line 1": trial 37)
        return _parse_toml(raw.decode("utf-8-sig"), f"config file {path}")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except IsADirectoryError:
        raise ConfigError(f"config file is a directory: {path}") from None
    except PermissionError:
        raise ConfigError(f"config file cannot be read (permission denied): {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None


def parse_override(text: str) -> tuple[str, str, Any]:
    """Split ``section.key=value``; the value is read as TOML, else as a string.

    >>> parse_override("dehaze.omega=0.9")
    ('dehaze', 'omega', 0.9)
    >>> parse_override("output.codec=libx265")
    ('output', 'codec', 'libx265')
    """
    key, sep, raw = text.partition("=")
    section, dot, name = key.strip().partition(".")
    # spaces around the dot as around '=' (" clahe . clip_limit" named a
    # section "clahe ", trial 140 F3)
    section, name = section.strip(), name.strip()
    if not sep or not dot or not section or not name:
        raise ConfigError(f"--set {text!r} is not allowed: expected section.key=value")
    raw = raw.strip()
    where = f"--set {section}.{name}"
    try:
        doc = tomllib.loads(f"v = {raw}")
    except RecursionError:  # tomllib recurses once per nested array or inline table
        raise ConfigError(f"{where} nests tables or arrays more than {MAX_DEPTH} deep") \
            from None
    except tomllib.TOMLDecodeError:
        bracketed = raw.startswith("[") and raw.endswith("]")
        words = [w.strip().strip("'\"") for w in raw[1:-1].split(",") if w.strip()] \
            if bracketed else []
        bare = bool(words) and all(BARE_WORD.fullmatch(w) for w in words)
        kinds = _value_kinds(section, name) if raw.startswith("[") else ()
        if kinds and not any(typing.get_origin(k) in (tuple, list) for k in kinds):
            # a key of one value is not sent to the quoted list form, which it
            # refuses in turn (trial 143 F5; a malformed list too, trial 147 F4)
            one = f": {section}.{name}={words[0]}" if bare and len(words) == 1 \
                and str in kinds else ""
            raise ConfigError(f"{where}={raw} is not allowed: the key takes one value, "
                              f"not a list{one}") from None
        if bare:
            # [dehaze, ace] was taken as one string, then "expected a list"
            # (trial 140 F1): TOML's strings are quoted (only bare words get
            # the quoted form: "[copy]]" got '["copy]"]', trial 142 F6)
            quoted = "[" + ", ".join(f'"{w}"' for w in words) + "]"
            raise ConfigError(f"{where}={raw} is not a TOML list: its strings are quoted, "
                              f"as in {section}.{name}='{quoted}'") from None
        if raw.startswith("["):
            raise ConfigError(f"{where}={raw} is not a TOML list (a list is written "
                              f"{section}.{name}='[\"a\", \"b\"]')") from None
        doc = {"v": raw}
    if set(doc) != {"v"} or ("\n" in raw and not isinstance(doc["v"], (list, dict))):
        # "0.5\n[x]" read as the value 0.5 and a table, the rest dropped (trial 60)
        raise ConfigError(f"--set {text!r} is not allowed: expected one value after '=' "
                          "(on one line)")
    value = doc["v"]
    _check_limits(value, where, depth=2)  # as in [section] name = value
    return section, name, value


def _value_kinds(section: str, name: str) -> tuple[Any, ...]:
    """The types ``section.name`` takes (those of a union), ``()`` for an unknown key."""
    cls = _CORE.get(section)
    if cls is None and section in registry.available():
        cls = registry.get(section).Config
    if cls is None or name not in {f.name for f in dataclasses.fields(cls)}:
        return ()
    tp = typing.get_type_hints(cls)[name]
    return typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) \
        else (tp,)


def _merge(into: dict[str, dict[str, Any]], data: Mapping[str, Any], origin: str) -> None:
    for table, values in data.items():
        if not isinstance(values, Mapping):
            raise ConfigError(
                f"{origin}: top-level key {table!r} must be a [table] such as [pipeline]"
            )
        into.setdefault(table, {}).update(values)


def load_config(
    *,
    preset: str | None = None,
    config_file: str | Path | None = None,
    overrides: Iterable[str] = (),
    base: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    """Build a validated :class:`Config`.

    Parameters
    ----------
    preset : str, optional
        Name of a preset in ``configs/`` (``dashcam``, ``webcam``, ...).
    config_file : path, optional
        A TOML file whose tables override the preset.
    overrides : iterable of str
        ``section.key=value`` strings applied last, in order (one string
        alone is one override).
    base : mapping, optional
        Tables applied before the preset (used by commands such as ``demo``).

    Returns
    -------
    Config
        Frozen, every value checked.

    Raises
    ------
    ConfigError
        An unknown preset, section or key; a value of the wrong type or out
        of its range (the message names the allowed range); a config file
        that is missing or not TOML; an override not written
        ``section.key=value``.
    """
    if overrides is None:
        overrides = ()
    elif isinstance(overrides, str):  # one override, not its characters one by one
        overrides = (overrides,)
    elif isinstance(overrides, Mapping):  # its keys alone would be read as overrides
        raise ConfigError("overrides must be 'section.key=value' strings, got a mapping "
                          "(base= takes tables)")
    if base is not None and not isinstance(base, Mapping):
        raise ConfigError(f"base must be a mapping of tables, got {type(base).__name__}")
    tables: dict[str, dict[str, Any]] = {}
    if base:
        _merge(tables, base, "defaults")
    if preset:
        path = preset_path(preset)
        _merge(tables, _read_toml(path), f"preset {preset}")
    if config_file is not None:
        _merge(tables, _read_toml(Path(config_file)), str(config_file))
    for text in overrides:
        if not isinstance(text, str):
            raise ConfigError(f"an override must be a 'section.key=value' string, got {text!r}")
        section, key, value = parse_override(text)
        tables.setdefault(section, {})[key] = value

    pipeline = PipelineConfig.from_mapping(tables.pop("pipeline", {}))
    input_ = InputConfig.from_mapping(tables.pop("input", {}))
    output = OutputConfig.from_mapping(tables.pop("output", {}))
    preview = PreviewConfig.from_mapping(tables.pop("preview", {}))
    processors: dict[str, Section] = {}
    for name, values in tables.items():
        if name not in registry.available():
            allowed = ", ".join([*_CORE, *registry.available()])
            raise ConfigError(f"unknown section [{name}]: allowed sections are {allowed}")
        settings = registry.get(name).Config
        if not settings.section and values:  # a processor of one's own, with no Config
            raise ConfigError(f"unknown key {name}.{next(iter(values))}: processor {name} "
                              "has no settings")
        processors[name] = settings.from_mapping(values)
    for name in pipeline.processors:
        registry.get(name)  # refuses unknown names with the list of known ones
    return Config(pipeline=pipeline, input=input_, output=output, preview=preview,
                  processors=processors)
