"""The list of library folders with Add / Remove / Rescan buttons."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from .compact_button import compact_button


class LibraryPanel(QWidget):
    """Shows library folders; asks the window to add, remove or rescan them."""

    addRequested = Signal(str)
    removeRequested = Signal(str)
    rescanRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setToolTip("Library folders; every audio file below them is analysed")
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.add_button = compact_button("Add…", "Add a library folder")
        self.remove_button = compact_button(
            "Remove", "Forget the selected library (its files are not touched)")
        self.rescan_button = compact_button(
            "Rescan", "Look for new, changed and removed files and score them")
        self.add_button.clicked.connect(self.choose_folder)
        self.remove_button.clicked.connect(self._on_remove)
        self.rescan_button.clicked.connect(self.rescanRequested)
        self.list.currentItemChanged.connect(self._update_buttons)
        buttons = QHBoxLayout()
        for b in (self.add_button, self.remove_button, self.rescan_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self._update_buttons()

    def set_libraries(self, paths: list[str]) -> None:
        current = self.selected()
        self.list.clear()
        for p in paths:
            item = QListWidgetItem(p)
            item.setToolTip(p)
            item.setData(Qt.ItemDataRole.UserRole, p)
            self.list.addItem(item)
            if p == current:
                self.list.setCurrentItem(item)
        self._update_buttons()

    def libraries(self) -> list[str]:
        return [self.list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.list.count())]

    def selected(self) -> str | None:
        item = self.list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    @Slot()
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a library folder")
        if folder:
            self.addRequested.emit(folder)

    @Slot()
    def _on_remove(self) -> None:
        path = self.selected()
        if path:
            self.removeRequested.emit(path)

    @Slot()
    def _update_buttons(self, *args) -> None:
        self.remove_button.setEnabled(self.selected() is not None)
        self.rescan_button.setEnabled(self.list.count() > 0)
