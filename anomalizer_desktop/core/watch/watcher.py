"""Watch folders (a DAW's export folder) and report each audio file once it is finished.

How a file counts as *finished*: its size and mtime have not changed for a settle time, it
opens, its header parses with at least one audio frame (``soundfile.info``), and the header and
the data agree. A WAV whose header still says 0 data frames, still holds the 0xFFFFFFFF "size
unknown" placeholder of a recorder that has not finalised it, or promises more data than the
file holds yet (a writer that wrote the final header first and pauses while it renders), keeps
being polled; one that promises too much for ``SHORT_GRACE_S`` without any change is reported
all the same (an export that crashed: the scan calls it truncated). A file that stays
unreadable for ``timeout_s`` without any change is given up with ``on_error(path, reason)``.

The settle time adapts to the writer: it is ``stable_for_s`` at first and grows to
``GAP_FACTOR`` times the longest pause seen while the file was written, and, for the folder,
while earlier files there were written, or between a report and the same file changing again
(reported too early: the folder's writer pauses that long). Capped at ``MAX_SETTLE_S``.

Events come from watchdog (inotify on Linux): created, modified, closed-after-write and
moved-into events of audio names (:func:`~anomalizer_desktop.core.audio.io.is_audio_path`;
temp/partial/hidden names are ignored, so "take.wav.tmp" renamed to "take.wav" is reported as
"take.wav"). Bursts of events for one file give one report; a file rewritten later (new size or
mtime after it was reported) is reported again. Files already in a folder when watching starts
are not reported.

Threads: watchdog's observer thread only queues events; a checker thread (``poll_s``) stats the
pending files and calls ``on_ready`` / ``on_error``. **Both callbacks run on the checker thread**:
a GUI must marshal them to its own thread (e.g. emit a Qt signal). Callbacks should return
quickly (queue the scoring work); an exception in a callback is logged and watching goes on.

A watched folder that disappears (deleted, moved, unmounted) is reported once through
``on_error(folder, reason)`` and watched again if it comes back.
"""

from __future__ import annotations

import logging
import os
import queue
import struct
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import AnomalizerError

log = logging.getLogger(__name__)

ROOT_CHECK_S = 1.0  # how often the watched folders themselves are checked for existence
PLACEHOLDER_GRACE_S = 5.0  # quiet time after which a WAV with placeholder sizes is accepted
SHORT_GRACE_S = 10.0  # quiet time after which a file holding less than its header promises is
# accepted
GAP_FACTOR = 2.0  # settle = this many times the writer's longest pause ...
MAX_SETTLE_S = 5.0  # ... up to this
RELEARN_S = 60.0  # a reported file changing again within this long was reported too early
_RIFF_PLACEHOLDER = 0xFFFFFFFF
_USED_EVENTS = frozenset({"created", "modified", "closed", "moved", "deleted"})


class WatchFolderError(AnomalizerError):
    """A folder cannot be watched (missing, not a folder, or the OS refused a watch)."""


@dataclass
class _Pending:
    last_change: float  # monotonic time of the last event or observed size/mtime change
    signature: tuple[int, int] | None = None  # (size, mtime_ns) at the last check
    reason: str = ""  # why it was not ready at the last check
    longest_gap: float = 0.0  # the longest pause between two changes while it was written

    def changed(self, when: float) -> None:
        self.longest_gap = max(self.longest_gap, when - self.last_change)
        self.last_change = max(self.last_change, when)


def _norm(path: Path | str) -> Path:
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


class FolderWatcher:
    """Calls ``on_ready(path)`` once for every audio file finished in the watched folders."""

    def __init__(
        self,
        folders: Sequence[Path],
        on_ready: Callable[[Path], None],
        *,
        stable_for_s: float = 0.3,
        poll_s: float = 0.1,
        recursive: bool = True,
        on_error: Callable[[Path, str], None] | None = None,
        timeout_s: float = 30.0,
    ) -> None:
        self.on_ready = on_ready
        self.on_error = on_error
        self.stable_for_s = float(stable_for_s)
        self.poll_s = float(poll_s)
        self.recursive = recursive
        self.timeout_s = float(timeout_s)
        self._folders: list[Path] = []
        for folder in folders:
            if _norm(folder) not in self._folders:
                self._folders.append(_norm(folder))
        self._lock = threading.RLock()
        self._pending: dict[Path, _Pending] = {}
        self._reported: dict[Path, tuple[int, int]] = {}
        self._reported_at: dict[Path, float] = {}  # monotonic time of the last change reported
        self._writer_pause: dict[Path, float] = {}  # watched folder -> its writer's longest pause
        self._watches: dict[Path, Any] = {}  # folder -> watchdog ObservedWatch
        self._lost: set[Path] = set()
        self._observer: Any = None
        self._handler: Any = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._events: queue.SimpleQueue[tuple[float, str, bool, str, str]] = queue.SimpleQueue()

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def folders(self) -> list[Path]:
        with self._lock:
            return list(self._folders)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        """Start watching. Raises :class:`WatchFolderError` if a folder cannot be watched."""
        with self._lock:
            if self._thread is not None:
                return
            for folder in self._folders:
                _check_folder(folder)
            from watchdog.observers import Observer

            self._events = queue.SimpleQueue()
            self._observer = Observer()
            self._handler = _make_handler(self)
            try:
                for folder in self._folders:
                    self._schedule(folder)
                self._observer.start()
            except OSError as exc:
                self._observer.unschedule_all()
                self._observer = None
                self._watches.clear()
                raise WatchFolderError(_os_error_message(exc)) from exc
            self._stop = threading.Event()  # a fresh one: an old thread never sees it cleared
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name="anomalizer-folder-watcher", daemon=True
            )
            self._thread.start()
            log.info("watching %s", ", ".join(map(str, self._folders)) or "(no folders yet)")

    def stop(self) -> None:
        """Stop watching and join the threads. Safe to call twice or before :meth:`start`."""
        with self._lock:
            observer, thread = self._observer, self._thread
            self._observer = self._thread = None
            self._watches.clear()
            self._pending.clear()
            self._lost.clear()
            self._stop.set()
        if observer is not None:
            observer.stop()
            observer.join()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def __enter__(self) -> FolderWatcher:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def add_folder(self, path: Path | str) -> None:
        """Watch one more folder (at once if running). Raises :class:`WatchFolderError`."""
        folder = _norm(path)
        with self._lock:
            if folder in self._folders:
                return
            if self._observer is not None:
                _check_folder(folder)
                try:
                    self._schedule(folder)
                except OSError as exc:
                    raise WatchFolderError(_os_error_message(exc)) from exc
            self._folders.append(folder)

    def remove_folder(self, path: Path | str) -> None:
        """Stop watching a folder; files pending under it are forgotten. Unknown paths: no-op."""
        folder = _norm(path)
        with self._lock:
            if folder not in self._folders:
                return
            self._folders.remove(folder)
            self._lost.discard(folder)
            self._unschedule(folder)
            for pending in [p for p in self._pending if _is_under(p, folder)]:
                del self._pending[pending]

    # -- events ------------------------------------------------------------------------------
    # The observer thread only queues events; the checker thread applies them. So the observer
    # never waits for this class's lock (watchdog holds its own lock while dispatching, and the
    # checker thread holds ours while it (un)schedules watches: one lock order, no deadlock).

    def _queue_event(self, event: Any) -> None:
        if event.event_type not in _USED_EVENTS:  # opened, closed_no_write, attrib
            return
        dest = getattr(event, "dest_path", "") or ""
        self._events.put((time.monotonic(), event.event_type, event.is_directory,
                          os.fsdecode(event.src_path), os.fsdecode(dest)))

    def _apply_events(self) -> None:
        while True:
            try:
                when, kind, is_dir, src_raw, dest_raw = self._events.get_nowait()
            except queue.Empty:
                return
            src = _norm(src_raw)
            if is_dir:
                if kind in ("deleted", "moved") and src in self._watches:
                    self._folder_lost(src, "was deleted or moved away")
            elif kind == "moved":
                self._forget(src)
                self._touch(_norm(dest_raw), when)
            elif kind == "deleted":
                self._forget(src)
            elif kind in ("created", "modified", "closed"):
                self._touch(src, when)

    def _touch(self, path: Path, when: float) -> None:
        from ..audio.io import is_audio_path

        if not is_audio_path(path):
            return
        with self._lock:
            if self._observer is None or not any(_is_under(path, f) for f in self._watches):
                return
            pending = self._pending.get(path)
            if pending is None:
                pending = self._pending[path] = _Pending(last_change=when)
                reported_at = self._reported_at.get(path)
                if reported_at is not None and when - reported_at < RELEARN_S:
                    # it changed again after it was reported: the writer had only paused
                    pending.longest_gap = when - reported_at
                    self._learn(path, pending.longest_gap)
            else:
                pending.changed(when)

    def _forget(self, path: Path) -> None:
        with self._lock:
            self._pending.pop(path, None)
            self._reported.pop(path, None)
            self._reported_at.pop(path, None)

    def _folder_of(self, path: Path) -> Path | None:
        return next((f for f in self._folders if _is_under(path, f)), None)

    def _learn(self, path: Path, pause: float) -> None:
        """Remember how long the writer of ``path``'s folder pauses (called with the lock)."""
        folder = self._folder_of(path)
        if folder is not None and pause > self._writer_pause.get(folder, 0.0):
            self._writer_pause[folder] = min(pause, MAX_SETTLE_S / GAP_FACTOR)
            log.info("the writer in %s pauses up to %.2f s: files there settle for %.2f s",
                     folder, pause, self.settle_s(folder))

    def settle_s(self, folder: Path | str) -> float:
        """How long a file in ``folder`` must stay unchanged before it counts as finished."""
        with self._lock:
            pause = self._writer_pause.get(_norm(folder), 0.0)
        return min(MAX_SETTLE_S, max(self.stable_for_s, GAP_FACTOR * pause))

    def _settle_for(self, path: Path, pending: _Pending) -> float:
        folder = self._folder_of(path)
        base = self.settle_s(folder) if folder is not None else self.stable_for_s
        return min(MAX_SETTLE_S, max(base, GAP_FACTOR * pending.longest_gap))

    # -- checking (checker thread) -----------------------------------------------------------

    def _run(self, stop: threading.Event) -> None:
        next_root_check = 0.0
        while not stop.wait(self.poll_s):
            try:
                now = time.monotonic()
                if now >= next_root_check:
                    next_root_check = now + ROOT_CHECK_S
                    self._check_roots()
                self._apply_events()
                with self._lock:
                    paths = list(self._pending)
                for path in paths:
                    if stop.is_set():
                        break
                    self._check(path)
            except Exception:  # keep watching whatever happened
                log.exception("folder watcher: unexpected error")

    def _check(self, path: Path) -> None:
        now = time.monotonic()
        with self._lock:
            pending = self._pending.get(path)
            if pending is None:
                return
            try:
                st = os.stat(path)
            except FileNotFoundError:  # deleted or renamed away before it settled
                del self._pending[path]
                return
            except OSError as exc:
                signature, stat_error = None, str(exc)
            else:
                signature, stat_error = (st.st_size, st.st_mtime_ns), ""
            if signature != pending.signature:
                if pending.signature is not None or signature is None:
                    pending.changed(now)
                pending.signature = signature
            quiet = now - pending.last_change
            seen_change = pending.last_change
            if quiet < self._settle_for(path, pending):
                return
            if signature is not None and self._reported.get(path) == signature:
                del self._pending[path]  # nothing new since it was reported (e.g. a late close event)
                return
        reason = stat_error or _not_ready_reason(path, quiet, self.stable_for_s + PLACEHOLDER_GRACE_S)
        with self._lock:
            if self._pending.get(path) is not pending or pending.last_change != seen_change:
                return  # it changed while the header was read: check again later
            if reason is None:
                del self._pending[path]
                self._reported[path] = signature  # type: ignore[assignment]
                self._reported_at[path] = seen_change
                self._learn(path, pending.longest_gap)
            elif quiet >= self.timeout_s:
                del self._pending[path]
            else:
                if reason != pending.reason:
                    log.debug("%s not ready: %s", path, reason)
                pending.reason = reason
                return
        if reason is None:
            log.info("finished file: %s", path)
            self._call(self.on_ready, path)
        else:
            self._error(path, f"{reason}; gave up after {self.timeout_s:g} s without any change")

    def _check_roots(self) -> None:
        with self._lock:
            folders = list(self._folders)
        for folder in folders:
            exists = folder.is_dir()
            if not exists and folder not in self._lost:
                self._folder_lost(folder, "no longer exists")
            elif exists and folder in self._lost:
                with self._lock:
                    if folder not in self._folders or self._observer is None:
                        continue
                    try:
                        self._schedule(folder)
                    except OSError as exc:
                        log.warning("cannot watch %s again: %s", folder, exc)
                        continue
                    self._lost.discard(folder)
                log.info("watched folder is back, watching again: %s", folder)

    def _folder_lost(self, folder: Path, what: str) -> None:
        with self._lock:
            if folder in self._lost or folder not in self._folders:
                return
            self._lost.add(folder)
            self._unschedule(folder)
            for pending in [p for p in self._pending if _is_under(p, folder)]:
                del self._pending[pending]
        self._error(folder, f"watched folder {what}; it will be watched again if it comes back")

    # -- helpers -----------------------------------------------------------------------------

    def _schedule(self, folder: Path) -> None:
        self._watches[folder] = self._observer.schedule(self._handler, str(folder), recursive=self.recursive)

    def _unschedule(self, folder: Path) -> None:
        watch = self._watches.pop(folder, None)
        if watch is not None and self._observer is not None:
            try:
                self._observer.unschedule(watch)
            except Exception as exc:  # the emitter may already be gone with its folder
                log.debug("unschedule %s: %s", folder, exc)

    def _error(self, path: Path, reason: str) -> None:
        if self.on_error is None:
            log.warning("%s: %s", path, reason)
        else:
            self._call(self.on_error, path, reason)

    @staticmethod
    def _call(callback: Callable[..., None], *args: Any) -> None:
        try:
            callback(*args)
        except Exception:
            log.exception("folder watcher callback %r failed", callback)


def _make_handler(watcher: FolderWatcher) -> Any:
    from watchdog.events import FileSystemEventHandler

    class _Handler(FileSystemEventHandler):
        def dispatch(self, event: Any) -> None:  # one entry point for all event types
            try:
                watcher._queue_event(event)
            except Exception:
                log.exception("folder watcher: cannot handle %r", event)

    return _Handler()


def _check_folder(folder: Path) -> None:
    if not folder.exists():
        raise WatchFolderError(f"cannot watch {folder}: the folder does not exist")
    if not folder.is_dir():
        raise WatchFolderError(f"cannot watch {folder}: it is a file, not a folder")


def _os_error_message(exc: OSError) -> str:
    hint = ""
    if exc.errno == 28:  # ENOSPC from inotify_add_watch: the per-user watch limit
        hint = " (the system's inotify watch limit is reached: raise fs.inotify.max_user_watches)"
    return f"cannot watch folder: {exc}{hint}"


def _is_under(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _not_ready_reason(path: Path, quiet_s: float, placeholder_after_s: float) -> str | None:
    """None when the file's header parses with data; else why it is not ready yet."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception as exc:
        return f"cannot read the audio header yet ({str(exc).splitlines()[0] if str(exc) else exc!r})"
    if info.frames <= 0:
        return "the header says 0 audio frames (not finalised yet)"
    if quiet_s < placeholder_after_s and _riff_has_placeholder_sizes(path):
        return "the WAV header still holds placeholder sizes (not finalised yet)"
    missing = _bytes_missing(path)
    if missing > 0 and quiet_s < SHORT_GRACE_S:
        return f"the header promises {missing:,} more bytes of audio than the file holds yet"
    return None


def _bytes_missing(path: Path) -> int:
    """How much less audio data a WAV (RIFF) or AIFF (FORM) file holds than its header's data
    chunk declares; 0 when they agree, for placeholders and for other formats."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12:
                return 0
            if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
                endian, data_id = "<", b"data"
            elif head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
                endian, data_id = ">", b"SSND"
            else:
                return 0
            for _ in range(64):  # walk chunks up to the data
                chunk = f.read(8)
                if len(chunk) < 8:
                    return 0
                length = struct.unpack(endian + "I", chunk[4:8])[0]
                if chunk[:4] == data_id:
                    if length in (0, _RIFF_PLACEHOLDER):
                        return 0  # "not finalised" is told by the frame and placeholder tests
                    return max(0, f.tell() + length - size)
                f.seek(length + (length & 1), os.SEEK_CUR)
    except OSError:
        return 0
    return 0


def _riff_has_placeholder_sizes(path: Path) -> bool:
    """True for a RIFF WAV whose RIFF or data chunk size is the 0xFFFFFFFF placeholder."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return False
            if struct.unpack("<I", head[4:8])[0] == _RIFF_PLACEHOLDER:
                return True
            for _ in range(64):  # walk chunks up to "data"
                chunk = f.read(8)
                if len(chunk) < 8:
                    return False
                size = struct.unpack("<I", chunk[4:8])[0]
                if chunk[:4] == b"data":
                    return size == _RIFF_PLACEHOLDER
                f.seek(size + (size & 1), os.SEEK_CUR)
    except OSError:
        return False
    return False
