"""The browser's jobs: more like this (nearest loops in the embedding space) and duplicates
(the same loop under other names, formats, levels or trims). Nothing here writes to a file
of the user's; both read the catalog and, for files not in it yet, decode them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Generator, Sequence

import numpy as np

from .catalog import Catalog
from .duplicates import Item, find_duplicates
from .embedding.base import Encoder
from .errors import AnomalizerError, NotEnoughDataError
from .facets import FACETS_VERSION
from .progress import CancelToken, Progress
from .similar.index_file import index_path, indexed_space
from .similar.space import SimilarSpace


@dataclass(frozen=True)
class SimilarRow:
    rank: int
    path: Path
    distance: float  # RMS difference in library standard deviations (see similar.space)
    hash: str


@dataclass(frozen=True)
class DuplicateRow:
    group: int
    path: Path
    match: str  # "exact" or "near"
    similarity: float


def library_space(catalog: Catalog, encoder_id: str, library: Path | None = None
                  ) -> tuple[SimilarSpace, dict[str, list[Path]]]:
    """The standardised space of the catalog's embeddings (below ``library`` when given) and
    the paths of each content. Raises :class:`NotEnoughDataError` when nothing is embedded."""
    from .jobs import absolute

    where = absolute(library) if library is not None else None
    files, X = catalog.embedding_matrix(where, encoder_id)
    if not files:
        place = f"{where}" if where else "the catalog"
        raise NotEnoughDataError(
            f"no {encoder_id} embeddings for {place} yet: scan it first "
            f"(anomalizer scan {where or 'LIBRARY_DIR'})")
    paths: dict[str, list[Path]] = {}
    rows: list[int] = []
    for i, record in enumerate(files):
        if record.hash not in paths:
            paths[record.hash] = []
            rows.append(i)
        paths[record.hash].append(record.path)
    keys = [files[i].hash for i in rows]
    if catalog.path is None or where is not None:
        # The index file serves the whole catalog: a sub-folder's space (or an in-memory
        # catalog) searches exactly, so asking about one folder never rebuilds the index.
        return SimilarSpace(keys, X[rows]), paths
    return indexed_space(keys, X[rows], index_path(catalog.path, encoder_id)), paths


def query_vector(path: Path, catalog: Catalog, encoder: Encoder) -> tuple[np.ndarray, str | None]:
    """The embedding of any audio file (in the catalog or not) and its content hash."""
    from .audio.io import file_hash, read_audio
    from .embedding.base import SAMPLE_RATE
    from .jobs import absolute

    path = absolute(path)
    if not path.exists() and not path.is_symlink():
        raise AnomalizerError(f"no such file: {path}")
    try:
        content = file_hash(path)
    except OSError as exc:
        raise AnomalizerError(f"cannot read {path}: {exc.strerror or exc}") from exc
    stored = catalog.get_embeddings([content], encoder.id).get(content)
    if stored is not None:
        return stored, content
    audio = read_audio(path, SAMPLE_RATE)  # an undecodable file raises AudioReadError (clear)
    return np.asarray(encoder.encode([audio.samples])[0], np.float32), content


def similar(query: Path, catalog: Catalog, encoder: Encoder, library: Path | None = None,
            k: int = 10) -> list[SimilarRow]:
    """The ``k`` library files nearest to ``query``, nearest first (the query itself left out;
    other copies of the same audio come first, at distance 0)."""
    from .jobs import absolute

    space, paths = library_space(catalog, encoder.id, library)
    vector, _ = query_vector(query, catalog, encoder)
    me = absolute(query)
    rows: list[SimilarRow] = []
    want = k
    while True:
        hits = space.nearest(vector, want)
        rows = []
        for hit in hits:
            for path in paths[hit.key]:
                if path != me:
                    rows.append(SimilarRow(len(rows) + 1, path, hit.distance, hit.key))
        if len(rows) >= k or want >= len(space):
            return rows[:k]
        want = min(len(space), want * 2)


def duplicates(roots: Sequence[Path | str], catalog: Catalog, token: CancelToken | None = None
               ) -> Generator[Progress, None, list[DuplicateRow]]:
    """Scan ``roots`` (catalog and fingerprint what is new), then group the duplicates among
    them: one row per file in a group of two or more."""
    from .jobs import scan

    token = token or CancelToken()
    scanned = yield from scan(roots, catalog, None, token, checks=False)
    files = [f for f in scanned.files if f.hash and not f.error and not f.missing]
    facets = catalog.facets_of([f.hash for f in files], FACETS_VERSION)
    items = [Item(str(f.path), facets[f.hash].identity, float(f.duration_s or 0.0),
                  facets[f.hash].fingerprint) for f in files if f.hash in facets]
    yield Progress("duplicates", 0, None, f"comparing {len(items)} files")
    groups = find_duplicates(items)
    yield Progress("duplicates", len(items), len(items), f"{len(groups)} groups")
    return [DuplicateRow(g, Path(m.key), m.match, m.similarity)
            for g, members in enumerate(groups, 1) for m in members]
