"""The approximate index kept on disk next to the catalog, for libraries past exact search.

Loaded when "more like this" is asked of a big library, brought up to date by adding the loops
scanned since (incrementally), and rebuilt from the catalog when it no longer fits the library:
the library more than doubled since it was built, more than :data:`STALE_SHARE` of its entries
are loops no longer in the library, or the library's mean or spread moved (the index holds
vectors standardised with the statistics it was built with, and the space searches with those
same statistics, so queries and index agree). A missing or damaged file is rebuilt; a file that
cannot be written (a read-only catalog folder) only costs the rebuild next time."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from . import ann, space as space_module
from .space import MIN_STD, SimilarSpace

log = logging.getLogger(__name__)

STALE_SHARE = 0.10  # rebuild when more of the index than this is loops no longer in the library
DRIFT = 0.10  # rebuild when the mean moved, or the spread changed, by more than this (RMS, in SDs)


def index_path(catalog_path: Path, encoder_id: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in encoder_id)
    return catalog_path.parent / f"similar-{safe}.ann"


def _stats(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return X.mean(axis=0), np.maximum(X.std(axis=0), MIN_STD)


def still_fits(index: ann.AnnIndex, keys: Sequence[str], mean: np.ndarray, std: np.ndarray
               ) -> str | None:
    """Why ``index`` must be rebuilt for this library, or None when it can be kept."""
    meta = index.meta
    if index.dim != len(mean) or "mean" not in meta or "std" not in meta:
        return "built for another space"
    built = int(meta.get("built_n", len(index)))
    if len(keys) > 2 * built:
        return f"the library grew from {built} to {len(keys)} loops"
    present = set(keys)
    stale = sum(1 for key in index.keys if key not in present)
    if stale > STALE_SHARE * max(len(index), 1):
        return f"{stale} of its {len(index)} loops are no longer in the library"
    m0, s0 = np.asarray(meta["mean"], np.float32), np.asarray(meta["std"], np.float32)
    moved = float(np.sqrt(np.mean(((mean - m0) / s0) ** 2)))
    spread = float(np.sqrt(np.mean(np.log(std / s0) ** 2)))
    if moved > DRIFT or spread > DRIFT:
        return f"the library's statistics drifted (mean {moved:.2f} SD, spread {spread:.2f})"
    return None


def indexed_space(keys: Sequence[str], vectors: np.ndarray, path: Path) -> SimilarSpace:
    """The library's :class:`SimilarSpace`, searching through the index at ``path`` (loaded,
    updated or rebuilt as needed) when the library is past exact search and faiss is present."""
    X = np.asarray(vectors, np.float32)
    if len(keys) <= space_module.EXACT_UP_TO or not ann.available():
        return SimilarSpace(keys, X)
    mean, std = _stats(X)
    index, why = None, "there is none yet"
    try:
        index = ann.AnnIndex.load(path)
        why = still_fits(index, keys, mean, std)
    except ann.AnnIndexError as exc:
        why = str(exc)
    if why is None:
        space = SimilarSpace(keys, X, np.asarray(index.meta["mean"]), np.asarray(index.meta["std"]))
        missing = [i for i, key in enumerate(keys) if key not in index]
        changed = bool(missing)
        if missing:
            index.add([keys[i] for i in missing], space.Z[missing])
    else:
        log.info("building the similarity index %s: %s", path, why)
        space = SimilarSpace(keys, X, mean, std)
        index = ann.AnnIndex.build(list(keys), space.Z, meta={
            "mean": space.mean.tolist(), "std": space.std.tolist(), "built_n": len(keys)})
        changed = True
    if changed:
        try:
            index.save(path)
        except OSError as exc:
            log.warning("could not save the similarity index %s: %s", path, exc)
    space.use_index(index)
    return space
