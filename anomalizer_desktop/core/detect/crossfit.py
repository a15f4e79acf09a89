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

A neighbour guard (``neighbours``, 10 by default; 0 = off): each fold model also keeps its
training loops' embeddings (standardised on them; at most ``MAX_REFERENCE`` loops, a seeded
subset), and its score of a loop is the larger of the base score and the squared mean distance
to the loop's ``neighbours`` nearest training loops, each divided by its median over the
training loops (for the distance: each against the others). Deep SVDD fitted on a folder with a
few odd loops in it learns them as one more mode (drum loops among 400 bass loops: AUROC of the
out-of-fold score .79); their distance to their nearest neighbours still sets them apart (.91).
bench_flags.py, whole-folder sort (400 loops, 8 % bad), offline encoder, AUROC of the order:
dev part bass .826 -> .848, guitar .841 -> .839, drums .984 -> .983; locked part .835 -> .837,
.818 -> .816, .882 -> .887; the per-kind figures of new takes moved by 0.005 at most. With
4096 reference loops of 512 dimensions the guard adds ~2 s to training (0.33 s per fold to
build, measured on this 2-core machine), 8 MB to the model file and ~2 ms per 8 takes scored
per fold.
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
DEFAULT_NEIGHBOURS = 10
MAX_REFERENCE = 4096     # training loops a fold model keeps for the neighbour guard
_CHUNK = 512             # rows per block of the distance computation
_TINY = 1e-12


def mean_neighbour_distance(reference: np.ndarray, Z: np.ndarray, k: int,
                            exclude_self: bool = False) -> np.ndarray:
    """Per row of ``Z``: the mean Euclidean distance to its ``k`` nearest rows of ``reference``
    (``exclude_self``: ``Z`` is ``reference`` and a row is not its own neighbour)."""
    ref = np.asarray(reference, dtype=np.float64)
    Z = np.asarray(Z, dtype=np.float64)
    k = max(1, min(k, len(ref) - (1 if exclude_self else 0)))
    ref_sq = np.einsum("ij,ij->i", ref, ref)
    out = np.empty(len(Z))
    for i in range(0, len(Z), _CHUNK):
        z = Z[i: i + _CHUNK]
        d2 = np.einsum("ij,ij->i", z, z)[:, None] + ref_sq[None, :] - 2.0 * z @ ref.T
        if exclude_self:
            d2[np.arange(len(z)), np.arange(i, i + len(z))] = np.inf
        part = np.partition(np.maximum(d2, 0.0), k - 1, axis=1)[:, :k]
        out[i: i + _CHUNK] = np.sqrt(part).mean(axis=1)
    return out


class _Neighbours:
    """One fold model's reference loops, standardised on themselves, and the median of their
    leave-one-out neighbour distances."""

    def __init__(self, rows: np.ndarray, k: int) -> None:
        self.mean = rows.mean(axis=0)
        self.scale = rows.std(axis=0) + 1e-6
        self.reference = (rows - self.mean) / self.scale
        self.k = k
        self.norm = max(float(np.median(mean_neighbour_distance(
            self.reference, self.reference, k, exclude_self=True))), _TINY)

    def score(self, Z: np.ndarray) -> np.ndarray:
        d = mean_neighbour_distance(self.reference, (Z - self.mean) / self.scale, self.k)
        return (d / self.norm) ** 2


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
                 base_params: dict | None = None, neighbours: int = DEFAULT_NEIGHBOURS,
                 threshold_percentile: float = DEFAULT_THRESHOLD_PERCENTILE, seed: int = 0) -> None:
        super().__init__(threshold_percentile=threshold_percentile, seed=seed)
        self.base = str(base)
        self.folds = int(folds)
        self.trim = float(trim)
        self.neighbours = int(neighbours)
        if self.neighbours < 0:
            raise ValueError("neighbours must be >= 0")
        self.reference_: np.ndarray | None = None
        self._guards: list[_Neighbours | None] | None = None
        self.base_params = dict(base_params or {})
        if self.folds < 2:
            raise ValueError("folds must be >= 2")
        if not 0.0 <= self.trim < 0.5:
            raise ValueError("trim must be in [0, 0.5)")

    def get_params(self) -> dict[str, Any]:
        return {"base": self.base, "folds": self.folds, "trim": self.trim,
                "base_params": self.base_params, "neighbours": self.neighbours,
                **super().get_params()}

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
        kept = np.zeros(n, bool)   # the loops the neighbour guard may keep
        kept[np.random.default_rng(self.seed + 7).permutation(n)[:MAX_REFERENCE]] = True
        passes = 2 if self.trim > 0 else 1
        for rerun in range(passes):
            models, guards, oof = [], [], np.full(n, np.nan)
            for f in range(k):
                rows = (ids != f) & use
                det = self._new_base(f, rerun)
                for stats in det.fit_iter(X[rows]):
                    yield {**stats, "phase": f"fold {f + 1}/{k} {stats.get('phase', 'fit')}",
                           "fold": f + 1, "folds": k}
                norm = max(float(np.median(det.train_scores_)), _TINY)
                models.append((det, norm))
                held = ids == f
                # float32 as the model file keeps them: a loaded model scores the same
                guard = self._guard(X[rows & kept].astype(np.float32))
                guards.append(guard)
                oof[held] = self._fold_score(det, norm, guard, X[held])
            self.models_ = models
            self.reference_ = X[kept & use].astype(np.float32)
            self.reference_fold_ = ids[kept & use]
            self._guards = guards
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
    def _guard(self, rows: np.ndarray) -> _Neighbours | None:
        if self.neighbours <= 0 or len(rows) < 2:
            return None
        return _Neighbours(np.asarray(rows, dtype=np.float64), self.neighbours)

    @staticmethod
    def _fold_score(det: Detector, norm: float, guard: _Neighbours | None,
                    Z: np.ndarray) -> np.ndarray:
        score = det.score(Z) / norm
        return score if guard is None else np.maximum(score, guard.score(Z))

    def _fold_guards(self) -> list[_Neighbours | None]:
        """Each fold model's neighbour guard, rebuilt from the kept reference loops (None: no
        guard, e.g. a model saved before it existed)."""
        if self._guards is None:
            ref = self.reference_
            self._guards = [
                None if ref is None else self._guard(ref[self.reference_fold_ != f])
                for f in range(len(self.models_))]
        return self._guards

    def _score_standardised(self, Z: np.ndarray) -> np.ndarray:
        logs = [np.log(np.maximum(self._fold_score(det, norm, guard, Z), _TINY))
                for (det, norm), guard in zip(self.models_, self._fold_guards())]
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
        if self.reference_ is not None:
            tensors["crossfit.reference"] = self.reference_
            tensors["crossfit.reference_fold"] = self.reference_fold_
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
        # a model saved before the neighbour guard scores with its base models alone
        ref = tensors.get("crossfit.reference")
        self.reference_ = None if ref is None or self.neighbours <= 0 else np.asarray(ref)
        self.reference_fold_ = np.asarray(tensors.get("crossfit.reference_fold", np.zeros(0)),
                                          dtype=np.int64)
        self._guards = None
