"""Status-bar widget for the running job: stage message, files done / total, ETA, Cancel."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from ..core.progress import Progress
from .elided_label import ElidedLabel

STAGE_NAMES = {
    "listed": "Listing files", "cached": "Loading catalog", "encoder": "Loading encoder",
    "list": "Listing files", "check": "Checking files", "embed": "Embedding",
    "scanned": "Catalog updated", "train": "Training", "score": "Scoring", "map": "Building map",
}


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s left"
    minutes, sec = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {sec:02d} s left"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min left"


def describe(p: Progress) -> str:
    """One line for the status bar: ``Embedding 120 / 5,000 · 3 min 10 s left · file.wav``."""
    parts = [STAGE_NAMES.get(p.stage, p.stage.capitalize())]
    if p.total:
        parts[0] += f" {p.done:,} / {p.total:,}"
    eta = format_eta(p.eta_s)
    if eta:
        parts.append(eta)
    if p.message:
        parts.append(p.message)
    return " · ".join(parts)


class JobStatusWidget(QWidget):
    """Shown in the status bar while a job runs; ``cancelRequested`` when Cancel is pressed."""

    cancelRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = ElidedLabel("", min_width=200)  # a long file name elides (tooltip: whole)
        self.bar = QProgressBar()
        self.bar.setMaximumWidth(220)
        self.bar.setTextVisible(True)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running job; finished work is kept")
        self.cancel_button.clicked.connect(self._on_cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.hide()

    def start(self, title: str) -> None:
        self.label.setText(title)
        self.bar.setRange(0, 0)  # busy until a total is known
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Cancel")
        self.show()

    @Slot(object)
    def update_progress(self, p: Progress) -> None:
        self.label.setText(describe(p))
        self.label.setToolTip(p.message)
        if p.total:
            self.bar.setRange(0, int(p.total))
            self.bar.setValue(min(int(p.done), int(p.total)))
        else:
            self.bar.setRange(0, 0)

    def finish(self) -> None:
        self.hide()

    @Slot()
    def _on_cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.cancel_button.setText("Cancelling…")
        self.cancelRequested.emit()
