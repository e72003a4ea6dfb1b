"""Every exception vidclear raises on purpose.

Every error a user can cause (bad input, bad configuration, an unwritable
output, a wrong array passed to the Python API) is a :class:`VidclearError`.
The command-line tool prints these as one line and exits non-zero (2 for a
:class:`ConfigError`, 1 for the others); anything else is a bug.

Errors about values also derive from :class:`ValueError`, as NumPy and
OpenCV users expect: ``except ValueError`` catches a bad array or setting.
"""

from __future__ import annotations

__all__ = ["ArrayError", "ConfigError", "HDRInputError", "InputError", "OutputError",
           "ProcessorError", "VidclearError"]


class VidclearError(Exception):
    """Base class for errors caused by input, configuration or environment."""


class ConfigError(VidclearError, ValueError):
    """A configuration key, type or value, or a function parameter, is not allowed."""


class InputError(VidclearError):
    """An input cannot be opened, decoded or is not what it claims to be."""


class ArrayError(InputError, ValueError):
    """An array given to the Python API has the wrong shape, dtype or values.

    Raised for non-numeric or unsupported dtypes (``int32`` where ``uint8``,
    ``uint16`` or ``float`` is expected), wrong layouts (not H×W or H×W×3),
    empty arrays, NaN or Inf, and arrays that do not match each other.
    """


class HDRInputError(ArrayError):
    """An exposure bracket is unusable: mismatched images, bad exposure times or response."""


class ProcessorError(VidclearError, TypeError):
    """A processor broke its contract: not a Processor, or it returned something
    other than a Frame (or None while it holds frames back)."""


class OutputError(VidclearError):
    """An output cannot be created, written or finalized.

    Parameters
    ----------
    message : str
        The one-line error.
    errno : int, optional
        The operating system's error number behind it (``errno.ECONNREFUSED``
        when a network output found no receiver), when there was one.
    """

    def __init__(self, message: str, *, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno
