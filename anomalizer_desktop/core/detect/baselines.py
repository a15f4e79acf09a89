"""Baselines on the same embeddings: Isolation Forest and PCA reconstruction error.

Both are fitted twice (they fit in well under a second): first without a seeded
``HELD_OUT_FRACTION`` of the library (``SMALL_LIBRARY``+ loops), whose scores then set the
threshold, and then on every row, so that every loop of the library is scored by the same
model. (Scoring the library with the split model instead would rank the held-out fifth above
the rest: with fewer loops than dimensions, PCA reconstructs its own training rows almost
exactly.) They standardise with the mean/std of all rows and score with plain numpy, so a saved
model is a handful of arrays.

Isolation Forest persistence: scikit-learn grows the forest (seeded), then the trees' public
arrays (``tree_.children_left/right``, ``feature``, ``threshold``, ``n_node_samples``) are copied
into padded matrices and scored here with the same formula as ``IsolationForest.score_samples``
(path length = leaf depth + c(n_leaf samples), score = 2^(-mean path / c(max_samples))). The
file stores ~100 small trees instead of the training matrix, loading needs no refit and does
not depend on the scikit-learn version, and ``fit`` checks the numpy scores against
scikit-learn's own on the training rows.
"""

from __future__ import annotations

import logging
from typing import Any, Generator

import numpy as np

from .base import (DEFAULT_THRESHOLD_PERCENTILE, HELD_OUT_FRACTION, Detector, Scaler, split_rows,
                   training_matrix)

log = logging.getLogger(__name__)

EULER_GAMMA = 0.5772156649015329


def average_path_length(n: np.ndarray) -> np.ndarray:
    """c(n): mean path length of an unsuccessful BST search among n points (c(1)=0, c(2)=1)."""
    n = np.asarray(n, dtype=np.float64)
    out = np.zeros_like(n)
    two = n == 2
    big = n > 2
    out[two] = 1.0
    out[big] = 2.0 * (np.log(n[big] - 1.0) + EULER_GAMMA) - 2.0 * (n[big] - 1.0) / n[big]
    return out


class _FittedTwice(Detector):
    """A baseline fitted without the held-out rows (their scores set the threshold), then on
    every row. Subclasses implement ``_fit_rows(Z) -> dict`` (fit-info entries)."""

    def fit_iter(self, X: np.ndarray) -> Generator[dict, None, None]:
        warnings: list[str] = []
        X, _ = training_matrix(X, warnings)
        scaler = Scaler.fit(X)
        Z = scaler.transform(X)
        train_idx, val_idx = split_rows(Z.shape[0], HELD_OUT_FRACTION, self.seed)
        val_scores = np.zeros(0)
        if len(val_idx):
            self._fit_rows(Z[train_idx])
            val_scores = self._score_standardised(Z[val_idx])
        info = self._fit_rows(Z)
        train_scores = self._score_standardised(Z)
        self._set_fitted(scaler, train_scores, warnings,
                         {"n_train": int(Z.shape[0]), "n_val": int(len(val_idx)), **info},
                         val_scores)
        yield {"phase": "fit", "epoch": 1, "epochs": 1,
               "train_loss": float(train_scores.mean()), "val_loss": None}

    def _fit_rows(self, Z: np.ndarray) -> dict[str, Any]:
        raise NotImplementedError


class IsolationForestDetector(_FittedTwice):
    """Isolation Forest; score = -``score_samples`` (in (0, 1], higher = more anomalous)."""

    name = "iforest"

    def __init__(self, n_estimators: int = 100, max_samples: int = 256,
                 threshold_percentile: float = DEFAULT_THRESHOLD_PERCENTILE,
                 seed: int = 0) -> None:
        super().__init__(threshold_percentile=threshold_percentile, seed=seed)
        self.n_estimators = int(n_estimators)
        self.max_samples = int(max_samples)

    def get_params(self) -> dict[str, Any]:
        return {"n_estimators": self.n_estimators, "max_samples": self.max_samples,
                **super().get_params()}

    def _fit_rows(self, Z: np.ndarray) -> dict[str, Any]:
        """Grow the forest on standardised rows ``Z``."""
        from sklearn.ensemble import IsolationForest

        psi = min(self.max_samples, Z.shape[0])
        forest = IsolationForest(n_estimators=self.n_estimators, max_samples=psi,
                                 max_features=1.0, random_state=self.seed).fit(Z)
        self._set_trees([est.tree_ for est in forest.estimators_], psi)
        reference = -forest.score_samples(Z)  # the one place the sign is flipped
        if not np.allclose(self._score_standardised(Z), reference, rtol=1e-9, atol=1e-12):
            raise RuntimeError("isolation forest: numpy scoring disagrees with scikit-learn")
        return {"max_samples": psi}

    def _set_trees(self, trees: list, psi: int) -> None:
        width = max(t.node_count for t in trees)
        shape = (len(trees), width)
        self.left_ = np.full(shape, -1, dtype=np.int32)
        self.right_ = np.full(shape, -1, dtype=np.int32)
        self.feature_ = np.zeros(shape, dtype=np.int32)
        self.split_ = np.zeros(shape, dtype=np.float64)
        self.n_node_ = np.zeros(shape, dtype=np.int64)
        for i, t in enumerate(trees):
            k = t.node_count
            self.left_[i, :k] = t.children_left
            self.right_[i, :k] = t.children_right
            self.feature_[i, :k] = np.maximum(t.feature, 0)
            self.split_[i, :k] = t.threshold
            self.n_node_[i, :k] = t.n_node_samples
        self.psi_ = int(psi)
        self._prepare_paths()

    def _prepare_paths(self) -> None:
        """Per node: depth (root = 0) + c(samples in the node), the path length at a leaf."""
        depth = np.zeros(self.left_.shape, dtype=np.float64)
        for i in range(self.left_.shape[0]):
            for node in range(self.left_.shape[1]):  # parents come before their children
                if self.left_[i, node] >= 0:
                    depth[i, self.left_[i, node]] = depth[i, node] + 1
                    depth[i, self.right_[i, node]] = depth[i, node] + 1
        self._path = depth + average_path_length(self.n_node_)

    def _score_standardised(self, Z: np.ndarray) -> np.ndarray:
        # scikit-learn's trees compare float32 inputs with float64 thresholds; do the same
        Z = np.asarray(Z, dtype=np.float32).astype(np.float64)
        rows = np.arange(Z.shape[0])
        total = np.zeros(Z.shape[0], dtype=np.float64)
        for i in range(self.left_.shape[0]):
            left, right = self.left_[i], self.right_[i]
            node = np.zeros(Z.shape[0], dtype=np.int64)
            while True:
                inner = left[node] >= 0
                if not inner.any():
                    break
                go_left = Z[rows, self.feature_[i, node]] <= self.split_[i, node]
                node = np.where(inner, np.where(go_left, left[node], right[node]), node)
            total += self._path[i, node]
        denom = self.left_.shape[0] * float(average_path_length(np.array([self.psi_]))[0])
        return 2.0 ** (-total / denom) if denom > 0 else np.ones_like(total)

    def _extra_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return ({"trees.left": self.left_, "trees.right": self.right_,
                 "trees.feature": self.feature_, "trees.threshold": self.split_,
                 "trees.n_node_samples": self.n_node_}, {"psi": self.psi_})

    def _load_extra_state(self, tensors: dict[str, np.ndarray], fitted: dict[str, Any]) -> None:
        self.left_ = np.asarray(tensors["trees.left"], dtype=np.int32)
        self.right_ = np.asarray(tensors["trees.right"], dtype=np.int32)
        self.feature_ = np.asarray(tensors["trees.feature"], dtype=np.int32)
        self.split_ = np.asarray(tensors["trees.threshold"], dtype=np.float64)
        self.n_node_ = np.asarray(tensors["trees.n_node_samples"], dtype=np.int64)
        self.psi_ = int(fitted["psi"])
        self._prepare_paths()


def _principal_axes(centred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Variances (descending, unnormalised) and unit axes (rows) of centred data. Many rows:
    eigen-decomposition of the D x D scatter matrix (no N x D factor in memory); else SVD."""
    n, d = centred.shape
    if n > 2 * d:
        w, v = np.linalg.eigh(centred.T @ centred)
        order = np.argsort(w)[::-1]
        return np.clip(w[order], 0.0, None), v[:, order].T
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    return s**2, vt


class PCADetector(_FittedTwice):
    """PCA reconstruction error in standardised space, components up to ``variance`` explained.

    The number of components is capped at rank - 1 of the training data, so a tiny library
    (fewer loops than dimensions) still leaves a residual instead of reconstructing every
    training loop exactly (which would make all training scores 0).
    """

    name = "pca"

    def __init__(self, variance: float = 0.95,
                 threshold_percentile: float = DEFAULT_THRESHOLD_PERCENTILE,
                 seed: int = 0) -> None:
        super().__init__(threshold_percentile=threshold_percentile, seed=seed)
        if not 0.0 < variance <= 1.0:
            raise ValueError("variance must be in (0, 1]")
        self.variance = float(variance)

    def get_params(self) -> dict[str, Any]:
        return {"variance": self.variance, **super().get_params()}

    def _fit_rows(self, Z: np.ndarray) -> dict[str, Any]:
        """Fit the principal axes to standardised rows ``Z``."""
        self.mean_ = Z.mean(axis=0)
        var, vt = _principal_axes(Z - self.mean_)
        ratio = var / var.sum() if var.sum() > 0 else np.zeros_like(var)
        rank = int((var > 1e-12 * var[0]).sum()) if var[0] > 0 else 0  # numerical rank
        k = int(np.searchsorted(np.cumsum(ratio), self.variance - 1e-12) + 1)
        k = max(1, min(k, rank - 1, len(var)))
        self.components_ = vt[:k]
        self.explained_variance_ratio_ = ratio[:k]
        return {"n_components": k, "explained_variance": float(ratio[:k].sum())}

    def _score_standardised(self, Z: np.ndarray) -> np.ndarray:
        centred = Z - self.mean_
        residual = centred - (centred @ self.components_.T) @ self.components_
        return np.einsum("ij,ij->i", residual, residual)

    def _latent_standardised(self, Z: np.ndarray) -> np.ndarray:
        return (Z - self.mean_) @ self.components_.T

    def _extra_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return ({"pca.mean": self.mean_, "pca.components": self.components_,
                 "pca.explained_variance_ratio": self.explained_variance_ratio_}, {})

    def _load_extra_state(self, tensors: dict[str, np.ndarray], fitted: dict[str, Any]) -> None:
        self.mean_ = np.asarray(tensors["pca.mean"], dtype=np.float64)
        self.components_ = np.asarray(tensors["pca.components"], dtype=np.float64)
        self.explained_variance_ratio_ = np.asarray(
            tensors["pca.explained_variance_ratio"], dtype=np.float64)
