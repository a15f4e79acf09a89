"""Cross-fitted learned scores: K models, each library loop scored by one that never saw it.

A model scores the loops it was fitted on lower than new ones, so a library sorted by its own
model's scores hides its odd loops among the ones it memorised, and a threshold taken from
those scores flags too many new takes. Here the library is split into ``folds`` seeded parts;
the base detector (Deep SVDD, iforest, pca) is fitted K times, each time without one part, and
that part is scored by it: every loop gets an *out-of-fold* score. Each fold model's scores are
divided by the median of its own training scores (every Deep SVDD run has its own scale), so
out-of-fold scores from different folds share one scale and form one null distribution for the
calibration (:mod:`anomalizer_desktop.core.evidence`). A new take is scored by every fold model
and gets the geometric mean of their normalised scores.

Robust training (``trim``, off by default: see DEFAULT_TRIM): loops a first pass scores highest
out-of-fold are left out and the folds are fitted again (the trimmed loops are scored by the
second-pass models, none of which saw them).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Generator

import numpy as np

from ..errors import NotEnoughDataError
from .base import (DEFAULT_THRESHOLD_PERCENTILE, MIN_LOOPS, Detector, Scaler, quantile_threshold,
                   training_matrix)

log = logging.getLogger(__name__)

DEFAULT_FOLDS = 5
# Off by default, by measurement: on the 400-loop folders (8 % bad) of bench/flag_corpus's dev
# part, offline encoder, AEwRES, trimming the top 10 % and refitting moved the AUROC of the
# out-of-fold order from .663 to .618 (bass) and .633 to .629 (guitar) at twice the training
# time: with 8 % bad loops the first pass's top decile is mostly clean loops.
DEFAULT_TRIM = 0.0
MIN_CROSSFIT_LOOPS = MIN_LOOPS + 2   # every fold model still trains on MIN_LOOPS loops
_TINY = 1e-12


def fold_ids(n: int, folds: int, seed: int) -> np.ndarray:
    """A seeded assignment of ``n`` rows to ``folds`` parts of (almost) equal size."""
    perm = np.random.default_rng(seed).permutation(n)
    ids = np.empty(n, dtype=np.int64)
    ids[perm] = np.arange(n) % folds
    return ids


class CrossFittedDetector(Detector):
    """K-fold cross-fitting around a base detector (see the module docstring)."""

    name = "crossfit"

    def __init__(self, base: str = "AEwRES", folds: int = DEFAULT_FOLDS, trim: float = 0.0,
                 base_params: dict | None = None,
                 threshold_percentile: float = DEFAULT_THRESHOLD_PERCENTILE, seed: int = 0) -> None:
        super().__init__(threshold_percentile=threshold_percentile, seed=seed)
        self.base = str(base)
        self.folds = int(folds)
        self.trim = float(trim)
        self.base_params = dict(base_params or {})
        if self.folds < 2:
            raise ValueError("folds must be >= 2")
        if not 0.0 <= self.trim < 0.5:
            raise ValueError("trim must be in [0, 0.5)")

    def get_params(self) -> dict[str, Any]:
        return {"base": self.base, "folds": self.folds, "trim": self.trim,
                "base_params": self.base_params, **super().get_params()}

    @property
    def display_name(self) -> str:
        return f"{self.base} x{self.folds} folds"

    def _new_base(self, fold: int, rerun: int) -> Detector:
        from . import make_detector

        return make_detector(self.base, **{**self.base_params,
                                           "seed": self.seed + 101 * rerun + fold})

    # -- fitting --------------------------------------------------------------------------
    def fit_iter(self, X: np.ndarray) -> Generator[dict, None, None]:
        t0 = time.perf_counter()
        warnings: list[str] = []
        X, _ = training_matrix(X, warnings)
        n = X.shape[0]
        if n < MIN_CROSSFIT_LOOPS:
            raise NotEnoughDataError(
                f"only {n} usable loop(s); at least {MIN_CROSSFIT_LOOPS} are needed to train a "
                "model (50+ recommended)")
        k = min(self.folds, n // 2)
        ids = fold_ids(n, k, self.seed)
        use = np.ones(n, bool)
        passes = 2 if self.trim > 0 else 1
        for rerun in range(passes):
            models, oof = [], np.full(n, np.nan)
            for f in range(k):
                rows = (ids != f) & use
                det = self._new_base(f, rerun)
                for stats in det.fit_iter(X[rows]):
                    yield {**stats, "phase": f"fold {f + 1}/{k} {stats.get('phase', 'fit')}",
                           "fold": f + 1, "folds": k}
                norm = max(float(np.median(det.train_scores_)), _TINY)
                models.append((det, norm))
                held = ids == f
                oof[held] = det.score(X[held]) / norm
            self.models_ = models
            if rerun + 1 < passes:
                cut = np.quantile(oof, 1.0 - self.trim)
                use = oof < cut
                log.info("crossfit: refitting without the %d loops scoring highest out of fold",
                         int((~use).sum()))
        if passes > 1:  # trimmed rows: no second-pass model saw them
            oof[~use] = self._score_standardised(X[~use])
        self.fold_ids_ = ids
        self.oof_scores_ = oof
        info = {"n_train": int(n), "folds": k, "trimmed": int((~use).sum()),
                "seconds": round(time.perf_counter() - t0, 3)}
        dim = X.shape[1]
        self._set_fitted(Scaler(np.zeros(dim), np.ones(dim)), oof, warnings, info, oof)

    # -- scoring --------------------------------------------------------------------------
    def _score_standardised(self, Z: np.ndarray) -> np.ndarray:
        logs = [np.log(np.maximum(det.score(Z) / norm, _TINY)) for det, norm in self.models_]
        return np.exp(np.mean(logs, axis=0))

    def _latent_standardised(self, Z: np.ndarray) -> np.ndarray:
        return self.models_[0][0].latent(Z)

    def threshold_at(self, percentile: float) -> float:
        """The learned score alone: a quantile of the out-of-fold scores (all held out)."""
        return quantile_threshold(self.train_scores_, percentile, held_out=True)

    @property
    def threshold_source(self) -> str:
        return "out-of-fold"

    # -- persistence ----------------------------------------------------------------------
    def _extra_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        tensors: dict[str, np.ndarray] = {"crossfit.norms": np.array([m[1] for m in self.models_]),
                                          "crossfit.fold_ids": self.fold_ids_}
        fold_params = []
        for f, (det, _norm) in enumerate(self.models_):
            sub, params = det.get_state()
            tensors.update({f"fold{f}.{key}": value for key, value in sub.items()})
            fold_params.append(params)
        return tensors, {"fold_models": fold_params}

    def _load_extra_state(self, tensors: dict[str, np.ndarray], fitted: dict[str, Any]) -> None:
        from . import detector_class

        norms = np.asarray(tensors["crossfit.norms"], dtype=np.float64)
        models = []
        for f, params in enumerate(fitted["fold_models"]):
            prefix = f"fold{f}."
            sub = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
            models.append((detector_class(params["detector"]).from_state(sub, params),
                           float(norms[f])))
        self.models_ = models
        self.fold_ids_ = np.asarray(tensors["crossfit.fold_ids"], dtype=np.int64)
        self.oof_scores_ = self.train_scores_
