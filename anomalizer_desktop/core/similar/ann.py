"""An approximate nearest-neighbour index for libraries too big for exact search.

faiss's HNSW graph over the full vectors (``IndexHNSWFlat``), chosen by measurement
(``bench/bench_similar.py``): at 100k standardised 512-d vectors it answered a query in 0.14 ms
with recall@10 1.000 against exact search; an IVF index was as accurate but slower per query and
needs training (so it drifts as a library grows); usearch's HNSW built 2x slower. The graph needs
no training, so new loops are added incrementally. Distances are exact Euclidean distances to the
stored vectors (the graph only chooses which vectors to compare).

On disk (next to the catalog): a magic, a JSON header, the keys, faiss's own serialisation of the
index and a SHA-256 of everything before it, written atomically. A damaged file raises
:class:`AnnIndexError` naming the file; the caller rebuilds from the catalog.

The library is imported on first use, so the app starts (and runs exact search) without it."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import struct
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

MAGIC = b"ANOMANN1"
KIND = "faiss-hnsw-flat"
CONNECTIVITY = 32  # graph neighbours per vector (HNSW's M)
EF_CONSTRUCTION = 80
EF_SEARCH = 64  # candidates kept while searching; raised to k when k is larger
_LENGTH = struct.Struct("<Q")
_DIGEST = 32


class AnnIndexError(ValueError):
    """A bad argument, or an index file that is missing, damaged or of another kind."""


def available() -> bool:
    """Whether the ANN library (faiss-cpu, the ``similar`` extra) is installed."""
    return importlib.util.find_spec("faiss") is not None


def _faiss():
    try:
        import faiss
    except ImportError as exc:  # pragma: no cover - guarded by available()
        raise AnnIndexError("the approximate index needs faiss-cpu "
                            "(pip install 'anomalizer-desktop[similar]')") from exc
    return faiss


def _matrix(vectors, dim: int | None = None) -> np.ndarray:
    X = np.ascontiguousarray(np.asarray(vectors, np.float32))
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2:
        raise AnnIndexError(f"vectors must be a matrix, got shape {X.shape}")
    if dim is not None and X.shape[1] != dim and len(X):
        raise AnnIndexError(f"vectors have dimension {X.shape[1]}, the index {dim}")
    if not np.isfinite(X).all():
        raise AnnIndexError("vectors must be finite (found NaN or infinity)")
    return X


class AnnIndex:
    """Vectors keyed by strings (content hashes), searched approximately by Euclidean distance.

    ``meta`` is saved with the index (the library's mean and spread the vectors were
    standardised with, and the size at build time, so a caller can tell when to rebuild)."""

    def __init__(self, dim: int, meta: dict[str, Any] | None = None, _index=None,
                 _keys: Sequence[str] = ()):
        if dim < 1:
            raise AnnIndexError(f"dimension must be positive, got {dim}")
        self.dim = int(dim)
        self.meta = dict(meta or {})
        if _index is None:
            _index = _faiss().IndexHNSWFlat(self.dim, CONNECTIVITY)
            _index.hnsw.efConstruction = EF_CONSTRUCTION
        self._index = _index
        self._keys = list(_keys)
        self._row = {key: i for i, key in enumerate(self._keys)}

    @classmethod
    def build(cls, keys: Sequence[str], vectors, meta: dict[str, Any] | None = None
              ) -> "AnnIndex":
        X = np.asarray(vectors, np.float32)
        if X.ndim != 2 or len(keys) != len(X):
            raise AnnIndexError(f"need one vector per key: {len(keys)} keys, "
                                f"vectors of shape {X.shape}")
        index = cls(X.shape[1], meta)
        index.add(keys, X)
        return index

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: str) -> bool:
        return key in self._row

    @property
    def keys(self) -> list[str]:
        return list(self._keys)

    def add(self, keys: Sequence[str], vectors) -> int:
        """Add the vectors of keys not in the index yet (a known key keeps its old vector, and a
        key repeated in one call is added once). Returns how many were added."""
        keys = list(keys)
        X = _matrix(vectors, self.dim) if len(keys) else np.zeros((0, self.dim), np.float32)
        if len(keys) != len(X):
            raise AnnIndexError(f"need one vector per key: {len(keys)} keys, {len(X)} vectors")
        fresh: list[int] = []
        seen: set[str] = set()
        for i, key in enumerate(keys):
            if key not in self._row and key not in seen:
                seen.add(key)
                fresh.append(i)
        if not fresh:
            return 0
        self._index.add(np.ascontiguousarray(X[fresh]))
        for i in fresh:
            self._row[keys[i]] = len(self._keys)
            self._keys.append(keys[i])
        return len(fresh)

    def search(self, queries, k: int, exclude: Iterable[str] | None = None
               ) -> list[list[tuple[str, float]]]:
        """For each query, up to ``k`` ``(key, distance)`` pairs, nearest first, leaving out the
        keys in ``exclude`` (and still returning ``k`` when the index holds enough)."""
        if k < 1:
            raise AnnIndexError(f"k must be at least 1, got {k}")
        Q = np.asarray(queries, np.float32)
        Q = Q[None, :] if Q.ndim == 1 else Q
        if Q.ndim != 2 or Q.shape[1] != self.dim:
            raise AnnIndexError(f"queries have dimension {Q.shape[-1]}, the index {self.dim}")
        Q = _matrix(Q)
        if not len(self):
            return [[] for _ in Q]
        exclude = set(exclude or ())
        return [self._one(q, k, exclude) for q in Q]

    def _one(self, q: np.ndarray, k: int, exclude: set[str]) -> list[tuple[str, float]]:
        want = min(len(self), k + len(exclude & self._row.keys()))
        while True:
            self._index.hnsw.efSearch = max(EF_SEARCH, want)
            d2, rows = self._index.search(q[None, :], want)
            out = [(self._keys[r], float(np.sqrt(max(d, 0.0))))
                   for d, r in zip(d2[0], rows[0]) if r >= 0 and self._keys[r] not in exclude]
            if len(out) >= k or want >= len(self):
                return out[:k]
            want = min(len(self), want * 2)

    # -- files -------------------------------------------------------------------------------

    def save(self, path: Path | str) -> None:
        """Write the index to ``path`` atomically (a temporary file renamed over it)."""
        path = Path(path)
        header = json.dumps({"kind": KIND, "dim": self.dim, "n": len(self),
                             "meta": self.meta}).encode()
        keys = "\n".join(self._keys).encode()
        graph = _faiss().serialize_index(self._index).tobytes()
        body = b"".join([MAGIC, _LENGTH.pack(len(header)), header, _LENGTH.pack(len(keys)),
                         keys, _LENGTH.pack(len(graph)), graph])
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(body)
                out.write(hashlib.sha256(body).digest())
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: Path | str) -> "AnnIndex":
        path = Path(path)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            raise AnnIndexError(f"no similarity index at {path}") from None
        except OSError as exc:
            raise AnnIndexError(f"cannot read the similarity index {path}: "
                                f"{exc.strerror or exc}") from exc

        def bad(why: str) -> AnnIndexError:
            return AnnIndexError(f"the similarity index {path} is damaged ({why}); "
                                 f"it is rebuilt from the catalog")

        if len(blob) < len(MAGIC) + _DIGEST or not blob.startswith(MAGIC):
            raise bad("not an index file")
        body, digest = blob[:-_DIGEST], blob[-_DIGEST:]
        if hashlib.sha256(body).digest() != digest:
            raise bad("checksum mismatch: truncated or altered")
        at = len(MAGIC)
        parts = []
        for _ in range(3):
            if at + _LENGTH.size > len(body):
                raise bad("truncated")
            (size,) = _LENGTH.unpack_from(body, at)
            at += _LENGTH.size
            if at + size > len(body):
                raise bad("truncated")
            parts.append(body[at:at + size])
            at += size
        if at != len(body):
            raise bad("unexpected trailing data")
        try:
            header = json.loads(parts[0])
            keys = parts[1].decode().split("\n") if parts[1] else []
        except (ValueError, UnicodeDecodeError):
            raise bad("unreadable header") from None
        if header.get("kind") != KIND:
            raise bad(f"kind {header.get('kind')!r}, expected {KIND!r}")
        faiss = _faiss()
        try:
            graph = faiss.deserialize_index(np.frombuffer(parts[2], np.uint8))
        except RuntimeError as exc:
            raise bad(f"faiss: {str(exc).splitlines()[0] if str(exc) else exc}") from None
        if graph.ntotal != len(keys) or graph.d != header.get("dim") or len(keys) != header.get("n"):
            raise bad("key count or dimension does not match the graph")
        return cls(graph.d, header.get("meta"), _index=graph, _keys=keys)
