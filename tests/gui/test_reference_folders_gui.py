"""Ticking a library folder makes it the reference of normal: the model learns from it only."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from anomalizer_desktop.core.audio.playback import NullPlayer
from anomalizer_desktop.core.detect.persistence import read_model_info
from anomalizer_desktop.gui.main_window import MainWindow

from ..core.helpers import noise_loop, tone_loop


def wait_idle(qtbot, w, timeout=120_000):
    qtbot.waitUntil(lambda: w.job is None and w.result is not None, timeout=timeout)


@pytest.fixture
def folders(tmp_path) -> tuple[Path, Path]:
    reference, pack = tmp_path / "my reference", tmp_path / "new pack"
    for i in range(24):
        tone_loop(reference / f"ref {i:02d}.wav", freq=55 * (1 + i % 3), seed=i)
        noise_loop(pack / f"noise {i:02d}.wav", seed=100 + i)
    return reference.resolve(), pack.resolve()


def _item(w, folder: Path):
    panel = w.library_panel
    return next(panel.list.item(i) for i in range(panel.list.count())
                if panel.list.item(i).data(Qt.ItemDataRole.UserRole) == str(folder))


@pytest.mark.slow
def test_ticked_folder_is_the_reference_the_rest_is_scored_against(qtbot, folders):
    reference, pack = folders
    w = MainWindow(NullPlayer("no audio output device: playback disabled"))
    qtbot.addWidget(w)
    w.settings.setValue("encoder", "spectral")
    w.settings.setValue("network", "pca")
    w.show()
    w.add_library(str(reference))
    wait_idle(qtbot, w)
    w.add_library(str(pack))
    wait_idle(qtbot, w)
    assert w.library_panel.reference() == []
    assert "every folder" in w.library_panel.learns_from.text()
    assert w.model.flagged_count() <= 3  # half noise, half tones: both halves are normal

    w.result = None
    _item(w, reference).setCheckState(Qt.CheckState.Checked)  # what a click on the box does
    assert w.catalog.reference_folders() == [reference]
    assert "1 ticked folder; the rest is scored against it" in w.library_panel.learns_from.text()
    wait_idle(qtbot, w)
    assert w.result.trained and w.result.reference == (str(reference),)
    assert read_model_info(w.model_path).n_train == 24
    flagged = {Path(r.path).parent for r in w.model.rows if r.flagged and not r.fine}
    assert flagged == {pack} and w.model.flagged_count() == 24
    assert "reference folder" in w.statusBar().currentMessage()
    w.shutdown()

    # The mark lives in the catalog: a new window shows it ticked and keeps the model.
    w2 = MainWindow(NullPlayer("no audio output device: playback disabled"))
    qtbot.addWidget(w2)
    w2.settings.setValue("encoder", "spectral")
    w2.settings.setValue("network", "pca")
    assert w2.library_panel.reference() == [str(reference)]
    w2.rescan()
    wait_idle(qtbot, w2)
    assert w2.result.trained is False and w2.model.flagged_count() == 24
    _item(w2, reference).setCheckState(Qt.CheckState.Unchecked)  # back to "learn from all"
    w2.result = None
    wait_idle(qtbot, w2)
    assert w2.result.trained and w2.result.reference == ()
    assert w2.catalog.reference_folders() == []
    w2.shutdown()
