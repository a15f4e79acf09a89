"""Menus, keyboard shortcuts and row actions of the main window (every entry here works)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, Qt, Slot
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QAbstractItemView, QMenu, QMessageBox

from ..core.config import data_dir
from . import row_actions, window_findings
from .workers import JobRunner, call_job

if TYPE_CHECKING:
    from .main_window import MainWindow

log = logging.getLogger(__name__)

#: What Help ▸ Keyboard shortcuts shows; a test checks it against the actions' real shortcuts.
SHORTCUTS = [
    ("Up / Down", "Previous / next loop (plays it when auto-play is on)"),
    ("Space", "Play / stop"),
    ("L", "Loop on / off"),
    ("Esc", "Stop"),
    ("N", "Play the selected loop's next signal-check finding (from just before it)"),
    ("Shift+N", "... the previous finding"),
    ("Ctrl+F", "Filter by name or folder (Up/Down still move through the list)"),
    ("Ctrl+Shift+F", "Flagged only on / off"),
    ("Ctrl+M", "Mark the selected loops as fine / not fine"),
    ("Ctrl+Shift+C", "Copy the selected paths"),
    ("Ctrl+R", "Reveal in file manager"),
    ("Ctrl+L", "More like this: the loops nearest to the selected one (or drop any audio file)"),
    ("Ctrl+O", "Add a library folder"),
    ("F5", "Rescan libraries"),
    ("Ctrl+T", "Train the model…"),
    ("F1", "This list"),
    ("Ctrl+Q", "Quit (a running job is cancelled; finished work is kept)"),
]


def _action(window, text: str, slot, shortcut: str | None = None, tip: str = "",
            checkable: bool = False) -> QAction:
    action = QAction(text, window)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    if tip:
        action.setStatusTip(tip)
    action.setCheckable(checkable)
    (action.toggled if checkable else action.triggered).connect(slot)
    window.addAction(action)  # shortcuts work even while the menu bar is hidden
    return action


def install(w: MainWindow) -> None:
    """Create the menus, shortcuts and the table's context menu for ``w``."""
    a = w.actions_by_name = {}
    a["add"] = _action(w, "&Add library…", w.library_panel.choose_folder, "Ctrl+O")
    a["demo"] = _action(w, "Open &demo library", lambda: open_demo(w),
                        tip="Write a small synthetic loop pack with planted oddities and add it")
    a["rescan"] = _action(w, "&Rescan libraries", w.rescan, "F5")
    a["follow_links"] = _action(
        w, "Follow folder &links out of libraries", lambda on: set_follow_links(w, on),
        checkable=True, tip="Also scan symlinked folders that lead outside your library folders "
                            "(off: they are skipped, so a link to / cannot walk the whole disk)")
    a["follow_links"].setChecked(follow_links(w))
    a["quit"] = _action(w, "&Quit", w.close, "Ctrl+Q")
    a["play"] = _action(w, "&Play / stop", w.audition.toggle, "Space")
    a["stop"] = _action(w, "&Stop", w.audition.stop, "Esc")
    a["loop"] = _action(w, "&Loop", w.player_bar.toggle_loop, "L")
    a["next_finding"] = _action(w, "&Next finding", lambda: window_findings.step_finding(w, 1),
                                "N", tip="Play from just before the next signal-check finding")
    a["previous_finding"] = _action(w, "Pre&vious finding",
                                    lambda: window_findings.step_finding(w, -1), "Shift+N")
    a["autoplay"] = _action(w, "&Auto-play on select", w.player_bar.autoplay_button.setChecked,
                            checkable=True)
    a["autoplay"].setChecked(w.player_bar.autoplay)
    w.player_bar.autoplay_button.toggled.connect(a["autoplay"].setChecked)
    a["filter"] = _action(w, "&Filter…", lambda: (w.filter_edit.setFocus(), w.filter_edit.selectAll()),
                          "Ctrl+F")
    a["flagged"] = _action(w, "&Flagged only", w.flagged_only.setChecked, "Ctrl+Shift+F",
                           checkable=True)
    w.flagged_only.toggled.connect(a["flagged"].setChecked)
    a["fine"] = _action(w, "Mark as &fine / not fine", lambda: toggle_fine(w), "Ctrl+M",
                        tip="A fine loop is never flagged and joins the normal set at the next training")
    a["copy"] = _action(w, "&Copy path", lambda: copy_selected(w), "Ctrl+Shift+C")
    a["reveal"] = _action(w, "&Reveal in file manager", lambda: reveal_current(w), "Ctrl+R")
    a["similar"] = _action(w, "&More like this", w.similar.more_like_selected, "Ctrl+L",
                           tip="The loops that sound nearest to the selected one, ringed on the map")
    a["similar_panel"] = _action(w, "&Similar list", w.similar.set_panel_visible, checkable=True)
    a["duplicates"] = _action(w, "&Duplicates…", lambda: open_duplicates_dialog(w),
                              tip="The same loop under other names, formats or levels "
                                  "(nothing is moved or deleted)")
    a["train"] = _action(w, "&Train model…", lambda: open_train_dialog(w), "Ctrl+T")
    a["retrain"] = _action(w, "Retrain with current &settings", lambda: w.run_analysis(retrain=True))
    a["checks"] = _action(w, "Signal &checks…", lambda: window_findings.open_checks_dialog(w),
                          tip="Which signal checks flag files, and from what severity")
    a["weights"] = _action(w, "Encoder &weights…", lambda: open_weights_dialog(w),
                           tip="Which encoder weights are on this machine; download or import them")
    a["shortcuts"] = _action(w, "&Keyboard shortcuts", lambda: show_shortcuts(w), "F1")
    a["about"] = _action(w, "&About Anomalizer", lambda: show_about(w))

    a["tray"] = _action(w, "Minimise to &tray", w.set_minimise_to_tray, checkable=True,
                        tip="Minimising hides the window to the system tray; watch folders keep "
                            "being scored")
    if not w.notifier.has_tray:
        a["tray"].setEnabled(False)
        a["tray"].setText("Minimise to tray (no system tray on this desktop)")
    a["libraries"] = w.library_dock.toggleViewAction()
    a["takes"] = w.takes_dock.toggleViewAction()
    menus = [
        ("&File", ["add", "demo", "rescan", "follow_links", None, "quit"]),
        ("&Edit", ["fine", "copy", "reveal"]),
        ("&View", ["filter", "flagged", None, "libraries", "takes", "similar_panel", None,
                   "tray"]),
        ("F&ind", ["similar", "duplicates"]),
        ("&Playback", ["play", "stop", "loop", None, "next_finding", "previous_finding", None,
                       "autoplay"]),
        ("&Model", ["train", "retrain", None, "checks", "weights"]),
        ("&Help", ["shortcuts", "about"]),
    ]
    w.menus = {}
    for title, names in menus:
        menu = w.menus[title.replace("&", "").lower()] = w.menuBar().addMenu(title)
        for name in names:
            if name is None:
                menu.addSeparator()
            else:
                menu.addAction(a[name])
    w.table.customContextMenuRequested.connect(lambda pos: show_row_menu(w, pos))


def follow_links(w: MainWindow) -> bool:
    return str(w.settings.value("follow_links", "false")).lower() == "true"


def set_follow_links(w: MainWindow, on: bool) -> None:
    if on != follow_links(w):
        w.settings.setValue("follow_links", "true" if on else "false")
        w.rescan()


def move_selection(w: MainWindow, delta: int) -> None:
    """Move the current row by ``delta`` (used from the filter box)."""
    rows = w.proxy.rowCount()
    if rows == 0:
        return
    current = w.table.currentIndex()
    row = 0 if not current.isValid() else min(max(current.row() + delta, 0), rows - 1)
    index = w.proxy.index(row, 0)
    w.table.selectionModel().setCurrentIndex(
        index, w.table.selectionModel().SelectionFlag.ClearAndSelect
        | w.table.selectionModel().SelectionFlag.Rows)
    w.table.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)


def show_row_menu(w: MainWindow, pos: QPoint) -> None:
    index = w.table.indexAt(pos)
    if not index.isValid():
        return
    a = w.actions_by_name
    menu = QMenu(w)
    menu.addAction(a["play"])
    menu.addAction(a["similar"])
    menu.addSeparator()
    for name in ("fine", "copy", "reveal"):
        menu.addAction(a[name])
    menu.popup(w.table.viewport().mapToGlobal(pos))


@Slot()
def toggle_fine(w: MainWindow) -> None:
    """Mark the selected rows as fine (or unmark them when all already are)."""
    rows = [r for r in w.selected_rows() if r.file_id >= 0] or (
        [w.current_row()] if w.current_row() is not None else [])
    if not rows:
        return
    fine = not all(r.fine for r in rows)
    for row in rows:
        record = w.catalog.get_file_by_id(row.file_id)
        if record is None or not record.hash:
            continue
        w.catalog.set_fine(record.hash, fine)
        w.model.set_fine(row.file_id, fine)
    w.proxy.refilter()
    w._update_map()  # noqa: SLF001 - fine points lose their flag ring
    w._update_counts()  # noqa: SLF001
    verb = "marked as fine" if fine else "no longer marked as fine"
    w.statusBar().showMessage(f"{len(rows)} file(s) {verb}; they join the normal set at the next "
                              "training" if fine else f"{len(rows)} file(s) {verb}", 8000)


def copy_selected(w: MainWindow) -> None:
    paths = [r.path for r in w.selected_rows()]
    if paths:
        row_actions.copy_paths(paths)
        w.statusBar().showMessage(f"Copied {len(paths)} path(s)", 4000)


def reveal_current(w: MainWindow) -> None:
    row = w.current_row()
    if row is not None and not row_actions.reveal_in_file_manager(row.path):
        w.statusBar().showMessage("Could not open a file manager", 6000)


DEMO_NORMAL_LOOPS = 100  # as `anomalizer demo`: fewer makes an unstable personal model


def open_demo(w: MainWindow) -> None:
    """Add the demo library (100 bass loops + 5 planted oddities), writing it on first use."""
    from ..core.audio.io import iter_audio_files
    from ..core.demo import N_ODDITIES, write_demo_library

    root = data_dir() / "demo-library"
    if root.is_dir() and sum(1 for _ in iter_audio_files(root)) == DEMO_NORMAL_LOOPS + N_ODDITIES:
        w.add_library(str(root))
        return
    runner = JobRunner(call_job(write_demo_library, root, n_normal=DEMO_NORMAL_LOOPS), name="demo")
    w.start_job(runner, "Writing the demo library…", w.on_demo_written)


def open_train_dialog(w: MainWindow) -> None:
    from .dialogs import TrainDialog

    if not w.libraries():
        QMessageBox.information(w, "Train", "Add a library folder first.")
        return
    if w.job is not None:
        w.statusBar().showMessage("Wait for the running job to finish (or cancel it) first", 6000)
        return
    dialog = TrainDialog(w)
    dialog.trained.connect(lambda _result: w.run_analysis())
    dialog.open()
    w.train_dialog = dialog


def open_duplicates_dialog(w: MainWindow):
    """The Duplicates view (one, non-modal); it starts looking when first opened."""
    from .duplicates_dialog import DuplicatesDialog

    dialog = getattr(w, "duplicates_dialog", None)
    if dialog is None:
        dialog = w.duplicates_dialog = DuplicatesDialog(w)
        dialog.start()
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog


def open_weights_dialog(w: MainWindow) -> None:
    from .weights_dialog import WeightsDialog

    dialog = WeightsDialog(w)
    dialog.open()
    w.weights_dialog = dialog


def show_error(w: MainWindow, message: str, tb: str) -> None:
    """Known errors: a non-modal note. Unexpected ones: a dialog naming the log file."""
    box = QMessageBox(w)
    box.setWindowModality(Qt.WindowModality.NonModal)
    if tb:
        log_file = Path(data_dir()) / "anomalizer.log"
        box.setIcon(QMessageBox.Icon.Critical)
        box.setWindowTitle("Unexpected error")
        box.setText(f"{message}\n\nThe details are in {log_file}.")
        box.setDetailedText(tb)
    else:
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Anomalizer")
        box.setText(message)
    w.statusBar().showMessage(message, 20_000)
    box.show()


def show_shortcuts(w: MainWindow) -> None:
    rows = "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in SHORTCUTS)
    box = QMessageBox(w)
    box.setWindowTitle("Keyboard shortcuts")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(f"<table>{rows}</table>")
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.show()


def show_about(w: MainWindow) -> None:
    from .. import __version__

    QMessageBox.about(w, "About Anomalizer",
                      f"<b>Anomalizer Desktop {__version__}</b><br>Finds the odd loops in your sample "
                      "library: audio embeddings, a personal Deep SVDD model, signal checks.")
