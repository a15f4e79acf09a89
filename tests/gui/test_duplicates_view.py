"""The Duplicates view: a background job over the window's libraries groups a WAV with its
FLAC copy (exact) and its -6 dB copy (near), keeps different loops apart, auditions and
reveals files, and can be cancelled. It never offers to move or delete anything."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QPushButton

from anomalizer_desktop.core.audio.playback import NullPlayer
from anomalizer_desktop.core.catalog import Catalog
from anomalizer_desktop.core.progress import Progress
from anomalizer_desktop.gui import duplicates_dialog, row_actions
from anomalizer_desktop.gui.duplicates_dialog import describe_format
from anomalizer_desktop.gui.main_window import MainWindow

from .browse_data import write_library


@pytest.fixture
def window(qtbot, tmp_path):
    root = tmp_path / "Library"
    paths = write_library(root)
    catalog = Catalog(tmp_path / "c.sqlite")
    catalog.add_library(root)  # not scanned yet: the duplicates job catalogs it
    w = MainWindow(NullPlayer("test: no audio"), catalog=catalog, model_path=tmp_path / "m.pt")
    qtbot.addWidget(w)
    w.refresh_libraries()
    yield w, paths
    w.shutdown()
    catalog.close()


def test_groups_exact_and_near_copies_and_keeps_different_loops_apart(qtbot, window,
                                                                      monkeypatch):
    w, paths = window
    before = {p: p.read_bytes() for p in paths.values()}
    dialog = w.actions_by_name["duplicates"].trigger() or w.duplicates_dialog
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(lambda: dialog.runner is None and dialog.tree.topLevelItemCount() > 0,
                    timeout=20_000)
    assert dialog.groups() == [[("Bass_120bpm_Dm_a.wav", "exact"),
                                ("Bass_120bpm_Dm_a_copy.flac", "exact"),
                                ("Bass_120bpm_Dm_a_quiet.wav", "near")]]
    head = dialog.tree.topLevelItem(0)
    flac = head.child(1)
    assert flac.text(2) == "100 %" and flac.text(3).startswith("FLAC 24-bit")
    assert flac.text(4) == "0:04.0" and flac.text(5) == str(paths["flac"].parent)
    assert flac.toolTip(5) == str(paths["flac"])
    assert head.child(2).text(2) != "100 %"  # the quieter copy is near, not the same file
    assert head.child(0).text(2) == "reference"
    assert head.text(1) == "2 exact, 1 near"
    assert "1 group" in dialog.status.text()

    # says it never moves or deletes; offers neither
    assert "never moves or deletes" in dialog.never.text()
    buttons = [b.text().lower() for b in dialog.findChildren(QPushButton)]
    assert not any(word in b for b in buttons for word in ("delete", "move", "remove", "trash"))

    # audition with the window's player; reveal through the row actions
    dialog.tree.setCurrentItem(head.child(2))
    qtbot.waitUntil(lambda: w.audition.current_path == str(paths["quiet"]), timeout=10_000)
    assert w.audition.is_playing  # auto-play on select, as in the table
    dialog.play_button.click()
    assert not w.audition.is_playing
    revealed = []
    monkeypatch.setattr(row_actions, "reveal_in_file_manager", lambda p: revealed.append(p) or True)
    dialog.reveal_button.click()
    assert revealed == [str(paths["quiet"])]
    assert {p: p.read_bytes() for p in paths.values()} == before  # nothing touched


def test_cancel_stops_the_job(qtbot, window, monkeypatch):
    w, _ = window

    def endless(roots, catalog, token=None):
        i = 0
        while True:
            token.raise_if_cancelled()
            time.sleep(0.002)
            i += 1
            yield Progress("scan", i, 10_000, f"file {i}")

    monkeypatch.setattr(duplicates_dialog, "find_duplicate_files", endless)
    dialog = duplicates_dialog.DuplicatesDialog(w)
    qtbot.addWidget(dialog)
    dialog.start()
    assert dialog.cancel_button.isEnabled() and not dialog.find_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.progress.maximum() == 10_000, timeout=5_000)
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.runner is None, timeout=5_000)
    assert "Cancelled" in dialog.status.text()
    assert dialog.find_button.isEnabled() and not dialog.cancel_button.isEnabled()


def test_waits_for_the_running_analysis_and_needs_a_library(qtbot, tmp_path):
    catalog = Catalog(tmp_path / "c.sqlite")
    w = MainWindow(NullPlayer("test: no audio"), catalog=catalog, model_path=tmp_path / "m.pt")
    qtbot.addWidget(w)
    try:
        dialog = duplicates_dialog.DuplicatesDialog(w)
        qtbot.addWidget(dialog)
        dialog.start()
        assert "Add a library folder first" in dialog.status.text() and dialog.runner is None
        root = tmp_path / "lib"
        write_library(root, duplicates=False, noise=False)
        catalog.add_library(root)
        w.refresh_libraries()
        w.job = object()  # as if the library job were running
        dialog.start()
        assert "Waiting" in dialog.status.text() and dialog.runner is None
        w.job = None
        qtbot.waitUntil(lambda: dialog.runner is not None or dialog.files != [] or
                        "No duplicates" in dialog.status.text(), timeout=5_000)
        qtbot.waitUntil(lambda: dialog.runner is None, timeout=20_000)
        assert "No duplicates found" in dialog.status.text()
    finally:
        w.shutdown()
        catalog.close()


def test_describe_format():
    assert describe_format("WAV/PCM_24", 48_000, 2, "a.wav") == "WAV 24-bit · 48 kHz · stereo"
    assert describe_format("OGG/VORBIS", 44_100, 1, "a.ogg") == "OGG Vorbis · 44.1 kHz · mono"
    assert describe_format(None, None, None, str(Path("x.flac"))) == "FLAC"
