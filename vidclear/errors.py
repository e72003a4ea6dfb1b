"""Exceptions raised by vidclear.

Every error a user can cause (bad input, bad configuration, an unwritable
output) is a :class:`VidclearError`. The command-line tool prints these as a
single line and exits non-zero; anything else is a bug.
"""

from __future__ import annotations

__all__ = ["ConfigError", "InputError", "OutputError", "VidclearError"]


class VidclearError(Exception):
    """Base class for errors caused by input, configuration or environment."""


class ConfigError(VidclearError, ValueError):
    """A configuration key, type or value is not allowed."""


class InputError(VidclearError):
    """An input cannot be opened, decoded or is not what it claims to be."""


class OutputError(VidclearError):
    """An output cannot be created, written or finalized."""
