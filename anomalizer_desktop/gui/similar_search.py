"""The "more like this" job the Similar panel runs on a worker thread (Qt-free).

Library loops have their embeddings in the catalog, so asking about one reads vectors only. A
file from outside the library is decoded and embedded with the encoder the window scans with
(:class:`LazyEncoder` asks for the process's shared one only then). Tempo and key of the hits
come from the catalog's facets.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.catalog import Catalog
from ..core.errors import AnomalizerError, NotEnoughDataError
from ..core.progress import CancelToken, Progress

DEFAULT_K = 10
NO_EMBEDDINGS = ("No embeddings for this library yet: scan this library first "
                 "(File ▸ Rescan libraries), then ask again.")


@dataclass(frozen=True)
class SimilarHit:
    rank: int
    path: str
    distance: float  # RMS difference in library standard deviations (0 = the same sound)
    bpm: float | None = None
    key: str | None = None  # "D minor"

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass(frozen=True)
class SimilarResult:
    query: str
    hits: list[SimilarHit] = field(default_factory=list)
    message: str = ""  # why there are no hits (e.g. nothing embedded yet), for the user


class LazyEncoder:
    """The window's encoder, built on the first ``encode`` (library queries never need it).

    ``encoder_id`` is the id the library was embedded with (None: not known yet, so the encoder
    called ``name`` in the settings is built now to learn it)."""

    def __init__(self, encoder_id: str | None, name: str = "auto") -> None:
        self._encoder = None
        if not encoder_id:
            self._encoder = _shared_encoder(None, name)
            encoder_id = self._encoder.id
        self.id = encoder_id
        self.name = encoder_id.split(":", 1)[0]

    def encode(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        if self._encoder is None:
            self._encoder = _shared_encoder(self.id, self.name)
        return self._encoder.encode(clips)


def _shared_encoder(encoder_id: str | None, name: str):
    """The process's shared encoder (``core/embedding/shared.py``: CLAP takes seconds to build)."""
    from ..core.embedding import encoder_for_id, make_encoder

    return encoder_for_id(encoder_id, shared=True) if encoder_id else make_encoder(name, shared=True)


def find_similar(query: str | Path, catalog: Catalog, roots: Sequence[Path | str],
                 encoder_id: str | None, encoder_name: str = "auto", k: int = DEFAULT_K,
                 token: CancelToken | None = None) -> Generator[Progress, None, SimilarResult]:
    """The ``k`` loops under ``roots`` nearest to ``query`` (any audio file), nearest first.
    Raises :class:`AnomalizerError` with a message for a file that cannot be read."""
    from ..core import browse
    from ..core.audio.io import is_audio_path
    from ..core.facets import FACETS_VERSION, key_name
    from ..core.jobs import absolute

    token = token or CancelToken()
    query = absolute(query)
    yield Progress("similar", 0, None, f"finding loops like {query.name}")
    if not query.is_file():
        raise AnomalizerError(f"no such file: {query}")
    if not is_audio_path(query):
        raise AnomalizerError(f"{query.name} is not an audio file (wav, aiff, flac, ogg, mp3)")
    roots = [absolute(r) for r in roots]
    if not roots:
        return SimilarResult(str(query), message="Add a library folder first: the loops like "
                                                 "this one are looked for in your libraries.")
    encoder = LazyEncoder(encoder_id, encoder_name)
    token.raise_if_cancelled()
    # One library: its own space. Several: the catalog's, keeping only hits in the libraries.
    library = roots[0] if len(roots) == 1 else None
    want = k if library is not None else 4 * k
    try:
        while True:
            found = browse.similar(query, catalog, encoder, library, k=want)
            rows = [r for r in found if library is not None
                    or any(_under(r.path, root) for root in roots)]
            if len(rows) >= k or len(found) < want:  # enough, or the catalog has no more
                break
            want *= 4
    except NotEnoughDataError:
        return SimilarResult(str(query), message=NO_EMBEDDINGS)
    rows = rows[:k]
    token.raise_if_cancelled()
    facets = catalog.facets_of([r.hash for r in rows], FACETS_VERSION)
    hits = []
    for i, r in enumerate(rows, 1):
        f = facets.get(r.hash)
        key = key_name(f.tonic, f.mode) if f is not None and f.tonic is not None and f.mode else None
        hits.append(SimilarHit(i, str(r.path), float(r.distance), f.bpm if f else None, key))
    if not hits:
        return SimilarResult(str(query), message="No other embedded loops in your libraries "
                                                 "to compare with yet.")
    return SimilarResult(str(query), hits)


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
