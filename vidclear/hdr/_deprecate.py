"""Old HDR names kept for one release: each warns (DeprecationWarning) when used."""

from __future__ import annotations

import functools
import warnings
from typing import Any, TypeVar

__all__ = ["deprecated_alias"]

T = TypeVar("T")


def _warn(old: str, new: str) -> None:
    warnings.warn(f"vidclear.hdr: {old} is deprecated and will be removed in the next release; "
                  f"use {new}", DeprecationWarning, stacklevel=3)


def deprecated_alias(new: T, old: str) -> T:
    """``new`` under its old name ``old``: calling it (or building it) warns first.

    A function gets a wrapper; a class gets a subclass whose ``__init__`` warns,
    so ``isinstance`` checks against the new class still hold.
    """
    new_name = getattr(new, "__name__", repr(new))
    if isinstance(new, type):
        cls: Any = new

        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            _warn(old, new_name)
            cls.__init__(self, *args, **kwargs)

        alias = type(old, (cls,), {"__init__": __init__, "__module__": cls.__module__,
                                   "__doc__": f"Deprecated alias of :class:`{new_name}`."})
        return alias  # type: ignore[return-value]

    @functools.wraps(new)  # type: ignore[arg-type]
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _warn(old, new_name)
        return new(*args, **kwargs)  # type: ignore[operator]

    wrapper.__name__ = wrapper.__qualname__ = old
    wrapper.__doc__ = f"Deprecated alias of :func:`{new_name}`."
    return wrapper  # type: ignore[return-value]
