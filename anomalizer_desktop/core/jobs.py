"""The jobs the CLI and the GUI both run: scan -> embed -> train -> score.

Each job is a generator: it yields ``Progress`` and returns its result (``yield from`` composes
them). Jobs check a ``CancelToken`` between units of work and raise ``Cancelled`` after what was
finished is safely in the catalog.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Generator, Sequence

import numpy as np

from .catalog import Catalog, FileRecord
from .embedding.base import Encoder
from .errors import AnomalizerError, AudioReadError, EncoderMismatchError, NotEnoughDataError
from .pipeline import embed_paths
from .progress import CancelToken, EtaClock, Progress
from .qc import Finding, QcCalibration
from .qc_stage import FlagPolicy, check_signals, fit_calibration, stored_findings_of, verdict
from .scanning import check_files, list_files

log = logging.getLogger(__name__)

@dataclass(frozen=True)
class ScanResult:
    files: list[FileRecord]
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    moved: int = 0
    missing: int = 0
    errors: int = 0
    embedded: int = 0
    encoder_id: str | None = None


@dataclass(frozen=True)
class TrainResult:
    model_path: Path
    info: object  # detect.persistence.ModelInfo
    n_train: int
    warnings: list[str]
    score_summary: dict


@dataclass(frozen=True)
class ScoredFile:
    path: Path
    file_id: int | None
    score: float | None
    threshold: float
    flagged: bool | None
    error: str | None
    duration_s: float | None
    fine: bool = False
    learned_flagged: bool | None = None  # the learned score alone
    reasons: tuple[Finding, ...] = ()  # signal-QC findings shown to the user
    findings: tuple[Finding, ...] = ()  # every stored finding, before the policy (for the GUI)


@dataclass(frozen=True)
class ScoreResult:
    rows: list[ScoredFile]
    model: object  # detect.persistence.ModelInfo
    summary: dict = field(default_factory=dict)


def absolute(path: Path | str) -> Path:
    """The one spelling of a path the catalog uses: absolute, normalised, symlinks kept."""
    return Path(os.path.abspath(os.path.expanduser(str(path))))


# --------------------------------------------------------------------------- scan


def scan(
    roots: Sequence[Path | str],
    catalog: Catalog,
    encoder: Encoder | None = None,
    token: CancelToken | None = None,
    checks: bool = True,
) -> Generator[Progress, None, ScanResult]:
    """Catalog every audio file under ``roots`` (folders or files), run the signal checks on
    what is new, then embed it.

    Unchanged files (same size and mtime) cost one ``stat``; new or changed ones are hashed and
    their header is read; files whose content is already checked and embedded with ``encoder``
    are not decoded again (moved, renamed and duplicate files included). The checks come first
    so findings are there long before the embeddings.
    """
    token = token or CancelToken()
    roots = [absolute(r) for r in roots]
    for root in roots:
        if not root.exists():
            raise AnomalizerError(f"no such file or folder: {root}")
    found = yield from list_files(roots, token)
    counts = yield from check_files(roots, found, catalog, token)
    files = _files_for(roots, catalog)
    if checks:
        yield from check_signals(files, catalog, token)
        # a data item: the findings are in the catalog now, well before the embeddings
        yield Progress("checked", len(files), len(files), "signal checks done",
                       extra={"files": files})
    embedded = 0
    if encoder is not None:
        embedded = yield from embed_missing(files, catalog, encoder, token)
        files = _files_for(roots, catalog)
    errors = sum(1 for f in files if f.error)
    result = ScanResult(files, embedded=embedded, errors=errors,
                        encoder_id=encoder.id if encoder else None, **counts)
    log.info("scan of %s: %d files, %s", ", ".join(map(str, roots)), len(files), counts)
    return result


def _files_for(roots: Sequence[Path], catalog: Catalog) -> list[FileRecord]:
    seen: dict[int, FileRecord] = {}
    for root in roots:
        if root.is_dir():
            records = catalog.files(under=root)
        else:
            record = catalog.get_file(root)
            records = [record] if record and not record.missing else []
        for record in records:
            seen.setdefault(record.id, record)
    return list(seen.values())


def embed_missing(
    files: Sequence[FileRecord],
    catalog: Catalog,
    encoder: Encoder,
    token: CancelToken | None = None,
) -> Generator[Progress, None, int]:
    """Embed every distinct content among ``files`` that has no ``encoder`` embedding yet.

    Returns how many were embedded; files that fail to decode get their reason recorded.
    """
    token = token or CancelToken()
    by_hash: dict[str, FileRecord] = {}
    for record in files:
        if record.hash and not record.error and not record.missing:
            by_hash.setdefault(record.hash, record)
    missing = catalog.hashes_missing_embeddings(list(by_hash), encoder.id)
    if not missing:
        return 0
    clock = EtaClock(len(missing))
    done = embedded = 0
    yield clock.progress("embed", 0, f"embedding {len(missing)} files with {encoder.name}")
    items = [(h, by_hash[h].path) for h in missing]
    for batch in embed_paths(items, encoder, token):
        with catalog.transaction():
            catalog.put_embeddings(encoder.id, zip(batch.keys, batch.vectors))
            for key, reason in batch.errors:
                for record in catalog.files_with_hash(key):
                    _record_error(catalog, record, reason)
        embedded += len(batch.keys)
        done += len(batch.keys) + len(batch.errors)
        last = (batch.keys or [key for key, _ in batch.errors])[-1]
        yield clock.progress("embed", done, by_hash[last].path.name)
        token.raise_if_cancelled()
    return embedded


def _record_error(catalog: Catalog, record: FileRecord, reason: str) -> None:
    catalog.upsert_file(
        record.path, library_id=record.library_id, size=record.size, mtime=record.mtime,
        hash=record.hash, duration_s=record.duration_s, sample_rate=record.sample_rate,
        channels=record.channels, format=record.format, error=reason,
    )


# --------------------------------------------------------------------------- train


def training_matrix(
    files: Sequence[FileRecord], catalog: Catalog, encoder_id: str
) -> tuple[list[str], np.ndarray]:
    """Distinct contents among ``files`` with an embedding: (hashes, (N, D) matrix)."""
    hashes = sorted({f.hash for f in files if f.hash and not f.error and not f.missing})
    vectors = catalog.get_embeddings(hashes, encoder_id)
    hashes = [h for h in hashes if h in vectors]
    if not hashes:
        return [], np.zeros((0, 0), np.float32)
    return hashes, np.stack([vectors[h] for h in hashes]).astype(np.float32)


def train(
    roots: Sequence[Path | str],
    catalog: Catalog,
    encoder: Encoder,
    model_path: Path | str,
    network: str = "AEwRES",
    seed: int = 0,
    epochs: int | None = None,
    token: CancelToken | None = None,
    detector_params: dict | None = None,
) -> Generator[Progress, None, TrainResult]:
    """Scan ``roots``, fit a detector on their embeddings, save it, and score the library.

    The model file is written only when training finished, so cancelling keeps the old one.
    """
    from .detect import make_detector
    from .detect.persistence import save_model

    token = token or CancelToken()
    model_path = absolute(model_path)
    scanned = yield from scan(roots, catalog, encoder, token)
    hashes, X = training_matrix(scanned.files, catalog, encoder.id)
    if len(hashes) == 0:
        raise NotEnoughDataError(
            f"no readable audio files to train on in {', '.join(map(str, roots))}"
        )
    params = dict(detector_params or {})
    if epochs is not None and network.lower() in ("ae", "aewres"):
        params.update(max_epochs=epochs, small_epochs=epochs)  # also caps tiny-library training
    detector = make_detector(network, seed=seed, **params)
    clock = EtaClock(None)
    for stats in detector.fit_iter(X):
        token.raise_if_cancelled()
        total = int(stats.get("epochs") or 0) or None
        clock.total = total
        step = int(stats.get("epoch", 0))
        yield clock.progress("train", step, _epoch_message(stats), **stats)
    token.raise_if_cancelled()
    calibration = fit_calibration(catalog, hashes)
    extra = {"n_files": len(scanned.files), "roots": [str(absolute(r)) for r in roots],
             "qc_calibration": calibration.to_dict()}
    info = save_model(detector, model_path, encoder.id, extra=extra)
    summary = {**summarise(detector.train_scores_, detector.threshold_),
               "n_held_out": int(np.size(detector.val_scores_))}
    _store_scores(catalog, model_path, info, detector, scanned.files, hashes, X,
                  FlagPolicy(calibration=calibration))
    return TrainResult(model_path, info, len(hashes), list(detector.warnings_), summary)


def _epoch_message(stats: dict) -> str:
    parts = [f"{stats.get('phase', 'fit')} epoch {stats.get('epoch', 0)}"]
    if stats.get("train_loss") is not None:
        parts.append(f"loss {stats['train_loss']:.4g}")
    if stats.get("val_loss") is not None:
        parts.append(f"val {stats['val_loss']:.4g}")
    return ", ".join(parts)


def summarise(scores: np.ndarray, threshold: float) -> dict:
    scores = np.asarray(scores, np.float64)
    if scores.size == 0:
        return {"n": 0, "threshold": float(threshold)}
    return {
        "n": int(scores.size),
        "min": float(scores.min()),
        "median": float(np.median(scores)),
        "p95": float(np.percentile(scores, 95)),
        "max": float(scores.max()),
        "threshold": float(threshold),
        "flagged": int((scores > threshold).sum()),
    }


def _store_scores(catalog, model_path, info, detector, files, hashes, X, policy) -> None:
    scores = dict(zip(hashes, detector.score(X))) if len(hashes) else {}
    model = catalog.add_model(
        model_path, model_path.stem, info.encoder_id, info.detector, info.threshold,
        info.n_train, info.params,
    )
    fine = catalog.fine_hashes()
    found = stored_findings_of(catalog, list(scores))
    rows = []
    for f in files:
        if f.hash in scores:
            reasons = policy.reasons(found.get(f.hash))
            v = verdict(float(scores[f.hash]), info.threshold, f.hash in fine, reasons)
            rows.append((f.id, float(scores[f.hash]), float(info.threshold), bool(v.flagged)))
    catalog.put_scores(model.id, rows)


def model_calibration(info) -> QcCalibration | None:
    """The signal-QC calibration saved with a model (None for models made before it existed)."""
    data = (info.extra or {}).get("qc_calibration")
    return QcCalibration.from_dict(data) if data else None


# --------------------------------------------------------------------------- score


def score(
    paths: Sequence[Path | str],
    catalog: Catalog,
    model_path: Path | str,
    encoder: Encoder | None = None,
    token: CancelToken | None = None,
    weights: Path | None = None,
    policy: FlagPolicy | None = None,
) -> Generator[Progress, None, ScoreResult]:
    """Score files (and folders) with a saved model; unreadable files get a row with the reason.

    The encoder is the one the model was trained with; passing another one is refused. A file is
    flagged when its learned score is above the threshold or a signal check (``policy``) fired.
    """
    from .detect.persistence import load_model
    from .embedding import encoder_for_id

    token = token or CancelToken()
    model_path = absolute(model_path)
    detector, info = load_model(model_path)
    if encoder is None:
        encoder = encoder_for_id(info.encoder_id, weights=weights)
    elif encoder.id != info.encoder_id:
        raise EncoderMismatchError(
            f"{model_path.name} was trained on {info.encoder_id} embeddings, not {encoder.id}; "
            "score with the encoder it was trained with, or retrain"
        )
    scanned = yield from scan(paths, catalog, encoder, token)
    hashes, X = training_matrix(scanned.files, catalog, encoder.id)
    scores = dict(zip(hashes, detector.score(X))) if hashes else {}
    yield Progress("score", len(scanned.files), len(scanned.files), "scored")
    policy = replace(policy or FlagPolicy(), calibration=model_calibration(info))
    fine = catalog.fine_hashes()
    threshold = float(info.threshold)
    found = stored_findings_of(catalog, [f.hash for f in scanned.files])
    rows = []
    for f in scanned.files:
        value = scores.get(f.hash) if f.hash else None
        value = None if value is None else float(value)
        error = f.error or (None if value is not None else "no embedding (file unreadable)")
        fine_file = bool(f.hash in fine)
        stored = tuple(found.get(f.hash or "", ()))
        v = verdict(value, threshold, fine_file, policy.reasons(stored))
        rows.append(ScoredFile(f.path, f.id, value, threshold, v.flagged, error, f.duration_s,
                               fine_file, v.learned_flagged, v.reasons, stored))
    rows.sort(key=lambda r: (r.score is None, -(r.score or 0.0), str(r.path)))
    model = catalog.add_model(model_path, model_path.stem, info.encoder_id, info.detector,
                              info.threshold, info.n_train, info.params)
    catalog.put_scores(model.id, [(r.file_id, r.score, threshold, bool(r.flagged))
                                  for r in rows if r.score is not None and r.file_id is not None])
    values = np.array([r.score for r in rows if r.score is not None])
    return ScoreResult(rows, info, summarise(values, threshold))


def score_file(path: Path, encoder: Encoder, detector, threshold: float,
               policy: FlagPolicy | None = None) -> ScoredFile:
    """Score one file without the catalog (the watcher's fast path): one decode at the file's
    own rate feeds the signal checks, then a resampled mono copy feeds the encoder."""
    from .audio.io import resample, to_mono
    from .embedding.base import SAMPLE_RATE
    from .qc_stage import check_audio

    policy = policy or FlagPolicy()
    path = absolute(path)
    started = time.monotonic()
    try:
        findings, audio = check_audio(path)
    except AudioReadError as exc:
        return ScoredFile(path, None, None, threshold, None, str(exc), None)
    mono = to_mono(audio.samples) if audio.samples.ndim == 2 else audio.samples
    vector = encoder.encode([resample(mono, audio.sample_rate, SAMPLE_RATE)])
    value = float(detector.score(vector)[0])
    v = verdict(value, threshold, False, policy.reasons(findings))
    log.debug("scored %s in %.3f s", path, time.monotonic() - started)
    return ScoredFile(path, None, value, threshold, v.flagged, None, audio.info.duration_s,
                      False, v.learned_flagged, v.reasons, tuple(findings))
