"""FolderWatcher with real files, real inotify (watchdog), real threads."""

from __future__ import annotations

import os
import shutil
import struct
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import soundfile as sf

from anomalizer_desktop.core.watch.watcher import FolderWatcher, WatchFolderError

SR = 48_000
PAUSE_LONGER_THAN_STABLE = 0.7  # > stable_for_s (0.3 s): a naive "quiet for a while" check fires


class Recorder:
    """Collects callbacks (with arrival time) from the watcher thread."""

    def __init__(self) -> None:
        self.ready: list[tuple[float, Path]] = []
        self.errors: list[tuple[Path, str]] = []
        self.threads: set[str] = set()
        self._cond = threading.Condition()

    def on_ready(self, path: Path) -> None:
        with self._cond:
            self.ready.append((time.monotonic(), path))
            self.threads.add(threading.current_thread().name)
            self._cond.notify_all()

    def on_error(self, path: Path, reason: str) -> None:
        with self._cond:
            self.errors.append((path, reason))
            self._cond.notify_all()

    def wait(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def paths(self) -> list[Path]:
        return [p for _, p in self.ready]


@pytest.fixture
def watched(tmp_path: Path):
    folder = tmp_path / "exports"
    folder.mkdir()
    rec = Recorder()
    before = set(threading.enumerate())
    watcher = FolderWatcher([folder], rec.on_ready, on_error=rec.on_error, stable_for_s=0.3, poll_s=0.1)
    watcher.start()
    yield folder, rec, watcher
    watcher.stop()
    leftover = [t for t in set(threading.enumerate()) - before if t.is_alive()]
    assert not leftover, f"threads left running: {leftover}"


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * 110 * t)).astype(np.float32)


def _wav_header(data_bytes: int, *, riff_size: int | None = None) -> bytes:
    fmt = struct.pack("<HHIIHH", 1, 1, SR, SR * 2, 2, 16)
    riff = 36 + data_bytes if riff_size is None else riff_size
    return (b"RIFF" + struct.pack("<I", riff) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", data_bytes))


def _write_raw_slowly(path: Path, *, placeholder: int, seconds: float = 1.0) -> float:
    """A recorder writing 16-bit PCM in 0.1-s chunks with an unfinalised header, pausing once
    for longer than the watcher's quiet time, then patching the header. Returns finish time."""
    pcm = (_tone(seconds) * 32767).astype("<i2").tobytes()
    chunks = [pcm[i : i + len(pcm) // 10] for i in range(0, len(pcm), len(pcm) // 10)]
    with open(path, "wb") as f:
        f.write(_wav_header(placeholder, riff_size=placeholder))
        for i, chunk in enumerate(chunks):
            f.write(chunk)
            f.flush()
            time.sleep(PAUSE_LONGER_THAN_STABLE if i == 4 else 0.1)
        f.seek(0)
        f.write(_wav_header(len(pcm)))  # finalise: real RIFF and data sizes
    return time.monotonic()


def test_slow_soundfile_write_to_temp_name_then_rename(watched) -> None:
    folder, rec, _ = watched
    tmp, final = folder / "take 1.wav.tmp", folder / "take 1.wav"
    with sf.SoundFile(tmp, "w", SR, 1, subtype="PCM_24", format="WAV") as f:
        for block in np.array_split(_tone(2.0), 10):
            f.write(block)
            f.flush()
            time.sleep(0.1)
    os.rename(tmp, final)
    done = time.monotonic()
    assert rec.wait(lambda: len(rec.ready) >= 1)
    latency = rec.ready[0][0] - done
    print(f"\nwatcher latency after rename: {latency * 1000:.0f} ms")
    assert latency < 5.0
    time.sleep(0.8)  # nothing else may arrive (no report for the .tmp, no duplicate)
    assert rec.paths() == [final]
    assert rec.errors == []
    assert rec.threads == {"anomalizer-folder-watcher"}


@pytest.mark.parametrize("placeholder", [0, 0xFFFFFFFF], ids=["zero-size", "ffff-size"])
def test_raw_incremental_write_reported_once_after_header_finalised(watched, placeholder: int) -> None:
    folder, rec, _ = watched
    path = folder / "Bounce.wav"
    done = _write_raw_slowly(path, placeholder=placeholder)
    assert rec.wait(lambda: len(rec.ready) >= 1)
    t_ready, got = rec.ready[0]
    latency = t_ready - done
    print(f"\nwatcher latency after header finalised ({placeholder:#x}): {latency * 1000:.0f} ms")
    assert got == path
    assert t_ready > done, "reported while the header was not finalised"
    assert latency < 5.0
    time.sleep(0.8)
    assert rec.paths() == [path]
    assert sf.info(path).frames == SR


def test_temp_partial_and_hidden_names_ignored(watched) -> None:
    folder, rec, _ = watched
    for name in ("a.wav.tmp", "b.wav.part", ".hidden.wav", "notes.txt"):
        sf.write(folder / name, _tone(0.2), SR, format="WAV")
    sf.write(folder / "real.flac", _tone(0.2), SR)
    assert rec.wait(lambda: len(rec.ready) >= 1)
    time.sleep(0.8)
    assert rec.paths() == [folder / "real.flac"]


def test_rename_into_folder_and_into_new_subfolder(watched, tmp_path: Path) -> None:
    folder, rec, _ = watched
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    sf.write(outside / "moved.wav", _tone(0.5), SR)
    os.rename(outside / "moved.wav", folder / "moved.wav")
    assert rec.wait(lambda: len(rec.ready) >= 1)
    sub = folder / "Session 2" / "Bounces"
    sub.mkdir(parents=True)
    time.sleep(0.2)
    sf.write(sub / "deep.wav", _tone(0.5), SR)
    assert rec.wait(lambda: len(rec.ready) >= 2)
    assert rec.paths() == [folder / "moved.wav", sub / "deep.wav"]


def test_burst_coalesces_and_rewrite_is_reported_again(watched) -> None:
    folder, rec, _ = watched
    path = folder / "burst.wav"
    pcm = (_tone(1.0) * 32767).astype("<i2").tobytes()
    with open(path, "wb") as f:  # ~200 modify events in quick succession
        f.write(_wav_header(len(pcm)))
        for i in range(0, len(pcm), 480):
            f.write(pcm[i : i + 480])
            f.flush()
    assert rec.wait(lambda: len(rec.ready) >= 1)
    time.sleep(0.8)
    assert rec.paths() == [path]
    sf.write(path, _tone(1.5), SR)  # the DAW bounces the same name again
    assert rec.wait(lambda: len(rec.ready) >= 2)
    time.sleep(0.5)
    assert rec.paths() == [path, path]


def test_existing_files_not_reported_and_deleted_pending_file_dropped(tmp_path: Path) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    sf.write(folder / "old.wav", _tone(0.3), SR)
    rec = Recorder()
    with FolderWatcher([folder], rec.on_ready, on_error=rec.on_error, timeout_s=1.0):
        with open(folder / "gone.wav", "wb") as f:
            f.write(_wav_header(0))
        os.remove(folder / "gone.wav")
        time.sleep(1.5)
    assert rec.ready == [] and rec.errors == []


def test_never_finalised_file_times_out_with_error(tmp_path: Path) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    rec = Recorder()
    with FolderWatcher([folder], rec.on_ready, on_error=rec.on_error, timeout_s=1.0):
        with open(folder / "crashed.wav", "wb") as f:
            f.write(_wav_header(0) + b"\0" * 4800)
        assert rec.wait(lambda: len(rec.errors) >= 1, timeout=5.0)
    path, reason = rec.errors[0]
    assert path == folder / "crashed.wav"
    assert "0 audio frames" in reason and "gave up" in reason
    assert rec.ready == []


def test_callback_exception_does_not_stop_watching(watched, caplog: pytest.LogCaptureFixture) -> None:
    folder, rec, watcher = watched
    calls: list[Path] = []

    def flaky(path: Path) -> None:
        with rec._cond:
            calls.append(path)
            rec._cond.notify_all()
        if len(calls) == 1:
            raise RuntimeError("scoring failed")
        rec.on_ready(path)

    watcher.on_ready = flaky
    sf.write(folder / "one.wav", _tone(0.3), SR)
    assert rec.wait(lambda: len(calls) >= 1)
    sf.write(folder / "two.wav", _tone(0.3), SR)
    assert rec.wait(lambda: len(rec.ready) >= 1)
    assert rec.paths() == [folder / "two.wav"]
    assert "scoring failed" in caplog.text


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    rec = Recorder()
    watcher = FolderWatcher([tmp_path / "nope"], rec.on_ready)
    with pytest.raises(WatchFolderError, match="does not exist"):
        watcher.start()
    assert not watcher.running
    (tmp_path / "file.wav").write_bytes(b"x")
    with pytest.raises(WatchFolderError, match="not a folder"):
        FolderWatcher([tmp_path / "file.wav"], rec.on_ready).start()
    watcher.stop()  # stop before/after a failed start is fine


def test_deleted_folder_reported_and_rewatched_when_back(watched) -> None:
    folder, rec, _ = watched
    shutil.rmtree(folder)
    assert rec.wait(lambda: len(rec.errors) >= 1, timeout=5.0)
    path, reason = rec.errors[0]
    assert path == folder
    assert "deleted" in reason or "no longer exists" in reason
    folder.mkdir()
    time.sleep(1.5)  # the folder check runs once a second
    sf.write(folder / "after.wav", _tone(0.3), SR)
    assert rec.wait(lambda: len(rec.ready) >= 1, timeout=5.0)
    assert rec.paths() == [folder / "after.wav"]
    assert len(rec.errors) == 1


def test_add_and_remove_folder_while_running(watched, tmp_path: Path) -> None:
    folder, rec, watcher = watched
    second = tmp_path / "second"
    second.mkdir()
    watcher.add_folder(second)
    assert second in watcher.folders
    sf.write(second / "s.wav", _tone(0.3), SR)
    assert rec.wait(lambda: len(rec.ready) >= 1)
    watcher.remove_folder(folder)
    sf.write(folder / "ignored.wav", _tone(0.3), SR)
    time.sleep(0.8)
    assert rec.paths() == [second / "s.wav"]
    with pytest.raises(WatchFolderError):
        watcher.add_folder(tmp_path / "missing")


def test_stop_is_idempotent_and_joins_all_threads(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    watcher = FolderWatcher([tmp_path], lambda p: None)
    watcher.stop()
    watcher.start()
    watcher.start()  # no second set of threads
    assert len(set(threading.enumerate()) - before) >= 2
    watcher.stop()
    watcher.stop()
    assert not watcher.running
    assert [t for t in set(threading.enumerate()) - before if t.is_alive()] == []
    with FolderWatcher([tmp_path], lambda p: None) as again:  # restart after stop works too
        assert again.running
    assert [t for t in set(threading.enumerate()) - before if t.is_alive()] == []


def test_stop_from_inside_the_callback_does_not_deadlock(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    stopped = threading.Event()
    holder: list[FolderWatcher] = []

    def on_ready(path: Path) -> None:
        holder[0].stop()  # e.g. the user closes the watch from a notification handler
        stopped.set()

    watcher = FolderWatcher([tmp_path], on_ready)
    holder.append(watcher)
    watcher.start()
    sf.write(tmp_path / "x.wav", _tone(0.2), SR)
    assert stopped.wait(5.0)
    for t in set(threading.enumerate()) - before:
        t.join(timeout=2.0)
        assert not t.is_alive(), t
    assert not watcher.running


def _write_with_pauses(path: Path, *, final_header_first: bool, pauses: int = 3,
                       pause_s: float = 0.6) -> float:
    """A renderer writing 16-bit PCM in pieces with ``pauses`` pauses longer than the quiet
    time. ``final_header_first``: the header declares the finished length from the start;
    otherwise it is rewritten after every piece, so header and data always agree."""
    pcm = (_tone(1.0) * 32767).astype("<i2").tobytes()
    pieces = np.array_split(np.frombuffer(pcm, np.uint8), pauses + 1)
    written = 0
    with open(path, "wb") as f:
        f.write(_wav_header(len(pcm) if final_header_first else 0))
        for i, piece in enumerate(pieces):
            f.write(piece.tobytes())
            written += len(piece)
            if not final_header_first:
                f.seek(0)
                f.write(_wav_header(written - written % 2))
                f.seek(0, os.SEEK_END)
            f.flush()
            if i < pauses:
                time.sleep(pause_s)
    return time.monotonic()


def test_pausing_writer_with_final_header_is_reported_once_when_done(watched) -> None:
    folder, rec, _ = watched
    path = folder / "render.wav"
    done = _write_with_pauses(path, final_header_first=True)
    assert rec.wait(lambda: len(rec.ready) >= 1)
    time.sleep(1.0)
    assert rec.paths() == [path]  # one report: none while the data was short of the header
    assert rec.ready[0][0] > done
    assert rec.errors == []


def test_settle_time_learns_how_long_the_writer_pauses(watched) -> None:
    folder, rec, watcher = watched
    first = folder / "take 1.wav"
    _write_with_pauses(first, final_header_first=False)
    assert rec.wait(lambda: first in rec.paths())
    time.sleep(2.0)
    reports_first = rec.paths().count(first)
    assert 1 <= reports_first <= 2  # at most one early report: then the pause is known
    assert watcher.settle_s(folder) >= 2 * 0.6 - 0.1
    second = folder / "take 2.wav"
    done = _write_with_pauses(second, final_header_first=False)
    assert rec.wait(lambda: second in rec.paths(), timeout=8.0)
    time.sleep(1.5)
    assert rec.paths().count(second) == 1  # the folder's writer is known now: once, at the end
    assert [t for t, p in rec.ready if p == second][0] > done


def test_a_crashed_export_short_of_its_header_is_reported_after_the_grace(tmp_path, monkeypatch):
    from anomalizer_desktop.core.watch import watcher as watcher_module

    monkeypatch.setattr(watcher_module, "SHORT_GRACE_S", 1.0)
    folder = tmp_path / "w"
    folder.mkdir()
    rec = Recorder()
    with FolderWatcher([folder], rec.on_ready, on_error=rec.on_error, stable_for_s=0.2):
        pcm = (_tone(1.0) * 32767).astype("<i2").tobytes()
        (folder / "crashed.wav").write_bytes(_wav_header(len(pcm)) + pcm[: len(pcm) // 2])
        assert rec.wait(lambda: len(rec.ready) >= 1, timeout=5.0)
    assert rec.paths() == [folder / "crashed.wav"] and rec.errors == []
