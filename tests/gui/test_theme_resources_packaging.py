"""Theme details, resource lookup (source tree / PyInstaller bundle) and the packaging metadata."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QStyle, QStyleFactory, QStyleOptionHeader

from anomalizer_desktop.gui import resources
from anomalizer_desktop.gui.theme import AnomalizerStyle, shown_sort_arrow

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
Sort = QStyleOptionHeader.SortIndicator


def _arrow(style: QStyle, indicator) -> QImage:
    image = QImage(16, 16, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    opt = QStyleOptionHeader()
    opt.rect = QRect(0, 0, 16, 16)
    opt.sortIndicator = indicator
    painter = QPainter(image)
    style.drawPrimitive(QStyle.PrimitiveElement.PE_IndicatorHeaderArrow, opt, painter)
    painter.end()
    return image


def test_descending_sort_shows_a_down_arrow(qapp):
    # QHeaderView marks a descending sort "SortUp"; Fusion would draw that as an up arrow.
    assert shown_sort_arrow(Sort.SortUp) == Sort.SortDown
    assert shown_sort_arrow(Sort.SortDown) == Sort.SortUp
    assert shown_sort_arrow(Sort.None_) == Sort.None_
    ours, fusion = AnomalizerStyle(), QStyleFactory.create("Fusion")
    down, up = _arrow(fusion, Sort.SortDown), _arrow(fusion, Sort.SortUp)
    assert down != up  # the two arrows differ at all
    assert _arrow(ours, Sort.SortUp) == down
    assert _arrow(ours, Sort.SortDown) == up


def test_resources_found_in_source_tree_and_bundle(tmp_path, monkeypatch):
    monkeypatch.delenv("ANOMALIZER_RESOURCES", raising=False)
    monkeypatch.delattr(sys, "_MEIPASS", raising=False)
    assert resources.icon_path() == ROOT / "resources" / "anomalizer.png"
    bundle = tmp_path / "bundle"
    (bundle / "resources").mkdir(parents=True)
    shutil.copy(ROOT / "resources" / "anomalizer.png", bundle / "resources")
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    assert resources.icon_path() == bundle / "resources" / "anomalizer.png"
    assert resources.resource_path("no-such-file.png") is None
    override = tmp_path / "share"
    override.mkdir()
    (override / "anomalizer.svg").write_text("<svg/>")
    monkeypatch.setenv("ANOMALIZER_RESOURCES", str(override))
    assert resources.resource_path("anomalizer.svg") == override / "anomalizer.svg"


def test_desktop_entry_and_metainfo_agree():
    app_id = resources.APP_ID
    desktop = configparser.ConfigParser(interpolation=None)
    desktop.optionxform = str
    desktop.read(PACKAGING / f"{app_id}.desktop", encoding="utf-8")
    entry = desktop["Desktop Entry"]
    assert entry["Icon"] == app_id
    assert entry["Exec"].split()[0] == "anomalizer-desktop"
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^anomalizer-desktop = "anomalizer_desktop\.gui\.app:main"', pyproject, re.M)
    meta = ET.parse(PACKAGING / f"{app_id}.metainfo.xml").getroot()
    assert meta.findtext("id") == app_id
    assert meta.findtext("launchable") == f"{app_id}.desktop"
    assert meta.findtext("icon") == app_id
    assert (ROOT / "resources" / "anomalizer.svg").is_file()
    spec = (PACKAGING / "anomalizer-desktop.spec").read_text()
    assert '"anomalizer_desktop" / "__main__.py"' in spec and '"resources"' in spec


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None, reason="desktop-file-utils missing")
def test_desktop_entry_validates():
    proc = subprocess.run(["desktop-file-validate", str(PACKAGING / f"{resources.APP_ID}.desktop")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(shutil.which("appstreamcli") is None, reason="appstream missing")
def test_metainfo_validates():
    proc = subprocess.run(["appstreamcli", "validate", "--no-net",
                           str(PACKAGING / f"{resources.APP_ID}.metainfo.xml")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
