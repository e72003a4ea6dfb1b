"""Processors looked up by name, e.g. ``processors = ["dehaze"]`` in a preset.

Built-in processors are listed as ``"module:Class"`` strings and imported on
first use, so ``import vidclear`` does not compile every Numba kernel.
Third-party code adds its own with :func:`register`.
"""

from __future__ import annotations

import importlib
import re
import warnings

from vidclear.core.processor import Processor
from vidclear.errors import ConfigError, ProcessorError

__all__ = ["available", "builtin", "get", "register"]

_BUILTIN: dict[str, str] = {
    "copy": "vidclear.processors.basic:Copy",
    "side_by_side": "vidclear.processors.basic:SideBySide",
    "dehaze": "vidclear.processors.dehaze:DehazeProcessor",
    "dehaze_debug": "vidclear.processors.dehaze:DehazeDebug",
    "ace": "vidclear.processors.enhance:ACE",
    "histeq": "vidclear.processors.enhance:HistEq",
    "clahe": "vidclear.processors.enhance:CLAHE",
    "msrcr": "vidclear.processors.enhance:MSRCR",
    "synth_haze": "vidclear.processors.synth:SynthHaze",
    "hdr_bracket": "vidclear.processors.hdr:HDRBracket",
    "synth_bracket": "vidclear.processors.hdr:SynthBracket",
}
_LOADED: dict[str, type[Processor]] = {}


_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def register(cls: type[Processor]) -> type[Processor]:
    """Class decorator adding a processor under ``cls.name``."""
    if not (isinstance(cls, type) and issubclass(cls, Processor)):
        raise ProcessorError(f"register_processor takes a vidclear.Processor subclass, got "
                             f"{getattr(cls, '__name__', type(cls).__name__)}")
    if not cls.name:
        raise ConfigError(f"processor class {cls.__name__} has no name to register it by")
    if not isinstance(cls.name, str) or not _NAME.fullmatch(cls.name):
        # "dehaze " beside the built-in "dehaze" (trial 76): a name configs
        # cannot tell apart by eye
        raise ConfigError(f"processor name {cls.name!r} is not allowed: letters, digits, "
                          "'_' and '-', starting with a letter")
    twin = next((b for b in _BUILTIN if b.lower() == cls.name.lower()), None)
    if twin is not None and _BUILTIN[twin] != f"{cls.__module__}:{cls.__qualname__}":
        raise ConfigError(f"{cls.name!r} is {'' if twin == cls.name else 'too close to '}"
                          f"a built-in processor ({twin}: {_BUILTIN[twin]}); register yours "
                          "under another name")
    old = _LOADED.get(cls.name)
    if old is not None and old is not cls and cls.name not in _BUILTIN and (
            f"{old.__module__}:{old.__qualname__}" != f"{cls.__module__}:{cls.__qualname__}"):
        # another class under a name already taken (a notebook cell run again
        # defines the same class anew: that one replaces without a word); it
        # replaced the first without one (trial 74)
        warnings.warn(f"register_processor: {cls.name!r} was {old.__module__}."
                      f"{old.__qualname__}; {cls.__module__}.{cls.__qualname__} replaces it",
                      UserWarning, stacklevel=2)
    _LOADED[cls.name] = cls  # a name registered again by user code: the latest class wins
    return cls


def builtin() -> list[str]:
    """Names of the processors that ship with vidclear."""
    return sorted(_BUILTIN)


def available() -> list[str]:
    """Names of every known processor."""
    return sorted(set(_BUILTIN) | set(_LOADED))


def get(name: str) -> type[Processor]:
    """The processor class registered as ``name``."""
    if name in _LOADED:
        return _LOADED[name]
    if name not in _BUILTIN:
        raise ConfigError(
            f"unknown processor {name!r}: available processors are {', '.join(available())}"
        )
    module, _, attr = _BUILTIN[name].partition(":")
    cls = getattr(importlib.import_module(module), attr)
    _LOADED[name] = cls
    return cls
