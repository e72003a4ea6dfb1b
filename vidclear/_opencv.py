"""Which OpenCV wheel provides ``cv2``, and what to tell the user when none or several do.

OpenCV publishes four wheels on PyPI: ``opencv-python``, ``opencv-python-headless``,
``opencv-contrib-python`` and ``opencv-contrib-python-headless``. All four install
the same ``cv2`` package, so installing a second one silently overwrites the
first one's files, and uninstalling either then leaves a broken ``cv2``
(opencv/opencv-python#467 and #962, opencv/opencv#24307; the wheels' README says
to install exactly one). A library that depends on one of them therefore breaks
every environment that chose another (a contrib build loses ``cv2.ximgproc``, a
server gets the Qt build).

vidclear therefore depends on none of them and works with whichever is
installed; the extras pick one for a new environment::

    pip install "vidclear[headless]"   # servers, containers, CI: no GUI libraries
    pip install "vidclear[gui]"        # desktops: adds the --preview window

This module imports nothing from vidclear and does not import ``cv2`` itself
except in :func:`describe`, so it can explain a ``cv2`` that fails to import.
"""

from __future__ import annotations

import importlib.metadata

__all__ = ["WHEELS", "describe", "installed_wheels", "missing_message"]

WHEELS = ("opencv-python", "opencv-python-headless", "opencv-contrib-python",
          "opencv-contrib-python-headless")

_CHOOSE = ("pip install 'vidclear[headless]' on a server, 'vidclear[gui]' for the window "
           "preview ('.[headless]' from a checkout), or any one OpenCV wheel ("
           + ", ".join(WHEELS) + ")")


def installed_wheels() -> dict[str, str]:
    """The OpenCV wheels installed in this environment: ``{name: version}``."""
    found: dict[str, str] = {}
    for name in WHEELS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def _several(wheels: dict[str, str]) -> str:
    names = " ".join(wheels)
    return (f"{len(wheels)} OpenCV wheels are installed ({', '.join(wheels)}) and they overwrite "
            f"each other's cv2: run `pip uninstall -y {names}` and install just one again")


def missing_message(exc: BaseException) -> str:
    """One paragraph saying why ``import cv2`` failed with ``exc`` and how to fix it."""
    wheels = installed_wheels()
    if not wheels:
        return f"vidclear needs OpenCV (the cv2 module) and none is installed: {_CHOOSE}"
    if len(wheels) > 1:
        return f"cv2 cannot be imported ({exc}); {_several(wheels)}"
    name = next(iter(wheels))
    return (f"cv2 from {name} {wheels[name]} cannot be imported ({exc}); reinstall it with "
            f"`pip install --force-reinstall {name}`")


def describe() -> list[str]:
    """Lines for ``vidclear -v``: the OpenCV in use, its GUI and contrib modules.

    A second line warns when several OpenCV wheels share ``cv2``.
    """
    import cv2

    gui = "NONE"
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GUI:"):
            gui = line.split(":", 1)[1].strip() or "NONE"
            break
    wheels = installed_wheels()
    source = ", ".join(f"{k} {v}" for k, v in wheels.items()) or "not installed by pip"
    lines = [f"OpenCV {cv2.__version__} from {source} (GUI: {gui}, contrib modules: "
             f"{'yes' if hasattr(cv2, 'ximgproc') else 'no'})"]
    if len(wheels) > 1:
        lines.append(f"warning: {_several(wheels)}")
    return lines
