"""Isolation Forest and PCA baselines: sign convention, threshold, seeds, tiny libraries."""

from __future__ import annotations

import numpy as np
import pytest

from anomalizer_desktop.core.detect import NETWORK_NAMES, detector_class, make_detector
from anomalizer_desktop.core.detect.base import (
    HELD_OUT_FRACTION,
    percentile_of_threshold,
    quantile_threshold,
    split_rows,
)
from anomalizer_desktop.core.detect.baselines import (
    IsolationForestDetector,
    PCADetector,
    average_path_length,
)
from anomalizer_desktop.core.errors import NotEnoughDataError


def clusters(n_normal: int = 200, n_odd: int = 5, dim: int = 16, seed: int = 0) -> np.ndarray:
    """n_normal rows from one correlated Gaussian cluster, then n_odd rows from another."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(dim, dim)) / np.sqrt(dim)
    normal = rng.standard_normal((n_normal, dim)) @ mix + 1.0
    odd = rng.standard_normal((n_odd, dim)) @ mix + 1.0 + 3.0
    return np.concatenate([normal, odd]).astype(np.float32)


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    return clusters()


@pytest.mark.parametrize("name", ["iforest", "pca"])
def test_scores_spread_and_threshold_is_held_out_quantile(name, data):
    det = make_detector(name, seed=0)
    history = list(det.fit_iter(data))
    assert [h["phase"] for h in history] == ["fit"]
    scores = det.score(data)
    np.testing.assert_array_equal(scores, det.train_scores_)  # the final model: every row
    assert scores.std() > 1e-3 * scores.mean() > 0
    # the threshold comes from a seeded fifth scored by a model fitted without it
    _, val_rows = split_rows(len(data), HELD_OUT_FRACTION, 0)
    assert len(det.val_scores_) == len(val_rows) == round(0.2 * len(data))
    assert det.val_scores_.mean() > scores[val_rows].mean()  # out-of-sample scores are higher
    assert det.threshold_source == "held-out" and det.fit_info_["n_val"] == len(val_rows)
    assert det.threshold_ == pytest.approx(quantile_threshold(det.val_scores_, 97.5))
    assert det.threshold_at(80) == pytest.approx(quantile_threshold(det.val_scores_, 80))
    assert det.predict(data).sum() == (scores > det.threshold_).sum() > 0


@pytest.mark.parametrize("name", ["iforest", "pca"])
def test_small_library_threshold_falls_back_to_training_scores(name, data):
    det = make_detector(name, seed=0).fit(data[:30])
    assert det.val_scores_.size == 0 and det.threshold_source == "training"
    np.testing.assert_array_equal(det.score(data[:30]), det.train_scores_)
    assert det.threshold_ == pytest.approx(np.percentile(det.train_scores_, 97.5))
    assert det.predict(data[:30]).sum() == 1  # the top one of 30 is above it


def test_quantile_threshold_uses_weibull_positions_and_inverts():
    s = np.arange(1.0, 20.0)  # 19 scores: the k-th smallest sits at k / 20
    assert quantile_threshold(s, 50) == pytest.approx(10.0)
    assert quantile_threshold(s, 95) == pytest.approx(19.0)  # = the largest of 19
    assert quantile_threshold(s, 99) == 19.0 and quantile_threshold(s, 1) == 1.0
    assert quantile_threshold(s, 52.5) == pytest.approx(10.5)
    for p in (10.0, 37.5, 80.0, 94.0):
        assert percentile_of_threshold(s, quantile_threshold(s, p)) == pytest.approx(p)
        linear = quantile_threshold(s, p, held_out=False)
        assert linear == pytest.approx(np.percentile(s, p))
        assert percentile_of_threshold(s, linear, held_out=False) == pytest.approx(p)
    assert np.isnan(quantile_threshold(np.array([np.nan]), 95))


def test_held_out_threshold_flags_few_new_normal_rows():
    # many rows from one distribution: the held-out quantile generalises, the training one does not
    rng = np.random.default_rng(3)
    X, new = rng.normal(size=(400, 64)), rng.normal(size=(4000, 64))
    det = make_detector("pca", seed=0).fit(X)
    assert det.threshold_percentile == 97.5
    rate = float(np.mean(det.score(new) > det.threshold_))
    p95 = float(np.mean(det.score(new) > det.threshold_at(95)))
    in_sample = float(np.mean(det.score(new) > np.percentile(det.train_scores_, 95)))
    # the final model saw more rows than the split one, so new rows score a little lower:
    # the held-out threshold errs on the side of fewer flags
    assert 0.001 < rate <= p95 < 0.1 and in_sample > 0.5


def test_iforest_ranks_planted_outliers_in_the_library_high(data):
    scores = make_detector("iforest", seed=0).fit(data).score(data)
    assert set(range(200, 205)) <= set(np.argsort(-scores)[:10].tolist())


def test_pca_ranks_new_outliers_above_the_library(data):
    # In-sample, a tight group of odd rows becomes a principal component of its own and is
    # reconstructed well (see bench/bench_train.py, "library" column); on new rows PCA is sharp.
    det = make_detector("pca").fit(data[:200])
    scores = det.score(data)
    assert scores[200:].min() > np.sort(scores[:200])[-10]


def test_iforest_matches_sklearn_sign_flipped_on_new_data(data):
    from sklearn.ensemble import IsolationForest

    det = IsolationForestDetector(seed=5).fit(data)
    ref = IsolationForest(n_estimators=100, max_samples=len(data), max_features=1.0, random_state=5)
    ref.fit(det.scaler_.transform(data))
    new = np.random.default_rng(1).normal(0, 3, size=(50, data.shape[1]))
    np.testing.assert_allclose(det.score(new), -ref.score_samples(det.scaler_.transform(new)),
                               rtol=1e-12)
    assert ((det.score(new) > 0) & (det.score(new) <= 1)).all()


def test_iforest_seed_controls_scores(data):
    a = make_detector("iforest", seed=1).fit(data).score(data)
    b = make_detector("IForest", seed=1).fit(data).score(data)
    c = make_detector("iforest", seed=2).fit(data).score(data)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_pca_keeps_95_percent_variance(data):
    det = PCADetector().fit(data)
    k = len(det.explained_variance_ratio_)
    assert det.explained_variance_ratio_.sum() >= 0.95
    assert k == 1 or det.explained_variance_ratio_[:-1].sum() < 0.95
    assert det.latent(data).shape == (len(data), k)
    # the seed only picks the held-out rows (the threshold), not the final model
    np.testing.assert_array_equal(PCADetector(seed=9).fit(data).score(data), det.score(data))


def test_pca_tiny_library_still_leaves_a_residual():
    X = np.random.default_rng(0).normal(size=(12, 64))
    det = PCADetector().fit(X)
    assert len(det.explained_variance_ratio_) <= 10  # capped below the rank (11)
    assert det.train_scores_.min() > 1e-6
    assert any("only 12 loops" in w for w in det.warnings_)


@pytest.mark.parametrize("name", ["iforest", "pca"])
def test_too_few_loops_raise(name):
    with pytest.raises(NotEnoughDataError):
        make_detector(name).fit(np.random.default_rng(0).normal(size=(7, 10)))


def test_latent_of_iforest_is_standardised_input(data):
    det = make_detector("iforest").fit(data)
    lat = det.latent(data)
    np.testing.assert_allclose(lat.mean(axis=0), 0, atol=1e-9)
    np.testing.assert_allclose(lat.std(axis=0), 1, atol=1e-9)


def test_average_path_length():
    assert list(average_path_length(np.array([0, 1, 2]))) == [0.0, 0.0, 1.0]
    assert average_path_length(np.array([256]))[0] == pytest.approx(10.244, abs=1e-3)


def test_make_detector_names():
    assert make_detector("AEWRES").name == "AEwRES"
    assert make_detector("ae").name == "AE"
    assert make_detector("PCA").name == "pca"
    assert {detector_class(n).__name__ for n in NETWORK_NAMES} == {
        "DeepSVDD", "IsolationForestDetector", "PCADetector"}
    with pytest.raises(ValueError, match="unknown detector"):
        make_detector("svm")


def test_importing_the_package_loads_neither_torch_nor_sklearn():
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": repo + os.pathsep + os.environ.get("PYTHONPATH", "")}

    code = ("import sys, anomalizer_desktop.core.detect, anomalizer_desktop.core.detect.persistence;"
            "print(sorted(m for m in ('torch', 'sklearn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=repo, env=env)
    assert out.stdout.strip() == "[]"
