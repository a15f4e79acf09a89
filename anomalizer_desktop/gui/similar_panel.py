"""The Similar panel: the loops nearest to one loop ("more like this"), nearest first.

Up/Down move through the list (and audition, as in the table), Enter or a double-click plays
from the start; Space, L and Esc are the window's playback keys. Dropping any audio file on the
panel (from the file manager, or a row of the table) asks for loops like it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .elided_label import ElidedLabel
from .models.loop_facets import format_bpm
from .similar_search import SimilarResult
from .theme import set_tone

PathRole = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("#", "Name", "Distance", "BPM", "Key")
HINT = "Drop any audio file here (or on the window) to find loops like it."


def dropped_audio_path(mime) -> str | None:
    """The first local audio-looking file of a drag (None: nothing to search with)."""
    if mime is None or not mime.hasUrls():
        return None
    for url in mime.urls():
        if url.isLocalFile() and Path(url.toLocalFile()).is_file():
            return url.toLocalFile()
    return None


class HitList(QTreeWidget):
    """The hits. Getting the keyboard focus does not pick the first hit (Qt's default would
    audition it unasked and move the table away from the query); Down picks it."""

    def focusInEvent(self, event) -> None:  # noqa: N802 - Qt name
        had_current = self.currentItem() is not None
        blocked = self.blockSignals(True)
        try:
            super().focusInEvent(event)
            if not had_current and self.currentItem() is not None:
                self.setCurrentItem(None)
        finally:
            self.blockSignals(blocked)


class SimilarPanel(QWidget):
    """The list; the window reacts to its signals (:mod:`.window_similar`)."""

    hitSelected = Signal(str)  # the current hit changed (keyboard or click): select / audition
    hitActivated = Signal(str)  # Enter or double-click: play it from the start
    fileDropped = Signal(str)
    closeRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.query: str | None = None
        self.title = ElidedLabel("More like this", min_width=60, mode=Qt.TextElideMode.ElideMiddle)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.close_button = QToolButton()
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip("Close the Similar list (the map stops ringing its loops)")
        self.close_button.clicked.connect(self.closeRequested)
        self.status = QLabel(HINT)
        self.status.setWordWrap(True)
        set_tone(self.status, "dim")
        self.tree = HitList()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setAllColumnsShowFocus(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(24)
        self.tree.headerItem().setToolTip(2, "RMS difference in the library's standard "
                                             "deviations: 0 = the same sound, ~1.4 = unrelated")
        self.tree.currentItemChanged.connect(self._on_current)
        self.tree.itemActivated.connect(self._on_activated)

        top = QHBoxLayout()
        top.setContentsMargins(4, 2, 0, 0)
        top.addWidget(self.title, 1)
        top.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.status)
        layout.addWidget(self.tree, 1)

    # --- contents ---------------------------------------------------------------------------
    def show_searching(self, query: str) -> None:
        self._set_query(query)
        self.tree.clear()
        self._say(f"Looking for loops like {Path(query).name}…")

    def show_result(self, result: SimilarResult) -> None:
        self._set_query(result.query)
        self.tree.blockSignals(True)
        try:
            self.tree.clear()
            for hit in result.hits:
                item = QTreeWidgetItem([str(hit.rank), hit.name, f"{hit.distance:.2f}",
                                        format_bpm(hit.bpm), hit.key or ""])
                item.setData(0, PathRole, hit.path)
                item.setToolTip(1, hit.path)
                for col in (0, 2, 3):
                    item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight
                                          | Qt.AlignmentFlag.AlignVCenter)
                self.tree.addTopLevelItem(item)
        finally:
            self.tree.blockSignals(False)
        if result.hits:
            self._say(f"{len(result.hits)} nearest, nearest first · Up/Down auditions, "
                      "Enter plays · ringed on the map")
        else:
            self._say(result.message or "Nothing like it found.", warn=True)

    def show_error(self, query: str | None, message: str) -> None:
        if query:
            self._set_query(query)
        self.tree.clear()
        self._say(message, warn=True)

    def paths(self) -> list[str]:
        """The hits' paths, nearest first."""
        return [self.tree.topLevelItem(i).data(0, PathRole)
                for i in range(self.tree.topLevelItemCount())]

    def current_path(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, PathRole) if item is not None else None

    def _set_query(self, query: str) -> None:
        self.query = query
        name = Path(query).name
        self.title.setText(f"More like {name}")
        self.title.setToolTip(query)

    def _say(self, text: str, warn: bool = False) -> None:
        self.status.setText(text)
        set_tone(self.status, "warn" if warn else "dim")

    # --- interaction ------------------------------------------------------------------------
    @Slot(object, object)
    def _on_current(self, current, _previous) -> None:
        if current is not None:
            self.hitSelected.emit(current.data(0, PathRole))

    @Slot(object, int)
    def _on_activated(self, item, _column: int) -> None:
        self.hitActivated.emit(item.data(0, PathRole))

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt name
        if dropped_audio_path(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt name
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt name
        path = dropped_audio_path(event.mimeData())
        if path:
            event.acceptProposedAction()
            self.fileDropped.emit(path)
