"""Output paths: the checks before a run, and writes that never leave half a file.

Every file vidclear creates (the video, ``--stats``, the report's files) is
written under a temporary name in the same folder and renamed over the name
asked for only when complete, so an interrupted or failed write never leaves
a broken file there. A symbolic link is written through, as FFmpeg does. A
target that is not a regular file (``/dev/null``, ``/dev/stdout``, a FIFO) is
written into directly: renaming over it would replace the device node.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from vidclear.errors import OutputError
from vidclear.io.sequence import in_sequence

__all__ = ["check_output_path", "is_special_file", "is_stdout", "partial_path", "pid_alive",
           "publish", "stale_partials", "unwritable", "wait_for_reader", "write_file"]

STDOUT_NAMES = ("-", "pipe:", "pipe:1")


#: What :func:`partial_path` puts in a name (``NAME.partial-PID.EXT``).
PARTIAL_MARK = ".partial-"


def partial_path(path: Path, suffix: str | None = None) -> Path:
    """The temporary name a recording is written under until it is complete."""
    return path.with_name(f"{path.stem}{PARTIAL_MARK}{os.getpid()}"
                          f"{path.suffix if suffix is None else suffix}")


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` runs; a zombie (killed, not yet reaped) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: alive, someone else's
        return True
    try:  # Linux: a killed worker whose driver died too waits as a zombie for PID 1
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def stale_partials(path: Path) -> list[Path]:
    """The ``NAME.partial-PID.EXT`` files of ``path`` whose process PID is gone (a killed run's).

    A recording another live process is still writing is not among them.
    """
    found = []
    with contextlib.suppress(OSError):
        for p in sorted(path.parent.glob(f"{glob.escape(path.stem)}{PARTIAL_MARK}*"
                                         f"{glob.escape(path.suffix)}")):
            pid = p.name[len(path.stem) + len(PARTIAL_MARK):len(p.name) - len(path.suffix)]
            if pid.isdigit() and (int(pid) == os.getpid() or not pid_alive(int(pid))):
                found.append(p)
    return found


def is_special_file(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` exists and is neither a regular file nor a folder.

    A character device (``/dev/null``), a FIFO or a socket: something to
    write into, never to rename a finished file over.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


def is_stdout(path: str | os.PathLike[str]) -> bool:
    """True for ``-`` / ``pipe:1``, or a path that is this process's standard output.

    ``/dev/stdout`` when standard output is redirected to a file is that
    file: writing it by name would truncate what is already there.
    """
    if str(path) in STDOUT_NAMES:
        return True
    try:
        return os.path.samestat(os.stat(path), os.fstat(1))
    except (OSError, ValueError):
        return False


# how to replace an existing file, from the command line and from Python
_OVERWRITE = "(use -y to overwrite; overwrite=True from Python)"


def check_output_path(path: Path, *, inputs: list[str], overwrite: bool,
                      label: str = "output") -> None:
    """Refuse outputs that would destroy an input, or an existing file without ``-y``.

    Parameters
    ----------
    path : Path
        The file asked for. A symbolic link is judged by where it points.
    inputs : list of str
        Input paths (URLs and devices are ignored unless they exist as files).
    overwrite : bool
        ``-y``: an existing file may be replaced.
    label : str
        What messages call the file (``output``, ``--stats``).

    Raises
    ------
    OutputError
        The output is an input, a folder, exists without ``overwrite``, or its
        folder is missing or not writable.
    """
    path = Path(path)
    if path.is_symlink():
        try:
            os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise OutputError(f"{label} {path} is a loop of symbolic links") from None
    if is_special_file(path):  # /dev/null, /dev/stdout (a link into /proc), a FIFO
        if not overwrite:
            raise OutputError(f"{label} {path} already exists {_OVERWRITE}")
        if not os.access(path, os.W_OK):
            raise OutputError(f"{label} {path} is not writable")
        return  # written into directly
    real = Path(os.path.realpath(path))  # a link is written through
    for spec in inputs:
        src = Path(spec)
        same = src.exists() and ((path.exists() and os.path.samefile(src, path))
                                 or src.resolve() == real)
        if same:
            raise OutputError(f"{label} {path} is the input file; refusing to overwrite an input")
        if not src.exists() and (in_sequence(spec, path.absolute()) or in_sequence(spec, real)):
            raise OutputError(f"{label} {path} is a file of the input sequence {spec}; "
                              "refusing to overwrite an input")
    if real.is_dir():
        example = {"--stats": "stats.json", "--report": "report.json"}.get(
            label, "out" + (path.suffix or ".mp4"))  # out.hdr for an .hdr output
        raise OutputError(f"{label} {path} is a directory; give a file name such as "
                          f"{path / example}")
    if real.exists() and not overwrite:
        raise OutputError(f"{label} {path} already exists {_OVERWRITE}")
    if real.exists() and not os.access(real, os.W_OK):  # FFmpeg could not open it either
        raise OutputError(f"{label} {path} is read-only or immutable; refusing to replace it")
    parent = real.parent
    if not parent.is_dir():
        where = f" ({path} links to {real})" if real != path.absolute() else ""
        raise OutputError(f"{label} folder does not exist: {parent}{where}")
    reason = unwritable(parent)
    if reason:
        raise OutputError(f"{label} {path}: cannot create files in {parent} ({reason})")


def publish(tmp: Path, target: Path) -> None:
    """Rename the finished ``tmp`` over ``target``, keeping an old file's permissions.

    A replaced file keeps its mode (a private 0600 recording stays private)
    and, for root, its owner. Other hard links to it keep the old content:
    the file is replaced whole, never rewritten in place.

    Raises
    ------
    OSError
        From the rename.
    """
    try:
        old = os.stat(target)
    except OSError:
        old = None
    if old is not None and stat.S_ISREG(old.st_mode):
        os.chmod(tmp, stat.S_IMODE(old.st_mode))
        if os.geteuid() == 0:
            os.chown(tmp, old.st_uid, old.st_gid)
    os.replace(tmp, target)


def wait_for_reader(path: Path, *, on_wait: Callable[[], None] | None = None,
                    poll: float = 0.1) -> int:
    """Open the FIFO ``path`` for writing once a reader has it open; returns the fd.

    A plain open blocks in the kernel, deaf to Ctrl-C, for as long as nobody
    reads; this polls instead, so signals act at once. ``on_wait`` is called
    once if a reader is not there yet. The caller closes the descriptor
    after opening its own (it keeps the reader from seeing an early end).

    Raises
    ------
    OSError
        Other than "no reader yet" (ENXIO).
    """
    told = False
    while True:
        try:
            return os.open(path, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
        if not told and on_wait is not None:
            on_wait()
            told = True
        time.sleep(poll)


def unwritable(folder: Path) -> str | None:
    """Why a new file cannot be made in ``folder`` (None: it can).

    Tried for real, with a file created and removed at once: permission bits
    do not tell for root, read-only mounts or ``/proc``. The file is an
    unnamed temporary one (``O_TMPFILE`` where the system has it), so a
    process killed meanwhile leaves nothing in the folder: a named probe was
    left in a batch's output folder by SIGKILL.
    """
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def write_file(path: str | os.PathLike[str], data: bytes, *, label: str = "file") -> None:
    """Write ``data`` to ``path`` whole or not at all.

    A regular file (or a new one) is written under a temporary name, synced
    and renamed over ``path``; a link is written through; a device or FIFO
    is written into directly.

    Raises
    ------
    OutputError
        The file cannot be written; no partial file is left.
    """
    try:
        if is_stdout(path):  # "-", or /dev/stdout: append to the stream, never truncate it
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
            return
        if is_special_file(path):
            with open(path, "wb") as f:
                f.write(data)
            return
        target = Path(os.path.realpath(path))
        tmp = partial_path(target)
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            publish(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot write {label} {path}: {exc.strerror or exc}") from None
