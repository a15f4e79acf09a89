"""Test-wide environment: offline, quiet OpenMP, headless Qt, and an app data dir per test run."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# Never touch the real user data dir or hub cache from tests.
_home = tempfile.mkdtemp(prefix="anomalizer-test-home-")
os.environ["ANOMALIZER_HOME"] = os.path.join(_home, "app")
os.environ["HF_HOME"] = os.path.join(_home, "hf")

import pytest  # noqa: E402


@pytest.fixture
def app_home(tmp_path, monkeypatch):
    """A fresh, empty app data dir for one test."""
    home = tmp_path / "app-home"
    monkeypatch.setenv("ANOMALIZER_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def _short_settle(monkeypatch):
    """Tests write files and scan them at once: look again after 20 ms, not the real 0.5 s
    (tests of the settle itself set it back)."""
    from anomalizer_desktop.core import scanning

    monkeypatch.setattr(scanning, "SETTLE_S", 0.02)


@pytest.fixture(autouse=True)
def _fresh_shared_encoders():
    """Each test builds its own shared CLAP encoder (and frees it after)."""
    yield
    from anomalizer_desktop.core.embedding.shared import forget_shared_encoders

    forget_shared_encoders()
