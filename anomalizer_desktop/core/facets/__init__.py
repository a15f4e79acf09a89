"""What a loop is, besides odd or not: tempo, key, and the identity and fingerprint that find
its duplicates. Computed once per content at scan time and kept in the catalog."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fingerprint import audio_identity, fingerprint
from .key import Key, compatible, estimate_key, key_name
from .names import NameHints, hints_from_name
from .tempo import Tempo, estimate_tempo

FACETS_VERSION = 1  # bump when an estimator changes: stored facets are recomputed

__all__ = ["FACETS_VERSION", "Facets", "Key", "NameHints", "Tempo", "compatible", "describe",
           "hints_from_name", "key_name"]


@dataclass(frozen=True)
class Facets:
    bpm: float | None
    bpm_confidence: float | None
    bars: int | None
    tonic: int | None
    mode: str | None
    key_confidence: float | None
    identity: str
    fingerprint: np.ndarray  # (n, 16) uint8

    @property
    def key(self) -> str | None:
        return key_name(self.tonic, self.mode) if self.tonic is not None and self.mode else None


def describe(samples: np.ndarray, sample_rate: int) -> Facets:
    """Facets of decoded audio at its own rate ((frames,) or (frames, channels))."""
    from ..audio.io import to_mono
    from .analysis import frames_of

    identity = audio_identity(samples, sample_rate)
    mono = to_mono(samples) if np.ndim(samples) == 2 else np.asarray(samples, np.float32)
    frames = frames_of(mono, sample_rate)
    tempo = estimate_tempo(frames)
    key = estimate_key(mono, sample_rate)
    return Facets(
        tempo.bpm if tempo else None, tempo.confidence if tempo else None,
        tempo.bars if tempo else None,
        key.tonic if key else None, key.mode if key else None, key.confidence if key else None,
        identity, fingerprint(frames))
