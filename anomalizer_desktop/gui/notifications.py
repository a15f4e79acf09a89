"""Desktop notifications and the tray icon: a tray message when there is a tray, otherwise a
notification through the freedesktop notification service (:mod:`.desktop_notify`, on a worker
thread); the status bar shows every one either way, and alone when neither is available.

With a system tray, the window can also *minimise to the tray*: minimising hides it from the task
bar, the tray icon brings it back, and the folder watcher keeps scoring new takes meanwhile (it
never stops while the window is minimised or hidden). Closing the window still quits the app.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QMainWindow, QMenu, QSystemTrayIcon

from .desktop_notify import DesktopNotifications
from .resources import icon_path


class Notifier(QObject):
    """Shows notifications; ``history`` keeps (title, text) of every one shown.

    ``tray`` is created when the desktop has a system tray; tests may pass their own.
    ``desktop`` (the freedesktop notification sender used without a tray) is created on first use.
    """

    notified = Signal(str, str)

    def __init__(self, window: QMainWindow, icon: QIcon | None = None,
                 tray: QSystemTrayIcon | None = None) -> None:
        super().__init__(window)
        self.window = window
        self.history: list[tuple[str, str]] = []
        self.minimise_to_tray = False
        self._told_about_tray = False
        self.tray: QSystemTrayIcon | None = tray
        self.desktop: DesktopNotifications | None = None
        if self.tray is None and QSystemTrayIcon.isSystemTrayAvailable():
            tray_icon = icon if icon is not None and not icon.isNull() else window.windowIcon()
            self.tray = QSystemTrayIcon(tray_icon, self)
        if self.tray is not None:
            self.tray.setToolTip("Anomalizer: watching for new takes")
            self.tray.activated.connect(self._on_activated)
            self._menu = QMenu()
            show = QAction("Show Anomalizer", self._menu)
            show.triggered.connect(self.restore_window)
            quit_ = QAction("Quit", self._menu)
            quit_.triggered.connect(window.close)
            self._menu.addAction(show)
            self._menu.addSeparator()
            self._menu.addAction(quit_)
            self.tray.setContextMenu(self._menu)
            self.tray.show()

    @property
    def has_tray(self) -> bool:
        return self.tray is not None

    @property
    def uses_tray(self) -> bool:
        return self.tray is not None and self.tray.supportsMessages()

    def notify(self, title: str, text: str) -> None:
        self.history.append((title, text))
        if self.uses_tray:
            self.tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Warning, 8000)
        else:
            if self.desktop is None:
                self.desktop = DesktopNotifications(icon=icon_path())
            self.desktop.send(title, text)  # never blocks; does nothing once it has failed
        self.window.statusBar().showMessage(f"{title}: {text}", 15_000)
        self.notified.emit(title, text)

    def window_minimised(self) -> None:
        """Called by the window when it is minimised: hide it to the tray if that is enabled."""
        if not (self.minimise_to_tray and self.tray is not None):
            return
        # Hide after Qt has finished processing the state change.
        QTimer.singleShot(0, self.window.hide)
        if not self._told_about_tray and self.uses_tray:
            self._told_about_tray = True
            self.tray.showMessage("Anomalizer is still watching",
                                  "New takes in your watch folders are scored while the window is "
                                  "in the tray. Click the icon to bring it back.",
                                  QSystemTrayIcon.MessageIcon.Information, 6000)

    @Slot()
    def restore_window(self) -> None:
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    @Slot(QSystemTrayIcon.ActivationReason)
    def _on_activated(self, reason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Context:
            return  # the context menu opens by itself
        self.restore_window()

    def close(self) -> None:
        if self.tray is not None:
            self.tray.hide()
        if self.desktop is not None:
            self.desktop.close()
