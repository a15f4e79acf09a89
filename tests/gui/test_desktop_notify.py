"""Without a tray, a flagged take is announced through the freedesktop notification service.

A real private session bus (``dbus-daemon``) with a fake ``org.freedesktop.Notifications``
service (tests/gui/fake_notifications.py) receives what the app sends; without a bus, or without
desktop-notifier, the status bar alone shows it and nothing is raised.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMainWindow

from anomalizer_desktop.gui.desktop_notify import DesktopNotifications
from anomalizer_desktop.gui.notifications import Notifier

FAKE_SERVICE = Path(__file__).with_name("fake_notifications.py")
SERVICE_DELAY_S = 1.0  # the fake service answers Notify this late; the GUI must not wait


@pytest.fixture
def notification_service(tmp_path, monkeypatch):
    """A private session bus with the fake notification service on it; yields its record file."""
    daemon = shutil.which("dbus-daemon")
    if daemon is None:
        pytest.skip("dbus-daemon is not installed (Debian/Ubuntu: apt-get install dbus-daemon)")
    bus = subprocess.Popen([daemon, "--session", "--nofork", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    service = None
    try:
        address = bus.stdout.readline().strip()
        assert address, f"dbus-daemon did not start: {bus.stderr.read()}"
        record = tmp_path / "notifications.jsonl"
        service = subprocess.Popen(
            [sys.executable, str(FAKE_SERVICE), str(record), str(SERVICE_DELAY_S)],
            stdout=subprocess.PIPE, text=True,
            env={**_env_without_bus(), "DBUS_SESSION_BUS_ADDRESS": address})
        assert service.stdout.readline().strip() == "ready"
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
        yield record
    finally:
        for process in (service, bus):
            if process is not None:
                process.kill()
                process.wait(10)


def _env_without_bus() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def notifier(qtbot):
    window = QMainWindow()
    qtbot.addWidget(window)
    n = Notifier(window)
    assert not n.uses_tray  # offscreen Qt has no system tray
    yield n
    n.close()


def test_without_a_tray_a_flagged_take_reaches_the_notification_service(
        notifier, notification_service):
    started = time.monotonic()
    notifier.notify("Flagged take", "bass_01.wav: click @ 1.200 s")
    notifier.notify("Flagged take", "kick_07.wav: clipping")
    assert time.monotonic() - started < SERVICE_DELAY_S / 2  # the GUI thread did not wait
    # the status bar shows it as before
    assert notifier.window.statusBar().currentMessage() == "Flagged take: kick_07.wav: clipping"
    assert notifier.desktop.wait(30)
    assert [(r["app_name"], r["summary"], r["body"]) for r in _records(notification_service)] == [
        ("Anomalizer", "Flagged take", "bass_01.wav: click @ 1.200 s"),
        ("Anomalizer", "Flagged take", "kick_07.wav: clipping"),
    ]
    assert notifier.desktop.available


def test_with_no_session_bus_the_status_bar_alone_shows_it(notifier, tmp_path, monkeypatch,
                                                             caplog):
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-such-bus'}")
    caplog.set_level(logging.DEBUG)
    notifier.notify("Flagged take", "bass_01.wav: click @ 1.200 s")
    assert notifier.window.statusBar().currentMessage() == (
        "Flagged take: bass_01.wav: click @ 1.200 s")
    assert notifier.desktop.wait(30)
    assert not notifier.desktop.available
    notifier.notify("Flagged take", "kick_07.wav: clipping")  # after the failure: not even tried
    assert notifier.window.statusBar().currentMessage() == "Flagged take: kick_07.wav: clipping"
    assert notifier.desktop.wait(5)
    assert notifier.history[-1] == ("Flagged take", "kick_07.wav: clipping")
    assert notifier.desktop.delivered == []
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]  # logged once
    assert "Desktop notifications are off" in warnings[0].getMessage()
    assert warnings[0].exc_info is None  # a line in the log, no traceback


def test_without_desktop_notifier_installed_nothing_is_raised(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "desktop_notifier", None)  # `import` raises ImportError
    # earlier tests of the run (Ray's, the CLI's) may have changed logging's global state
    logger = logging.getLogger("anomalizer_desktop.gui.desktop_notify")
    monkeypatch.setattr(logger, "disabled", False)
    monkeypatch.setattr(logger, "propagate", True)
    monkeypatch.setattr(logging.root.manager, "disable", logging.NOTSET)
    caplog.set_level(logging.WARNING, logger=logger.name)
    desktop = DesktopNotifications()
    assert desktop.send("Flagged take", "bass_01.wav")
    assert desktop.wait(10)
    assert not desktop.available and desktop.delivered == []
    assert not desktop.send("Flagged take", "kick_07.wav")
    assert "desktop-notifier is not installed" in caplog.text
    desktop.close()
