"""Find the files in ``resources/`` (icons) from a source checkout or a PyInstaller bundle.

A PyInstaller one-folder/one-file bundle unpacks data to ``sys._MEIPASS`` (the spec puts
``resources/`` there); a source checkout or an editable install has ``resources/`` next to the
``anomalizer_desktop`` package. ``ANOMALIZER_RESOURCES`` overrides both (a distro package that
installs them elsewhere).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_ID = "io.anomalizer.Desktop"  # desktop-entry / AppStream id (packaging/)


def resource_dirs() -> list[Path]:
    """Candidate ``resources`` folders, most specific first."""
    dirs: list[Path] = []
    override = os.environ.get("ANOMALIZER_RESOURCES")
    if override:
        dirs.append(Path(override).expanduser())
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        dirs.append(Path(bundle) / "resources")
    dirs.append(Path(__file__).resolve().parents[2] / "resources")
    return dirs


def resource_path(name: str) -> Path | None:
    """The first existing ``resources/<name>``, or None."""
    for folder in resource_dirs():
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


def icon_path() -> Path | None:
    """The app icon (PNG preferred: every Qt build reads it; SVG needs the QtSvg plugin)."""
    return resource_path("anomalizer.png") or resource_path("anomalizer.svg")
