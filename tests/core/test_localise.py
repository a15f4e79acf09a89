"""Sliding-window localisation of the learned score (core/localise.py)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pytest
import soundfile as sf

from anomalizer_desktop.core.embedding.base import SAMPLE_RATE
from anomalizer_desktop.core.errors import Cancelled
from anomalizer_desktop.core.localise import (LocalCurve, localise, localise_file, localise_iter,
                                              window_starts)
from anomalizer_desktop.core.progress import CancelToken

SR = SAMPLE_RATE


class RecordingEncoder:
    """A cheap stand-in: (rms, peak) per clip; remembers every batch it was given."""

    id = "test:rms"
    name = "rms"
    dim = 2
    description = "test encoder"

    def __init__(self, batch_size: int = 4, on_encode=None) -> None:
        self.batch_size = batch_size
        self.batches: list[list[int]] = []
        self.on_encode = on_encode

    def encode(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        self.batches.append([len(c) for c in clips])
        if self.on_encode:
            self.on_encode()
        return np.array([[np.sqrt(np.mean(c ** 2)), np.abs(c).max()] for c in clips], np.float32)


class RmsDetector:
    threshold_ = 0.5

    def score(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, np.float64)[:, 0]


def pluck_loop(seed: int, seconds: float = 8.0) -> np.ndarray:
    """A bass-like loop: decaying harmonics retriggered on every beat, a little noise floor."""
    rng = np.random.default_rng(seed)
    freq, beat = rng.uniform(70, 160), rng.uniform(0.4, 0.6)
    t = np.arange(int(seconds * SR)) / SR
    since = t % beat
    env = np.minimum(1.0, since / 0.005) * np.exp(-since * 6.0)
    wave = sum(np.sin(2 * np.pi * freq * k * t + rng.uniform(0, 6.28)) / k for k in range(1, 5))
    return (0.3 * env * wave + rng.normal(0, 1e-3, t.size)).astype(np.float32)


# --------------------------------------------------------------------------- windows


@pytest.mark.parametrize("seconds", [2.0, 2.3, 4.0, 5.26, 9.999])
def test_windows_cover_the_whole_clip(seconds: float) -> None:
    y = np.ones(int(seconds * SR), np.float32)
    curve = localise(y, RecordingEncoder(), RmsDetector(), 0.5)
    starts = np.round(curve.starts_s * SR).astype(int)
    ends = np.round(curve.ends_s * SR).astype(int)
    assert starts[0] == 0 and ends[-1] == y.size            # last window aligned to the end
    assert np.all(starts[1:] <= ends[:-1])                  # no gaps
    assert np.all(np.diff(starts) > 0)                      # distinct, ordered
    assert np.all(ends - starts == 2 * SR)                  # every window is 2 s
    assert np.all(np.diff(starts)[:-1] == SR // 2)          # regular hop, last one may be shorter
    np.testing.assert_allclose(curve.times_s, (curve.starts_s + curve.ends_s) / 2)
    assert curve.window_s == 2.0 and curve.hop_s == 0.5
    assert curve.duration_s == pytest.approx(y.size / SR)


def test_short_clip_is_one_window_of_the_whole_clip() -> None:
    y = np.full(int(1.3 * SR), 0.2, np.float32)
    enc = RecordingEncoder()
    curve = localise(y, enc, RmsDetector(), 0.5)
    assert len(curve) == 1
    assert enc.batches == [[y.size]]
    assert curve.starts_s[0] == 0.0 and curve.ends_s[0] == pytest.approx(1.3, abs=1e-4)
    assert curve.window_s == pytest.approx(1.3, abs=1e-4)
    assert curve.scores[0] == pytest.approx(0.2, rel=1e-5)


def test_max_windows_widens_the_hop() -> None:
    y = np.ones(60 * SR, np.float32)   # 117 windows at the default hop
    curve = localise(y, RecordingEncoder(batch_size=7), RmsDetector(), 0.5, max_windows=10)
    assert 2 <= len(curve) <= 10
    assert curve.hop_s > 0.5
    starts = np.round(curve.starts_s * SR).astype(int)
    assert np.all(np.diff(starts)[:-1] == round(curve.hop_s * SR))
    assert starts[0] == 0 and round(curve.ends_s[-1] * SR) == y.size
    assert np.all(starts[1:] <= np.round(curve.ends_s[:-1] * SR))
    assert curve.window_s > 2.0 and curve.window_s == pytest.approx(curve.hop_s, abs=1e-4)
    # the default cap holds too, and keeps 2-s windows when they can still cover the clip
    default = localise(y, RecordingEncoder(), RmsDetector(), 0.5)
    assert 40 <= len(default) <= 48 and default.window_s == 2.0 and default.hop_s > 0.5
    assert np.all(default.starts_s[1:] <= default.ends_s[:-1])


@pytest.mark.parametrize("n, window, hop, cap", [(10_000, 100, 30, 5), (999, 10, 3, 2),
                                                 (12_345, 200, 50, 48), (500, 7, 1, 13)])
def test_window_starts_cover_within_the_cap(n: int, window: int, hop: int, cap: int) -> None:
    starts, w, h = window_starts(n, window, hop, cap)
    assert len(starts) <= cap and starts[0] == 0 and starts[-1] + w == n
    assert np.all(starts[1:] <= starts[:-1] + w) and w >= window and h >= hop


def test_window_starts_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        window_starts(100, 10, 5, max_windows=1)
    with pytest.raises(ValueError):
        localise(np.zeros((100, 2), np.float32), RecordingEncoder(), RmsDetector(), 0.5)
    with pytest.raises(ValueError):
        localise(np.zeros(0, np.float32), RecordingEncoder(), RmsDetector(), 0.5)


def test_batches_follow_the_encoder_batch_size_and_report_progress() -> None:
    y = np.ones(int(7.0 * SR), np.float32)   # 11 windows
    enc = RecordingEncoder(batch_size=4)
    gen = localise_iter(y, enc, RmsDetector(), None)
    progress = []
    while True:
        try:
            progress.append(next(gen))
        except StopIteration as stop:
            curve = stop.value
            break
    assert [len(b) for b in enc.batches] == [4, 4, 3]
    assert [p.done for p in progress] == [4, 8, 11] and progress[-1].total == 11
    assert curve.threshold == 0.5   # None -> detector.threshold_


def test_cancel_between_batches() -> None:
    token = CancelToken()
    enc = RecordingEncoder(batch_size=2, on_encode=token.cancel)
    with pytest.raises(Cancelled):
        localise(np.ones(8 * SR, np.float32), enc, RmsDetector(), 0.5, token=token)
    assert len(enc.batches) == 1


def test_curve_locates_a_loud_section_and_normalises() -> None:
    y = np.full(8 * SR, 0.1, np.float32)
    y[5 * SR: int(5.2 * SR)] = 0.9
    curve = localise(y, RecordingEncoder(), RmsDetector(), 0.05)
    assert curve.starts_s[curve.peak_index] <= 5.0 and curve.ends_s[curve.peak_index] >= 5.2
    np.testing.assert_allclose(curve.ratio, curve.scores / 0.05)
    assert np.median(curve.relative) == pytest.approx(1.0)
    assert curve.relative.max() > 1.5


def test_localise_file_decodes_to_48k(tmp_path) -> None:
    path = tmp_path / "take.wav"
    sf.write(path, np.full((int(3.0 * 44_100), 2), 0.25, np.float32), 44_100)
    before = path.read_bytes()
    curve = localise_file(path, RecordingEncoder(), RmsDetector(), 0.5)
    assert curve.duration_s == pytest.approx(3.0, abs=1e-3)
    assert curve.ends_s[-1] == pytest.approx(3.0, abs=1e-3) and len(curve) == 3
    assert np.allclose(curve.scores, 0.25, atol=1e-3)
    assert path.read_bytes() == before


# --------------------------------------------------------------------------- real encoder


@pytest.fixture(scope="module")
def window_model():
    """Spectral encoder + window embeddings of clean pluck loops (shared by the detectors)."""
    from anomalizer_desktop.core.embedding.spectral import SpectralEncoder

    enc = SpectralEncoder()
    rows = []
    for seed in range(6):
        y = pluck_loop(seed, seconds=6.0)
        starts, w, _ = window_starts(y.size, 2 * SR, SR // 2)
        rows.append(enc.encode([y[s:s + w] for s in starts]))
    return enc, np.concatenate(rows)


@pytest.mark.slow
@pytest.mark.parametrize("network", ["pca", "iforest"])
def test_noise_burst_peaks_where_it_was_planted(window_model, network: str) -> None:
    from anomalizer_desktop.core.detect import make_detector

    enc, X = window_model
    det = make_detector(network, seed=0).fit(X)
    y = pluck_loop(100)
    lo, hi = int(4.0 * SR), int(4.2 * SR)
    y[lo:hi] += np.random.default_rng(5).normal(0, 0.2, hi - lo).astype(np.float32)
    curve = localise(y, enc, det, det.threshold_)
    i = curve.peak_index
    assert curve.starts_s[i] < 4.2 and curve.ends_s[i] > 4.0, (curve.starts_s, curve.scores)
    overlap = (curve.starts_s < 4.2) & (curve.ends_s > 4.0)
    assert curve.scores[overlap].min() > curve.scores[~overlap].max()
    assert curve.relative[i] > 1.05   # iforest: ~1.1; pca: ~50

    again = localise(y, enc, det, det.threshold_)
    np.testing.assert_array_equal(again.scores, curve.scores)
    np.testing.assert_array_equal(again.starts_s, curve.starts_s)


def test_local_curve_without_finite_scores() -> None:
    c = LocalCurve(np.zeros(1), np.zeros(1), np.ones(1), np.array([np.nan]), 0.0, 1.0, 0.5, 1.0)
    assert c.peak_index is None and c.peak_s is None
    assert np.isnan(c.ratio).all() and np.isnan(c.relative).all()
