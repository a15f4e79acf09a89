"""The personal model ready to use outside the library job: detector, encoder, its judge.

The watcher (scoring new takes) and the localisation strip both need the model and the encoder
it was trained with. :class:`ModelRuntime` loads them once, on first use in a worker thread, and
again only when the model file changes; a lock makes two workers asking at once load it once.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LoadedModel:
    detector: Any
    info: Any  # core ModelInfo
    encoder: Any  # core Encoder
    judge: Any  # core evidence Judge: the model's library evidence, default policy


class ModelRuntime:
    def __init__(self, model_path: Path) -> None:
        self.model_path = Path(model_path)
        self._lock = threading.Lock()
        self._loaded: LoadedModel | None = None
        self._mtime: int | None = None

    def get(self) -> LoadedModel | None:
        """The loaded model (None when there is no model file yet). Raises AnomalizerError
        with a message when it cannot be loaded (e.g. its encoder's weights are missing)."""
        with self._lock:
            try:
                mtime = self.model_path.stat().st_mtime_ns
            except OSError:
                return None
            if self._loaded is None or mtime != self._mtime:
                from ..core import jobs
                from ..core.detect.persistence import load_model
                from ..core.embedding import encoder_for_id

                detector, info = load_model(self.model_path)
                encoder = encoder_for_id(info.encoder_id, shared=True)
                # no catalog here (worker thread): a model from an earlier version is
                # recalibrated on its held-out scores alone
                self._loaded = LoadedModel(detector, info, encoder,
                                           jobs.model_judge(detector, info))
                self._mtime = mtime
            return self._loaded
