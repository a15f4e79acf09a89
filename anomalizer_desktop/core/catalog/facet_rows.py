"""The catalog's facets table (schema v4): tempo, key, duplicate identity and fingerprint per
content hash and version of the estimators. Mixed into :class:`~.repository.Catalog`."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .db import chunked

FINGERPRINT_BANDS = 16  # columns of a stored fingerprint (facets.fingerprint.BANDS)


@dataclass(frozen=True, slots=True)
class FacetRecord:
    hash: str
    bpm: float | None
    bpm_confidence: float | None
    bars: int | None
    tonic: int | None
    mode: str | None
    key_confidence: float | None
    identity: str
    fingerprint: np.ndarray  # (n, 16) uint8


class FacetRows:
    """Needs ``transaction()`` and ``query()`` from :class:`~.db.Database`."""

    def put_facets(self, version: int, rows: Iterable[tuple[str, object]]) -> None:
        """Store (replace) ``(hash, facets.Facets)`` pairs for estimator ``version``."""
        now = time.time()
        params = []
        for content_hash, f in rows:
            fp = np.ascontiguousarray(f.fingerprint, np.uint8)
            params.append((content_hash, int(version), f.bpm, f.bpm_confidence, f.bars, f.tonic,
                           f.mode, f.key_confidence, f.identity, fp.tobytes(), now))
        if not params:
            return
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO facets (hash, facets_version, bpm, bpm_confidence, bars, "
                "tonic, mode, key_confidence, identity, fingerprint, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", params)

    def facets_of(self, hashes: Iterable[str], version: int) -> dict[str, FacetRecord]:
        wanted = list(dict.fromkeys(h for h in hashes if h))
        out: dict[str, FacetRecord] = {}
        for part in chunked(wanted):
            rows = self.query(
                "SELECT hash, bpm, bpm_confidence, bars, tonic, mode, key_confidence, identity, "
                "fingerprint FROM facets WHERE facets_version = ? "
                f"AND hash IN ({','.join('?' * len(part))})", (int(version), *part))
            for r in rows:
                blob = r[8] or b""
                if len(blob) % FINGERPRINT_BANDS:
                    blob = b""  # damaged: no fingerprint rather than a wrong one
                fp = np.frombuffer(blob, np.uint8).reshape(-1, FINGERPRINT_BANDS)
                out[r[0]] = FacetRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], fp)
        return out

    def hashes_missing_facets(self, hashes: Iterable[str], version: int) -> list[str]:
        wanted = list(dict.fromkeys(h for h in hashes if h))
        have: set[str] = set()
        for part in chunked(wanted):
            rows = self.query(
                "SELECT hash FROM facets WHERE facets_version = ? "
                f"AND hash IN ({','.join('?' * len(part))})", (int(version), *part))
            have.update(r[0] for r in rows)
        return [h for h in wanted if h not in have]
