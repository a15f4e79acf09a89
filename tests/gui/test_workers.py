"""JobRunner: signal order, failure, cancel, throttling, and no thread left behind."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QObject, Slot

from anomalizer_desktop.core.errors import AnomalizerError
from anomalizer_desktop.core.progress import Progress
from anomalizer_desktop.gui.workers import JobRunner, active_jobs, start_job


class Recorder(QObject):
    """Collects signals in the GUI thread, through @Slot methods (as the app does)."""

    def __init__(self, runner: JobRunner) -> None:
        super().__init__()
        self.events: list[tuple] = []
        self.threads: set[int] = set()
        runner.progress.connect(self.on_progress)
        runner.succeeded.connect(self.on_succeeded)
        runner.failed.connect(self.on_failed)
        runner.cancelled.connect(self.on_cancelled)
        runner.finished.connect(self.on_finished)

    def _note(self, *event) -> None:
        self.threads.add(threading.get_ident())
        self.events.append(event)

    @Slot(object)
    def on_progress(self, p) -> None:
        self._note("progress", p.done)

    @Slot(object)
    def on_succeeded(self, result) -> None:
        self._note("succeeded", result)

    @Slot(str, str)
    def on_failed(self, message, tb) -> None:
        self._note("failed", message, tb)

    @Slot()
    def on_cancelled(self) -> None:
        self._note("cancelled")

    @Slot()
    def on_finished(self) -> None:
        self._note("finished")

    def kinds(self) -> list[str]:
        return [e[0] for e in self.events]


def counting_job(n: int, sleep_s: float = 0.0, worker_threads: list | None = None):
    def job(token):
        if worker_threads is not None:
            worker_threads.append(threading.get_ident())
        for i in range(n):
            token.raise_if_cancelled()
            if sleep_s:
                time.sleep(sleep_s)
            yield Progress("count", i + 1, n)
        return {"counted": n}

    return job


def run(qtbot, runner: JobRunner, timeout: int = 5000) -> Recorder:
    rec = Recorder(runner)
    with qtbot.waitSignal(runner.finished, timeout=timeout):
        start_job(runner)
    qtbot.waitUntil(lambda: not active_jobs(), timeout=timeout)
    return rec


def test_success_order_and_threads(qtbot):
    worker_threads: list[int] = []
    runner = JobRunner(counting_job(5, worker_threads=worker_threads), min_interval_s=0)
    rec = run(qtbot, runner)
    assert rec.kinds() == ["progress"] * 5 + ["succeeded", "finished"]
    assert [e[1] for e in rec.events[:5]] == [1, 2, 3, 4, 5]
    assert rec.events[5][1] == {"counted": 5}
    assert runner.outcome == "succeeded"
    # The job ran off the GUI thread; the slots ran on it.
    assert worker_threads and worker_threads[0] != threading.get_ident()
    assert rec.threads == {threading.get_ident()}
    # The runner is handed back to the GUI thread after the run.
    assert runner.thread() is qtbot_app_thread()


def qtbot_app_thread():
    from PySide6.QtCore import QCoreApplication

    return QCoreApplication.instance().thread()


def test_known_error_gives_message_only(qtbot):
    def job(token):
        yield Progress("read", 1, 2)
        raise AnomalizerError("cannot read loop.wav: not an audio file")

    rec = run(qtbot, JobRunner(job, min_interval_s=0))
    assert rec.kinds() == ["progress", "failed", "finished"]
    assert rec.events[1][1] == "cannot read loop.wav: not an audio file"
    assert rec.events[1][2] == ""


def test_unexpected_error_gives_traceback(qtbot):
    def job(token):
        yield Progress("x", 0)
        raise ValueError("boom")

    rec = run(qtbot, JobRunner(job))
    assert rec.kinds()[-2:] == ["failed", "finished"]
    _, message, tb = rec.events[-2]
    assert message == "ValueError: boom"
    assert "Traceback" in tb and "boom" in tb


def test_cancel_while_running(qtbot):
    runner = JobRunner(counting_job(10_000, sleep_s=0.001))
    rec = Recorder(runner)
    with qtbot.waitSignal(runner.finished, timeout=5000):
        start_job(runner)
        qtbot.waitUntil(lambda: "progress" in rec.kinds(), timeout=3000)
        runner.cancel()
    kinds = rec.kinds()
    assert kinds[-2:] == ["cancelled", "finished"]
    assert "succeeded" not in kinds
    assert runner.outcome == "cancelled"


def test_job_that_returns_early_after_cancel_counts_as_cancelled(qtbot):
    def job(token):
        token.cancel()  # as if the user pressed Cancel during the first step
        yield Progress("embed", 1, 3)
        return "partial"

    runner = JobRunner(job)
    rec = run(qtbot, runner)
    assert rec.kinds() == ["progress", "cancelled", "finished"]
    assert runner.result == "partial"


def test_progress_is_throttled_but_last_one_arrives(qtbot):
    n = 200_000
    runner = JobRunner(counting_job(n), min_interval_s=0.05)
    t0 = time.monotonic()
    rec = run(qtbot, runner, timeout=20_000)
    elapsed = time.monotonic() - t0
    done = [e[1] for e in rec.events if e[0] == "progress"]
    assert done[-1] == n  # the final state is never dropped
    assert done == sorted(done)
    # At most one signal per interval (+ first, + flush), far fewer than the n yields.
    assert len(done) <= elapsed / 0.05 + 3
    assert len(done) < n / 100


def test_stage_change_is_always_reported(qtbot):
    def job(token):
        for stage in ("list", "check", "embed"):
            yield Progress(stage, 0)
        return None

    runner = JobRunner(job, min_interval_s=10.0)
    stages: list[str] = []

    class StageRecorder(QObject):
        @Slot(object)
        def on_progress(self, p) -> None:
            stages.append(p.stage)

    rec = StageRecorder()
    runner.progress.connect(rec.on_progress)
    with qtbot.waitSignal(runner.finished, timeout=5000):
        start_job(runner)
    qtbot.waitUntil(lambda: not active_jobs(), timeout=5000)
    assert stages == ["list", "check", "embed"]


def test_running_job_is_visible_to_the_leak_guard(qtbot):
    """The conftest guard relies on active_jobs()/wait_for_jobs() seeing a running thread."""
    from anomalizer_desktop.gui.workers import wait_for_jobs

    release = threading.Event()

    def job(token):
        yield Progress("wait", 0)
        release.wait(5)
        return None

    runner = JobRunner(job)
    with qtbot.waitSignal(runner.progress, timeout=5000):
        start_job(runner)
    assert active_jobs(), "a running job must be listed"
    assert wait_for_jobs(timeout_s=0.05) is False
    release.set()
    assert wait_for_jobs(timeout_s=5)
    assert not active_jobs()


@pytest.mark.parametrize("n_jobs", [4])
def test_many_jobs_all_joined(qtbot, n_jobs):
    runners = [JobRunner(counting_job(50, sleep_s=0.001)) for _ in range(n_jobs)]
    recs = [Recorder(r) for r in runners]
    for r in runners:
        start_job(r)
    qtbot.waitUntil(lambda: all(rec.kinds()[-1:] == ["finished"] for rec in recs), timeout=10_000)
    qtbot.waitUntil(lambda: not active_jobs(), timeout=5000)
    assert all(r.outcome == "succeeded" for r in runners)
