"""A one-line label that may shrink below its text's width: it elides ("…") instead of
pushing the window wider. The full text stays in ``text()`` (and belongs in the tooltip)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    def __init__(self, text: str = "", parent: QWidget | None = None, min_width: int = 80,
                 mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight,
                 max_hint: int | None = None) -> None:
        super().__init__(text, parent)
        self.min_width = min_width
        self.max_hint = max_hint  # asks for at most this width (neighbours get the rest)
        self.mode = mode
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt name
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), self.min_width), hint.height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt name
        hint = super().sizeHint()
        if self.max_hint is not None:
            return QSize(min(hint.width(), self.max_hint), hint.height())
        return hint

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt name
        painter = QPainter(self)
        rect = self.contentsRect()
        text = self.fontMetrics().elidedText(self.text(), self.mode, rect.width())
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(self.alignment()), text)
