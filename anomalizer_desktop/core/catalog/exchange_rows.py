"""The catalog's SQL for the Parquet exchange (:mod:`.parquet_exchange`): every table that holds
user data, read in batches of files and written back with its own timestamps.

Reads return plain tuples and dicts keyed by content hash or file id; writes take the caller's
open transaction (``conn``) so one import is one transaction. Paths are stored as given: they are
:func:`~.schema.path_key` keys already, made on the machine that exported them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .db import chunked
from .schema import under_range

#: The file columns in exchange order (``library`` is the library folder's path, not its id).
FILE_FIELDS = ("path", "library", "size", "mtime", "hash", "duration_s", "sample_rate",
               "channels", "format", "error", "missing", "scanned_at")
#: A facets row after its hash and version.
FACET_FIELDS = ("bpm", "bpm_confidence", "bars", "tonic", "mode", "key_confidence", "identity",
                "fingerprint", "created_at")
_FILE_SELECT = (
    "SELECT f.id, f.path, l.path, f.size, f.mtime, f.hash, f.duration_s, f.sample_rate, "
    "f.channels, f.format, f.error, f.missing, f.scanned_at "
    "FROM files f LEFT JOIN libraries l ON l.id = f.library_id"
)
_UPSERT_FILE = (
    "INSERT INTO files (path, library_id, size, mtime, hash, duration_s, sample_rate, channels, "
    "format, error, missing, scanned_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(path) DO UPDATE SET library_id = excluded.library_id, size = excluded.size, "
    "mtime = excluded.mtime, hash = excluded.hash, duration_s = excluded.duration_s, "
    "sample_rate = excluded.sample_rate, channels = excluded.channels, format = excluded.format, "
    "error = excluded.error, missing = excluded.missing, scanned_at = excluded.scanned_at"
)


def _under(under: Path | str | None, column: str) -> tuple[str, list[Any]]:
    if under is None:
        return "1", []
    key, low, high = under_range(under)
    return f"({column} = ? OR ({column} >= ? AND {column} < ?))", [key, low, high]


def _in(items: Sequence) -> str:
    return ",".join("?" * len(items))


# --- reading -----------------------------------------------------------------------------------
@contextmanager
def snapshot(catalog) -> Iterator[None]:
    """Reads inside see one committed state of the catalog, however long they take (a read
    transaction: in WAL mode a scan writing meanwhile is not blocked, and not seen)."""
    with catalog.connection() as conn:
        if conn.in_transaction:  # inside the caller's transaction already
            yield
            return
        conn.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            conn.execute("COMMIT")


def file_batches(catalog, under: Path | str | None, size: int) -> Iterator[list[tuple]]:
    """``(id, *FILE_FIELDS)`` rows of the files at or below *under* (all: None), missing ones
    included, by path, *size* at a time (keyset pages: each query starts after the last path)."""
    cond, params = _under(under, "f.path")
    after: str | None = None
    while True:
        page = " AND f.path > ?" if after is not None else ""
        rows = catalog.query(f"{_FILE_SELECT} WHERE {cond}{page} ORDER BY f.path LIMIT ?",
                             (*params, *([after] if after is not None else []), int(size)))
        if not rows:
            return
        yield rows
        after = rows[-1][1]


def count_files(catalog, under: Path | str | None) -> int:
    cond, params = _under(under, "path")
    return int(catalog.query(f"SELECT count(*) FROM files WHERE {cond}", params)[0][0])


def encoder_dims(catalog) -> dict[str, int]:
    """Encoder id -> the length of its vectors, for every encoder with embeddings."""
    dims: dict[str, set[int]] = {}
    for encoder_id, dim in catalog.query("SELECT DISTINCT encoder_id, dim FROM embeddings"):
        dims.setdefault(encoder_id, set()).add(int(dim))
    mixed = {e: sorted(d) for e, d in dims.items() if len(d) > 1}
    if mixed:
        raise ValueError(f"the catalog holds embeddings of mixed dimensions: {mixed}")
    return {e: d.pop() for e, d in sorted(dims.items())}


def facet_versions(catalog) -> list[int]:
    return [int(r[0]) for r in catalog.query("SELECT DISTINCT facets_version FROM facets ORDER BY 1")]


def vectors_of(catalog, encoder_id: str, hashes: Sequence[str]) -> dict[str, bytes]:
    """Raw little-endian float32 vectors by hash (damaged ones, of the wrong length, left out)."""
    out: dict[str, bytes] = {}
    for part in chunked(hashes):
        out.update(catalog.query(
            "SELECT hash, vector FROM embeddings WHERE encoder_id = ? AND length(vector) = dim * 4 "
            f"AND hash IN ({_in(part)})", (encoder_id, *part)))
    return out


def qc_of(catalog, hashes: Sequence[str]) -> tuple[dict[str, list[tuple]], dict[str, list[tuple]]]:
    """``hash -> [(checks_version, ran_at)]`` (what was checked) and ``hash -> [(checks_version,
    check_id, severity, start_s, end_s, detail)]`` (what was found), in a stable order."""
    runs: dict[str, list[tuple]] = {}
    found: dict[str, list[tuple]] = {}
    for part in chunked(hashes):
        for h, *rest in catalog.query(
                "SELECT hash, checks_version, ran_at FROM qc_runs "
                f"WHERE hash IN ({_in(part)}) ORDER BY hash, checks_version", part):
            runs.setdefault(h, []).append(tuple(rest))
        for h, *rest in catalog.query(
                "SELECT hash, checks_version, check_id, severity, start_s, end_s, detail "
                f"FROM findings WHERE hash IN ({_in(part)}) "
                "ORDER BY hash, checks_version, start_s, check_id", part):
            found.setdefault(h, []).append(tuple(rest))
    return runs, found


def facets_rows_of(catalog, hashes: Sequence[str]) -> dict[tuple[str, int], tuple]:
    """``(hash, facets_version) -> FACET_FIELDS values`` (the fingerprint as raw bytes)."""
    out: dict[tuple[str, int], tuple] = {}
    for part in chunked(hashes):
        for h, version, *rest in catalog.query(
                f"SELECT hash, facets_version, {', '.join(FACET_FIELDS)} FROM facets "
                f"WHERE hash IN ({_in(part)})", part):
            out[(h, int(version))] = tuple(rest)
    return out


def scores_of(catalog, file_ids: Sequence[int]) -> dict[int, list[tuple]]:
    """``file id -> [(model path, score, threshold, flagged, learned, scored_at)]`` by model path."""
    out: dict[int, list[tuple]] = {}
    for part in chunked(file_ids):
        for file_id, *rest in catalog.query(
                "SELECT s.file_id, m.path, s.score, s.threshold, s.flagged, s.learned, s.scored_at "
                f"FROM scores s JOIN models m ON m.id = s.model_id WHERE s.file_id IN ({_in(part)}) "
                "ORDER BY s.file_id, m.path", part):
            out.setdefault(file_id, []).append(tuple(rest))
    return out


def libraries_for(catalog, under: Path | str | None) -> list[dict]:
    """The libraries of the files below *under* and the libraries inside it (all: None)."""
    cond, params = _under(under, "path")
    files_cond, file_params = _under(under, "f.path")
    rows = catalog.query(
        f"SELECT path, added_at, reference FROM libraries WHERE {cond} OR id IN "
        f"(SELECT f.library_id FROM files f WHERE {files_cond}) ORDER BY path",
        (*params, *file_params))
    return [{"path": p, "added_at": a, "reference": bool(r)} for p, a, r in rows]


def models_for(catalog, under: Path | str | None) -> list[dict]:
    """Every model (None), or the models that scored a file below *under*."""
    where, params = "", []
    if under is not None:
        cond, params = _under(under, "f.path")
        where = (" WHERE id IN (SELECT s.model_id FROM scores s JOIN files f ON f.id = s.file_id "
                 f"WHERE {cond})")
    rows = catalog.query(
        "SELECT path, name, encoder_id, detector, threshold, n_train, created_at, params "
        f"FROM models{where} ORDER BY path", params)
    keys = ("path", "name", "encoder_id", "detector", "threshold", "n_train", "created_at")
    return [{**dict(zip(keys, r[:7])), "params": json.loads(r[7])} for r in rows]


def marks_for(catalog, under: Path | str | None) -> list[dict]:
    """Every "fine" mark (None, also of contents no file has now), or those of files below."""
    where, params = "", []
    if under is not None:
        cond, params = _under(under, "path")
        where = f" WHERE hash IN (SELECT hash FROM files WHERE {cond})"
    rows = catalog.query(f"SELECT hash, fine, note, marked_at FROM marks{where} ORDER BY hash",
                         params)
    return [{"hash": h, "fine": bool(f), "note": n, "marked_at": t} for h, f, n, t in rows]


def stored_dim(catalog, encoder_id: str) -> int | None:
    row = catalog.query("SELECT dim FROM embeddings WHERE encoder_id = ? LIMIT 1", (encoder_id,))
    return int(row[0][0]) if row else None


# --- writing (inside the caller's transaction) ---------------------------------------------------
def put_libraries(conn, libraries: Iterable[dict]) -> dict[str, int]:
    """Upsert by path (an existing library keeps its ``added_at``); returns path -> id."""
    ids: dict[str, int] = {}
    for lib in libraries:
        conn.execute(
            "INSERT INTO libraries (path, added_at, reference) VALUES (?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET reference = excluded.reference",
            (lib["path"], float(lib["added_at"]), int(bool(lib["reference"]))))
        ids[lib["path"]] = conn.execute("SELECT id FROM libraries WHERE path = ?",
                                        (lib["path"],)).fetchone()[0]
    return ids


def put_models(catalog, models: Iterable[dict]) -> dict[str, int]:
    """Register models with :meth:`~.repository.Catalog.add_model` (a model of the same path
    with other settings is replaced and loses its scores) keeping their ``created_at``."""
    ids: dict[str, int] = {}
    with catalog.transaction() as conn:
        for m in models:
            before = catalog.get_model(m["path"])
            record = catalog.add_model(m["path"], m["name"], m["encoder_id"], m["detector"],
                                       m["threshold"], m["n_train"], m["params"])
            if before is None or before.created_at != record.created_at:
                conn.execute("UPDATE models SET created_at = ? WHERE id = ?",
                             (float(m["created_at"]), record.id))
            ids[m["path"]] = record.id
    return ids


def put_file_rows(conn, rows: Sequence[tuple]) -> dict[str, int]:
    """Upsert ``(path, library_id, size, mtime, hash, duration_s, sample_rate, channels, format,
    error, missing, scanned_at)`` rows by path (a changed hash drops the file's old scores);
    returns path -> file id."""
    conn.executemany(_UPSERT_FILE, rows)
    ids: dict[str, int] = {}
    paths = [r[0] for r in rows]
    for part in chunked(paths):
        ids.update(conn.execute(f"SELECT path, id FROM files WHERE path IN ({_in(part)})", part))
    return ids


def put_vectors(conn, encoder_id: str, dim: int, items: Iterable[tuple[str, bytes]]) -> None:
    now = time.time()
    conn.executemany(
        "INSERT OR REPLACE INTO embeddings (hash, encoder_id, dim, vector, created_at) "
        "VALUES (?, ?, ?, ?, ?)", [(h, encoder_id, int(dim), blob, now) for h, blob in items])


def put_qc(conn, runs: Iterable[tuple[str, int, float]], findings: Iterable[tuple]) -> None:
    """Replace the QC results of the ``(hash, checks_version, ran_at)`` runs with *findings*
    ``(hash, checks_version, check_id, severity, start_s, end_s, detail)``."""
    runs = list(runs)
    conn.executemany("DELETE FROM qc_runs WHERE hash = ? AND checks_version = ?",
                     [(h, v) for h, v, _ in runs])
    conn.executemany("INSERT INTO qc_runs (hash, checks_version, ran_at) VALUES (?, ?, ?)", runs)
    conn.executemany(
        "INSERT OR REPLACE INTO findings (hash, checks_version, check_id, severity, start_s, "
        "end_s, detail) VALUES (?, ?, ?, ?, ?, ?, ?)", findings)


def put_facet_rows(conn, rows: Iterable[tuple]) -> None:
    """``(hash, facets_version, *FACET_FIELDS)`` rows, replacing what is stored."""
    conn.executemany(
        f"INSERT OR REPLACE INTO facets (hash, facets_version, {', '.join(FACET_FIELDS)}) "
        f"VALUES ({_in(range(2 + len(FACET_FIELDS)))})", rows)


def put_score_rows(conn, rows: Iterable[tuple]) -> None:
    """``(file_id, model_id, score, threshold, flagged, learned, scored_at)`` rows."""
    conn.executemany(
        "INSERT OR REPLACE INTO scores (file_id, model_id, score, threshold, flagged, learned, "
        "scored_at) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def put_marks(conn, marks: Iterable[dict]) -> None:
    conn.executemany(
        "INSERT OR REPLACE INTO marks (hash, fine, note, marked_at) VALUES (?, ?, ?, ?)",
        [(m["hash"], int(bool(m["fine"])), m.get("note", ""), float(m["marked_at"]))
         for m in marks])
