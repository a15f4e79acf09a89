"""Localisation of the selected loop: its learned score over sliding windows, off the GUI thread.

The audio the audition already decoded (48 kHz) is mixed to mono and scored window by window with
the personal model (:func:`anomalizer_desktop.core.localise.localise`); windows are a quarter of
the take (0.5-2 s, :func:`window_for`), so a short loop still gets a curve with some detail. Requests are "latest wins"
like the audition's: moving quickly through the list localises only where the user stops. Curves
are cached per file and model version.
"""

from __future__ import annotations

import logging
from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from ..core.audio.io import to_mono
from ..core.embedding.base import SAMPLE_RATE
from .model_runtime import ModelRuntime
from .workers import JobRunner, start_job

log = logging.getLogger(__name__)
CACHE_CURVES = 32
# Windows scale with the take: a quarter of it, 0.5-2 s, hop a quarter window. A 2-s window
# on a 2.4-s loop would give two windows that both contain everything.
MIN_WINDOW_S, MAX_WINDOW_S = 0.5, 2.0


def window_for(duration_s: float) -> tuple[float, float]:
    """(window_s, hop_s) for a take of ``duration_s``."""
    window = min(MAX_WINDOW_S, max(MIN_WINDOW_S, duration_s / 4.0))
    return window, window / 4.0


class LocalisationController(QObject):
    """``request(path, samples, rate)`` -> ``ready(path, LocalCurve)`` or ``unavailable(path, why)``."""

    started = Signal(str)
    ready = Signal(str, object)
    unavailable = Signal(str, str)

    def __init__(self, runtime: ModelRuntime, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runtime = runtime
        self._wanted: tuple[str, np.ndarray, int] | None = None
        self._busy: JobRunner | None = None
        self._busy_path = ""
        self._cache: OrderedDict[tuple[str, int], object] = OrderedDict()
        self.current_path: str | None = None

    def request(self, path: str, samples: np.ndarray, rate: int) -> None:
        self.current_path = path
        key = self._key(path)
        if key is None:
            self._wanted = None
            self.unavailable.emit(path, "Train a model to see where this take is unusual")
            return
        cached = self._cache.get(key)
        if cached is not None:
            self._wanted = None
            self.ready.emit(path, cached)
            return
        self._wanted = (path, samples, int(rate))
        self.started.emit(path)
        if self._busy is None:
            self._start()

    def clear(self) -> None:
        self.current_path = None
        self._wanted = None
        if self._busy is not None:
            self._busy.cancel()

    def _key(self, path: str) -> tuple[str, int] | None:
        try:
            return (path, self.runtime.model_path.stat().st_mtime_ns)
        except OSError:
            return None

    def _start(self) -> None:
        path, samples, rate = self._wanted
        self._wanted = None
        runtime = self.runtime

        def job(token):
            from ..core.audio.io import resample
            from ..core.localise import localise_iter

            loaded = runtime.get()
            if loaded is None:
                return None
            mono = to_mono(samples)
            if rate != SAMPLE_RATE:
                mono = resample(mono, rate, SAMPLE_RATE)
            window_s, hop_s = window_for(mono.size / SAMPLE_RATE)
            curve = yield from localise_iter(mono, loaded.encoder, loaded.detector,
                                             loaded.info.threshold, window_s, hop_s, token=token)
            return curve

        runner = JobRunner(job, name="localise")
        runner.succeeded.connect(self._on_done)
        runner.failed.connect(self._on_failed)
        runner.finished.connect(self._on_finished)
        self._busy, self._busy_path = runner, path
        start_job(runner, self)

    @Slot(object)
    def _on_done(self, curve) -> None:
        path = self._busy_path
        if curve is None:
            if path == self.current_path:
                self.unavailable.emit(path, "Train a model to see where this take is unusual")
            return
        key = self._key(path)
        if key is not None:
            self._cache[key] = curve
            while len(self._cache) > CACHE_CURVES:
                self._cache.popitem(last=False)
        if path == self.current_path:
            self.ready.emit(path, curve)

    @Slot(str, str)
    def _on_failed(self, message: str, _tb: str) -> None:
        path = self._busy_path
        log.info("localisation of %s failed: %s", path, message)
        if path == self.current_path:
            self.unavailable.emit(path, f"Cannot localise: {message}")

    @Slot()
    def _on_finished(self) -> None:
        self._busy = None
        if self._wanted is not None:
            self._start()
