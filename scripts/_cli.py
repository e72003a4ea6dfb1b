"""Argument types shared by the benchmark scripts (run from the repository root)."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def at_least(low: int) -> Callable[[str], int]:
    """argparse type: an integer >= ``low``, refused in one line otherwise."""

    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected an integer >= {low}, got {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {value}")
        return value

    return check


positive_int = at_least(1)
"""argparse type: an integer >= 1."""
