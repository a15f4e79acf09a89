"""Players: the lock-free transport, the NullPlayer's virtual clock, the fallback in
open_player, and real PortAudio output into an ALSA file/null device in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import numpy as np
import pytest

from anomalizer_desktop.core.audio import playback as pb
from anomalizer_desktop.core.audio.playback import (
    NO_DEVICE_MESSAGE,
    NullPlayer,
    PlaybackError,
    Player,
    SoundDevicePlayer,
    open_player,
)
from anomalizer_desktop.core.errors import AnomalizerError

REPO = Path(__file__).resolve().parents[2]
ALSA_CONF = Path("/usr/share/alsa/alsa.conf")


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# ------------------------------------------------------------------ transport (callback logic)


def transport(frames: int, channels: int = 1) -> pb._Transport:
    ramp = np.arange(1, frames + 1, dtype=np.float32)
    buf = np.repeat(ramp[:, None], channels, axis=1) if channels > 1 else ramp[:, None]
    t = pb._Transport(np.ascontiguousarray(buf))
    t.playing = True
    return t


def test_transport_end_without_loop_pads_silence_and_stops() -> None:
    t = transport(10)
    out = np.full((8, 2), 99.0, dtype=np.float32)
    assert t.fill(out) is True
    np.testing.assert_array_equal(out[:, 0], np.arange(1, 9))
    np.testing.assert_array_equal(out[:, 1], np.arange(1, 9))  # mono fans out to stereo
    out[:] = 99.0
    assert t.fill(out) is False
    np.testing.assert_array_equal(out[:2, 0], [9, 10])
    assert np.all(out[2:] == 0.0)
    assert t.pos == 10 and t.position == 10 and t.playing is False


def test_transport_loop_wraps_several_times_in_one_block() -> None:
    t = transport(3)
    t.loop = True
    t.request_seek(2)
    out = np.zeros((8, 1), dtype=np.float32)
    assert t.fill(out) is True
    np.testing.assert_array_equal(out[:, 0], [3, 1, 2, 3, 1, 2, 3, 1])
    assert t.pos == 1 and t.playing


def test_transport_volume_and_seek() -> None:
    t = transport(100, channels=2)
    t.gain = 0.25
    t.request_seek(50)
    assert t.position == 50  # visible before the callback ran
    out = np.zeros((4, 2), dtype=np.float32)
    t.fill(out)
    np.testing.assert_allclose(out, 0.25 * np.array([[51, 51], [52, 52], [53, 53], [54, 54]]))
    assert t.position == 54
    t.request_seek(10**9)  # clamped to the end
    assert t.position == 100
    t.request_seek(-5)
    assert t.position == 0


def test_transport_seek_is_not_lost_to_a_concurrent_position_update() -> None:
    t = transport(100)
    out = np.zeros((4, 1), dtype=np.float32)
    t.request_seek(80)
    t.pos = 12  # the callback's own write of its position lands after the seek was posted
    t.fill(out)
    np.testing.assert_array_equal(out[:, 0], [81, 82, 83, 84])


def test_prepare_layouts() -> None:
    assert pb._prepare(np.zeros(5), 48000).shape == (5, 1)
    stereo = pb._prepare(np.ones((5, 2)), 48000)
    assert stereo.shape == (5, 2) and stereo.dtype == np.float32 and stereo.flags.c_contiguous
    folded = pb._prepare(np.tile([0.0, 1.0, 2.0, 3.0], (5, 1)), 48000)
    assert folded.shape == (5, 1) and np.allclose(folded, 1.5)
    assert pb._prepare(np.ones((5, 2)), 48000, max_channels=1).shape == (5, 1)
    cleaned = pb._prepare(np.array([np.nan, np.inf, 0.5]), 48000)
    assert cleaned[:, 0].tolist() == [0.0, 0.0, 0.5]
    for bad in (np.zeros(0), np.zeros((2, 2, 2)), np.zeros((4, 0))):
        with pytest.raises(PlaybackError):
            pb._prepare(bad, 48000)
    with pytest.raises(PlaybackError):
        pb._prepare(np.zeros(4), 0)


# ------------------------------------------------------------------ NullPlayer


def test_null_player_virtual_clock() -> None:
    clock = FakeClock()
    p = NullPlayer(clock=clock)
    assert isinstance(p, Player) and issubclass(PlaybackError, AnomalizerError)
    assert p.available is False and p.status_message == NO_DEVICE_MESSAGE
    assert (p.duration_s, p.position_s, p.is_playing) == (0.0, 0.0, False)
    with pytest.raises(PlaybackError, match="nothing loaded"):
        p.play()
    p.load(np.zeros(48_000 * 2, dtype=np.float32), 48_000)
    assert p.duration_s == 2.0
    p.play(0.5)
    assert p.is_playing and p.position_s == 0.5
    clock.now += 0.75
    assert p.position_s == pytest.approx(1.25)
    p.stop()
    clock.now += 10
    assert not p.is_playing and p.position_s == pytest.approx(1.25)
    p.play(1.5)
    clock.now += 1.0  # runs past the end without loop
    assert not p.is_playing and p.position_s == 2.0


def test_null_player_loop_and_seek() -> None:
    clock = FakeClock()
    p = NullPlayer("custom reason", clock=clock)
    assert p.status_message == "custom reason"
    p.load(np.zeros((24_000, 2), dtype=np.float32), 48_000)  # 0.5 s stereo
    p.loop = True
    p.play()
    clock.now += 1.2
    assert p.is_playing and p.position_s == pytest.approx(0.2)
    p.seek(0.1)
    assert p.position_s == pytest.approx(0.1)
    clock.now += 0.1
    assert p.position_s == pytest.approx(0.2)
    p.loop = False  # from here on it runs to the end and stops
    clock.now += 0.2
    assert p.position_s == pytest.approx(0.4) and p.is_playing
    clock.now += 0.2
    assert p.position_s == 0.5 and not p.is_playing
    p.seek(-3)
    assert p.position_s == 0.0 and not p.is_playing
    p.seek(99)
    assert p.position_s == 0.5


def test_null_player_volume_and_reload() -> None:
    p = NullPlayer(clock=FakeClock())
    p.volume = 0.3
    assert p.volume == 0.3
    p.volume = 7
    assert p.volume == 1.0
    p.volume = -1
    assert p.volume == 0.0
    with pytest.raises(ValueError):
        p.volume = float("nan")
    p.load(np.zeros(480, dtype=np.float32), 48_000)
    p.play(0.005)
    p.load(np.zeros(4800, dtype=np.float32), 48_000)  # a new file stops and rewinds
    assert not p.is_playing and p.position_s == 0.0 and p.duration_s == 0.1
    with pytest.raises(PlaybackError):
        p.load(np.zeros(0, dtype=np.float32), 48_000)
    p.close()


def test_null_player_real_clock_moves() -> None:
    p = NullPlayer()
    p.load(np.zeros(48_000 * 60, dtype=np.float32), 48_000)
    p.play()
    before = p.position_s
    import time

    time.sleep(0.05)
    assert 0.03 < p.position_s - before < 2.0


# ------------------------------------------------------------------ open_player fallback


def test_open_player_never_raises() -> None:
    player = open_player()
    try:
        assert isinstance(player, Player)
        assert isinstance(player.status_message, str) and player.status_message
        if not player.available:
            assert isinstance(player, NullPlayer)
    finally:
        player.close()


def test_open_player_without_portaudio(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> None:
        raise OSError("PortAudio library not found")

    monkeypatch.delenv("ANOMALIZER_NO_AUDIO", raising=False)
    monkeypatch.setattr(pb, "_import_sounddevice", missing)
    player = open_player()
    assert isinstance(player, NullPlayer) and not player.available
    assert "PortAudio library not found" in player.status_message
    assert "libportaudio2" in player.status_message
    with pytest.raises(PlaybackError, match="PortAudio"):
        SoundDevicePlayer()


def fake_sounddevice(query: object) -> types.SimpleNamespace:
    class PortAudioError(Exception):
        pass

    def query_devices(device: object = None, kind: object = None) -> object:
        if isinstance(query, BaseException):
            raise query
        if callable(query):
            return query(PortAudioError)
        return query

    return types.SimpleNamespace(PortAudioError=PortAudioError, query_devices=query_devices)


def test_open_player_without_output_device(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANOMALIZER_NO_AUDIO", raising=False)

    def no_device(error_cls: type[Exception]) -> object:
        raise error_cls("Error querying device -1")

    monkeypatch.setattr(pb, "_import_sounddevice", lambda: fake_sounddevice(no_device))
    player = open_player()
    assert isinstance(player, NullPlayer) and player.status_message == NO_DEVICE_MESSAGE
    input_only = {"name": "mic", "index": 0, "max_output_channels": 0, "default_samplerate": 0}
    monkeypatch.setattr(pb, "_import_sounddevice", lambda: fake_sounddevice(input_only))
    assert open_player().status_message == NO_DEVICE_MESSAGE


def test_open_player_survives_unexpected_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANOMALIZER_NO_AUDIO", raising=False)
    monkeypatch.setattr(pb, "_import_sounddevice",
                        lambda: fake_sounddevice(RuntimeError("driver exploded")))
    player = open_player()
    assert isinstance(player, NullPlayer) and "driver exploded" in player.status_message


def test_open_player_can_be_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANOMALIZER_NO_AUDIO", "1")
    monkeypatch.setattr(pb, "_import_sounddevice", lambda: pytest.fail("must not touch audio"))
    player = open_player()
    assert isinstance(player, NullPlayer) and "ANOMALIZER_NO_AUDIO" in player.status_message


# ------------------------------------------------------------------ real PortAudio output

PRELUDE = """
import json, sys, time
import numpy as np
try:
    import sounddevice
except OSError as exc:
    print(json.dumps({"skip": str(exc)})); sys.exit(0)
from anomalizer_desktop.core.audio.playback import SoundDevicePlayer, open_player
"""

SCRIPT = PRELUDE + textwrap.dedent(
    """

    def wait_idle(p, limit=10.0):
        t0 = time.monotonic()
        while p.is_playing and time.monotonic() - t0 < limit:
            time.sleep(0.001)
        return time.monotonic() - t0

    report = {}
    player = open_player()
    report["type"] = type(player).__name__
    report["status"] = player.status_message
    if not isinstance(player, SoundDevicePlayer):
        print(json.dumps(report)); sys.exit(0)
    signal = (0.1 + 0.8 * np.arange(1000) / 1000).astype(np.float32)
    player.load(signal, 48000)
    report["duration"] = player.duration_s
    player.volume = 0.5
    player.play()  # the null device is unpaced: 1000 frames are gone in microseconds
    wait_idle(player)
    report["ended"] = [player.is_playing, player.position_s]
    player.play(0.01)  # a stream that ran to its end restarts
    wait_idle(player)
    report["replayed"] = [player.is_playing, player.position_s]
    player.close()
    sys.stdout.flush()
    print(json.dumps(report))
    """
)

LOOP_SCRIPT = PRELUDE + textwrap.dedent(
    """
    player = open_player()
    report = {"type": type(player).__name__}
    player.load(np.zeros((22050, 2), dtype=np.float32), 44100)
    player.loop = True
    player.play(0.25)
    positions = []
    for _ in range(20):
        time.sleep(0.005)
        positions.append(player.position_s)
    report["looping"] = player.is_playing
    report["positions"] = positions
    player.seek(0.4)
    player.loop = False
    t0 = time.monotonic()
    while player.is_playing and time.monotonic() - t0 < 10:
        time.sleep(0.001)
    report["after_unloop"] = [player.is_playing, player.position_s, player.duration_s]
    player.play(0.1)
    player.stop()
    report["stopped"] = player.is_playing
    player.close()
    print(json.dumps(report))
    """
)


def run_with_alsa(tmp_path: Path, script: str, pcm: str) -> dict[str, object]:
    if not ALSA_CONF.exists():
        pytest.skip("no ALSA configuration on this machine")
    conf = tmp_path / "asound.conf"
    conf.write_text(f"<{ALSA_CONF}>\npcm.!default {{\n{pcm}\n}}\n")
    env = dict(os.environ, ALSA_CONFIG_PATH=str(conf), PYTHONPATH=str(REPO))
    env.pop("ANOMALIZER_NO_AUDIO", None)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    if "skip" in report:
        pytest.skip(f"PortAudio is not installed (apt-get install libportaudio2): {report['skip']}")
    assert report["type"] == "SoundDevicePlayer", report
    return report


@pytest.mark.timeout(120)
def test_sounddevice_player_writes_the_samples(tmp_path: Path) -> None:
    """Plays into ALSA's ``file`` plugin and checks what reached the device."""
    raw = tmp_path / "out.raw"
    pcm = f'type file\nslave.pcm "null"\nfile "{raw}"\nformat "raw"'
    report = run_with_alsa(tmp_path, SCRIPT, pcm)
    assert report["status"] == "audio output: default"
    assert report["duration"] == pytest.approx(1000 / 48000)
    assert report["ended"] == [False, pytest.approx(1000 / 48000)]
    assert report["replayed"] == [False, pytest.approx(1000 / 48000)]
    out = np.fromfile(raw, dtype="<f4").reshape(-1, 2)  # PortAudio asked ALSA for float32
    np.testing.assert_array_equal(out[:, 0], out[:, 1])
    left = out[:, 0]
    starts = np.flatnonzero((left[1:] != 0) & (left[:-1] == 0)) + 1
    assert len(starts) == 2  # the full take, then the replay from 10 ms
    expected = 0.5 * (0.1 + 0.8 * np.arange(1000) / 1000)
    np.testing.assert_allclose(left[starts[0] : starts[0] + 1000], expected, atol=1e-6)
    assert left[starts[0] + 1000] == 0.0  # silence after the end, not stale samples
    np.testing.assert_allclose(left[starts[1] : starts[1] + 520], expected[480:], atol=1e-6)


@pytest.mark.timeout(120)
def test_sounddevice_player_loop_seek_stop(tmp_path: Path) -> None:
    report = run_with_alsa(tmp_path, LOOP_SCRIPT, "type null")
    assert report["looping"] is True
    positions = report["positions"]
    assert all(0.0 <= p < 0.5 for p in positions)  # type: ignore[union-attr]
    assert len(set(positions)) > 1  # type: ignore[arg-type]
    assert report["after_unloop"] == [False, 0.5, 0.5]
    assert report["stopped"] is False
