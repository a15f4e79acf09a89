"""The real app under Xvfb on the demo library: a screenshot a person can look at.

The PNG goes to $ANOMALIZER_SCREENSHOT if set, else into the test's tmp dir. Needs the Xvfb
binary (Debian: ``apt-get install xvfb libxcb-cursor0``); without it the test is skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

XVFB = shutil.which("Xvfb")


@pytest.fixture
def xvfb_display():
    if XVFB is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb libxcb-cursor0)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([XVFB, "-displayfd", str(write_fd), "-screen", "0", "1600x1000x24",
                             "-nolisten", "tcp"], pass_fds=(write_fd,),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        display = f.readline().strip()
    if not display:
        proc.kill()
        pytest.skip("Xvfb did not start")
    yield f":{display}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.slow
def test_main_window_screenshot_on_demo_library(xvfb_display, tmp_path):
    shot = Path(os.environ.get("ANOMALIZER_SCREENSHOT") or tmp_path / "main_window.png")
    env = dict(os.environ)
    env.update(DISPLAY=xvfb_display, QT_QPA_PLATFORM="xcb", ANOMALIZER_HOME=str(tmp_path / "home"),
               XDG_CONFIG_HOME=str(tmp_path / "config"), ANOMALIZER_NO_AUDIO="1",
               OMP_WAIT_POLICY="PASSIVE")
    proc = subprocess.run(
        [sys.executable, "-m", "anomalizer_desktop", "--demo", "--no-audio", "--screenshot", str(shot)],
        env=env, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("screenshot:")), "")
    facts = dict(re.findall(r"(\w+)=(\S+)", line))
    assert facts.get("saved") == "True", proc.stdout + proc.stderr[-2000:]
    assert facts["platform"] == "xcb"  # a real X window, not the offscreen plugin
    assert int(facts["rows"]) == 105 and int(facts["flagged"]) >= 1
    # the selected loop shows its findings and the localisation strip
    assert int(facts["findings"]) >= 1 and facts["curve"] == "True"

    from PySide6.QtGui import QImage

    image = QImage(str(shot))
    assert image.width() >= 1000 and image.height() >= 600
    # Not a blank frame: many distinct colours across the window.
    colours = {image.pixel(x, y) for x in range(0, image.width(), 23) for y in range(0, image.height(), 19)}
    assert len(colours) > 20
    print(f"\nscreenshot saved to {shot}")
