"""Typed, frozen configuration sections validated when they are built.

A section is a frozen dataclass that subclasses :class:`Section`. Each field
is declared with :func:`param`, which records the allowed range or choices
and a one-line description. Building a section checks every value and raises
:class:`~vidclear.errors.ConfigError` naming the key and what is allowed::

    @dataclass(frozen=True)
    class DehazeConfig(Section):
        omega: float = param(0.95, lo=0.0, hi=1.0, doc="haze kept: 1 - omega")
        method: str = param("dcp", choices=("dcp", "quadtree"), doc="airlight search")

    DehazeConfig(omega=2.0)  # ConfigError: dehaze.omega = 2.0 is out of range [0, 1]
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import re
import types
import typing
import warnings
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from vidclear.errors import ConfigError

__all__ = ["BARE_WORD", "Section", "param"]

_MISSING = dataclasses.MISSING
#: A value a user meant as a string but wrote without TOML's quotes (a name,
#: a codec): error messages show it quoted
BARE_WORD = re.compile(r"[\w.:+-]+")


def param(
    default: Any,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    choices: tuple[Any, ...] | None = None,
    odd: bool = False,
    doc: str = "",
) -> Any:
    """Declare a config field with its default, allowed values and description.

    Parameters
    ----------
    default : object
        Default value. Lists are stored as tuples so sections stay hashable.
    lo, hi : float, optional
        Inclusive numeric bounds (exclusive with ``lo_open``/``hi_open``).
    choices : tuple, optional
        The only allowed values.
    odd : bool
        An integer field must be odd (a window with a centre pixel).
    doc : str
        One line shown in error messages and ``vidclear config``.
    """
    if isinstance(default, list):
        default = tuple(default)
    meta = {"lo": lo, "hi": hi, "lo_open": lo_open, "hi_open": hi_open,
            "choices": choices, "odd": odd, "doc": doc}
    return dataclasses.field(default=default, metadata=meta)


_TYPE_WORDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


_PLURAL_WORDS = {int: "integers", float: "numbers", bool: "true or false values",
                 str: "strings"}


def _describe_type(tp: Any) -> str:
    """The type in words, with its article: ``int`` -> "an integer".

    Unions and tuples are named in words too (``str | tuple[float, ...]`` ->
    "a string or a list of numbers"), not as Python spells them.
    """
    if tp in _TYPE_WORDS:
        return _TYPE_WORDS[tp]
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe_type(a) for a in typing.get_args(tp)
                           if a is not type(None))
    if origin is tuple:
        item = (typing.get_args(tp) or (Any,))[0]
        return f"a list of {_PLURAL_WORDS.get(item, 'values')}"
    if isinstance(tp, type):
        return f"a {tp.__name__}"
    return f"a {str(tp).replace('typing.', '')}"


def _allowed(meta: Mapping[str, Any], tp: Any) -> str:
    if meta.get("choices") is not None:
        return "one of " + ", ".join(repr(c) for c in meta["choices"])
    kind = "an odd integer" if meta.get("odd") else _describe_type(tp)
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None or hi is not None:
        left = "(" if meta.get("lo_open") else "["
        right = ")" if meta.get("hi_open") else "]"
        lo_s = "-inf" if lo is None else f"{lo:g}"
        hi_s = "inf" if hi is None else f"{hi:g}"
        return f"{kind} in {left}{lo_s}, {hi_s}{right}"
    return kind


def _as_float(value: numbers.Real) -> float:
    """``value`` as a Python float; np.float32(0.2) as 0.2, the number it prints as."""
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value))  # the shortest decimal that round-trips in its own type
    except ValueError:  # Fraction(1, 3) prints as 1/3
        return float(value)


def _coerce(value: Any, tp: Any, key: str, meta: Mapping[str, Any]) -> Any:
    """Check ``value`` against the annotation ``tp``; return the stored form."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, key, meta)
            except ConfigError as exc:
                errors.append(exc)
        raise ConfigError(f"{key} = {value!r} is not allowed: expected {_allowed(meta, tp)}")
    if origin is tuple:
        (item_tp, *_rest) = typing.get_args(tp) or (Any,)
        if not isinstance(value, list | tuple):
            bare = isinstance(value, str) and BARE_WORD.fullmatch(value)
            one = f' (["{value}"] for one)' if bare else ""
            raise ConfigError(f"{key} = {value!r} is not allowed: expected a list{one}")
        items = []
        for v in value:
            try:
                items.append(_coerce(v, item_tp, key, {}))
            except ConfigError as exc:
                # the whole value named, not its item as if it were (trial 140 F2)
                why = str(exc).rpartition(" is not allowed: ")[2]
                raise ConfigError(f"{key} = {list(value)!r} is not allowed: its item {v!r}: "
                                  f"{why}") from None
        return tuple(items)
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key} = {value!r} is not allowed: expected true or false")
        return value
    # NumPy's scalars (np.int64 from an array, np.float32) are numbers.Integral
    # and numbers.Real; they are stored as Python's int and float
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ConfigError(f"{key} = {value!r} is not allowed: expected {_allowed(meta, int)}")
        value = int(value)
        if meta.get("odd") and value % 2 == 0:
            raise ConfigError(f"{key} = {value!r} is not allowed: expected {_allowed(meta, int)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ConfigError(f"{key} = {value!r} is not allowed: expected {_allowed(meta, float)}")
        try:
            value = _as_float(value)
        except OverflowError:  # an integer past the float range (10**400)
            value = math.inf if value > 0 else -math.inf
        if not math.isfinite(value):
            raise ConfigError(f"{key} = {value!r} is not allowed: expected a finite number")
        return value
    if tp is str:
        if not isinstance(value, str):
            what = ", not a list" if isinstance(value, list | tuple) else ""
            raise ConfigError(f"{key} = {value!r} is not allowed: expected a string{what}")
        return value
    raise TypeError(f"unsupported config annotation {tp!r} for {key}")


_HINTS: dict[type, dict[str, Any]] = {}


def _type_hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints(cls)``, evaluated once per class.

    Evaluating the annotations took 17 ms for :class:`DehazeConfig`, more than
    dehazing a 600 × 450 still, on every ``dehaze_image`` call.
    """
    hints = _HINTS.get(cls)
    if hints is None:
        hints = _HINTS[cls] = typing.get_type_hints(cls)
    return hints


class _SectionType(type):
    """Makes ``Cls(unknown=...)`` the same :class:`ConfigError` as a TOML file's unknown key.

    The dataclass ``__init__`` would raise Python's own ``TypeError`` for a
    misspelt keyword, where every other way in (``from_mapping``, a
    processor's ``**params``, ``--set``) names the key and the allowed ones.
    A key listed in ``renamed`` is taken under its new name, with a warning.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if kwargs and dataclasses.is_dataclass(cls):
            kwargs = cls._new_keys(kwargs, stacklevel=3)
            cls._check_keys(kwargs)
        return super().__call__(*args, **kwargs)


@dataclasses.dataclass(frozen=True)
class Section(metaclass=_SectionType):
    """Base class of all configuration sections.

    Subclasses are frozen dataclasses whose fields come from :func:`param`.
    ``section`` names the TOML table the class is read from. A keyword that
    is no field raises :class:`ConfigError` naming it and the allowed keys.
    """

    section: ClassVar[str] = ""
    renamed: ClassVar[Mapping[str, str]] = {}
    """Old key -> new key. An old key still loads, with a FutureWarning, for one release."""

    def __post_init__(self) -> None:
        hints = _type_hints(type(self))
        for f in dataclasses.fields(self):
            key = f"{self.section}.{f.name}" if self.section else f.name
            raw = getattr(self, f.name)
            value = _coerce(raw, hints[f.name], key, f.metadata)
            meta = f.metadata
            choices = meta.get("choices")
            if choices is not None and value not in choices and value is not None:
                raise ConfigError(
                    f"{key} = {value!r} is not allowed: expected {_allowed(meta, hints[f.name])}"
                )
            if isinstance(value, int | float) and not isinstance(value, bool):
                lo, hi = meta.get("lo"), meta.get("hi")
                bad = (
                    (lo is not None and (value < lo or (meta.get("lo_open") and value == lo)))
                    or (hi is not None and (value > hi or (meta.get("hi_open") and value == hi)))
                )
                if bad:
                    raise ConfigError(
                        f"{key} = {value!r} is out of range: expected "
                        f"{_allowed(meta, hints[f.name])}"
                    )
            if value is not raw:
                object.__setattr__(self, f.name, value)
        self.validate()

    def validate(self) -> None:
        """Cross-field checks; override and raise ConfigError."""

    @classmethod
    def keys(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def _new_keys(cls, values: Mapping[str, Any], stacklevel: int = 4) -> dict[str, Any]:
        """``values`` with renamed keys under their new names, warning once for each."""
        out = dict(values)
        prefix = f"{cls.section}." if cls.section else ""
        for old, new in cls.renamed.items():
            if old not in out:
                continue
            if new in out:
                raise ConfigError(f"{prefix}{old} and {prefix}{new} are the same setting: "
                                  f"give only {prefix}{new}")
            warnings.warn(f"{prefix}{old} is deprecated and will be removed in the next "
                          f"release: use {prefix}{new}", FutureWarning, stacklevel=stacklevel)
            out[new] = out.pop(old)
        return out

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Self:
        """Build from a mapping, refusing unknown keys by name.

        Keys listed in :attr:`renamed` are accepted under their old names
        with a :class:`FutureWarning`.
        """
        values = cls._new_keys(values)
        cls._check_keys(values)
        return cls(**dict(values))

    @classmethod
    def _check_keys(cls, values: Mapping[str, Any]) -> None:
        """Refuse a key that is not a field, naming it and the allowed ones."""
        known = set(cls.keys())
        for k in values:
            if k not in known:
                prefix = f"{cls.section}." if cls.section else ""
                allowed = (f"allowed keys are {', '.join(sorted(known))}" if known
                           else f"{cls.__name__} has no settings")
                raise ConfigError(f"unknown key {prefix}{k}: {allowed}")

    @classmethod
    def coerce_params(cls, config: Self | None, params: Mapping[str, Any]) -> Self:
        """The config for a processor built as ``Cls(config=...)`` or ``Cls(**params)``."""
        if config is not None:
            if not isinstance(config, cls):
                raise TypeError(f"config must be a {cls.__name__}, got {type(config).__name__}")
            if not params:
                return config
            params = cls._new_keys(params)
            cls._check_keys(params)
            return dataclasses.replace(config, **params)
        return cls.from_mapping(params)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: (list(v) if isinstance(v := getattr(self, f.name), tuple) else v)
                for f in dataclasses.fields(self)}

    @classmethod
    def describe(cls) -> list[tuple[str, Any, str, str]]:
        """(key, default, allowed, doc) for every field, for help output."""
        hints = typing.get_type_hints(cls)
        return [(f.name, f.default, _allowed(f.metadata, hints[f.name]), f.metadata.get("doc", ""))
                for f in dataclasses.fields(cls)]
