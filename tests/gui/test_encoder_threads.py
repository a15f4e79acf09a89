"""Model ▸ Encoder threads: the automatic choice, a chosen count applied at once and kept."""

from __future__ import annotations

import os

import torch

from anomalizer_desktop.core.audio.playback import NullPlayer
from anomalizer_desktop.core.config import THREADS_ENV
from anomalizer_desktop.gui import window_threads
from anomalizer_desktop.gui.main_window import MainWindow


def test_automatic_uses_every_core_on_small_machines_and_leaves_one_on_big_ones():
    assert [window_threads.automatic_threads(c) for c in (1, 2, 4, 8, 16)] == [1, 2, 4, 7, 15]
    assert window_threads.menu_counts(2) == [1, 2]
    assert window_threads.menu_counts(64) == [1, 2, 4, 8, 16, 32, 64]


def test_choosing_a_count_applies_it_to_the_encoder_and_torch_and_is_remembered(qtbot, monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setitem(window_threads._STARTUP_ENV, "value", "")  # noqa: SLF001
    before = torch.get_num_threads()
    try:
        w = MainWindow(NullPlayer("no audio output device: playback disabled"))
        qtbot.addWidget(w)
        texts = [a.text() for a in w.threads.submenu.actions()]
        assert texts == ["&Automatic (4 of 4 cores)", "1 thread", "2 threads", "3 threads",
                         "4 threads"]
        assert w.threads.actions[0].isChecked() and os.environ[THREADS_ENV] == "4"

        w.threads.actions[1].trigger()
        assert os.environ[THREADS_ENV] == "1" and torch.get_num_threads() == 1
        assert w.threads.actions[1].isChecked() and not w.threads.actions[0].isChecked()
        assert "1 CPU thread" in w.statusBar().currentMessage()
        w.close()

        again = MainWindow(NullPlayer("no audio output device: playback disabled"))
        qtbot.addWidget(again)
        assert again.threads.choice == 1 and again.threads.actions[1].isChecked()
        again.threads.choose(0)
        assert os.environ[THREADS_ENV] == "4" and torch.get_num_threads() == 4
        again.close()
    finally:
        torch.set_num_threads(before)


def test_threads_set_in_the_environment_are_the_sessions_automatic_value(monkeypatch):
    monkeypatch.setitem(window_threads._STARTUP_ENV, "value", "3")  # noqa: SLF001
    assert window_threads.session_default() == 3
    assert window_threads.effective(0) == 3 and window_threads.effective(2) == 2
