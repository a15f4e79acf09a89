"""The GUI's library job: list -> scan/embed -> (train) -> score -> map, as one generator.

A thin adapter over :mod:`anomalizer_desktop.core.jobs` (Qt-free, runs in a worker thread). Besides
``Progress`` it yields two *data* progress items the window uses to show things early:
``Progress("listed", extra={"paths": [...]})`` right after the folders are walked (the table fills
at once), ``Progress("checked", extra={"rows": [...]})`` when the signal checks are done (reasons
show before the embeddings are) and ``Progress("scanned", extra={"rows": [...]})`` once the catalog
knows every file.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core import jobs
from ..core.audio.io import is_audio_path, iter_audio_files
from ..core.catalog import Catalog, FileRecord
from ..core.evidence import FlagPolicy
from ..core.progress import CancelToken, Progress
from .models.loop_facets import attach_facets
from .models.loop_row import LoopRow
from .models.row_judging import judge_for, judge_rows, prepare_rows

log = logging.getLogger(__name__)

# How long the job waits for the window to take the rows it reported (see ``analyse``): at
# 5,000 rows the window needs ~30 ms alone, 100-150 ms while the job lists files beside it.
HANDOFF_WAIT_S = 0.5


@dataclass(frozen=True)
class MapData:
    """2-D projections of the scored files (rows aligned with ``ids``)."""

    ids: np.ndarray
    latent_xy: np.ndarray | None
    latent_variance: tuple[float, float] | None
    embedding_xy: np.ndarray | None
    embedding_variance: tuple[float, float] | None


@dataclass(frozen=True)
class AnalysisResult:
    rows: list[LoopRow]
    model_path: Path | None
    detector: str = ""
    encoder_id: str = ""
    library: Any = None  # the model's library evidence (core LibraryEvidence) or None
    map: MapData | None = None
    trained: bool = False
    notices: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reference: tuple = ()  # the reference folders the model learned from (empty: every library)
    judge: Any = None  # the Judge ``rows`` were judged by (None: not judged yet)


def pca_2d(X: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """Project rows of X on their first two principal components; (xy, explained variance ratios)."""
    X = np.asarray(X, dtype=np.float64)
    finite = np.isfinite(X).all(axis=1)
    xy = np.full((X.shape[0], 2), np.nan)
    Z = X[finite]
    if Z.shape[0] < 2:
        xy[finite] = 0.0
        return xy, (0.0, 0.0)
    Z = Z - Z.mean(axis=0)
    cov = Z.T @ Z if Z.shape[1] <= Z.shape[0] else None
    if cov is not None:
        vals, vecs = np.linalg.eigh(cov)
        order = np.argsort(vals)[::-1]
        vals, vecs = vals[order], vecs[:, order]
        comps = vecs[:, :2]
        total = float(vals.clip(min=0).sum()) or 1.0
        ratios = tuple(float(v) / total for v in vals[:2].clip(min=0))
    else:
        _, s, vt = np.linalg.svd(Z, full_matrices=False)
        comps = vt[:2].T
        total = float((s ** 2).sum()) or 1.0
        ratios = tuple(float(v) ** 2 / total for v in s[:2])
    proj = Z @ comps
    if proj.shape[1] < 2:
        proj = np.column_stack([proj, np.zeros(proj.shape[0])])
        ratios = (*ratios, 0.0)
    xy[finite] = proj
    return xy, (ratios[0], ratios[1])


def row_from_record(record: FileRecord, fine: bool = False) -> LoopRow:
    path = Path(record.path)
    return LoopRow(record.id, str(path), path.name, path.parent.name, duration_s=record.duration_s,
                   fine=fine, error=record.error, hash=record.hash)


def stored_rows(files: Sequence[FileRecord], catalog: Catalog, model_path: Path) -> list[LoopRow]:
    """Rows for ``files`` with the learned scores last stored for ``model_path``, every stored
    signal-check finding (the table's judge turns them into evidence and flags), tempo and key."""
    from ..core.qc_stage import stored_findings_of

    fine = catalog.fine_hashes()
    model = catalog.get_model(model_path) if model_path.exists() else None
    stored = catalog.scores(model.id) if model is not None else {}
    found = stored_findings_of(catalog, [f.hash for f in files])
    rows = []
    for f in files:
        row = row_from_record(f, f.hash in fine)
        s = stored.get(f.id)
        if s is not None:
            row.learned = s.learned
        row.findings = tuple(found.get(f.hash or "", ()))
        rows.append(row)
    attach_facets(rows, catalog)
    return rows


def model_library(model_path: Path, catalog: Catalog):
    """The library evidence of the model (None without a readable model): stored in the model
    file, or rebuilt from the catalog for a model from an earlier version."""
    from ..core.detect.persistence import load_model
    from ..core.errors import AnomalizerError

    if not model_path.exists():
        return None
    try:
        detector, info = load_model(model_path)
        return jobs.model_library(info, detector, catalog)
    except AnomalizerError as exc:
        log.warning("model %s: %s", model_path, exc)
        return None


def listed_rows(paths: Sequence[Path]) -> list[LoopRow]:
    """Placeholder rows (negative ids) for files listed before the catalog knows them."""
    return [LoopRow(-(i + 1), str(p), p.name, p.parent.name) for i, p in enumerate(paths)]


def _list_paths(roots: Sequence[Path], token: CancelToken, follow_links: bool) -> list[Path]:
    paths: list[Path] = []
    for root in roots:
        if root.is_dir():
            for p in iter_audio_files(root, follow_links=follow_links, library_roots=roots):
                paths.append(p)
                if len(paths) % 2000 == 0:
                    token.raise_if_cancelled()
        elif root.is_file() and is_audio_path(root):
            paths.append(root)
    return paths


def analyse(
    roots: Sequence[Path | str],
    catalog: Catalog,
    model_path: Path,
    encoder_name: str = "auto",
    network: str = "AEwRES",
    retrain: bool = False,
    list_first: bool = False,
    token: CancelToken | None = None,
    follow_links: bool = False,
    reference: Sequence[Path | str] = (),
    policy: FlagPolicy | None = None,
    handoff: bool = False,
) -> Generator[Progress, None, AnalysisResult]:
    """Bring every file under ``roots`` up to date: catalog, embeddings, model, scores, map.

    Trains the personal model when there is none, when it was made with another encoder, on
    other folders or another ``reference`` (the folders it learns normal from; empty: all of
    ``roots``), or when ``retrain``; otherwise scores with the existing one. ``list_first``
    walks the folders before anything else (a newly added library); otherwise the rows the
    catalog already has, with their stored scores, are reported first. Folder links out of
    the libraries are walked only with ``follow_links``; the skipped ones are warnings.
    Rows are reported judged (``extra["judge"]``, ``AnalysisResult.judge``) under the user's
    ``policy`` (a window's settings) with the model's library evidence. With ``handoff`` each
    of those carries ``extra["taken"]``, an event the window sets once it shows the rows; the job
    waits for it (at most ``HANDOFF_WAIT_S``) so the window does not share the interpreter with
    the job's next Python-heavy stage while it takes thousands of rows.
    """
    from ..core.embedding import make_encoder
    from ..core.errors import NotEnoughDataError

    token = token or CancelToken()
    roots = [jobs.absolute(r) for r in roots]
    reference = [jobs.absolute(r) for r in reference]
    if not roots:
        return AnalysisResult([], None)
    policy = policy or FlagPolicy()
    if list_first:
        paths = _list_paths(roots, token, follow_links)
        rows = listed_rows(paths)
        yield from _hand_over(Progress(
            "listed", len(paths), len(paths), f"{len(paths):,} audio files found",
            extra={"paths": paths, "rows": rows, "judge": _judge(rows, None, policy)}), handoff)
    else:
        files = [f for root in roots for f in catalog.files(under=root)]
        if files:
            yield from _hand_over(_rows_progress(
                "cached", stored_rows(files, catalog, model_path),
                f"{len(files):,} files in the catalog", model_library(model_path, catalog),
                policy), handoff)
    notices: list[str] = []
    yield Progress("encoder", 0, None, "loading the audio encoder")
    encoder = make_encoder(encoder_name, notice=notices.append, shared=True)
    yield Progress("encoder", 1, 1, notices[-1] if notices else f"encoder: {encoder.name}",
                   extra={"notices": list(notices), "encoder_id": encoder.id})
    scan = jobs.scan(roots, catalog, encoder, token, follow_links=follow_links)
    scanned = yield from _scan_showing_findings(scan, catalog, model_path, policy, handoff)
    rows = stored_rows(scanned.files, catalog, model_path)
    yield from _hand_over(_rows_progress("scanned", rows, f"{len(rows):,} files in the catalog",
                                         model_library(model_path, catalog), policy), handoff)

    trained = False
    warnings = [f"not followed: {link.path.name} (a folder link out of the library, to "
                f"{link.target})" for link in scanned.skipped_links]
    if retrain or _needs_training(model_path, encoder.id, roots, reference):
        try:
            result = yield from jobs.train(roots, catalog, encoder, model_path, network,
                                           token=token, follow_links=follow_links,
                                           reference=reference)
        except NotEnoughDataError as exc:
            warnings.append(str(exc))
            return AnalysisResult(rows, None, notices=notices, warnings=warnings,
                                  library=model_library(model_path, catalog))
        warnings.extend(result.warnings)
        trained = True
    scored = yield from jobs.score(roots, catalog, model_path, encoder, token,
                                   follow_links=follow_links)
    yield Progress("map", 0, None, "projecting the library to 2-D")
    out_rows, map_data, detector = _finish(scored, catalog, model_path, encoder.id)
    info = scored.model
    library = scored.judge.library
    return AnalysisResult(
        out_rows, model_path, detector=str(info.detector), encoder_id=str(info.encoder_id),
        library=library, map=map_data, trained=trained, notices=notices,
        warnings=warnings, reference=tuple((info.extra or {}).get("reference", ())),
        judge=_judge(out_rows, library, policy),
    )


def _judge(rows: list[LoopRow], library, policy: FlagPolicy):
    """Judge ``rows`` here in the worker, as the window would; the judge used."""
    judge = judge_for(library, policy)
    prepare_rows(rows)
    judge_rows(judge, rows)
    return judge


def _hand_over(progress: Progress, handoff: bool):
    """Yield ``progress``; with ``handoff``, then wait until the window has taken its rows."""
    if not handoff:
        yield progress
        return
    taken = threading.Event()
    progress.extra["taken"] = taken
    yield progress
    taken.wait(HANDOFF_WAIT_S)


def _rows_progress(stage: str, rows: list[LoopRow], message: str, library,
                   policy: FlagPolicy) -> Progress:
    return Progress(stage, len(rows), len(rows), message,
                    extra={"rows": rows, "library": library,
                           "judge": _judge(rows, library, policy)})


def _scan_showing_findings(scan, catalog: Catalog, model_path: Path, policy: FlagPolicy,
                           handoff: bool):
    """Forward the scan's progress; once the signal checks are done (before the embeddings),
    report the rows with their findings so the table shows reasons early."""
    while True:
        try:
            p = next(scan)
        except StopIteration as stop:
            return stop.value
        if p.stage == "checked" and "files" in p.extra:
            yield from _hand_over(_rows_progress(
                "checked", stored_rows(p.extra["files"], catalog, model_path),
                "signal checks done", model_library(model_path, catalog), policy), handoff)
        else:
            yield p


def _needs_training(model_path: Path, encoder_id: str, roots: Sequence[Path],
                    reference: Sequence[Path] = ()) -> bool:
    from ..core.detect.persistence import read_model_info
    from ..core.errors import AnomalizerError

    if not model_path.exists():
        return True
    try:
        info = read_model_info(model_path)
    except AnomalizerError as exc:
        log.warning("model %s unreadable (%s); retraining", model_path, exc)
        return True
    if info.encoder_id != encoder_id:
        return True
    extra = info.extra or {}
    trained_on = {str(r) for r in extra.get("roots", [])}
    learned_from = {str(r) for r in extra.get("reference", [])}
    return trained_on != {str(r) for r in roots} or learned_from != {str(r) for r in reference}


def _finish(scored, catalog: Catalog, model_path: Path, encoder_id: str):
    from ..core.detect.persistence import load_model

    rows = []
    for r in scored.rows:
        if r.file_id is None:
            continue
        path = Path(r.path)
        rows.append(LoopRow(r.file_id, str(path), path.name, path.parent.name,
                            duration_s=r.duration_s, fine=r.fine,
                            error=r.error if r.score is None else None,
                            findings=tuple(r.findings), hash=r.hash, learned=r.learned_score))
    attach_facets(rows, catalog)
    detector, _info = load_model(model_path)
    scored_ids = [r.file_id for r in rows if r.learned is not None]
    records, X = catalog.embedding_matrix(scored_ids, encoder_id)
    if not records:
        return rows, None, detector
    ids = np.array([rec.id for rec in records], dtype=np.int64)
    latent_xy = latent_var = None
    try:
        latent_xy, latent_var = pca_2d(detector.latent(X))
    except Exception as exc:  # noqa: BLE001 - the raw-embedding map still works
        log.warning("latent projection failed: %s", exc)
    emb_xy, emb_var = pca_2d(X)
    return rows, MapData(ids, latent_xy, latent_var, emb_xy, emb_var), detector
