"""A one-line label that may shrink below its text's width: it elides ("…") instead of
pushing the window wider. The full text stays in ``text()`` (and belongs in the tooltip).

With a ``short`` form ("⚠ silent" for "⚠ silent: audio output disabled") the label asks only
for the short form's width, shows the whole text when it is given the room, else the short form
whole, and only then elides.
"""

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
        self.short = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)

    def set_text(self, text: str, short: str = "") -> None:
        """Show ``text``, or ``short`` where ``text`` does not fit."""
        self.short = short
        self.setText(text)
        self.updateGeometry()

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt name
        hint = super().minimumSizeHint()
        return QSize(min(hint.width(), self.min_width), hint.height())

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt name
        hint = super().sizeHint()
        if self.short:
            margins = self.contentsMargins()
            width = (self.fontMetrics().horizontalAdvance(self.short) + margins.left()
                     + margins.right() + 2 * self.margin())
            return QSize(min(hint.width(), width), hint.height())
        if self.max_hint is not None:
            return QSize(min(hint.width(), self.max_hint), hint.height())
        return hint

    def shown_text(self, width: int | None = None) -> str:
        """What is drawn at ``width`` pixels (default: the label's own)."""
        width = self.contentsRect().width() if width is None else width
        metrics = self.fontMetrics()
        text = self.text()
        if self.short and metrics.horizontalAdvance(text) > width:
            text = self.short
        return metrics.elidedText(text, self.mode, width)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt name
        painter = QPainter(self)
        rect = self.contentsRect()
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(rect, int(self.alignment()), self.shown_text(rect.width()))
