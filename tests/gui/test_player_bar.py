"""Audition controller + player bar with the real NullPlayer and real audio files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from anomalizer_desktop.core.audio.playback import NullPlayer
from anomalizer_desktop.gui.audition import AuditionController
from anomalizer_desktop.gui.player_bar import PlayerBar

SR = 44_100


def write_tone(path, seconds=1.0, freq=220.0):
    t = np.arange(int(seconds * SR)) / SR
    sf.write(path, (0.2 * np.sin(2 * np.pi * freq * t)).astype(np.float32), SR)
    return str(path)


class Clock:
    def __init__(self):
        self.t = 10.0

    def __call__(self):
        return self.t


@pytest.fixture
def setup(qtbot, tmp_path):
    clock = Clock()
    player = NullPlayer("no audio output device: playback disabled", clock=clock)
    audition = AuditionController(player)
    bar = PlayerBar(audition)
    qtbot.addWidget(bar)
    files = [write_tone(tmp_path / f"t{i}.wav", seconds=1.0 + i) for i in range(3)]
    return clock, player, audition, bar, files


def test_request_decodes_loads_and_plays(qtbot, setup):
    clock, player, audition, bar, files = setup
    with qtbot.waitSignal(audition.loaded, timeout=5000) as blocker:
        audition.request(files[1], play=True)
    path, samples, rate = blocker.args
    assert path == files[1] and rate == 48_000
    assert samples.shape[0] == pytest.approx(2.0 * 48_000, abs=2)
    assert player.is_playing
    assert player.duration_s == pytest.approx(2.0, abs=1e-3)
    clock.t += 0.5
    bar.refresh()
    assert bar.play_button.text() == "■ Stop"
    assert bar.position_label.text().startswith("0:00.5")
    assert bar.track_label.text() == "t1.wav"


def test_latest_request_wins(qtbot, setup):
    clock, player, audition, bar, files = setup
    loaded = []
    audition.loaded.connect(lambda p, s, r: loaded.append(p))
    for f in files:
        audition.request(f, play=True)
    qtbot.waitUntil(lambda: audition.current_path == files[2], timeout=5000)
    qtbot.wait(50)
    assert loaded[-1] == files[2]
    assert files[1] not in loaded  # skipped: a newer request came in while decoding


def test_cache_and_same_file_replays(qtbot, setup):
    clock, player, audition, bar, files = setup
    with qtbot.waitSignal(audition.loaded, timeout=5000):
        audition.request(files[0], play=False)
    assert not player.is_playing
    audition.request(files[0], play=True)  # same file: plays from the start, no reload
    assert player.is_playing and player.position_s == 0.0
    with qtbot.waitSignal(audition.loaded, timeout=5000):
        audition.request(files[1], play=False)
    with qtbot.waitSignal(audition.loaded, timeout=200):  # from the cache: synchronous
        audition.request(files[0], play=False)


def test_transport_controls(qtbot, setup):
    clock, player, audition, bar, files = setup
    with qtbot.waitSignal(audition.loaded, timeout=5000):
        audition.request(files[0], play=False)
    bar.play_button.click()
    assert player.is_playing
    bar.play_button.click()
    assert not player.is_playing
    bar.toggle_loop()
    assert player.loop is True
    bar.set_volume_percent(35)
    assert player.volume == pytest.approx(0.35)
    audition.seek(0.25)
    assert player.position_s == pytest.approx(0.25)


def test_no_device_message_and_bad_file(qtbot, setup, tmp_path):
    clock, player, audition, bar, files = setup
    assert "no audio output device" in bar.status_label.text()
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF0000WAVEjunk")
    with qtbot.waitSignal(audition.loadFailed, timeout=5000) as blocker:
        audition.request(str(bad), play=True)
    assert blocker.args[0] == str(bad)
    assert "broken.wav" in blocker.args[1]
    assert "broken.wav" in bar.status_label.text()
    assert audition.current_path is None
