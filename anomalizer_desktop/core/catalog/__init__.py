"""The catalog: a SQLite (WAL) database of libraries, files, cached embeddings, models, scores,
"fine" marks and signal-QC findings. See :mod:`.db` for threading and migrations."""

from __future__ import annotations

from .repository import Catalog
from .schema import (
    SCHEMA_VERSION,
    FileRecord,
    FindingRecord,
    LibraryRecord,
    ModelRecord,
    ScoreRecord,
    path_key,
)

__all__ = [
    "SCHEMA_VERSION",
    "Catalog",
    "FileRecord",
    "FindingRecord",
    "LibraryRecord",
    "ModelRecord",
    "ScoreRecord",
    "path_key",
]
