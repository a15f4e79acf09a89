""""More like this" in the main window: the action on the selected loop, drops of any audio
file, the search on a worker thread, the Similar panel and the map's rings.

While the panel shows, its loops are ringed on the map; choosing one selects it in the table
(when the table shows it) and auditions it through the window's one audition controller.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelectionModel, QObject, Slot
from PySide6.QtWidgets import QAbstractItemView

from .similar_panel import dropped_audio_path
from .similar_search import DEFAULT_K, SimilarResult, find_similar
from .workers import JobRunner, start_job

if TYPE_CHECKING:
    from .main_window import MainWindow

log = logging.getLogger(__name__)
PANEL_MIN_SHOWN = 180  # px: the list's height when it opens


class SimilarController(QObject):
    """Runs one search at a time (a new one supersedes the last) and shows its result."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.panel = window.similar_panel
        self.runner: JobRunner | None = None
        self.result: SimilarResult | None = None
        self.k = DEFAULT_K
        self.panel.hitSelected.connect(self.select_hit)
        self.panel.hitActivated.connect(self.play_hit)
        self.panel.fileDropped.connect(self.search)
        self.panel.closeRequested.connect(self.close_panel)

    # --- searching --------------------------------------------------------------------------
    @Slot()
    def more_like_selected(self) -> None:
        row = self.w.current_row()
        if row is None:
            self.w.statusBar().showMessage("Select a loop first, then ask for more like it "
                                           "(or drop any audio file on the window)", 6000)
            return
        self.search(row.path)

    @Slot(str)
    def search(self, path: str) -> None:
        """Find the loops nearest to ``path`` (a library loop or any audio file)."""
        w = self.w
        if self.runner is not None:
            self.runner.cancel()  # its result is dropped; this search replaces it
        self.result = None
        self.show_panel()
        self.panel.show_searching(path)
        w.scatter.set_neighbours([])
        roots = [Path(p) for p in w.libraries()]
        catalog, k = w.catalog, self.k
        encoder_id = w.encoder_id
        encoder_name = str(w.settings.value("encoder", "auto"))

        def job(token):
            return find_similar(path, catalog, roots, encoder_id, encoder_name, k, token)

        runner = JobRunner(job, name="similar")
        runner.succeeded.connect(self._on_found)
        runner.failed.connect(self._on_failed)
        runner.finished.connect(self._on_finished)
        self.runner = runner
        start_job(runner, self)

    @Slot(object)
    def _on_found(self, result: SimilarResult) -> None:
        if self.sender() is not self.runner:
            return  # superseded
        self.result = result
        self.panel.show_result(result)
        self._ring()
        if result.hits:
            self.panel.tree.setFocus()

    @Slot(str, str)
    def _on_failed(self, message: str, tb: str) -> None:
        if self.sender() is not self.runner:
            return
        self.panel.show_error(None, message)
        if tb:  # unexpected: the house dialog naming the log file
            from .window_actions import show_error

            show_error(self.w, message, tb)

    @Slot()
    def _on_finished(self) -> None:
        if self.sender() is self.runner:
            self.runner = None

    # --- the panel and the map --------------------------------------------------------------
    def show_panel(self) -> None:
        split = self.w.right_split
        if self.panel.isHidden():
            self.panel.show()
            sizes = split.sizes()
            if sum(sizes) > 0 and sizes[1] < PANEL_MIN_SHOWN:  # e.g. restored while hidden
                height = max(PANEL_MIN_SHOWN, sum(sizes) * 2 // 5)
                split.setSizes([sum(sizes) - height, height])
        self.w.actions_by_name["similar_panel"].setChecked(True)

    @Slot()
    def close_panel(self) -> None:
        self.set_panel_visible(False)

    @Slot(bool)
    def set_panel_visible(self, on: bool) -> None:
        self.panel.setVisible(bool(on))
        self.w.actions_by_name["similar_panel"].setChecked(bool(on))
        self._ring()

    def _ring(self) -> None:
        """Ring the hits on the map while the panel shows; clear the rings otherwise."""
        w = self.w
        if not self.panel.isVisibleTo(w) or self.result is None:
            w.scatter.set_neighbours([])
            return
        ids = [row.file_id for row in (w.model.row_for_path(p) for p in self.panel.paths())
               if row is not None]
        w.scatter.set_neighbours(ids, f"more like {Path(self.result.query).name}")

    def rows_changed(self) -> None:
        """The table was reloaded (file ids may differ): ring again."""
        self._ring()

    # --- choosing a hit ---------------------------------------------------------------------
    @Slot(str)
    def select_hit(self, path: str) -> None:
        """Select the hit in the table when shown there (that auditions it, as a table click
        would), else audition it directly. The keyboard stays in the Similar list."""
        w = self.w
        row = w.model.row_for_path(path)
        index = None
        if row is not None:
            source = w.model.row_for_id(row.file_id)
            index = w.proxy.mapFromSource(w.model.index(source, 0)) if source is not None else None
        if index is not None and index.isValid():
            w.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)
            w.table.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)
            return  # the window's current-row handler auditions it and rings it on the map
        w.scatter.select(row.file_id if row is not None else None)
        w.audition.request(path, play=w.player_bar.autoplay)

    @Slot(str)
    def play_hit(self, path: str) -> None:
        self.w.audition.request(path, play=True)


# --- drops on the window --------------------------------------------------------------------
def accepts_drag(w: MainWindow, event) -> bool:
    """An audio file dragged in from outside (a row dragged out of the table is not a query:
    it is on its way to a DAW; dropped on the Similar panel it is one)."""
    if event.source() is w.table:
        return False
    return dropped_audio_path(event.mimeData()) is not None


def drop(w: MainWindow, event) -> None:
    path = dropped_audio_path(event.mimeData())
    if path and event.source() is not w.table:
        event.acceptProposedAction()
        w.similar.search(path)
    else:
        event.ignore()
