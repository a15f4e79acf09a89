"""A catalog as one Parquet file, and back: a catalogue embedded on a cluster opens in the
desktop app, and a desktop catalog can be analysed with any dataframe tool.

One row per catalog file (missing ones too), by path:

* the file: ``path, library, size, mtime, hash, duration_s, sample_rate, channels, format,
  error, missing, scanned_at`` (``library`` is the library folder's path);
* ``embedding_<encoder id>``: one fixed-size ``list<float32>`` column per encoder (null: none);
* ``qc_runs``: ``list<struct{checks_version, ran_at}>``, the versions of the signal checks
  that ran (a run with no findings is a clean file); ``findings``: ``list<struct{checks_version,
  check_id, severity, start_s, end_s, detail}>``;
* ``facets_v<version>``: a struct of tempo, key, duplicate identity and fingerprint per version
  of the estimators (null: not described with it);
* ``scores``: ``list<struct{model, score, threshold, flagged, learned, scored_at}>``, keyed by
  the model file's path.

The key-value metadata ``anomalizer`` holds JSON: the exchange format and its version, the
libraries (with their reference mark), the models and the "fine" marks. pyarrow is needed
only here, and imported when a function runs.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ... import __version__
from ..errors import ExchangeError
from ..progress import CancelToken, Progress
from . import exchange_rows as rows
from .schema import SCHEMA_VERSION, path_key

log = logging.getLogger(__name__)

FORMAT = "anomalizer-catalog"
FORMAT_VERSION = 1  # bump when a column changes meaning; readers refuse newer versions
METADATA_KEY = b"anomalizer"
BATCH_ROWS = 10_000  # rows per row group written and per batch read
INSTALL_HINT = "pip install 'anomalizer-desktop[exchange]'"
_RUN_KEYS = ("checks_version", "ran_at")
_FINDING_KEYS = ("checks_version", "check_id", "severity", "start_s", "end_s", "detail")
_SCORE_KEYS = ("model", "score", "threshold", "flagged", "learned", "scored_at")


@dataclass(frozen=True)
class ExchangeResult:
    """What one export or import carried."""

    path: Path
    files: int
    embeddings: dict[str, int]  # encoder id -> vectors
    findings: int
    facets: int
    scores: int
    libraries: int
    models: int
    marks: int


def embedding_column(encoder_id: str) -> str:
    return f"embedding_{encoder_id}"


def facets_column(version: int) -> str:
    return f"facets_v{int(version)}"


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError as exc:
        raise ExchangeError(f"Parquet export and import need pyarrow ({INSTALL_HINT})") from exc
    return pyarrow, pyarrow.parquet


def _types(pa) -> dict:
    f64, i32, text = pa.float64(), pa.int32(), pa.string()
    return {
        "path": text, "library": text, "size": pa.int64(), "mtime": f64, "hash": text,
        "duration_s": f64, "sample_rate": i32, "channels": i32, "format": text, "error": text,
        "missing": pa.bool_(), "scanned_at": f64,
        "qc_runs": pa.list_(pa.struct([("checks_version", i32), ("ran_at", f64)])),
        "findings": pa.list_(pa.struct([
            ("checks_version", i32), ("check_id", text), ("severity", text), ("start_s", f64),
            ("end_s", f64), ("detail", text)])),
        "facets": pa.struct([
            ("bpm", f64), ("bpm_confidence", f64), ("bars", i32), ("tonic", i32), ("mode", text),
            ("key_confidence", f64), ("identity", text), ("fingerprint", pa.binary()),
            ("created_at", f64)]),
        "scores": pa.list_(pa.struct([
            ("model", text), ("score", f64), ("threshold", f64), ("flagged", pa.bool_()),
            ("learned", f64), ("scored_at", f64)])),
    }


def arrow_schema(pa, encoders: dict[str, int], facet_versions: list[int], metadata: dict):
    """The exchange schema for these encoders (id -> dimension) and facet versions."""
    types = _types(pa)
    required = {"path", "size", "mtime", "missing", "scanned_at"}
    fields = [pa.field(n, types[n], nullable=n not in required) for n in rows.FILE_FIELDS]
    fields += [pa.field(embedding_column(e), pa.list_(pa.float32(), d))
               for e, d in encoders.items()]
    fields += [pa.field(n, types[n]) for n in ("qc_runs", "findings")]
    fields += [pa.field(facets_column(v), types["facets"]) for v in facet_versions]
    fields.append(pa.field("scores", types["scores"]))
    return pa.schema(fields, metadata={METADATA_KEY: json.dumps(metadata).encode("utf-8")})


# --- export ------------------------------------------------------------------------------------
def export_parquet(
    catalog, out_path: Path | str, under: Path | str | None = None, *,
    batch_rows: int = BATCH_ROWS, progress: Callable[[Progress], None] | None = None,
    token: CancelToken | None = None,
) -> ExchangeResult:
    """Write the files at or below *under* (all: None) with everything the catalog knows about
    them to *out_path*, *batch_rows* per row group. The file appears when it is complete."""
    pa, pq = _pyarrow()
    with rows.snapshot(catalog):
        return _export(pa, pq, catalog, Path(out_path), under, batch_rows, progress, token)


def _export(pa, pq, catalog, out: Path, under, batch_rows: int, progress, token) -> ExchangeResult:
    try:
        encoders = rows.encoder_dims(catalog)
    except ValueError as exc:
        raise ExchangeError(f"cannot export: {exc}") from exc
    versions = rows.facet_versions(catalog)
    meta = {
        "format": FORMAT, "version": FORMAT_VERSION, "app_version": __version__,
        "catalog_schema": SCHEMA_VERSION, "exported_at": time.time(),
        "under": None if under is None else path_key(under), "encoders": encoders,
        "libraries": rows.libraries_for(catalog, under), "models": rows.models_for(catalog, under),
        "marks": rows.marks_for(catalog, under),
    }
    schema = arrow_schema(pa, encoders, versions, meta)
    total = rows.count_files(catalog, under)
    counts = _Counts(encoders)
    part = out.with_name(out.name + ".part")
    try:
        with pq.ParquetWriter(part, schema, compression="zstd") as writer:
            for page in rows.file_batches(catalog, under, batch_rows):
                if token is not None:
                    token.raise_if_cancelled()
                writer.write_batch(_record_batch(pa, schema, catalog, page, encoders, versions,
                                                 counts))
                if progress is not None:
                    progress(Progress("export", counts.files, total, "files written"))
        os.replace(part, out)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise ExchangeError(f"cannot write {out}: {exc.strerror or exc}") from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    log.info("exported %d files to %s", counts.files, out)
    return counts.result(out, meta)


class _Counts:
    def __init__(self, encoders) -> None:
        self.files = self.findings = self.facets = self.scores = 0
        self.embeddings = {e: 0 for e in encoders}

    def result(self, path: Path, meta: dict) -> ExchangeResult:
        return ExchangeResult(path, self.files, dict(self.embeddings), self.findings, self.facets,
                              self.scores, len(meta.get("libraries") or ()),
                              len(meta.get("models") or ()), len(meta.get("marks") or ()))


def _record_batch(pa, schema, catalog, page, encoders, versions, counts: _Counts):
    n = len(page)
    ids = [r[0] for r in page]
    file_hashes = [r[5] for r in page]
    hashes = list(dict.fromkeys(h for h in file_hashes if h))
    data: dict[str, list] = {name: [r[i + 1] for r in page]
                             for i, name in enumerate(rows.FILE_FIELDS)}
    data["missing"] = [bool(v) for v in data["missing"]]
    arrays = [pa.array(data[name], schema.field(name).type) for name in rows.FILE_FIELDS]
    for encoder_id, dim in encoders.items():
        blobs = rows.vectors_of(catalog, encoder_id, hashes)
        found = [blobs.get(h) if h else None for h in file_hashes]
        arrays.append(_vector_array(pa, found, dim))
        counts.embeddings[encoder_id] += sum(b is not None for b in found)
    runs, found = rows.qc_of(catalog, hashes)
    arrays.append(pa.array([[dict(zip(_RUN_KEYS, r)) for r in runs.get(h, ())]
                            for h in file_hashes], schema.field("qc_runs").type))
    per_file = [[dict(zip(_FINDING_KEYS, f)) for f in found.get(h, ())] for h in file_hashes]
    counts.findings += sum(map(len, per_file))
    arrays.append(pa.array(per_file, schema.field("findings").type))
    facets = rows.facets_rows_of(catalog, hashes)
    for version in versions:
        values = [facets.get((h, version)) for h in file_hashes]
        counts.facets += sum(v is not None for v in values)
        arrays.append(pa.array([None if v is None else dict(zip(rows.FACET_FIELDS, v))
                                for v in values], schema.field(facets_column(version)).type))
    scores = rows.scores_of(catalog, ids)
    per_file = [[dict(zip(_SCORE_KEYS, (m, s, t, bool(fl), le, at)))
                 for m, s, t, fl, le, at in scores.get(i, ())] for i in ids]
    counts.scores += sum(map(len, per_file))
    arrays.append(pa.array(per_file, schema.field("scores").type))
    counts.files += n
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _vector_array(pa, blobs: list[bytes | None], dim: int):
    present = np.array([b is not None for b in blobs], dtype=bool)
    empty = bytes(4 * dim)
    flat = np.frombuffer(b"".join(b if b is not None else empty for b in blobs), "<f4")
    values = pa.array(flat.astype(np.float32), pa.float32())
    return pa.FixedSizeListArray.from_arrays(values, dim, mask=pa.array(~present))


# --- import ------------------------------------------------------------------------------------
def read_metadata(path: Path | str) -> dict:
    """The ``anomalizer`` metadata of an exchange file; refuses other files and newer formats."""
    _, pq = _pyarrow()
    return _metadata(_open(pq, Path(path)), Path(path))


def _open(pq, source: Path):
    import pyarrow

    if not source.is_file():
        raise ExchangeError(f"no such file: {source}")
    try:
        # pre_buffer=False: with it, every row group read stays cached until the file is closed
        return pq.ParquetFile(source, pre_buffer=False)
    except (pyarrow.ArrowException, OSError) as exc:
        raise ExchangeError(f"{source} is not a Parquet file ({exc})") from exc


def _metadata(parquet_file, source: Path) -> dict:
    raw = (parquet_file.schema_arrow.metadata or {}).get(METADATA_KEY)
    try:
        meta = json.loads(raw) if raw else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ExchangeError(f"{source} is a Parquet file, but not an Anomalizer catalog export "
                            "(write one with `anomalizer export --parquet`)")
    version = meta.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ExchangeError(
            f"{source} was written by a newer Anomalizer (exchange format v{version}; this "
            f"version reads up to v{FORMAT_VERSION}); update the app to import it")
    return meta


def import_parquet(
    catalog, path: Path | str, *, batch_rows: int = BATCH_ROWS,
    progress: Callable[[Progress], None] | None = None, token: CancelToken | None = None,
) -> ExchangeResult:
    """Bring an exchange file into *catalog* in one transaction: files are upserted by path
    (the catalog's other files stay), with their embeddings, findings, facets and scores, and
    the file's libraries, models and marks. Importing the same file again changes nothing."""
    pa, pq = _pyarrow()
    source = Path(path)
    parquet_file = _open(pq, source)
    meta = _metadata(parquet_file, source)
    names = set(parquet_file.schema_arrow.names)
    encoders = {e: int(d) for e, d in (meta.get("encoders") or {}).items()
                if embedding_column(e) in names}
    _check_dims(catalog, parquet_file.schema_arrow, encoders, source)
    versions = sorted(int(n[len("facets_v"):]) for n in names
                      if n.startswith("facets_v") and n[len("facets_v"):].isdigit())
    counts = _Counts(encoders)
    total = parquet_file.metadata.num_rows
    try:
        with catalog.transaction() as conn:
            libraries = rows.put_libraries(conn, meta.get("libraries") or ())
            models = rows.put_models(catalog, meta.get("models") or ())
            for batch in parquet_file.iter_batches(batch_size=batch_rows):
                if token is not None:
                    token.raise_if_cancelled()
                _import_batch(conn, batch, names, encoders, versions, libraries, models, counts,
                              source)
                if progress is not None:
                    progress(Progress("import", counts.files, total, "files read"))
            rows.put_marks(conn, meta.get("marks") or ())
    except (pa.ArrowException, OSError) as exc:
        raise ExchangeError(f"cannot read {source}: {exc}; nothing was imported") from exc
    log.info("imported %d files from %s", counts.files, source)
    return counts.result(source, meta)


def _check_dims(catalog, schema, encoders: dict[str, int], source: Path) -> None:
    """Before anything is written: the file's vectors must fit the catalog's of each encoder."""
    for encoder_id, dim in encoders.items():
        kind = schema.field(embedding_column(encoder_id)).type
        size = getattr(kind, "list_size", None)
        if size is not None and size != dim:
            raise ExchangeError(f"{source} is damaged: its {encoder_id} embeddings have "
                                f"{size} dimensions, its metadata says {dim}")
        stored = rows.stored_dim(catalog, encoder_id)
        if stored is not None and stored != dim:
            raise ExchangeError(
                f"{source} holds {encoder_id} embeddings of {dim} dimensions, but this catalog's "
                f"have {stored} (another version of the encoder); nothing was imported — "
                "import into another catalog (--catalog)")


def _import_batch(conn, batch, names, encoders, versions, libraries, models, counts: _Counts,
                  source: Path) -> None:
    n = batch.num_rows

    def column(name: str) -> list:
        return batch.column(name).to_pylist() if name in names else [None] * n

    data = {name: column(name) for name in rows.FILE_FIELDS}
    for lib in {p for p in data["library"] if p is not None and p not in libraries}:
        libraries.update(rows.put_libraries(conn, [{"path": lib, "added_at": time.time(),
                                                    "reference": False}]))
    file_rows = [
        (path, libraries.get(lib), size, mtime, h, dur, rate, ch, fmt, err, int(bool(miss)),
         time.time() if at is None else at)
        for path, lib, size, mtime, h, dur, rate, ch, fmt, err, miss, at
        in zip(*(data[name] for name in rows.FILE_FIELDS))
    ]
    ids = rows.put_file_rows(conn, file_rows)
    hashes = data["hash"]
    for encoder_id, dim in encoders.items():
        items, with_vector = _vectors_of(batch.column(embedding_column(encoder_id)), hashes, dim,
                                         encoder_id, source)
        rows.put_vectors(conn, encoder_id, dim, items)
        counts.embeddings[encoder_id] += with_vector
    runs, found = {}, {}
    for h, file_runs, file_findings in zip(hashes, column("qc_runs"), column("findings")):
        if h and file_runs is not None:
            runs.update(((h, r["checks_version"]), r["ran_at"]) for r in file_runs)
            found[h] = file_findings or []
            counts.findings += len(found[h])
    rows.put_qc(conn, [(h, v, at) for (h, v), at in runs.items()],
                [(h, f["checks_version"], f["check_id"], f["severity"], f["start_s"], f["end_s"],
                  f["detail"] or "") for h, fs in found.items() for f in fs])
    for version in versions:
        described = [(h, version, *(f[k] for k in rows.FACET_FIELDS))
                     for h, f in zip(hashes, column(facets_column(version))) if h and f]
        rows.put_facet_rows(conn, list({r[0]: r for r in described}.values()))
        counts.facets += len(described)
    score_rows = []
    for path, file_scores in zip(data["path"], column("scores")):
        for s in file_scores or ():
            if s["model"] not in models:
                raise ExchangeError(f"{source} is damaged: {path} has a score of the model "
                                    f"{s['model']}, which its metadata does not list")
            score_rows.append((ids[path], models[s["model"]], s["score"], s["threshold"],
                               int(bool(s["flagged"])), s["learned"], s["scored_at"]))
    rows.put_score_rows(conn, score_rows)
    counts.scores += len(score_rows)
    counts.files += n


def _vectors_of(column, hashes: list, dim: int, encoder_id: str,
                source: Path) -> tuple[list[tuple[str, bytes]], int]:
    """``(hash, little-endian float32 bytes)`` of the rows that have a vector and a hash (one
    per hash), and how many rows those are."""
    import pyarrow.compute as pc

    keep = np.asarray(column.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    keep &= np.array([h is not None for h in hashes], dtype=bool)
    if not keep.any():
        return [], 0
    chosen = column.filter(keep)
    lengths = set(pc.list_value_length(chosen).to_pylist())
    if lengths != {dim}:
        raise ExchangeError(f"{source} holds {encoder_id} embeddings of {sorted(lengths)} "
                            f"dimensions where {dim} were expected; nothing was imported")
    flat = chosen.flatten().to_numpy(zero_copy_only=False).astype("<f4")
    matrix = flat.reshape(-1, dim)
    wanted = [h for h, k in zip(hashes, keep) if k]
    return list({h: matrix[i].tobytes() for i, h in enumerate(wanted)}.items()), len(wanted)
