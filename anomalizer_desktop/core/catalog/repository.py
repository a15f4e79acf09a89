"""The catalog: every SQL query of the app lives here; callers get frozen records back."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .db import Database, chunked
from .facet_rows import FacetRows
from .schema import (
    FILE_COLUMNS,
    MODEL_COLUMNS,
    FileRecord,
    FindingRecord,
    LibraryRecord,
    ModelRecord,
    ScoreRecord,
    file_from_row,
    library_from_row,
    model_from_row,
    path_key,
    score_from_row,
    under_range,
)

log = logging.getLogger(__name__)

_VECTOR_DTYPE = np.dtype("<f4")  # stored little-endian float32 whatever the machine
_LIBRARY_COLUMNS = "id, path, added_at, reference"
_FILE_FIELDS = ("library_id", "size", "mtime", "hash", "duration_s", "sample_rate", "channels",
                "format", "error")
_UPSERT_FILE = (
    f"INSERT INTO files (path, {', '.join(_FILE_FIELDS)}, missing, scanned_at) "
    f"VALUES (?, {', '.join('?' * len(_FILE_FIELDS))}, 0, ?) "
    "ON CONFLICT(path) DO UPDATE SET "
    + ", ".join(f"{f} = excluded.{f}" for f in _FILE_FIELDS)
    + ", missing = 0, scanned_at = excluded.scanned_at"
)


def _under_sql(under: Path | str | None, column: str = "path") -> tuple[str, list[Any]]:
    """SQL condition + parameters for 'at or below folder *under*' (always true for None)."""
    if under is None:
        return "1", []
    key, low, high = under_range(under)
    return f"({column} = ? OR ({column} >= ? AND {column} < ?))", [key, low, high]


def _vector_blob(vector: np.ndarray) -> tuple[int, bytes]:
    arr = np.asarray(vector)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"an embedding must be a non-empty 1-D vector, got shape {arr.shape}")
    return arr.size, np.ascontiguousarray(arr, dtype=_VECTOR_DTYPE).tobytes()


class Catalog(FacetRows, Database):
    """Libraries, files, embeddings, models, scores, "fine" marks, QC findings and facets.

    Every write method runs in :meth:`transaction` (joining the caller's one if open), so a
    batch of calls can be made atomic with ``with catalog.transaction(): ...``.
    """

    # --- libraries -----------------------------------------------------------------------------
    def add_library(self, path: Path | str, reference: bool | None = None) -> LibraryRecord:
        """Register a library folder (idempotent); ``reference`` marks or unmarks it as a
        reference of normal (None leaves the mark as it is)."""
        key = path_key(path)
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO libraries (path, added_at) VALUES (?, ?) ON CONFLICT(path) DO NOTHING",
                (key, time.time()),
            )
            if reference is not None:
                conn.execute("UPDATE libraries SET reference = ? WHERE path = ?",
                             (int(bool(reference)), key))
            row = conn.execute(f"SELECT {_LIBRARY_COLUMNS} FROM libraries WHERE path = ?",
                               (key,)).fetchone()
        return library_from_row(row)

    def set_reference(self, path: Path | str, reference: bool) -> LibraryRecord:
        """Mark ``path`` (registered as a library if it is not one) as a reference of normal,
        or unmark it. With no reference marked, the model learns from every library."""
        return self.add_library(path, reference=reference)

    def reference_folders(self) -> list[Path]:
        """The library folders marked as the reference of normal (empty: learn from all)."""
        return [lib.path for lib in self.libraries() if lib.reference]

    def remove_library(self, path: Path | str) -> None:
        """Forget a library and its file rows (and their scores). Embeddings, marks and
        findings are kept: they are keyed by content hash and cheap to reuse later."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM libraries WHERE path = ?", (path_key(path),))

    def libraries(self) -> list[LibraryRecord]:
        rows = self.query(f"SELECT {_LIBRARY_COLUMNS} FROM libraries ORDER BY path")
        return [library_from_row(r) for r in rows]

    def library_for(self, path: Path | str) -> LibraryRecord | None:
        """The innermost library folder that contains *path* (or is it)."""
        key = path_key(path)
        best: LibraryRecord | None = None
        best_len = -1
        for lib in self.libraries():
            lib_key, low, high = under_range(lib.path)
            if (key == lib_key or low <= key < high) and len(lib_key) > best_len:
                best, best_len = lib, len(lib_key)
        return best

    # --- files ---------------------------------------------------------------------------------
    def get_file(self, path: Path | str) -> FileRecord | None:
        rows = self.query(f"SELECT {FILE_COLUMNS} FROM files WHERE path = ?", (path_key(path),))
        return file_from_row(rows[0]) if rows else None

    def get_file_by_id(self, file_id: int) -> FileRecord | None:
        rows = self.query(f"SELECT {FILE_COLUMNS} FROM files WHERE id = ?", (int(file_id),))
        return file_from_row(rows[0]) if rows else None

    def files(self, under: Path | str | None = None, include_missing: bool = False) -> list[FileRecord]:
        """Files at or below folder *under* (all when None), sorted by path."""
        cond, params = _under_sql(under)
        if not include_missing:
            cond += " AND missing = 0"
        rows = self.query(f"SELECT {FILE_COLUMNS} FROM files WHERE {cond} ORDER BY path", params)
        return [file_from_row(r) for r in rows]

    def files_with_hash(self, content_hash: str) -> list[FileRecord]:
        rows = self.query(
            f"SELECT {FILE_COLUMNS} FROM files WHERE hash = ? ORDER BY path", (content_hash,)
        )
        return [file_from_row(r) for r in rows]

    def upsert_file(
        self,
        path: Path | str,
        *,
        library_id: int | None,
        size: int,
        mtime: float,
        hash: str | None,
        duration_s: float | None = None,
        sample_rate: int | None = None,
        channels: int | None = None,
        format: str | None = None,
        error: str | None = None,
    ) -> FileRecord:
        """Insert or update by path; keeps the id, clears ``missing``. If the content hash
        changes (also to None), the file's scores are dropped: they describe other audio."""
        key = path_key(path)
        values = (library_id, size, mtime, hash, duration_s, sample_rate, channels, format, error)
        with self.transaction() as conn:
            conn.execute(_UPSERT_FILE, (key, *values, time.time()))
            row = conn.execute(f"SELECT {FILE_COLUMNS} FROM files WHERE path = ?", (key,)).fetchone()
        return file_from_row(row)

    def upsert_files(self, rows: Iterable[dict[str, Any]]) -> None:
        """Bulk :meth:`upsert_file` in one transaction. Each dict needs ``path``, ``size`` and
        ``mtime``; the other fields default to None."""
        now = time.time()
        params = [
            (path_key(r["path"]), *(r.get(f) for f in _FILE_FIELDS), now) for r in rows
        ]
        with self.transaction() as conn:
            conn.executemany(_UPSERT_FILE, params)

    def move_file(self, old_path: Path | str, new_path: Path | str, size: int, mtime: float) -> FileRecord:
        """Record a rename/move: the row keeps its id, hash and scores. A stale row already at
        *new_path* is replaced. Raises KeyError if *old_path* is not in the catalog."""
        old, new = path_key(old_path), path_key(new_path)
        with self.transaction() as conn:
            found = conn.execute("SELECT id FROM files WHERE path = ?", (old,)).fetchone()
            if found is None:
                raise KeyError(f"not in the catalog: {old}")
            if new != old:
                conn.execute("DELETE FROM files WHERE path = ?", (new,))
            conn.execute(
                "UPDATE files SET path = ?, size = ?, mtime = ?, missing = 0, scanned_at = ? "
                "WHERE id = ?",
                (new, size, mtime, time.time(), found[0]),
            )
            row = conn.execute(f"SELECT {FILE_COLUMNS} FROM files WHERE id = ?", found).fetchone()
        return file_from_row(row)

    def mark_missing(self, paths: Iterable[Path | str]) -> int:
        """Flag files that vanished; returns how many were newly marked."""
        params = [(path_key(p),) for p in paths]
        with self.transaction() as conn:
            cur = conn.executemany("UPDATE files SET missing = 1 WHERE path = ? AND missing = 0", params)
            return max(cur.rowcount, 0)

    def delete_files(self, ids: Iterable[int]) -> int:
        params = [(int(i),) for i in ids]
        with self.transaction() as conn:
            return max(conn.executemany("DELETE FROM files WHERE id = ?", params).rowcount, 0)

    def stat_index(self, under: Path | str | None = None) -> dict[str, tuple[int, float, int]]:
        """``path key -> (size, mtime, id)`` of present files, in one query, for a rescan.

        Keys are :func:`path_key` strings. Files marked missing are left out, so one that
        comes back looks new and is upserted again (keeping its id)."""
        cond, params = _under_sql(under)
        rows = self.query(f"SELECT path, size, mtime, id FROM files WHERE {cond} AND missing = 0", params)
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    # --- embeddings ----------------------------------------------------------------------------
    def get_embeddings(self, hashes: Sequence[str], encoder_id: str) -> dict[str, np.ndarray]:
        """Cached float32 vectors by content hash; absent (or damaged) ones are left out."""
        found: dict[str, np.ndarray] = {}
        for part in chunked(list(dict.fromkeys(hashes))):
            marks = ",".join("?" * len(part))
            rows = self.query(
                f"SELECT hash, dim, vector FROM embeddings WHERE encoder_id = ? AND hash IN ({marks})",
                (encoder_id, *part),
            )
            for h, dim, blob in rows:
                if len(blob) != dim * _VECTOR_DTYPE.itemsize:
                    log.warning("catalog: embedding %s/%s is damaged (dim %d, %d bytes); ignoring it",
                                h, encoder_id, dim, len(blob))
                    continue
                found[h] = np.frombuffer(blob, dtype=_VECTOR_DTYPE).astype(np.float32)
        return found

    def put_embeddings(self, encoder_id: str, items: Iterable[tuple[str, np.ndarray]]) -> None:
        """Store (replace) vectors. All vectors of one encoder must have the same length."""
        now = time.time()
        params = []
        dims: set[int] = set()
        for content_hash, vector in items:
            dim, blob = _vector_blob(vector)
            dims.add(dim)
            params.append((content_hash, encoder_id, dim, blob, now))
        if not params:
            return
        with self.transaction() as conn:
            stored = conn.execute(
                "SELECT dim FROM embeddings WHERE encoder_id = ? LIMIT 1", (encoder_id,)
            ).fetchone()
            if stored is not None:
                dims.add(stored[0])
            if len(dims) > 1:
                raise ValueError(f"embeddings of encoder {encoder_id!r} have mixed dimensions {sorted(dims)}")
            conn.executemany(
                "INSERT OR REPLACE INTO embeddings (hash, encoder_id, dim, vector, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                params,
            )

    def hashes_missing_embeddings(self, hashes: Iterable[str], encoder_id: str) -> list[str]:
        """The given hashes (de-duplicated, order kept) that have no usable vector yet."""
        wanted = list(dict.fromkeys(h for h in hashes if h))
        have: set[str] = set()
        for part in chunked(wanted):
            rows = self.query(
                f"SELECT hash FROM embeddings WHERE encoder_id = ? AND length(vector) = dim * 4 "
                f"AND hash IN ({','.join('?' * len(part))})",
                (encoder_id, *part),
            )
            have.update(r[0] for r in rows)
        return [h for h in wanted if h not in have]

    def embedding_matrix(
        self, selection: Sequence[int] | Path | str | None, encoder_id: str
    ) -> tuple[list[FileRecord], np.ndarray]:
        """Present files that have an embedding, and their vectors as aligned rows.

        *selection*: a sequence of file ids (order kept), a folder (files below it, by path)
        or None (all files, by path). Duplicate files each get a row. With no rows the matrix
        has shape ``(0, 0)``."""
        base = (
            f"SELECT {', '.join('f.' + c.strip() for c in FILE_COLUMNS.split(','))}, e.dim, e.vector "
            # CROSS JOIN pins files as the outer loop: for long IN lists the planner otherwise
            # walks every vector of the encoder (100x slower at 10,000 rows).
            "FROM files f CROSS JOIN embeddings e ON e.hash = f.hash AND e.encoder_id = ? "
            "WHERE f.missing = 0 AND length(e.vector) = e.dim * 4"
        )
        if selection is None or isinstance(selection, (str, Path)):
            cond, params = _under_sql(selection, "f.path")
            rows = self.query(f"{base} AND {cond} ORDER BY f.path", (encoder_id, *params))
        else:
            ids = [int(i) for i in selection]
            by_id: dict[int, tuple] = {}
            for part in chunked(list(dict.fromkeys(ids))):
                got = self.query(f"{base} AND f.id IN ({','.join('?' * len(part))})", (encoder_id, *part))
                by_id.update((r[0], r) for r in got)
            rows = [by_id[i] for i in ids if i in by_id]
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        dims = {r[-2] for r in rows}
        if len(dims) != 1:
            raise ValueError(f"embeddings of encoder {encoder_id!r} have mixed dimensions {sorted(dims)}")
        matrix = np.frombuffer(b"".join(r[-1] for r in rows), dtype=_VECTOR_DTYPE)
        matrix = matrix.reshape(len(rows), dims.pop()).astype(np.float32)
        return [file_from_row(r) for r in rows], matrix

    # --- models & scores -----------------------------------------------------------------------
    def add_model(
        self, path: Path | str, name: str, encoder_id: str, detector: str, threshold: float,
        n_train: int, params: dict | None = None,
    ) -> ModelRecord:
        """Register a model file (upsert by path). If it was registered before with different
        settings (a retrain), its old scores are dropped and ``created_at`` renewed."""
        key = path_key(path)
        params_json = json.dumps(params or {}, sort_keys=True)
        new = (name, encoder_id, detector, float(threshold), int(n_train), params_json)
        with self.transaction() as conn:
            old = conn.execute(
                "SELECT id, name, encoder_id, detector, threshold, n_train, params FROM models "
                "WHERE path = ?", (key,)).fetchone()
            if old is None:
                conn.execute(
                    "INSERT INTO models (path, name, encoder_id, detector, threshold, n_train, "
                    "params, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (key, *new, time.time()),
                )
            elif tuple(old[1:]) != new:
                conn.execute("DELETE FROM scores WHERE model_id = ?", (old[0],))
                conn.execute(
                    "UPDATE models SET name = ?, encoder_id = ?, detector = ?, threshold = ?, "
                    "n_train = ?, params = ?, created_at = ? WHERE id = ?",
                    (*new, time.time(), old[0]),
                )
            row = conn.execute(f"SELECT {MODEL_COLUMNS} FROM models WHERE path = ?", (key,)).fetchone()
        return model_from_row(row)

    def models(self) -> list[ModelRecord]:
        rows = self.query(f"SELECT {MODEL_COLUMNS} FROM models ORDER BY created_at, id")
        return [model_from_row(r) for r in rows]

    def get_model(self, path: Path | str) -> ModelRecord | None:
        rows = self.query(f"SELECT {MODEL_COLUMNS} FROM models WHERE path = ?", (path_key(path),))
        return model_from_row(rows[0]) if rows else None

    def put_scores(self, model_id: int, rows: Iterable[tuple]) -> None:
        """Store (replace) ``(file_id, score, threshold, flagged[, learned])`` rows for a model:
        ``score`` is the calibrated evidence, ``learned`` the model's own score. A row whose
        score or threshold is not a finite number is not stored (it would mean nothing)."""
        now = time.time()
        params = []
        for row in rows:
            f, s, t, fl = row[:4]
            learned = row[4] if len(row) > 4 else None
            if not (math.isfinite(float(s)) and math.isfinite(float(t))):
                log.warning("not storing a non-finite score (%s, threshold %s) for file %s",
                            s, t, f)
                continue
            if learned is not None and not math.isfinite(float(learned)):
                learned = None
            params.append((int(f), int(model_id), float(s), float(t), int(bool(fl)), now,
                           None if learned is None else float(learned)))
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO scores (file_id, model_id, score, threshold, flagged, "
                "scored_at, learned) VALUES (?, ?, ?, ?, ?, ?, ?)",
                params,
            )

    def scores(self, model_id: int) -> dict[int, ScoreRecord]:
        rows = self.query(
            "SELECT file_id, model_id, score, threshold, flagged, scored_at, learned FROM scores "
            "WHERE model_id = ?", (int(model_id),))
        return {r[0]: score_from_row(r) for r in rows}

    # --- marks ---------------------------------------------------------------------------------
    def set_fine(self, content_hash: str, fine: bool, note: str = "") -> None:
        """Mark audio (by content hash) as fine: it joins the normal set at the next training."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO marks (hash, fine, note, marked_at) VALUES (?, ?, ?, ?)",
                (content_hash, int(bool(fine)), note, time.time()),
            )

    def fine_hashes(self) -> set[str]:
        return {r[0] for r in self.query("SELECT hash FROM marks WHERE fine = 1")}

    # --- signal-QC findings (schema v2) --------------------------------------------------------
    def put_findings(
        self, content_hash: str, checks_version: int,
        findings: Iterable[tuple[str, str, float, float, str]],
    ) -> None:
        """Replace the QC result of one hash for one version of the checks with
        ``(check_id, severity, start_s, end_s, detail)`` rows (none = checked, all clear)."""
        rows = [
            (content_hash, int(checks_version), c, sev, float(a), float(b), d)
            for c, sev, a, b, d in findings
        ]
        key = (content_hash, int(checks_version))
        with self.transaction() as conn:
            conn.execute("DELETE FROM qc_runs WHERE hash = ? AND checks_version = ?", key)
            conn.execute("INSERT INTO qc_runs (hash, checks_version, ran_at) VALUES (?, ?, ?)",
                         (*key, time.time()))
            conn.executemany(
                "INSERT OR REPLACE INTO findings (hash, checks_version, check_id, severity, start_s, "
                "end_s, detail) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def findings(self, content_hash: str, checks_version: int) -> list[FindingRecord] | None:
        """Findings in time order, ``[]`` if checked and clean, None if not checked yet."""
        rows = self.query(
            "SELECT q.hash, q.checks_version, f.check_id, f.severity, f.start_s, f.end_s, f.detail "
            "FROM qc_runs q LEFT JOIN findings f USING (hash, checks_version) "
            "WHERE q.hash = ? AND q.checks_version = ? ORDER BY f.start_s, f.check_id",
            (content_hash, int(checks_version)))
        if not rows:
            return None
        return [FindingRecord(*r) for r in rows if r[2] is not None]

    def findings_of(self, hashes: Iterable[str], checks_version: int) -> dict[str, list[FindingRecord]]:
        """:meth:`findings` of many hashes in a few queries: hash -> findings in time order, for
        the checked hashes only (a checked, clean hash maps to ``[]``)."""
        wanted = list(dict.fromkeys(h for h in hashes if h))
        out: dict[str, list[FindingRecord]] = {}
        for part in chunked(wanted):
            rows = self.query(
                "SELECT q.hash, q.checks_version, f.check_id, f.severity, f.start_s, f.end_s, "
                "f.detail FROM qc_runs q LEFT JOIN findings f USING (hash, checks_version) "
                f"WHERE q.checks_version = ? AND q.hash IN ({','.join('?' * len(part))}) "
                "ORDER BY q.hash, f.start_s, f.check_id",
                (int(checks_version), *part))
            for r in rows:
                found = out.setdefault(r[0], [])
                if r[2] is not None:
                    found.append(FindingRecord(*r))
        return out

    def hashes_missing_findings(self, hashes: Iterable[str], checks_version: int) -> list[str]:
        wanted = list(dict.fromkeys(h for h in hashes if h))
        have: set[str] = set()
        for part in chunked(wanted):
            rows = self.query(
                "SELECT hash FROM qc_runs WHERE checks_version = ? "
                f"AND hash IN ({','.join('?' * len(part))})",
                (int(checks_version), *part))
            have.update(r[0] for r in rows)
        return [h for h in wanted if h not in have]
