"""Main-window plumbing without a full analysis: libraries from the catalog, tray, shortcuts."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QSystemTrayIcon

from anomalizer_desktop.core.audio.playback import NullPlayer
from anomalizer_desktop.core.catalog import Catalog
from anomalizer_desktop.gui import window_actions
from anomalizer_desktop.gui.main_window import MainWindow


@pytest.fixture
def make_window(qtbot, tmp_path):
    made: list[MainWindow] = []

    def make(**kwargs) -> MainWindow:
        w = MainWindow(NullPlayer("test: no audio"), **kwargs)
        qtbot.addWidget(w)
        made.append(w)
        return w

    yield make
    for w in made:
        w.shutdown()


def test_libraries_come_from_the_catalog_shared_with_the_cli(make_window, tmp_path):
    from anomalizer_desktop.core.config import default_catalog_path

    cli_lib = tmp_path / "from_cli"
    cli_lib.mkdir()
    catalog = Catalog(default_catalog_path())  # what `anomalizer scan DIR` registers
    catalog.add_library(cli_lib)
    catalog.close()
    w = make_window()
    assert w.libraries() == [str(cli_lib)]
    assert QSettings().value("libraries") is None  # not duplicated into the UI settings


def test_legacy_settings_libraries_move_to_the_catalog(make_window, tmp_path):
    old = tmp_path / "old_lib"
    old.mkdir()
    QSettings().setValue("libraries", [str(old), str(tmp_path / "gone")])
    w = make_window()
    assert w.libraries() == [str(old)]  # a folder that no longer exists is dropped
    assert [str(lib.path) for lib in w.catalog.libraries()] == [str(old)]
    assert QSettings().value("libraries") is None


def test_remove_library_waits_for_the_running_job(make_window, tmp_path, qtbot):
    lib = tmp_path / "lib"
    lib.mkdir()
    w = make_window()
    w.catalog.add_library(lib)
    w.refresh_libraries()

    class FakeJob:  # a job still running: removal must not race its scan
        cancelled = False

        def cancel(self):
            self.cancelled = True

    job = FakeJob()
    w.job = job
    w.remove_library(str(lib))
    assert job.cancelled and w.libraries() == []
    assert [str(x.path) for x in w.catalog.libraries()] == [str(lib)]  # not yet
    w._pending = None  # noqa: SLF001 - nothing to re-run in this test
    w._on_job_finished()  # noqa: SLF001 - what the runner's finished signal calls
    assert w.catalog.libraries() == []


def test_minimise_to_tray_hides_and_tray_restores_watcher_keeps_running(make_window, qtbot, tmp_path):
    w = make_window()
    w.show()
    qtbot.waitExposed(w)
    # Offscreen Qt has no system tray; give the notifier one as a desktop with a tray would.
    w.notifier.tray = QSystemTrayIcon(w)
    w.notifier.tray.activated.connect(w.notifier._on_activated)  # noqa: SLF001
    w.set_minimise_to_tray(True)
    assert QSettings().value("minimise_to_tray", type=bool) is True
    watched = tmp_path / "bounces"
    watched.mkdir()
    assert w.takes_panel.add_folder(str(watched))
    w.showMinimized()
    qtbot.waitUntil(lambda: not w.isVisible(), timeout=3000)
    assert w.watch.watcher.running
    w.notifier.tray.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    qtbot.waitUntil(w.isVisible, timeout=3000)
    assert not w.isMinimized()


def test_minimise_without_tray_only_minimises(make_window, qtbot):
    w = make_window()
    w.show()
    qtbot.waitExposed(w)
    assert w.notifier.tray is None  # offscreen: no tray
    assert not w.actions_by_name["tray"].isEnabled()
    w.set_minimise_to_tray(True)
    w.showMinimized()
    qtbot.wait(50)
    assert w.isVisible()


def test_help_lists_exactly_the_real_shortcuts(make_window):
    w = make_window()
    listed = {QKeySequence(k).toString() for k, _ in window_actions.SHORTCUTS if "/" not in k}
    real = {a.shortcut().toString() for a in w.actions() if not a.shortcut().isEmpty()}
    assert listed == real
    names = {k for k, _ in window_actions.SHORTCUTS}
    assert "Up / Down" in names


def test_typing_space_or_l_in_the_filter_does_not_trigger_playback(make_window, qtbot):
    w = make_window()
    w.show()
    qtbot.waitExposed(w)
    w.filter_edit.setFocus()
    loop_before = w.player_bar.loop_button.isChecked()
    qtbot.keyClicks(w.filter_edit, "l lnN")
    assert w.filter_edit.text() == "l lnN"
    assert w.player_bar.loop_button.isChecked() == loop_before
    assert not w.audition.player.is_playing


def test_demo_library_has_100_normal_loops(monkeypatch, make_window, qtbot, tmp_path):
    calls = []

    def fake_write(root, n_normal=40, seed=0):
        calls.append((Path(root), n_normal))
        raise RuntimeError("not written in this test")

    monkeypatch.setattr("anomalizer_desktop.core.demo.write_demo_library", fake_write)
    w = make_window()
    monkeypatch.setattr(window_actions, "show_error", lambda *a: None)
    w.actions_by_name["demo"].trigger()
    qtbot.waitUntil(lambda: w.job is None, timeout=10_000)
    assert calls and calls[0][1] == 100


def test_take_flagged_by_a_signal_check_does_not_claim_a_high_score(make_window):
    from anomalizer_desktop.gui.watch_panel import Take

    w = make_window()
    w.takes_panel.add_take(Take("/x/take.wav", 0.5, 2.0, True, None, "click @ 0.100 s"))
    text = w.takes_panel.takes.item(0).text()
    assert "above" not in text and "click @ 0.100 s" in text
    w._on_take_scored(w.takes_panel.take_at(0))  # noqa: SLF001 - the notification text
    assert w.notifier.history[-1][1] == "take.wav: click @ 0.100 s"  # the evidence, no score
    assert "click @ 0.100 s" in w.notifier.history[-1][1]


def test_an_old_splitter_state_cannot_squash_the_waveform(make_window, qtbot):
    from anomalizer_desktop.gui.window_layout import WAVEFORM_MIN_HEIGHT

    w = make_window()
    w.show()
    qtbot.waitExposed(w)
    w.left_split.setSizes([w.left_split.height() - 150, 150])  # like a pre-strip saved layout
    qtbot.wait(50)
    assert w.waveform.height() >= 120 == WAVEFORM_MIN_HEIGHT


def test_playing_a_take_outside_the_libraries_leaves_no_row_selected(make_window, tmp_path):
    from anomalizer_desktop.gui.analysis import listed_rows

    w = make_window()
    w._set_rows(listed_rows([tmp_path / "a.wav", tmp_path / "b.wav"]))  # noqa: SLF001
    w.table.selectRow(0)
    assert w.table.selectionModel().selectedRows()
    requested = []
    w.audition.request = lambda path, play: requested.append((path, play))
    w._on_take_activated(str(tmp_path / "exports" / "take.wav"))  # noqa: SLF001
    assert not w.table.selectionModel().selectedRows()
    assert requested == [(str(tmp_path / "exports" / "take.wav"), True)]
