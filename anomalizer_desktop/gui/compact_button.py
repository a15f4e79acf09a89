"""A push-button look that is only as wide as its text (Fusion's QPushButton is at least 80 px),
so a row of them fits a narrow dock."""

from __future__ import annotations

from PySide6.QtWidgets import QSizePolicy, QToolButton


def compact_button(text: str, tip: str = "") -> QToolButton:
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    return button
