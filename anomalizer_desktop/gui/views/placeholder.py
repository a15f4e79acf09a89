"""A plot, or a short centred message in its place: no empty axes before there is data."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QStackedWidget, QWidget


class PlotOrMessage(QStackedWidget):
    """Shows ``plot`` once there is something to draw, else ``message`` on the plot's background
    (the stylesheet's ``QLabel#plotPlaceholder``)."""

    def __init__(self, plot: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = plot
        self.placeholder = QLabel("")
        self.placeholder.setObjectName("plotPlaceholder")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.placeholder.setMargin(8)
        # a long message wraps; it never asks for more width than the plot
        self.placeholder.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.addWidget(plot)
        self.addWidget(self.placeholder)

    def show_message(self, text: str) -> None:
        self.placeholder.setText(text)
        self.setCurrentWidget(self.placeholder)

    def show_plot(self) -> None:
        self.setCurrentWidget(self.plot)

    @property
    def showing_plot(self) -> bool:
        return self.currentWidget() is self.plot
