"""Run core job generators on a QThread and report back through Qt signals.

A core job is a generator function that yields :class:`Progress` and returns a result; it honours a
:class:`CancelToken`. :class:`JobRunner` drives one such generator inside a worker thread and turns
it into signals. :func:`start_job` wires a runner to a fresh QThread and cleans both up afterwards.

Signal contract (superqt's names): ``progress(Progress)`` (throttled), then exactly one of
``succeeded(result)``, ``failed(message, traceback)`` or ``cancelled()``, and ``finished()`` always
last. Connect cross-thread signals to ``@Slot`` methods of objects living in the GUI thread.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

from ..core.errors import AnomalizerError, Cancelled
from ..core.progress import CancelToken, Progress

log = logging.getLogger(__name__)

JobFactory = Callable[[CancelToken], Generator[Progress, None, Any]]

#: Default minimum time between two ``progress`` signals (about 30 per second).
PROGRESS_INTERVAL_S = 1.0 / 30.0

# Threads started by start_job that have not finished yet, with their runners (keeps the Python
# wrappers alive while C++ code still uses them).
_ACTIVE: dict[QThread, JobRunner] = {}


class JobRunner(QObject):
    """Drives one core job generator; lives in a worker thread while it runs.

    ``job`` is called with the runner's :class:`CancelToken` and must return the generator, e.g.
    ``JobRunner(lambda token: jobs.scan(roots, catalog, token=token))``. It is called inside the
    worker thread, so nothing heavy happens in the GUI thread.
    """

    progress = Signal(object)
    succeeded = Signal(object)
    failed = Signal(str, str)
    cancelled = Signal()
    finished = Signal()

    def __init__(
        self,
        job: JobFactory,
        token: CancelToken | None = None,
        min_interval_s: float = PROGRESS_INTERVAL_S,
        name: str = "job",
    ) -> None:
        super().__init__()
        self._job = job
        self.token = token or CancelToken()
        self.min_interval_s = float(min_interval_s)
        self.name = name
        self.result: Any = None
        self.outcome: str | None = None  # "succeeded" | "failed" | "cancelled" once done
        self.progress_count = 0  # signals actually emitted (for tests and benchmarks)

    def cancel(self) -> None:
        """Ask the job to stop at its next check. Thread-safe; may be called from any thread."""
        self.token.cancel()

    @Slot()
    def run(self) -> None:
        """Run the job to the end in the calling thread (the worker thread when started)."""
        try:
            self._drive()
        finally:
            app = QCoreApplication.instance()
            if app is not None and self.thread() is not app.thread():
                # Hand the object back to the GUI thread so Python can collect it there.
                self.moveToThread(app.thread())
            self.finished.emit()

    def _drive(self) -> None:
        last_emit = float("-inf")
        last_stage: str | None = None
        pending: Progress | None = None
        try:
            gen = self._job(self.token)
            while True:
                try:
                    item = next(gen)
                except StopIteration as stop:
                    self.result = stop.value
                    break
                now = time.monotonic()
                stage_changed = item.stage != last_stage
                if stage_changed or now - last_emit >= self.min_interval_s:
                    self._emit_progress(item)
                    last_emit, last_stage, pending = now, item.stage, None
                else:
                    pending = item
        except Cancelled:
            self._flush(pending)
            self.outcome = "cancelled"
            self.cancelled.emit()
            return
        except AnomalizerError as exc:
            self._flush(pending)
            self.outcome = "failed"
            self.failed.emit(str(exc), "")
            return
        except Exception as exc:  # noqa: BLE001 - reported to the user with the traceback
            log.exception("job %s failed", self.name)
            self._flush(pending)
            self.outcome = "failed"
            self.failed.emit(f"{type(exc).__name__}: {exc}", traceback.format_exc())
            return
        self._flush(pending)
        if self.token.cancelled:
            # The job stopped early on its own after a cancel; its partial result stays in .result.
            self.outcome = "cancelled"
            self.cancelled.emit()
        else:
            self.outcome = "succeeded"
            self.succeeded.emit(self.result)

    def _flush(self, pending: Progress | None) -> None:
        if pending is not None:
            self._emit_progress(pending)

    def _emit_progress(self, item: Progress) -> None:
        self.progress_count += 1
        self.progress.emit(item)


def start_job(runner: JobRunner, parent: QObject | None = None) -> QThread:
    """Move ``runner`` to a new QThread and start it; the thread quits and is deleted when done.

    The thread object is kept referenced until it has finished, so it is never destroyed while
    running. Use :func:`wait_for_jobs` on shutdown (after cancelling) to join every job.
    """
    thread = QThread(parent)
    thread.setObjectName(f"anomalizer-{runner.name}")
    runner.moveToThread(thread)
    thread.started.connect(runner.run)
    # Direct: QThread.quit is thread-safe, and the thread must stop even while the GUI thread is
    # blocked in wait_for_jobs() (a queued quit would never be delivered then).
    runner.finished.connect(thread.quit, Qt.ConnectionType.DirectConnection)
    thread.finished.connect(thread.deleteLater)
    thread.finished.connect(_Reaper.instance().reap)
    _ACTIVE[thread] = runner
    thread.start()
    return thread


def active_jobs() -> list[QThread]:
    """Threads started by :func:`start_job` that have not been reaped yet."""
    return [t for t in list(_ACTIVE) if _alive(t)]


def wait_for_jobs(timeout_s: float = 10.0) -> bool:
    """Block until every started job thread has stopped; True when none is left running."""
    deadline = time.monotonic() + timeout_s
    for thread in list(_ACTIVE):
        if _alive(thread):
            remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
            if not thread.wait(remaining_ms):
                continue
        _ACTIVE.pop(thread, None)
    return not active_jobs()


def _alive(thread: QThread) -> bool:
    try:
        return thread.isRunning()
    except RuntimeError:  # C++ object already deleted
        return False


class _Reaper(QObject):
    """Drops finished threads from the registry (lives in the GUI thread)."""

    _instance: _Reaper | None = None

    @classmethod
    def instance(cls) -> _Reaper:
        if cls._instance is None:
            cls._instance = cls()
        return cls._instance

    @Slot()
    def reap(self) -> None:
        sender = self.sender()
        for thread in list(_ACTIVE):
            if thread is sender:
                # finished() is emitted just before the thread really ends; join it.
                thread.wait(2000)
            if not _alive(thread):
                _ACTIVE.pop(thread, None)


def call_job(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> JobFactory:
    """Wrap a plain blocking call as a job factory (no progress; cancel = result discarded)."""

    def job(token: CancelToken) -> Generator[Progress, None, Any]:
        token.raise_if_cancelled()
        result = fn(*args, **kwargs)
        token.raise_if_cancelled()
        return result
        yield  # pragma: no cover - makes this a generator function

    return job
