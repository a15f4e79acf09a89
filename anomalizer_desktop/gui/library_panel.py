"""The list of library folders with Add / Remove / Rescan buttons.

Each folder has a check box: ticked folders are the *reference of normal*, the loops the model
learns from; every other folder (and every watch folder) is scored against them. With none
ticked, the model learns from every library.
"""

from __future__ import annotations

from pathlib import PurePath

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
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
    referenceToggled = Signal(str, bool)  # folder, now a reference of normal

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.list = QListWidget()
        self.list.setToolTip(
            "Library folders; every audio file below them is analysed.\n"
            "Tick the folders that are your reference of normal: the model learns from them "
            "only and scores the rest against them. None ticked: it learns from every folder.")
        self.list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.list.itemChanged.connect(self._on_item_changed)
        self.learns_from = QLabel()
        self.learns_from.setWordWrap(True)
        self.learns_from.setToolTip(self.list.toolTip())
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
        layout.addWidget(self.learns_from)
        layout.addLayout(buttons)
        self._update_buttons()

    def set_libraries(self, paths: list[str], reference: set[str] | frozenset = frozenset()
                      ) -> None:
        """Show ``paths``; those in ``reference`` are ticked as the reference of normal."""
        current = self.selected()
        self.list.blockSignals(True)
        self.list.clear()
        for p in paths:
            folder = PurePath(p)
            # the folder's own name first: a narrow dock still shows which folder it is
            item = QListWidgetItem(f"{folder.name or p}  ({folder.parent})" if folder.name else p)
            item.setToolTip(p)
            item.setData(Qt.ItemDataRole.UserRole, p)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if p in reference
                               else Qt.CheckState.Unchecked)
            self.list.addItem(item)
            if p == current:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self._update_buttons()
        self._update_caption()

    def reference(self) -> list[str]:
        """The ticked folders: what the model learns normal from (empty: every library)."""
        return [p for i, p in enumerate(self.libraries())
                if self.list.item(i).checkState() == Qt.CheckState.Checked]

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

    @Slot(QListWidgetItem)
    def _on_item_changed(self, item: QListWidgetItem) -> None:
        self._update_caption()
        self.referenceToggled.emit(item.data(Qt.ItemDataRole.UserRole),
                                   item.checkState() == Qt.CheckState.Checked)

    def _update_caption(self) -> None:
        n, total = len(self.reference()), self.list.count()
        if not total:
            text = ""
        elif not n:
            text = "Learns normal from every folder (tick folders to make them the reference)"
        else:
            text = (f"Learns normal from the {n} ticked folder{'s' if n > 1 else ''}; "
                    f"{'the rest is' if n < total else 'nothing else is'} scored against "
                    f"{'them' if n > 1 else 'it'}")
        self.learns_from.setText(text)

    @Slot()
    def _update_buttons(self, *args) -> None:
        self.remove_button.setEnabled(self.selected() is not None)
        self.rescan_button.setEnabled(self.list.count() > 0)
