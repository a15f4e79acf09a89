"""The space "similar" is measured in: a library's embeddings, standardised per dimension
(z-scores against the library's own mean and spread, so no single feature dominates), compared
by Euclidean distance divided by the square root of the dimension (the RMS difference in
standard deviations: 0 = the same sound to the encoder, ~1.4 = two unrelated loops).

Exact search (one matrix-vector product) while that stays interactive, which it does up to
:data:`EXACT_UP_TO` vectors; past that an approximate index (:mod:`.ann`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

EXACT_UP_TO = 200_000  # see bench/bench_similar.py: exact search stays under ~50 ms up to here
MIN_STD = 1e-6


@dataclass(frozen=True)
class Neighbour:
    key: str  # content hash
    distance: float


class SimilarSpace:
    """Standardised library vectors keyed by content hash."""

    def __init__(self, keys: Sequence[str], vectors: np.ndarray,
                 mean: np.ndarray | None = None, std: np.ndarray | None = None):
        X = np.asarray(vectors, np.float32)
        if X.ndim != 2 or len(keys) != len(X):
            raise ValueError(f"need one vector per key, got {len(keys)} keys and shape {X.shape}")
        self.keys = list(keys)
        self.dim = X.shape[1] if X.size else 0
        self.mean = X.mean(axis=0) if mean is None else np.asarray(mean, np.float32)
        spread = X.std(axis=0) if std is None else np.asarray(std, np.float32)
        self.std = np.maximum(spread, MIN_STD).astype(np.float32)
        self.Z = self.standardise(X) if len(X) else np.zeros((0, self.dim), np.float32)
        self._norms = np.einsum("ij,ij->i", self.Z, self.Z)
        self._row = {k: i for i, k in enumerate(self.keys)}
        self._ann = None

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: str) -> bool:
        return key in self._row

    def standardise(self, vectors: np.ndarray) -> np.ndarray:
        return ((np.asarray(vectors, np.float32) - self.mean) / self.std).astype(np.float32)

    def vector(self, key: str) -> np.ndarray:
        return self.Z[self._row[key]]

    def use_index(self, index) -> None:
        """Search through an approximate index over :attr:`Z` (an ``ann.AnnIndex``); the caller
        (:func:`.index_file.indexed_space`) attaches one only past :data:`EXACT_UP_TO`."""
        self._ann = index

    def nearest(self, query: np.ndarray, k: int, exclude: set[str] | None = None,
                standardised: bool = False) -> list[Neighbour]:
        """The ``k`` nearest library vectors to one raw (or ``standardised``) query vector."""
        q = np.asarray(query, np.float32).reshape(-1)
        if q.shape[0] != self.dim:
            raise ValueError(f"query has {q.shape[0]} dimensions, the library {self.dim}")
        z = q if standardised else self.standardise(q[None, :])[0]
        exclude = exclude or set()
        scale = 1.0 / np.sqrt(max(self.dim, 1))
        if self._ann is not None:
            return self._nearest_approximately(z, k, exclude, scale)
        if not len(self):
            return []
        d2 = self._norms - 2.0 * (self.Z @ z) + float(z @ z)
        want = min(len(self), k + len(exclude))
        part = np.argpartition(d2, want - 1)[:want] if want < len(self) else np.arange(len(self))
        part = part[np.argsort(d2[part], kind="stable")]
        out = []
        for i in part:
            if self.keys[i] in exclude:
                continue
            out.append(Neighbour(self.keys[i], float(np.sqrt(max(d2[i], 0.0))) * scale))
            if len(out) == k:
                break
        return out

    def _nearest_approximately(self, z: np.ndarray, k: int, exclude: set[str], scale: float
                               ) -> list[Neighbour]:
        """Through the index, leaving out its entries for loops no longer in the library."""
        want = k
        while True:
            hits = self._ann.search(z[None, :], want, exclude=exclude)[0]
            out = [Neighbour(key, float(d) * scale) for key, d in hits if key in self._row]
            if len(out) >= k or want >= len(self._ann):
                return out[:k]
            want = min(len(self._ann), want * 2)
