"""Desktop notifications: a system-tray message when there is a tray, else the status bar."""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QMainWindow, QSystemTrayIcon


class Notifier(QObject):
    """Shows notifications; ``history`` keeps (title, text) of every one shown."""

    notified = Signal(str, str)

    def __init__(self, window: QMainWindow, icon: QIcon | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.history: list[tuple[str, str]] = []
        self.tray: QSystemTrayIcon | None = None
        if QSystemTrayIcon.isSystemTrayAvailable():
            tray_icon = icon if icon is not None and not icon.isNull() else window.windowIcon()
            self.tray = QSystemTrayIcon(tray_icon, self)
            self.tray.setToolTip("Anomalizer: watching for new takes")
            self.tray.activated.connect(self._on_activated)
            self.tray.show()

    @property
    def uses_tray(self) -> bool:
        return self.tray is not None and self.tray.supportsMessages()

    def notify(self, title: str, text: str) -> None:
        self.history.append((title, text))
        if self.uses_tray:
            self.tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Warning, 8000)
        self.window.statusBar().showMessage(f"{title}: {text}", 15_000)
        self.notified.emit(title, text)

    def _on_activated(self, _reason) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    def close(self) -> None:
        if self.tray is not None:
            self.tray.hide()
