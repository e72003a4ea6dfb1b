"""scripts/fade_dehaze.py: the transition clips it makes, and its bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.dehaze.dehaze_refs import textured_scene, to_u8

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"
sys.path.insert(0, str(SCRIPTS))
import fade_dehaze as fd  # noqa: E402  (scripts/ is no package)


def test_fog_clips_roll_from_thin_fog_to_the_asked_transmission() -> None:
    clear = to_u8(textured_scene(60, 80, 3))
    fog = 0.2
    made = fd.clips(fd._fog(clear, fog), clear=clear, fog=fog)
    rolling, thinning = made["fog rolling in"], made["fog thinning out"]
    assert len(rolling) == len(thinning) == 3 * fd.FPS

    def t_of(frame: np.ndarray) -> float:
        # I = J t + 0.85 (1 - t): the slope of I over J is t (noise averages out)
        j = clear.astype(np.float64).ravel()
        return float(np.polyfit(j, frame.astype(np.float64).ravel(), 1)[0])

    assert abs(t_of(rolling[0]) - 0.8) < 0.02 and abs(t_of(rolling[-1]) - fog) < 0.02
    assert abs(t_of(thinning[0]) - fog) < 0.02 and abs(t_of(thinning[-1]) - 0.8) < 0.02
    assert abs(t_of(rolling[fd.FPS]) - 0.5) < 0.02  # halfway through the 2 s ramp
    assert "fog rolling in" not in fd.clips(clear)  # only with --fog


def test_bad_fog_is_one_line_and_exit_2() -> None:
    out = subprocess.run([sys.executable, str(SCRIPTS / "fade_dehaze.py"), "--fog", "1.5"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip() == "fade_dehaze.py: error: --fog must be in (0, 1], got 1.5"
