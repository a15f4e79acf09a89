"""GUI test setup: offscreen Qt, an isolated data dir and session bus, a leaked-thread guard."""

from __future__ import annotations

import os
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every GUI test gets its own ANOMALIZER_HOME and QSettings scope (never the user's)."""
    home = tmp_path_factory.mktemp("anomalizer_home")
    monkeypatch.setenv("ANOMALIZER_HOME", str(home))
    from PySide6.QtCore import QCoreApplication, QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(home / "qsettings"))
    QCoreApplication.setOrganizationName("anomalizer-test")
    QCoreApplication.setApplicationName("anomalizer-desktop-test")
    # Without a tray the app notifies over D-Bus: never on the desktop of whoever runs the tests
    # (tests that want a notification service start a private bus).
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={home / 'no-session-bus'}")
    # A window sets the encoder's thread count (Model ▸ Encoder threads): undone after the test.
    monkeypatch.setenv("ANOMALIZER_THREADS", os.environ.get("ANOMALIZER_THREADS", ""))
    yield home
    # A window closed without shutdown() leaves its notification sender finishing its last
    # attempt: let it log inside this test, not into a closed capture stream later.
    for t in threading.enumerate():
        sender = getattr(getattr(t, "_target", None), "__self__", None)  # DesktopNotifications
        if t.name == "desktop-notify" and hasattr(sender, "wait"):
            sender.wait(3.0)  # until what it was given is delivered or dropped


@pytest.fixture(autouse=True)
def no_thread_left_running(qapp):
    """Fail a test that leaves a job QThread or a new non-daemon Python thread running."""
    before = set(threading.enumerate())
    yield
    from anomalizer_desktop.gui import workers

    leaked_jobs = []
    if not workers.wait_for_jobs(timeout_s=5.0):
        leaked_jobs = [t.objectName() for t in workers.active_jobs()]
    deadline = time.monotonic() + 5.0
    leaked_py: list[threading.Thread] = []
    while True:
        leaked_py = [
            t for t in threading.enumerate()
            if t not in before and t.is_alive() and not t.daemon
            and not isinstance(t, threading._DummyThread)  # noqa: SLF001 - Qt-started threads
        ]
        if not leaked_py or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert not leaked_jobs, f"job threads still running after the test: {leaked_jobs}"
    assert not leaked_py, f"Python threads still running after the test: {leaked_py}"
