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

Numba also checks a cached kernel against its own source file only, while
the machine code it caches holds every kernel it calls and every constant it
reads from other modules. After a ``git pull`` in a source checkout (or an
editable install, as ``scripts/test.sh`` makes) that changed
``vidclear/kernels/_order.py`` alone, ``vidclear/dehaze/_kernels.py``'s
quantiles went on running the old selection from the cache; Numba has no
dependency tracking (numba PRs 8396 and 9563, unmerged). :func:`install_stamps`
adds a digest of every vidclear module that holds kernels, and of every
vidclear module those import, to the stamp Numba keeps with each vidclear
kernel: a change to any of them recompiles them all (about 95 s on two
cores; ``vidclear compile``), and an unchanged tree loads from the cache as
before. Other packages' kernels are left to Numba's own locators.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["MARKER", "code_digest", "configure", "fallback_dir", "install_stamps",
           "kernel_marker", "kernel_sources", "mark_cached", "marked_digest", "njit", "writable"]

PACKAGE = Path(__file__).resolve().parent


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


# ``from vidclear.x import``, ``import vidclear.x``, ``from .x import``, ``from .. import x``
_IMPORT = re.compile(r"^\s*(?:from\s+(vidclear[\w.]*|\.+[\w.]*)\s+import\s+([\w, ()]+)"
                     r"|import\s+(vidclear[\w.]*))", re.MULTILINE)


def _module_file(module: str, package: Path) -> Path | None:
    """The source file of ``vidclear.a.b`` inside ``package``, or None."""
    base = package.joinpath(*module.split(".")[1:])
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def _imports(path: Path, text: str, package: Path) -> set[Path]:
    """The files inside ``package`` that the module at ``path`` imports (read from its text)."""
    here = ["vidclear", *path.parent.relative_to(package).parts]
    out = set()
    for src, names, plain in _IMPORT.findall(text):
        if plain:
            modules = [plain]
        elif src.startswith("."):
            dots = len(src) - len(src.lstrip("."))
            parent = ".".join(here[:len(here) - dots + 1])
            rest = src[dots:]
            modules = ([f"{parent}.{rest}"] if rest else  # ``from . import d``: d or a name
                       [parent, *(f"{parent}.{n.strip()}" for n in names.strip("() ").split(","))])
        else:
            # ``from vidclear.kernels import _order``: the package and the submodules named
            modules = [src, *(f"{src}.{n.strip()}" for n in names.strip("() ").split(","))]
        for module in modules:
            dep = _module_file(module, package)
            if dep is not None:
                out.add(dep)
    return out


def _read(path: Path) -> bytes | None:
    """A module's bytes, or None when it cannot be read (a dangling link, gone)."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def _kernel_files(package: Path) -> dict[Path, bytes]:
    """:func:`kernel_sources` with each file's bytes, every file read once."""
    data = {}
    for path in package.rglob("*.py"):
        raw = None if path.name.startswith(".") else _read(path)
        if raw is not None:
            data[path] = raw
    texts = {p: raw.decode("utf-8", errors="replace") for p, raw in data.items()}
    todo = [p for p, text in texts.items() if p.name != "_numba_cache.py" and "njit" in text]
    found: set[Path] = set()
    while todo:
        path = todo.pop()
        if path in found:
            continue
        found.add(path)
        todo.extend(_imports(path, texts.get(path, ""), package) - found)
    return {p: data.get(p, b"(unreadable)") for p in sorted(found)}


def kernel_sources(package: Path = PACKAGE) -> list[Path]:
    """Every module of ``package`` that holds Numba kernels, and every package module they import.

    A module holds kernels when its text has ``njit``. Imports are read from
    the text (absolute and relative), followed through every module they
    reach inside the package: the kernels' callees and the constants they
    freeze into machine code live there. Names starting with a dot (an
    editor's lock file, often a dangling link) and files that cannot be read
    are passed by. Sorted.
    """
    return list(_kernel_files(package))


@functools.cache
def _digest(package: Path = PACKAGE) -> str:
    """SHA-256 over the paths (relative) and contents of :func:`kernel_sources`."""
    h = hashlib.sha256()
    for path, raw in _kernel_files(package).items():
        h.update(path.relative_to(package).as_posix().encode() + b"\0")
        h.update(raw + b"\0")
    return h.hexdigest()


def code_digest() -> str:
    """The SHA-256 of the kernels' code (:func:`kernel_sources`) that every cache stamp holds."""
    return _digest()


#: The file beside a package's cached kernels (or in ``NUMBA_CACHE_DIR``, one
#: per package) that holds :func:`code_digest` of the code that cached them.
MARKER = "vidclear-kernels.sha256"


def kernel_marker(domain: str) -> Path | None:
    """Where the digest of the code that cached package ``domain``'s kernels is kept.

    Beside its cache (``vidclear/DOMAIN/__pycache__``), or in
    ``NUMBA_CACHE_DIR`` when that is set; None before the package is imported.
    """
    cache = os.environ.get("NUMBA_CACHE_DIR")
    if cache:
        return Path(cache) / f"{domain}-{MARKER}"
    module = sys.modules.get(f"vidclear.{domain}")
    if module is None:
        return None
    return Path(getattr(module, "__file__", "") or ".").parent / "__pycache__" / MARKER


def marked_digest(domain: str) -> str | None:
    """The digest :func:`mark_cached` left for ``domain``'s kernels, None if none."""
    marker = kernel_marker(domain)
    try:
        return marker.read_text(encoding="ascii").strip() if marker else None
    except (OSError, UnicodeDecodeError):
        return None


def mark_cached(marker: Path) -> None:
    """Write :func:`code_digest` to ``marker``: the kernels there are this code's.

    Best effort: a place that cannot be written (a read-only install) is
    passed by. The command reads it to say that a run will compile (a
    changed kernel module recompiled every kernel for 32 s without a word,
    trial 134 F5).
    """
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        tmp = marker.with_name(f"{marker.name}.{os.getpid()}.tmp")
        tmp.write_text(code_digest() + "\n", encoding="ascii")
        os.replace(tmp, marker)
    except OSError:
        pass


def install_stamps() -> bool:
    """Make every vidclear kernel's cache stamp include :func:`_digest` (see the module doc).

    Prepends subclasses of Numba's three file-backed cache locators (the
    user's ``NUMBA_CACHE_DIR``, ``__pycache__`` beside the source, the
    user-wide folder) that take only files inside vidclear. Returns False,
    changing nothing, when this Numba has none of them (its caches then work
    as Numba's own) or ``NUMBA_CACHE_LOCATOR_CLASSES`` chooses the locators.
    """
    if os.environ.get("NUMBA_CACHE_LOCATOR_CLASSES"):
        return False
    from numba.core import caching

    impl = getattr(caching, "CacheImpl", None) or getattr(caching, "_CacheImpl", None)
    found = [getattr(caching, name, None) or getattr(caching, "_" + name, None)
             for name in ("UserProvidedCacheLocator", "InTreeCacheLocator",
                          "UserWideCacheLocator")]
    bases: list[type] = [b for b in found if isinstance(b, type)]
    if impl is None or len(bases) != len(found) or \
            any(getattr(c, "_vidclear", False) for c in impl._locator_classes):
        return False

    def locator(base: Any) -> type:
        """``base`` for files inside vidclear, its stamp with the kernel sources' digest."""

        def from_function(cls: Any, py_func: Any, py_file: str) -> Any:
            try:
                inside = Path(py_file).resolve().is_relative_to(PACKAGE)
            except (OSError, ValueError):
                inside = False
            return base.from_function.__func__(cls, py_func, py_file) if inside else None

        def get_source_stamp(self: Any) -> tuple[Any, str]:
            return (base.get_source_stamp(self), _digest())

        return type(f"Vidclear{base.__name__.lstrip('_')}", (base,),
                    {"_vidclear": True, "__module__": __name__,
                     "from_function": classmethod(from_function),
                     "get_source_stamp": get_source_stamp})

    ours = [locator(base) for base in bases]
    impl._locator_classes = [*ours, *impl._locator_classes]
    return True


def njit(*args: Any, **kwargs: Any) -> Any:
    """``numba.njit`` after :func:`install_stamps`: every vidclear kernel is made with it.

    The stamps must be in place before a ``cache=True`` kernel is decorated
    (Numba picks its cache locator then); installing them here, not when
    vidclear is imported, keeps Numba out of ``import vidclear`` (0.25 s).
    """
    import numba

    install_stamps()
    return numba.njit(*args, **kwargs)


configure()
