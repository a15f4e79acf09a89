"""Facets inside the jobs: tempo, key and duplicate fingerprints for every new content during
a scan, kept in the catalog like the findings (one decode at the file's own rate)."""

from __future__ import annotations

import logging
from contextlib import closing
from typing import Generator, Sequence

from .audio.io import read_audio
from .catalog import Catalog, FileRecord
from .catalog.work_claims import WAITING, shared_chunks
from .errors import AnomalizerError
from .facets import FACETS_VERSION, describe
from .progress import CancelToken, EtaClock, Progress

log = logging.getLogger(__name__)

CLAIM = 16  # contents claimed at a time (concurrent scans of one catalog share the work)


def describe_files(
    files: Sequence[FileRecord], catalog: Catalog, token: CancelToken | None = None
) -> Generator[Progress, None, int]:
    """Compute the facets of every distinct content among ``files`` that has none yet;
    returns how many were computed. Files that cannot be decoded are skipped (their reason is
    recorded by the stages that need them)."""
    token = token or CancelToken()
    by_hash: dict[str, FileRecord] = {}
    for record in files:
        if record.hash and not record.error and not record.missing:
            by_hash.setdefault(record.hash, record)
    todo = catalog.hashes_missing_facets(list(by_hash), FACETS_VERSION)
    if not todo:
        return 0
    clock = EtaClock(len(todo))
    done = 0
    with closing(shared_chunks(catalog, f"facets:v{FACETS_VERSION}", todo, CLAIM)) as chunks:
        for chunk in chunks:
            if chunk is None:
                yield clock.progress("facets", done, WAITING)
                token.raise_if_cancelled()
                continue
            pending: list[tuple[str, object]] = []
            for content in chunk:
                record = by_hash[content]
                try:
                    audio = read_audio(record.path, sample_rate=None, channel_mode="keep")
                    pending.append((content, describe(audio.samples, audio.sample_rate)))
                except AnomalizerError as exc:
                    log.info("facets skipped for %s: %s", record.path, exc)
                except MemoryError:
                    log.info("facets skipped for %s: not enough memory to decode it", record.path)
                done += 1
                if done % 8 == 0:
                    yield clock.progress("facets", done, record.path.name)
                if token.cancelled:
                    break
            catalog.put_facets(FACETS_VERSION, pending)
            token.raise_if_cancelled()
    yield clock.progress("facets", len(todo), "tempo, key and fingerprints done")
    return done
