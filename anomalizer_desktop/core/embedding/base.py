"""The one interface every encoder implements."""

from __future__ import annotations

from typing import Protocol, Sequence

import numpy as np

SAMPLE_RATE = 48_000  # every encoder takes mono float32 audio at this rate


class Encoder(Protocol):
    """Turns mono 48 kHz float32 clips into fixed-size float32 vectors.

    ``id`` names the weights *and* the preprocessing: it changes whenever either changes, so the
    catalog never mixes embeddings that are not comparable.
    """

    id: str
    name: str  # "clap-fused", "clap-music", "spectral"
    dim: int
    batch_size: int
    description: str  # one line for the user: what this encoder is and where its weights came from

    def encode(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        """(N, dim) float32 for N clips of any length (>= 1 sample)."""
        ...
