"""The loop table's columns, read at a glance in a small window.

Compact default widths; Reasons shown right after the name and given the table's spare width
(never narrower than :data:`REASONS_MIN_WIDTH`, so at 1280 px it is on screen and the rarely
needed Folder and Duration are the ones behind the scroll bar); names and folders elided in the
middle, where file names differ least ("Bass_10…m_32.wav").
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Slot
from PySide6.QtWidgets import QHeaderView, QStyledItemDelegate, QTableView

from .models.loop_table import COLUMN_INDEX

DEFAULT_WIDTHS = {"flag": 46, "score": 80, "learned": 64, "name": 190, "bpm": 60, "key": 128,
                  "folder": 120, "duration": 66}
SHOWN_ORDER = ("flag", "score", "learned", "name", "reasons", "bpm", "key", "folder", "duration")
REASONS_MIN_WIDTH = 220
MIDDLE_ELIDED = ("name", "folder")


class MiddleElideDelegate(QStyledItemDelegate):
    def initStyleOption(self, option, index) -> None:  # noqa: N802 - Qt name
        super().initStyleOption(option, index)
        option.textElideMode = Qt.TextElideMode.ElideMiddle


class ReasonsFit(QObject):
    """Keeps the Reasons column as wide as the table's spare width, at least the minimum."""

    def __init__(self, table: QTableView) -> None:
        super().__init__(table)
        self.table = table
        self.column = COLUMN_INDEX["reasons"]
        header = table.horizontalHeader()
        header.sectionResized.connect(self._on_section_resized)
        table.viewport().installEventFilter(self)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt name
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    @Slot(int, int, int)
    def _on_section_resized(self, logical: int, _old: int, _new: int) -> None:
        if logical != self.column:
            self.fit()

    def fit(self) -> None:
        header = self.table.horizontalHeader()
        if header.isSectionHidden(self.column):
            return
        others = sum(header.sectionSize(i) for i in range(header.count())
                     if i != self.column and not header.isSectionHidden(i))
        spare = self.table.viewport().width() - others
        width = max(REASONS_MIN_WIDTH, spare)
        if header.sectionSize(self.column) != width:
            header.resizeSection(self.column, width)


def set_up(table: QTableView) -> ReasonsFit:
    """Widths, order and eliding of the loop table's columns; returns the Reasons fitter."""
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    for key, width in DEFAULT_WIDTHS.items():
        table.setColumnWidth(COLUMN_INDEX[key], width)
    for position, key in enumerate(SHOWN_ORDER):
        header.moveSection(header.visualIndex(COLUMN_INDEX[key]), position)
    delegate = MiddleElideDelegate(table)
    for key in MIDDLE_ELIDED:
        table.setItemDelegateForColumn(COLUMN_INDEX[key], delegate)
    return ReasonsFit(table)
