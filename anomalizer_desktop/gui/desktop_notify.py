"""Desktop notifications through the freedesktop notification service, for desktops without a tray.

Qt-free. :class:`DesktopNotifications` hands each notification to the ``desktop-notifier``
library's synchronous API (on Linux: ``org.freedesktop.Notifications`` on the D-Bus session bus)
on one daemon worker thread, so the GUI thread never waits for the bus.

Notifications are a courtesy, never a reason to fail: the first problem (``desktop-notifier`` not
installed, no session bus, no notification service, or any other exception) is logged once as a
warning, ``available`` turns False and nothing more is sent; the caller's own status-bar message
is then all the user sees. ``desktop-notifier`` itself logs and swallows delivery errors, so a
notification counts as delivered only when the library lists it as shown.
"""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

log = logging.getLogger(__name__)
APP_NAME = "Anomalizer"
# Where desktop-notifier logs (with a traceback) the error it swallows; see _CaptureFailure.
_LIBRARY_LOGGER = "desktop_notifier.backends.base"
_STOP = object()


class NotificationsUnavailable(Exception):
    """Desktop notifications cannot be sent on this machine (the message says why)."""


class DesktopNotifications:
    """Sends ``(title, message)`` notifications on a worker thread; see the module docstring.

    ``delivered`` keeps every notification the service accepted (for tests and the log).
    """

    def __init__(self, app_name: str = APP_NAME, icon: Path | None = None) -> None:
        self.app_name = app_name
        self.icon = icon
        self.available = True
        self.delivered: list[tuple[str, str]] = []
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._pending = 0
        self._idle = threading.Condition()

    def send(self, title: str, message: str) -> bool:
        """Queue one notification (never blocks). False once notifications have failed."""
        if not self.available:
            return False
        with self._idle:
            self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="desktop-notify",
                                                daemon=True)
                self._thread.start()
        self._queue.put((title, message))
        return True

    def wait(self, timeout_s: float) -> bool:
        """Wait until every queued notification was delivered or dropped (tests)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout_s)

    def close(self, timeout_s: float = 1.0) -> None:
        """Let the worker thread end after what is queued, waiting up to ``timeout_s`` for it
        (so its last log line is written while logging still runs; it is a daemon, so exit
        never waits longer)."""
        if self._thread is not None:
            self._queue.put(_STOP)
            self._thread.join(timeout_s)

    def _run(self) -> None:
        notifier = None
        while True:
            item = self._queue.get()
            if item is _STOP:
                break
            title, message = item
            try:
                if self.available:
                    if notifier is None:
                        notifier = _make_notifier(self.app_name, self.icon)
                    _deliver(notifier, title, message)
                    self.delivered.append((title, message))
            except Exception as exc:  # noqa: BLE001 - a notification must never break the app
                self.available = False
                why = (str(exc) if isinstance(exc, NotificationsUnavailable)
                       else f"{type(exc).__name__}: {exc}")
                log.warning("Desktop notifications are off (%s); flagged takes are shown in the "
                            "status bar only", why)
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()
        _close_loop(notifier)


def _close_loop(notifier) -> None:
    """Close the asyncio loop the sync API runs on, in its own thread (it has no public close;
    left to the garbage collector, the loop's ``__del__`` fails noisily at exit)."""
    loop = getattr(notifier, "_loop", None)
    if loop is None or loop.is_closed() or loop.is_running():
        return
    try:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    except Exception:  # noqa: BLE001 - tidying up only
        log.debug("could not close the notification loop", exc_info=True)


def _make_notifier(app_name: str, icon: Path | None):
    try:
        from desktop_notifier import DesktopNotifierSync, Icon
    except ImportError as exc:
        raise NotificationsUnavailable("desktop-notifier is not installed") from exc
    if icon is not None and icon.is_file():
        return DesktopNotifierSync(app_name=app_name, app_icon=Icon(path=icon))
    return DesktopNotifierSync(app_name=app_name)


def _deliver(notifier, title: str, message: str) -> None:
    """Send one notification; raise when the service did not take it."""
    capture = _CaptureFailure()
    library_log = logging.getLogger(_LIBRARY_LOGGER)
    library_log.addFilter(capture)
    try:
        identifier = notifier.send(title=title, message=message)
        shown = identifier in notifier.get_current_notifications()
    finally:
        library_log.removeFilter(capture)
    if not shown:
        cause = capture.error
        why = f"{type(cause).__name__}: {cause}" if cause else "the service did not show it"
        raise NotificationsUnavailable(why) from cause


class _CaptureFailure(logging.Filter):
    """Keeps the error desktop-notifier swallowed and drops its traceback from the log."""

    def __init__(self) -> None:
        super().__init__()
        self.error: BaseException | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            self.error = record.exc_info[1]
            return False
        return True
