"""Catalog tables, their ordered migrations, and the frozen records the rest of the app sees.

Versioning follows beets' dbcore idea with SQLite's ``PRAGMA user_version``: ``MIGRATIONS[i]``
brings a database from version ``i`` to ``i + 1``; version 0 is an empty file. A shipped
migration is never edited; a schema change is a new entry at the end.

Paths are stored as the text of :func:`path_key` (absolute, lexically normalised, POSIX
separators, symlinks *not* resolved). Embeddings, marks and QC findings are keyed by content
hash, so a moved, renamed or duplicated file reuses them.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Migration:
    version: int  # the user_version after this migration
    description: str
    statements: tuple[str, ...]


# --- v1: the first shipped schema (frozen; never edit) -----------------------------------------
_V1 = (
    """CREATE TABLE libraries (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        added_at REAL NOT NULL)""",
    """CREATE TABLE files (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        library_id INTEGER REFERENCES libraries(id) ON DELETE CASCADE,
        size INTEGER NOT NULL,
        mtime REAL NOT NULL,
        hash TEXT,
        duration_s REAL,
        sample_rate INTEGER,
        channels INTEGER,
        format TEXT,
        error TEXT,
        missing INTEGER NOT NULL DEFAULT 0,
        scanned_at REAL NOT NULL)""",
    "CREATE INDEX files_hash ON files(hash)",
    "CREATE INDEX files_library ON files(library_id)",
    """CREATE TABLE embeddings (
        hash TEXT NOT NULL,
        encoder_id TEXT NOT NULL,
        dim INTEGER NOT NULL,
        vector BLOB NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (hash, encoder_id))""",
    """CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        encoder_id TEXT NOT NULL,
        detector TEXT NOT NULL,
        threshold REAL NOT NULL,
        n_train INTEGER NOT NULL,
        created_at REAL NOT NULL,
        params TEXT NOT NULL DEFAULT '{}')""",
    """CREATE TABLE scores (
        file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
        score REAL NOT NULL,
        threshold REAL NOT NULL,
        flagged INTEGER NOT NULL,
        scored_at REAL NOT NULL,
        PRIMARY KEY (file_id, model_id))""",
    "CREATE INDEX scores_model ON scores(model_id)",
    """CREATE TABLE marks (
        hash TEXT PRIMARY KEY,
        fine INTEGER NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        marked_at REAL NOT NULL)""",
    # A score describes the audio it was computed on: new content means the score is stale.
    """CREATE TRIGGER files_hash_changed AFTER UPDATE OF hash ON files
        WHEN old.hash IS NOT new.hash
        BEGIN DELETE FROM scores WHERE file_id = new.id; END""",
)

# --- v2: signal-QC findings, per content hash and version of the checks ------------------------
# qc_runs records that a hash was checked (so "checked, nothing found" differs from "not checked");
# findings hang off a run and go with it. The embeddings index makes "which dimension does this
# encoder use" a lookup instead of a scan over every other encoder's vectors.
_V2 = (
    "CREATE INDEX embeddings_encoder_dim ON embeddings(encoder_id, dim)",
    """CREATE TABLE qc_runs (
        hash TEXT NOT NULL,
        checks_version INTEGER NOT NULL,
        ran_at REAL NOT NULL,
        PRIMARY KEY (hash, checks_version))""",
    """CREATE TABLE findings (
        hash TEXT NOT NULL,
        checks_version INTEGER NOT NULL,
        check_id TEXT NOT NULL,
        severity TEXT NOT NULL,
        start_s REAL NOT NULL,
        end_s REAL NOT NULL,
        detail TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (hash, checks_version, check_id, start_s),
        FOREIGN KEY (hash, checks_version) REFERENCES qc_runs(hash, checks_version)
            ON DELETE CASCADE)""",
)

# --- v3: calibrated evidence ------------------------------------------------------------------
# ``score`` is now the calibrated evidence the table sorts by (-log10 of how likely a normal loop
# of the library is to look this unusual) and ``learned`` the model's own score. Scores stored
# before were learned scores on another scale: they are dropped (the next analysis rescores).
_V3 = (
    "DELETE FROM scores",
    "ALTER TABLE scores ADD COLUMN learned REAL",
)

# --- v4: facets (tempo, key, duplicate identity and fingerprint), per content hash -------------
_V4 = (
    """CREATE TABLE facets (
        hash TEXT NOT NULL,
        facets_version INTEGER NOT NULL,
        bpm REAL,
        bpm_confidence REAL,
        bars INTEGER,
        tonic INTEGER,
        mode TEXT,
        key_confidence REAL,
        identity TEXT NOT NULL,
        fingerprint BLOB NOT NULL,
        created_at REAL NOT NULL,
        PRIMARY KEY (hash, facets_version))""",
    "CREATE INDEX facets_identity ON facets(identity)",
)

# --- v5: reference folders --------------------------------------------------------------------
# A library folder marked ``reference`` is what the model learns "normal" from; every other
# folder is scored against it. None marked: the model learns from every library (the default).
# work_claims lets concurrent scans of one catalog share a stage's work (catalog.work_claims).
_V5 = (
    "ALTER TABLE libraries ADD COLUMN reference INTEGER NOT NULL DEFAULT 0",
    """CREATE TABLE work_claims (
        stage TEXT NOT NULL,
        key TEXT NOT NULL,
        owner TEXT NOT NULL,
        claimed_at REAL NOT NULL,
        done_at REAL,
        PRIMARY KEY (stage, key))""",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _V1),
    Migration(2, "signal-QC findings tables, embeddings index", _V2),
    Migration(3, "calibrated evidence: scores hold evidence plus the learned score", _V3),
    Migration(4, "facets: tempo, key, duplicate identity and fingerprint", _V4),
    Migration(5, "reference folders; work claims shared by concurrent scans", _V5),
)
SCHEMA_VERSION = len(MIGRATIONS)


# --- paths -------------------------------------------------------------------------------------
def path_key(path: Path | str) -> str:
    """The text a path is stored under: absolute, ``..``/``//`` collapsed, ``/`` separators.

    Symlinks are kept as named (the user sees the names they chose; duplicates still share
    embeddings through the content hash). Scanners should compare against this key.
    """
    text = os.fspath(path)
    key = Path(os.path.abspath(text)).as_posix()
    try:
        key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"cannot store path {text!r}: its name is not valid UTF-8; rename the file"
        ) from exc
    return key


def under_range(folder: Path | str) -> tuple[str, str, str]:
    """``(key, low, high)`` so that ``path = key OR (path >= low AND path < high)`` selects the
    folder and everything below it, with no LIKE escaping and using the path index.

    ``'0'`` is the character after ``'/'``, and SQLite compares TEXT bytewise (UTF-8 order), so
    ``/a/b`` matches ``/a/b/x`` but not ``/a/bc`` or ``/a/b%``.
    """
    key = path_key(folder)
    low = key if key.endswith("/") else key + "/"
    return key, low, low[:-1] + "0"


# --- records -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class LibraryRecord:
    id: int
    path: Path
    added_at: float
    reference: bool = False  # the model learns "normal" from the reference folders only


@dataclass(frozen=True, slots=True)
class FileRecord:
    id: int
    path: Path
    library_id: int | None
    size: int
    mtime: float
    hash: str | None
    duration_s: float | None
    sample_rate: int | None
    channels: int | None
    format: str | None
    error: str | None  # why the file could not be read, or None
    missing: bool  # gone on the last scan
    scanned_at: float


@dataclass(frozen=True, slots=True)
class ModelRecord:
    id: int
    path: Path
    name: str
    encoder_id: str
    detector: str
    threshold: float
    n_train: int
    created_at: float
    params: dict


@dataclass(frozen=True, slots=True)
class ScoreRecord:
    file_id: int
    model_id: int
    score: float
    threshold: float
    flagged: bool
    scored_at: float
    learned: float | None = None  # the model's raw score (``score`` is the calibrated evidence)


@dataclass(frozen=True, slots=True)
class FindingRecord:
    hash: str
    checks_version: int
    check_id: str
    severity: str
    start_s: float
    end_s: float
    detail: str


FILE_COLUMNS = (
    "id, path, library_id, size, mtime, hash, duration_s, sample_rate, channels, format, "
    "error, missing, scanned_at"
)


def library_from_row(row: sqlite3.Row | tuple) -> LibraryRecord:
    return LibraryRecord(row[0], Path(row[1]), row[2], bool(row[3]) if len(row) > 3 else False)


def file_from_row(row: sqlite3.Row | tuple) -> FileRecord:
    """Build a record from the first 13 columns, in :data:`FILE_COLUMNS` order."""
    return FileRecord(
        row[0], Path(row[1]), row[2], row[3], row[4], row[5], row[6], row[7], row[8], row[9],
        row[10], bool(row[11]), row[12],
    )


MODEL_COLUMNS = "id, path, name, encoder_id, detector, threshold, n_train, created_at, params"


def model_from_row(row: sqlite3.Row | tuple) -> ModelRecord:
    return ModelRecord(
        row[0], Path(row[1]), row[2], row[3], row[4], row[5], row[6], row[7], json.loads(row[8])
    )


def score_from_row(row: sqlite3.Row | tuple) -> ScoreRecord:
    learned = row[6] if len(row) > 6 else None
    return ScoreRecord(row[0], row[1], row[2], row[3], bool(row[4]), row[5],
                       None if learned is None else float(learned))
