"""The jobs the CLI and the GUI both run: scan -> embed -> train -> score.

Each job is a generator: it yields ``Progress`` and returns its result (``yield from`` composes
them). Jobs check a ``CancelToken`` between units of work and raise ``Cancelled`` after what was
finished is safely in the catalog.
"""

from __future__ import annotations

import logging
import os
import time
from contextlib import closing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Generator, Sequence

import numpy as np

from .catalog import Catalog, FileRecord
from .catalog.work_claims import WAITING, shared_chunks
from .embedding.base import Encoder
from .errors import AnomalizerError, AudioReadError, EncoderMismatchError, NotEnoughDataError
from .pipeline import embed_paths
from .progress import CancelToken, EtaClock, Progress
from .evidence import FlagPolicy, Judge, LibraryEvidence
from .qc import Finding
from .qc_stage import check_signals, stored_findings_of
from .scanning import check_files, list_files

log = logging.getLogger(__name__)

EMBED_CLAIM_BATCHES = 8  # encoder batches claimed at a time (concurrent scans share the work)

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
    skipped_links: tuple = ()  # audio.io.SkippedLink: folder links not followed out of the library


@dataclass(frozen=True)
class TrainResult:
    model_path: Path
    info: object  # detect.persistence.ModelInfo
    n_train: int
    warnings: list[str]
    score_summary: dict
    reference: tuple = ()  # the reference folders it learned from (empty: all of the roots)


@dataclass(frozen=True)
class ScoredFile:
    """One file's calibrated verdict.

    ``score``: the calibrated evidence (-log10 of how likely a normal loop of the library is to
    look this unusual; what the table sorts by); ``threshold``: the evidence a flag needs (-log10
    of the budget); ``learned_score``: the model's own score; ``words``: the evidence in a
    producer's words, strongest first."""

    path: Path
    file_id: int | None
    score: float | None
    threshold: float
    flagged: bool | None
    error: str | None
    duration_s: float | None
    fine: bool = False
    learned_flagged: bool | None = None  # the learned score alone, over the same budget
    reasons: tuple[Finding, ...] = ()  # signal-QC findings that make the file unusual here
    findings: tuple[Finding, ...] = ()  # every stored finding, before the policy (for the GUI)
    learned_score: float | None = None
    words: tuple[str, ...] = ()
    hash: str | None = None
    bpm: float | None = None  # estimated from the audio (core.facets)
    key: str | None = None  # e.g. "D minor", estimated from the audio


@dataclass(frozen=True)
class ScoreResult:
    rows: list[ScoredFile]
    model: object  # detect.persistence.ModelInfo
    summary: dict = field(default_factory=dict)
    judge: object = None  # core.evidence.Judge


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
    facets: bool = True,
    follow_links: bool = False,
    engine=None,
) -> Generator[Progress, None, ScanResult]:
    """Catalog every audio file under ``roots`` (folders or files), run the signal checks on
    what is new, then embed it.

    Unchanged files (same size and mtime) cost one ``stat``; new or changed ones are hashed and
    their header is read; files whose content is already checked and embedded with ``encoder``
    are not decoded again (moved, renamed and duplicate files included). The checks come first
    so findings are there long before the embeddings; tempo, key and duplicate fingerprints
    (``facets``) come between the two. Folder links that lead outside ``roots`` are not
    walked unless ``follow_links``; the result lists them. An ``engine``
    (``core.cluster.RayEngine``) hashes, checks, describes and embeds on a Ray cluster instead
    of here; this process still lists the files and writes the catalog.
    """
    token = token or CancelToken()
    roots = [absolute(r) for r in roots]
    for root in roots:
        if not root.exists():
            raise AnomalizerError(f"no such file or folder: {root}")
    skipped: list = []
    found = yield from list_files(roots, token, follow_links=follow_links, skipped=skipped)
    counts = yield from check_files(roots, found, catalog, token,
                                    file_rows=engine.file_rows if engine else None)
    files = _files_for(roots, catalog)
    analyse = engine.analyse if engine else analyse_here
    embedded = yield from analyse(files, catalog, encoder, token, checks=checks, facets=facets)
    if encoder is not None:
        files = _files_for(roots, catalog)
    errors = sum(1 for f in files if f.error)
    result = ScanResult(files, embedded=embedded, errors=errors,
                        encoder_id=encoder.id if encoder else None,
                        skipped_links=tuple(skipped), **counts)
    log.info("scan of %s: %d files, %s", ", ".join(map(str, roots)), len(files), counts)
    return result


def analyse_here(
    files: Sequence[FileRecord],
    catalog: Catalog,
    encoder: Encoder | None,
    token: CancelToken,
    checks: bool = True,
    facets: bool = True,
) -> Generator[Progress, None, int]:
    """The work of a scan after cataloguing, in this process: the signal checks, then the
    facets, then the embeddings of what ``files`` lack; returns how many were embedded."""
    if checks:
        yield from check_signals(files, catalog, token)
        # a data item: the findings are in the catalog now, well before the embeddings
        yield Progress("checked", len(files), len(files), "signal checks done",
                       extra={"files": files})
    if facets:
        from .facets_stage import describe_files

        yield from describe_files(files, catalog, token)
    if encoder is None:
        return 0
    return (yield from embed_missing(files, catalog, encoder, token))


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


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
    claim = EMBED_CLAIM_BATCHES * max(1, int(encoder.batch_size))
    with closing(shared_chunks(catalog, f"embed:{encoder.id}", missing, claim)) as chunks:
        for chunk in chunks:
            if chunk is None:
                yield clock.progress("embed", done, WAITING)
                token.raise_if_cancelled()
                continue
            items = [(h, by_hash[h].path) for h in chunk]
            for batch in embed_paths(items, encoder, token):
                with catalog.transaction():
                    catalog.put_embeddings(encoder.id, zip(batch.keys, batch.vectors))
                    for key, reason in batch.errors:
                        for record in catalog.files_with_hash(key):
                            record_error(catalog, record, reason)
                embedded += len(batch.keys)
                done += len(batch.keys) + len(batch.errors)
                last = (batch.keys or [key for key, _ in batch.errors])[-1]
                yield clock.progress("embed", done, by_hash[last].path.name)
                token.raise_if_cancelled()
            token.raise_if_cancelled()  # embed_paths stops early when cancelled
    return embedded


def record_error(catalog: Catalog, record: FileRecord, reason: str) -> None:
    """Keep ``record``'s row as it is, with ``reason`` why its audio cannot be used."""
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
    folds: int | None = None,
    trim: float | None = None,
    follow_links: bool = False,
    reference: Sequence[Path | str] = (),
) -> Generator[Progress, None, TrainResult]:
    """Scan ``roots``, fit a detector on their embeddings, calibrate it, save it, and score
    the library.

    With ``reference`` folders, the detector learns and is calibrated on the loops in them
    only, and every other loop under ``roots`` is scored against that reference (reference
    folders outside ``roots`` are scanned too); without, it learns from all of ``roots``.

    The detector is cross-fitted over ``folds`` parts (default 5; 1 = one model, as is any
    library too small to split), so every library loop has a score from a model that never saw
    it; those out-of-fold scores and the library's findings are the calibration stored in the
    model file. The model file is written only when training finished, so cancelling keeps the
    old one.
    """
    from .detect import make_detector
    from .detect.crossfit import MIN_CROSSFIT_LOOPS
    from .detect.persistence import save_model

    token = token or CancelToken()
    model_path = absolute(model_path)
    roots = [absolute(r) for r in roots]
    reference = [absolute(r) for r in reference]
    extra_roots = [r for r in reference if not any(_inside(r, root) for root in roots)]
    scanned = yield from scan(roots + extra_roots, catalog, encoder, token,
                              follow_links=follow_links)
    hashes, X = training_matrix(scanned.files, catalog, encoder.id)
    learn_hashes, learn_X = hashes, X
    if reference:  # the reference's rows of X (the scan covered the reference folders)
        in_reference = {f.hash for f in _files_for(reference, catalog)}
        rows = [i for i, h in enumerate(hashes) if h in in_reference]
        learn_hashes, learn_X = [hashes[i] for i in rows], X[rows]
    if len(learn_hashes) == 0:
        where = "the reference folders " if reference else ""
        raise NotEnoughDataError(
            f"no readable audio files to train on in {where}"
            f"{', '.join(map(str, reference or roots))}"
        )
    params = dict(detector_params or {})
    if epochs is not None and network.lower() in ("ae", "aewres"):
        params.update(max_epochs=epochs, small_epochs=epochs)  # also caps tiny-library training
    if (folds is None or folds > 1) and len(learn_hashes) >= MIN_CROSSFIT_LOOPS:
        from .detect import cross_fitted

        detector = cross_fitted(network, folds=folds, trim=trim, seed=seed, **params)
    else:
        detector = make_detector(network, seed=seed, **params)
    clock = EtaClock(None)
    for stats in detector.fit_iter(learn_X):
        token.raise_if_cancelled()
        total = int(stats.get("epochs") or 0) or None
        clock.total = total
        step = int(stats.get("epoch", 0))
        yield clock.progress("train", step, _epoch_message(stats), **stats)
    token.raise_if_cancelled()
    library = library_evidence(detector, learn_hashes,
                               stored_findings_of(catalog, learn_hashes))
    extra = {"n_files": len(scanned.files), "roots": [str(r) for r in roots],
             "reference": [str(r) for r in reference]}
    info = save_model(detector, model_path, encoder.id, extra=extra, library=library)
    judge = Judge(library, FlagPolicy(calibration=library))
    rows = _store_scores(catalog, model_path, info, detector, judge, scanned.files, hashes, X)
    fit_info = getattr(detector, "fit_info_", {}) or {}
    summary = {**summarise(rows, judge.threshold), "learned_source": library.learned_source,
               "n_null": int(library.learned_null().size), "folds": int(fit_info.get("folds", 1)),
               "seconds": fit_info.get("seconds")}
    return TrainResult(model_path, info, len(learn_hashes), list(detector.warnings_), summary,
                       tuple(reference))


def library_evidence(detector, hashes: Sequence[str],
                     findings: dict[str, list[Finding]]) -> LibraryEvidence:
    """The calibration of a freshly fitted ``detector`` on the library ``hashes`` (its rows):
    out-of-fold learned scores when cross-fitted, else the held-out scores of the one model."""
    from .qc import CHECKS_VERSION

    per_file = [findings.get(h) for h in hashes]
    oof = getattr(detector, "oof_scores_", None)
    if oof is not None:
        return LibraryEvidence.from_files(hashes, np.asarray(oof), per_file,
                                          checks_version=CHECKS_VERSION)
    return LibraryEvidence.from_files(hashes, None, per_file,
                                      learned_extra=np.asarray(detector.reference_scores_),
                                      learned_source=detector.threshold_source,
                                      checks_version=CHECKS_VERSION)


def learned_scores(detector, library: LibraryEvidence, hashes: Sequence[str],
                   X: np.ndarray) -> np.ndarray:
    """Learned scores of ``hashes`` (rows of ``X``): a library member keeps its out-of-fold
    score (a model that trained on it would flatter it), anything else gets the detector's."""
    out = np.full(len(hashes), np.nan)
    if not len(hashes):
        return out
    rows = np.array([library.member(h) for h in hashes])
    known = rows >= 0
    if np.any(known):
        out[known] = library.learned_member[rows[known]]
    todo = ~np.isfinite(out)
    if np.any(todo):
        out[todo] = detector.score(X[todo])
    return out


def _epoch_message(stats: dict) -> str:
    parts = [f"{stats.get('phase', 'fit')} epoch {stats.get('epoch', 0)}"]
    if stats.get("train_loss") is not None:
        parts.append(f"loss {stats['train_loss']:.4g}")
    if stats.get("val_loss") is not None:
        parts.append(f"val {stats['val_loss']:.4g}")
    return ", ".join(parts)


def summarise(rows: Sequence[ScoredFile], threshold: float) -> dict:
    """Counts and evidence figures of scored rows (the CLI's and the JSON's summary)."""
    evidence = np.array([r.score for r in rows if r.score is not None], np.float64)
    out = {"n": int(evidence.size), "threshold": float(threshold),
           "flagged": int(sum(1 for r in rows if r.flagged)),
           "learned_flagged": int(sum(1 for r in rows if r.learned_flagged))}
    if evidence.size:
        out.update(median=float(np.median(evidence)), max=float(evidence.max()))
    return out


def _store_scores(catalog, model_path, info, detector, judge, files, hashes, X
                  ) -> list[ScoredFile]:
    learned = dict(zip(hashes, learned_scores(detector, judge.library, hashes, X)))
    model = catalog.add_model(
        model_path, model_path.stem, info.encoder_id, info.detector, info.threshold,
        info.n_train, info.params,
    )
    rows = _judged(catalog, judge, [f for f in files if f.hash in learned], learned)
    catalog.put_scores(model.id, [(r.file_id, r.score, r.threshold, bool(r.flagged),
                                   r.learned_score) for r in rows
                                  if r.score is not None and r.file_id is not None])
    return rows


def _judged(catalog: Catalog, judge: Judge, files: Sequence[FileRecord],
            learned: dict[str, float]) -> list[ScoredFile]:
    """Catalog files judged: their learned scores, stored findings and "fine" marks."""
    from .facets import FACETS_VERSION, key_name

    fine = catalog.fine_hashes()
    found = stored_findings_of(catalog, [f.hash for f in files])
    hashes = [f.hash for f in files]
    facets = catalog.facets_of(hashes, FACETS_VERSION)
    values = [learned.get(h) if h else None for h in hashes]
    verdicts = judge.judge(hashes, values, [found.get(h) if h else None for h in hashes],
                           [h in fine for h in hashes])
    rows = []
    for f, value, v in zip(files, values, verdicts):
        value = None if value is None or not np.isfinite(value) else float(value)
        error = f.error or (None if value is not None else "no embedding (file unreadable)")
        facet = facets.get(f.hash or "")
        bpm = facet.bpm if facet else None
        key = key_name(facet.tonic, facet.mode) if facet and facet.tonic is not None else None
        rows.append(ScoredFile(f.path, f.id, v.evidence, judge.threshold, v.flagged, error,
                               f.duration_s, bool(f.hash in fine), v.learned_flagged, v.reasons,
                               tuple(found.get(f.hash or "", ())), value, v.words, f.hash,
                               bpm, key))
    return rows


def model_library(info, detector, catalog: Catalog | None = None) -> LibraryEvidence:
    """The calibration of a saved model: the one stored in its file (check strengths refreshed
    from the catalog when the checks changed since), or for a model from before calibrated
    evidence existed, its held-out scores plus its library's findings from the catalog."""
    from .evidence.store import read_library, recalibrated, with_current_findings

    library = read_library(info.path, info.extra)
    if library is None:
        hashes: list[str] = []
        if catalog is not None:
            roots = [absolute(r) for r in (info.extra or {}).get("roots", [])]
            hashes = sorted({f.hash for f in _files_for(roots, catalog)
                             if f.hash and not f.error})
        found = stored_findings_of(catalog, hashes) if catalog is not None else {}
        return recalibrated(detector, [h for h in hashes if h in found],
                            [found[h] for h in hashes if h in found])
    if catalog is not None:
        library = with_current_findings(library, stored_findings_of(catalog, library.hashes))
    return library


def model_judge(detector, info, catalog: Catalog | None = None,
                policy: FlagPolicy | None = None) -> Judge:
    """The one flag of a saved model under the user's ``policy`` (see :func:`model_library`)."""
    library = model_library(info, detector, catalog)
    policy = replace(policy or FlagPolicy(), calibration=library)
    return Judge(library, policy)


# --------------------------------------------------------------------------- score


def score(
    paths: Sequence[Path | str],
    catalog: Catalog,
    model_path: Path | str,
    encoder: Encoder | None = None,
    token: CancelToken | None = None,
    weights: Path | None = None,
    policy: FlagPolicy | None = None,
    follow_links: bool = False,
) -> Generator[Progress, None, ScoreResult]:
    """Score files (and folders) with a saved model; unreadable files get a row with the reason.

    The encoder is the one the model was trained with; passing another one is refused. Every
    row carries the calibrated evidence against the model's library and the flag (evidence
    over ``policy``'s budget, or an unmistakable defect); rows are sorted by evidence.
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
    scanned = yield from scan(paths, catalog, encoder, token, follow_links=follow_links)
    judge = model_judge(detector, info, catalog, policy)
    hashes, X = training_matrix(scanned.files, catalog, encoder.id)
    learned = dict(zip(hashes, learned_scores(detector, judge.library, hashes, X)))
    yield Progress("score", len(scanned.files), len(scanned.files), "scored")
    rows = _judged(catalog, judge, scanned.files, learned)
    rows.sort(key=lambda r: (r.score is None, -(r.score or 0.0), str(r.path)))
    model = catalog.add_model(model_path, model_path.stem, info.encoder_id, info.detector,
                              info.threshold, info.n_train, info.params)
    catalog.put_scores(model.id, [(r.file_id, r.score, r.threshold, bool(r.flagged),
                                   r.learned_score) for r in rows
                                  if r.score is not None and r.file_id is not None])
    return ScoreResult(rows, info, summarise(rows, judge.threshold), judge)


def warm_up_scoring(encoder: Encoder | None = None, detector=None) -> None:
    """Run the signal checks, ``encoder`` and ``detector`` once on a made-up clip, so the first
    real take is not the one that pays for lazy imports and first-call set-up (measured: 0.8 s
    for the checks and 1.3 s for the offline encoder on the first call, 0.04 and 0.02 s after)."""
    from .embedding.base import SAMPLE_RATE
    from .qc import QcConfig, run_checks

    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    clip = (0.2 * np.sin(2 * np.pi * 110 * t) * np.exp(-(t % 0.5) * 6)).astype(np.float32)
    clip += np.random.default_rng(0).normal(0, 0.003, clip.size).astype(np.float32)
    run_checks(np.stack([clip, clip], axis=1), SAMPLE_RATE, QcConfig())
    if encoder is not None:
        vector = encoder.encode([clip])
        if detector is not None:
            detector.score(vector)


def score_file(path: Path, encoder: Encoder, detector, judge: Judge) -> ScoredFile:
    """Score one file without the catalog (the watcher's fast path): one decode at the file's
    own rate feeds the signal checks, then a resampled mono copy feeds the encoder; ``judge``
    (:func:`model_judge`) gives the calibrated flag."""
    from .audio.io import file_hash, resample, to_mono
    from .embedding.base import SAMPLE_RATE
    from .qc_stage import check_audio

    path = absolute(path)
    started = time.monotonic()
    try:
        findings, audio = check_audio(path)
    except AudioReadError as exc:
        return ScoredFile(path, None, None, judge.threshold, None, str(exc), None)
    mono = to_mono(audio.samples) if audio.samples.ndim == 2 else audio.samples
    vector = encoder.encode([resample(mono, audio.sample_rate, SAMPLE_RATE)])
    value = float(detector.score(vector)[0])
    try:
        content = file_hash(path)
    except OSError:
        content = None
    if content is not None and judge.library.member(content) >= 0:
        own = judge.library.learned_member[judge.library.member(content)]
        value = float(own) if np.isfinite(own) else value
    v = judge.judge_one(content, value, findings)
    log.debug("scored %s in %.3f s", path, time.monotonic() - started)
    return ScoredFile(path, None, v.evidence, judge.threshold, v.flagged, None,
                      audio.info.duration_s, False, v.learned_flagged, v.reasons,
                      tuple(findings), value, v.words, content)
