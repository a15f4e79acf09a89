"""Progress reports and cancellation shared by the CLI and the GUI workers."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from .errors import Cancelled


@dataclass(frozen=True)
class Progress:
    """One step of a long job. ``total`` is None when the amount of work is not known yet."""

    stage: str  # "scan", "embed", "train", "score", ...
    done: int
    total: int | None = None
    message: str = ""
    eta_s: float | None = None
    extra: dict = field(default_factory=dict)  # e.g. {"epoch": 3, "train_loss": 0.1, "val_loss": 0.2}

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


class CancelToken:
    """Thread-safe cancellation flag checked by jobs between units of work."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled; the work finished so far is kept")


class EtaClock:
    """Estimates time left from the rate of the units done since the clock started."""

    def __init__(self, total: int | None, now=time.monotonic) -> None:
        self._now = now
        self._start = now()
        self.total = total

    def eta(self, done: int) -> float | None:
        if not self.total or done <= 0:
            return None
        elapsed = self._now() - self._start
        return max(0.0, elapsed / done * (self.total - done))

    def progress(self, stage: str, done: int, message: str = "", **extra) -> Progress:
        return Progress(stage, done, self.total, message, self.eta(done), dict(extra))


def run_job(job, on_progress=None):
    """Drive a job generator to its end and return its result; ``on_progress`` sees each step."""
    while True:
        try:
            step = next(job)
        except StopIteration as stop:
            return stop.value
        if on_progress is not None:
            on_progress(step)
