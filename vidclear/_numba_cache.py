"""Where Numba caches vidclear's compiled kernels when its own places are read-only.

Numba caches a ``cache=True`` function next to its source (``__pycache__``)
or, when that folder cannot be written, in the user's cache folder
(``$XDG_CACHE_HOME/numba`` or ``~/.cache/numba``). A package installed by
root and run by another user with no writable home (a common container
set-up) has neither, and Numba then refuses to compile at all ("no locator
available"). :func:`configure` points ``NUMBA_CACHE_DIR`` at a private
folder in the temporary directory in that case only; a cache the user
chose (``NUMBA_CACHE_DIR``) is always left alone. Importing this module
configures (``vidclear/__init__`` does it before any kernel module).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

__all__ = ["configure", "fallback_dir", "writable"]


def writable(folder: Path) -> bool:
    """True when a file can be created in ``folder`` (made if missing), tried for real.

    The probe is an unnamed temporary file (``O_TMPFILE`` where the system
    has it), so a Ctrl-C at the wrong moment leaves nothing behind: a named
    probe was left in the installed package's ``__pycache__`` (a helper's
    trial).
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError:
        return False
    return True


def _user_cache() -> Path | None:
    """Numba's user-wide cache folder (its appdirs rule on Linux and macOS)."""
    base = os.environ.get("XDG_CACHE_HOME")
    if base:
        return Path(base) / "numba"
    try:
        home = Path.home()
    except (KeyError, RuntimeError):
        return None
    return home / ".cache" / "numba"


def fallback_dir(package: Path, user_cache: Path | None) -> Path | None:
    """A private cache folder when neither of Numba's places can be written, else None."""
    if writable(package / "__pycache__") or (user_cache is not None and writable(user_cache)):
        return None
    return Path(tempfile.gettempdir()) / f"vidclear-numba-{os.getuid()}"


def configure() -> None:
    """Set ``NUMBA_CACHE_DIR`` to :func:`fallback_dir` when it is needed (on import)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    folder = fallback_dir(Path(__file__).resolve().parent, _user_cache())
    if folder is None:
        return
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        st = os.lstat(folder)
        if st.st_uid != os.getuid() or not folder.is_dir() or folder.is_symlink():
            folder = Path(tempfile.mkdtemp(prefix="vidclear-numba-"))  # someone else's
    except OSError:
        return  # nowhere to cache: Numba will say so
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    config = sys.modules.get("numba.core.config")
    if config is not None:  # Numba imported first: it read the environment already
        config.CACHE_DIR = str(folder)  # type: ignore[attr-defined]


configure()
