"""Audition: decode the selected file off the GUI thread, hand it to the player, play it.

Requests are "latest wins": pressing Down five times quickly decodes in the background, and only
the last file is loaded and played. Recently decoded files are kept in a small cache so moving
back and forth does not decode again.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal, Slot

from ..core.audio.io import read_audio
from ..core.errors import AnomalizerError
from .workers import JobRunner, call_job, start_job

log = logging.getLogger(__name__)

PREVIEW_RATE = 48_000
CACHE_FILES = 8


def decode_for_preview(path: str) -> tuple[np.ndarray, int]:
    """Samples (frames,) or (frames, channels) at the preview rate; raises AnomalizerError."""
    audio = read_audio(path, PREVIEW_RATE, channel_mode="keep")
    return audio.samples, audio.sample_rate


class AuditionController(QObject):
    """Owns the player; the table, keyboard, waveform and player bar all go through it."""

    loaded = Signal(str, object, int)  # path, samples, sample_rate (already in the player)
    loadFailed = Signal(str, str)  # path, message
    playError = Signal(str)

    def __init__(self, player, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.player = player
        self.current_path: str | None = None
        self._wanted: tuple[str, bool] | None = None  # latest request: (path, play when loaded)
        self._busy: JobRunner | None = None
        self._busy_path = ""
        self._cache: OrderedDict[str, tuple[np.ndarray, int]] = OrderedDict()

    # --- loading ----------------------------------------------------------------------------
    def request(self, path: str | Path, play: bool) -> None:
        """Load ``path`` (decoding in the background unless cached) and play it if ``play``."""
        path = str(path)
        if path == self.current_path:
            self._wanted = None
            if play:
                self.play(0.0)
            return
        self._wanted = (path, play)
        cached = self._cache.get(path)
        if cached is not None:
            self._cache.move_to_end(path)
            self._install(path, cached, play)
            return
        if self._busy is None:
            self._start_decode(path)
        # else: the running decode finishes first; _on_decoded then starts the latest request.

    def _start_decode(self, path: str) -> None:
        runner = JobRunner(call_job(decode_for_preview, path), name="decode")
        runner.succeeded.connect(self._on_decoded)
        runner.failed.connect(self._on_decode_failed)
        runner.finished.connect(self._on_decode_finished)
        self._busy, self._busy_path = runner, path
        start_job(runner, self)

    @Slot(object)
    def _on_decoded(self, result) -> None:
        path = self._busy_path
        self._cache[path] = result
        while len(self._cache) > CACHE_FILES:
            self._cache.popitem(last=False)
        if self._wanted and self._wanted[0] == path:
            self._install(path, result, self._wanted[1])

    @Slot(str, str)
    def _on_decode_failed(self, message: str, _tb: str) -> None:
        path = self._busy_path
        if self._wanted and self._wanted[0] == path:
            self._wanted = None
            self.loadFailed.emit(path, message)

    @Slot()
    def _on_decode_finished(self) -> None:
        self._busy = None
        wanted = self._wanted
        if wanted and wanted[0] != self.current_path and wanted[0] not in self._cache:
            self._start_decode(wanted[0])

    def _install(self, path: str, decoded: tuple[np.ndarray, int], play: bool) -> None:
        samples, rate = decoded
        self._wanted = None
        try:
            self.player.stop()
            self.player.load(samples, rate)
        except AnomalizerError as exc:
            self.current_path = None
            self.loadFailed.emit(path, str(exc))
            return
        self.current_path = path
        self.loaded.emit(path, samples, rate)
        if play:
            self.play(0.0)

    def unload(self) -> None:
        self.stop()
        self.current_path = None
        self._wanted = None

    # --- transport --------------------------------------------------------------------------
    @property
    def is_playing(self) -> bool:
        return bool(self.player.is_playing)

    def play(self, start_s: float | None = None) -> None:
        if self.current_path is None:
            return
        if start_s is None:
            pos = self.player.position_s
            start_s = 0.0 if pos >= self.player.duration_s - 1e-3 else pos
        try:
            self.player.play(start_s)
        except AnomalizerError as exc:
            self.playError.emit(str(exc))

    def stop(self) -> None:
        self.player.stop()

    def toggle(self) -> None:
        if self.is_playing:
            self.stop()
        else:
            self.play()

    @Slot(float)
    def seek(self, position_s: float) -> None:
        if self.current_path is not None:
            self.player.seek(position_s)

    def set_loop(self, on: bool) -> None:
        self.player.loop = bool(on)

    def set_volume(self, volume: float) -> None:
        self.player.volume = volume
