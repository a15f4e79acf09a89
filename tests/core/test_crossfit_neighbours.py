"""The neighbour guard of the cross-fitted learned score: a few odd loops in a folder."""

from __future__ import annotations

import numpy as np
import pytest

from anomalizer_desktop.core.detect import cross_fitted
from anomalizer_desktop.core.detect.crossfit import mean_neighbour_distance
from anomalizer_desktop.core.detect.persistence import load_model, save_model


def _folder(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """200 normal loops and 8 odd ones, as varied as the normal ones but far out along one
    direction: a model fitted on all of them takes that direction in as one more way to be
    normal (PCA keeps it among its components), while the odd loops' nearest neighbours are
    still far."""
    rng = np.random.default_rng(seed)
    normal = rng.normal(size=(200, 12))
    odd = rng.normal(size=(8, 12))
    odd[:, 0] += 6.0
    X = np.concatenate([normal, odd]).astype(np.float32)
    return X, np.arange(len(X)) >= 200


def _auroc(scores: np.ndarray, odd: np.ndarray) -> float:
    return float((scores[odd][:, None] > scores[~odd][None, :]).mean())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_odd_group_in_the_folder_ranks_higher_out_of_fold(seed):
    # PCA's reconstruction error has a heavy tail of its own, so the guard (the larger of the
    # two) lifts the odd group by less than it lifts a Deep SVDD score; it still lifts it.
    X, odd = _folder(seed)
    blind = cross_fitted("pca", folds=5, seed=0, neighbours=0).fit(X).oof_scores_
    guarded = cross_fitted("pca", folds=5, seed=0).fit(X).oof_scores_
    assert _auroc(guarded, odd) >= _auroc(blind, odd) + 0.05


def test_guarded_model_round_trips_and_old_models_score_with_the_base_alone(tmp_path):
    X, _ = _folder(1)
    det = cross_fitted("pca", folds=3, seed=0).fit(X)
    path = tmp_path / "m.anomalizer"
    save_model(det, path, "enc")
    loaded, _ = load_model(path)
    np.testing.assert_allclose(loaded.score(X[:20]), det.score(X[:20]), rtol=1e-6)
    # a model saved before the guard existed has no reference loops in its file
    old = cross_fitted("pca", folds=3, seed=0).fit(X)
    old.reference_ = None
    old._guards = None
    base = cross_fitted("pca", folds=3, seed=0, neighbours=0).fit(X)
    np.testing.assert_allclose(old.score(X[:20]), base.score(X[:20]), rtol=1e-6)


def test_mean_neighbour_distance_matches_brute_force():
    rng = np.random.default_rng(2)
    ref, Z = rng.normal(size=(700, 5)), rng.normal(size=(30, 5))
    d = np.sqrt(((Z[:, None] - ref[None]) ** 2).sum(-1))
    np.testing.assert_allclose(mean_neighbour_distance(ref, Z, 4),
                               np.sort(d, axis=1)[:, :4].mean(axis=1), rtol=1e-9)
    own = np.sqrt(((ref[:, None] - ref[None]) ** 2).sum(-1))
    np.fill_diagonal(own, np.inf)
    np.testing.assert_allclose(mean_neighbour_distance(ref, ref, 3, exclude_self=True),
                               np.sort(own, axis=1)[:, :3].mean(axis=1), rtol=1e-9)
