"""scan -> embed -> train -> score through the real catalog, detectors and the offline encoder."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from anomalizer_desktop.core import jobs, pipeline
from anomalizer_desktop.core.catalog import Catalog
from anomalizer_desktop.core.embedding.spectral import SpectralEncoder
from anomalizer_desktop.core.errors import Cancelled, EncoderMismatchError, NotEnoughDataError
from anomalizer_desktop.core.progress import CancelToken, run_job

from .helpers import noise_loop, tone_loop, tree_hashes


def drive(job):
    stages = []
    return run_job(job, stages.append), stages


@pytest.fixture
def library(tmp_path) -> Path:
    root = tmp_path / "My Loops ünï"
    for i in range(10):
        tone_loop(root / "bass" / f"bass {i:02d}.wav", freq=55 * (1 + i % 3), seed=i)
    (root / "bass" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    (root / "notes.txt").write_text("not audio")
    return root


@pytest.fixture
def catalog(tmp_path):
    with Catalog(tmp_path / "catalog.sqlite3") as cat:
        yield cat


class CountingEncoder(SpectralEncoder):
    def __init__(self):
        super().__init__()
        self.clips = 0

    def encode(self, clips):
        self.clips += len(clips)
        return super().encode(clips)


def test_scan_catalogs_embeds_and_records_unreadable_files(library, catalog):
    before = tree_hashes(library)
    encoder = CountingEncoder()
    result, progress = drive(jobs.scan([library], catalog, encoder))
    assert result.added == 11 and result.errors == 1
    assert result.embedded == 10  # broken.wav failed at the header check
    assert encoder.clips == 10
    broken = [f for f in result.files if f.path.name == "broken.wav"][0]
    assert broken.error and "audio" in broken.error
    assert {p.stage for p in progress} >= {"list", "check", "embed"}
    assert tree_hashes(library) == before  # the user's files are never modified


def test_rescan_of_unchanged_library_does_no_audio_work(library, catalog, monkeypatch):
    drive(jobs.scan([library], catalog, SpectralEncoder()))
    calls = []
    monkeypatch.setattr(pipeline, "read_audio", lambda *a, **k: calls.append(a))
    monkeypatch.setattr("anomalizer_desktop.core.scanning.probe", lambda *a: calls.append(a))
    encoder = CountingEncoder()
    result, _ = drive(jobs.scan([library], catalog, encoder))
    assert result.unchanged == 11 and result.added == 0
    assert calls == [] and encoder.clips == 0


def test_moved_and_deleted_files_are_recognised(library, catalog):
    drive(jobs.scan([library], catalog, SpectralEncoder()))
    old = library / "bass" / "bass 00.wav"
    old_id = catalog.get_file(old).id
    new = library / "moved here" / "renamed.wav"
    new.parent.mkdir()
    shutil.move(old, new)
    (library / "bass" / "bass 01.wav").unlink()
    encoder = CountingEncoder()
    result, _ = drive(jobs.scan([library], catalog, encoder))
    assert result.moved == 1 and result.missing == 1
    assert catalog.get_file(new).id == old_id  # same row: scores and marks follow the file
    assert encoder.clips == 0  # its embedding is reused


def test_train_then_score_ranks_the_odd_takes_first(library, catalog, tmp_path):
    for i in range(10, 30):
        tone_loop(library / "more" / f"b{i}.wav", freq=55 * (1 + i % 3), seed=i)
    takes = tmp_path / "new takes"
    odd = [noise_loop(takes / "take 1.wav", seed=5), noise_loop(takes / "take 2.wav", seed=6)]
    fine_take = tone_loop(takes / "take 3.wav", freq=110, seed=99)
    model = tmp_path / "m.anomalizer"
    trained, progress = drive(jobs.train([library], catalog, SpectralEncoder(), model,
                                         network="iforest"))
    assert model.exists() and trained.n_train == 30
    assert trained.score_summary["threshold"] == pytest.approx(-np.log10(0.05))
    assert trained.score_summary["learned_source"] == "out-of-fold"
    assert trained.score_summary["folds"] == 5
    scored, _ = drive(jobs.score([library / "bass", takes], catalog, model))
    ranked = [r.path for r in scored.rows if r.score is not None]
    assert set(ranked[:2]) == set(odd)
    assert all(r.learned_flagged and r.score > scored.rows[3].score for r in scored.rows[:2])
    assert fine_take not in ranked[:2]
    assert scored.rows[-1].path.name == "broken.wav" and scored.rows[-1].error
    stored = catalog.scores(catalog.get_model(model).id)
    assert len(stored) >= 13
    assert all(s.learned is not None and s.learned > 0 for s in stored.values())
    assert all(r.learned_score is not None for r in scored.rows if r.score is not None)


def test_deep_svdd_train_reports_epochs(library, catalog, tmp_path):
    for i in range(10, 40):
        tone_loop(library / "more" / f"b{i}.wav", freq=55 * (1 + i % 3), seed=i)
    trained, progress = drive(jobs.train([library], catalog, SpectralEncoder(),
                                         tmp_path / "svdd.anomalizer", network="AEwRES", epochs=5))
    epochs = [p for p in progress if p.stage == "train"]
    assert epochs and {"phase", "epoch"} <= set(epochs[-1].extra)
    assert trained.score_summary["n"] == 40 and trained.score_summary["max"] > 0


def test_cancel_keeps_finished_embeddings(library, catalog):
    token = CancelToken()
    encoder = SpectralEncoder()
    encoder.batch_size = 2
    job = jobs.scan([library], catalog, encoder, token)
    with pytest.raises(Cancelled):
        for progress in job:
            if progress.stage == "embed" and progress.done >= 2:
                token.cancel()
    files = catalog.files(under=library)
    kept = catalog.get_embeddings([f.hash for f in files if f.hash], encoder.id)
    assert 2 <= len(kept) < 10


def test_training_on_nothing_is_a_clear_error(tmp_path, catalog):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(NotEnoughDataError, match="no readable audio"):
        drive(jobs.train([empty], catalog, SpectralEncoder(), tmp_path / "m.anomalizer"))


def test_scoring_with_another_encoder_is_refused(library, catalog, tmp_path):
    model = tmp_path / "m.anomalizer"
    for i in range(10, 20):
        tone_loop(library / "more" / f"b{i}.wav", seed=i)
    drive(jobs.train([library], catalog, SpectralEncoder(), model, network="pca"))

    class Other(SpectralEncoder):
        id = "spectral:other"

    with pytest.raises(EncoderMismatchError, match="trained on"):
        drive(jobs.score([library], catalog, model, encoder=Other()))


def test_score_file_fast_path_handles_bad_files(library, catalog, tmp_path):
    from anomalizer_desktop.core.detect.persistence import load_model

    model = tmp_path / "m.anomalizer"
    drive(jobs.train([library], catalog, SpectralEncoder(), model, network="pca"))
    detector, info = load_model(model)
    judge = jobs.model_judge(detector, info, catalog)
    ok = jobs.score_file(library / "bass" / "bass 03.wav", SpectralEncoder(), detector, judge)
    bad = jobs.score_file(library / "bass" / "broken.wav", SpectralEncoder(), detector, judge)
    assert ok.score is not None and np.isfinite(ok.score) and ok.error is None
    assert bad.score is None and bad.error


def test_warm_up_scoring_runs_checks_encoder_and_detector(monkeypatch):
    from anomalizer_desktop.core import qc

    seen = {}
    real = qc.run_checks
    monkeypatch.setattr(qc, "run_checks", lambda *a, **k: seen.setdefault("checks", real(*a, **k)))

    class Detector:
        def score(self, X):
            seen["score"] = X.shape
            return np.zeros(len(X))

    encoder = CountingEncoder()
    jobs.warm_up_scoring(encoder, Detector())
    assert "checks" in seen and encoder.clips == 1 and seen["score"] == (1, encoder.dim)
