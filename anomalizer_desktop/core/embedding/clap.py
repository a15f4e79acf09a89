"""The LAION-CLAP audio tower (HTS-AT, optionally with the feature fusion mechanism) as an Encoder.

The embedding is the pooled HTS-AT output *before* CLAP's projection head (768-d for HTSAT-tiny,
1024-d for HTSAT-base), float32, not normalised: what the paper's reference code stores.
It is a pure function of the audio: no random crops, no random fusion flags, dropout off, and
each clip's result does not depend on the other clips in its batch.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from typing import Any, Sequence

import numpy as np

from ..config import THREADS_ENV
from ..errors import WeightsFormatError
from .weights import VARIANTS, WeightsSource, configure_torch_env, load_model, resolve_weights

log = logging.getLogger(__name__)

# Bump when anything between the decoded samples and the model input changes (it is part of ``id``).
PREPROCESSING_VERSION = "pp1"
CPU_BATCH_SIZE = 4  # bench: batch 8 is no faster per clip on CPU (memory-bound copies grow)
GPU_BATCH_SIZE = 32

__all__ = ["ClapEncoder", "configure_torch_env", "default_num_threads", "pick_device", "PREPROCESSING_VERSION"]


def default_num_threads() -> int:
    """Torch threads for CPU inference: ``$ANOMALIZER_THREADS``, else every core.

    Measured by ``bench/bench_threads.py`` on 2 cores, files through the scan's decode-ahead
    pipeline: 2 threads 6.44 clips/s against 4.74 for 1 (1.36x). Decoding costs 1-14 ms per
    file against ~150 ms of model time, so keeping a core free for it (the old ``cores - 1``)
    idled most of that core. The app sets the variable itself (Model ▸ Encoder threads,
    ``gui/window_threads.py``)."""
    value = os.environ.get(THREADS_ENV, "").strip()
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            log.warning("ignoring %s=%r: not a whole number", THREADS_ENV, value)
    return max(1, os.cpu_count() or 1)


def pick_device(device: str = "auto") -> Any:
    """``auto`` -> cuda > mps > cpu; anything else is passed to ``torch.device``."""
    configure_torch_env()
    import torch

    if device != "auto":
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


class ClapEncoder:
    """Encoder protocol over ``ClapAudioModelWithProjection`` (only the audio tower is loaded).

    ``weights=None`` resolves them offline (``resolve_weights``) and raises
    ``WeightsUnavailableError`` when there are none. ``num_threads`` sets torch's (process-wide)
    CPU thread count; ``None`` means ``default_num_threads()``.
    """

    def __init__(
        self,
        variant: str = "clap-fused",
        weights: WeightsSource | None = None,
        device: str = "auto",
        batch_size: int | None = None,
        num_threads: int | None = None,
    ) -> None:
        configure_torch_env()
        import torch

        from . import clap_features

        if variant not in VARIANTS:
            raise ValueError(f"unknown CLAP variant {variant!r}; choose one of {', '.join(VARIANTS)}")
        spec = VARIANTS[variant]
        weights = weights if weights is not None else resolve_weights(variant)
        if weights.variant != variant:
            raise WeightsFormatError(f"{weights.path} holds {weights.variant} weights, not {variant}")
        self._device = pick_device(device)
        if self._device.type == "cpu":
            torch.set_num_threads(num_threads or default_num_threads())
        self._fused = bool(spec.audio_config["enable_fusion"])
        self._model = load_model(weights, self._device)
        settings = clap_features.FUSED_MEL if self._fused else clap_features.UNFUSED_MEL
        self._logmel = clap_features.LogMel(settings, self._device)
        self._features = clap_features
        self._lock = threading.Lock()

        self.weights = weights
        self.name = variant
        self.dim = spec.dim
        on_gpu = self._device.type in ("cuda", "mps")
        self.batch_size = int(batch_size or (GPU_BATCH_SIZE if on_gpu else CPU_BATCH_SIZE))
        self.id = f"{variant}:{weights.sha[:12]}:{PREPROCESSING_VERSION}"
        self.description = (
            f"{spec.summary}, {self.dim}-d pre-projection embedding; weights from {weights.origin} "
            f"({weights.path}); on {self._device.type}"
        )
        log.info("CLAP encoder %s ready on %s (batch %d)", self.id, self._device, self.batch_size)

    @property
    def device(self) -> str:
        return str(self._device)

    # ---- pipeline pieces (public for the benchmark and the tests) --------------------------------

    def features(self, clips: Sequence[np.ndarray]) -> tuple[Any, Any]:
        """Model inputs for ``clips``: fused -> (features, is_longer); unfused -> (window mels, owner)."""
        if self._fused:
            return self._features.fused_features(clips, self._logmel)
        return self._features.unfused_features(clips, self._logmel)

    def forward(self, input_features: Any, is_longer: Any = None) -> Any:
        """Pooled HTS-AT output (B, dim) float32 tensor for prepared inputs."""
        import torch

        context: Any = contextlib.nullcontext()
        if self._device.type == "cuda":
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            context = torch.autocast("cuda", dtype=dtype)
        with torch.inference_mode(), context:
            out = self._model.audio_model(
                input_features=input_features, is_longer=is_longer if self._fused else None
            )
        return out.pooler_output.float()

    # ---- Encoder protocol -----------------------------------------------------------------------

    def encode(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        """(N, dim) float32 embeddings of mono 48 kHz clips of any length (>= 1 sample)."""
        import torch

        clips = list(clips)
        out = np.zeros((len(clips), self.dim), dtype=np.float32)
        with self._lock, torch.inference_mode():
            for start in range(0, len(clips), self.batch_size):
                chunk = clips[start : start + self.batch_size]
                out[start : start + len(chunk)] = self._encode_chunk(chunk)
        return out

    def _encode_chunk(self, clips: list[np.ndarray]) -> np.ndarray:
        import torch

        if self._fused:
            features, is_longer = self.features(clips)
            return self.forward(features, is_longer).cpu().numpy()
        windows, owner = self.features(clips)
        pooled = torch.cat([self.forward(windows[i : i + self.batch_size])
                            for i in range(0, windows.shape[0], self.batch_size)])  # fmt: skip
        sums = torch.zeros(len(clips), self.dim, device=pooled.device).index_add_(0, owner, pooled)
        counts = torch.bincount(owner, minlength=len(clips)).clamp_min(1).to(pooled.dtype)
        return (sums / counts[:, None]).cpu().numpy()
