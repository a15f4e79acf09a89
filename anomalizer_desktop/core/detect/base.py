"""What every detector shares: input checks, the scaler, scores, threshold, state for persistence.

Conventions (the same for Deep SVDD and the baselines):
- inputs are standardised with the mean/std of the data the detector was fitted on (std floor 1e-6);
- ``score`` is float64, higher = more anomalous; rows with NaN/inf get a NaN score;
- ``threshold_`` is the ``threshold_percentile`` quantile (default ``DEFAULT_THRESHOLD_PERCENTILE``,
  97.5) of ``reference_scores_``: the scores of
  *held-out* loops (a seeded validation split the detector never fitted on) when the library has
  at least ``SMALL_LIBRARY`` loops, else the training scores. The paper's "p95 of the training
  scores" flags far more than 5% of new normal loops, because a model scores the loops it was
  fitted on lower than new ones: on the 392 real bass embeddings, 300 for training and 92 new,
  p95-of-training flagged 13-21% of the new loops with PCA and 4-13% with Isolation Forest, and
  7.5-15% of held-out rendered loops with Deep SVDD (``bench/bench_qc.py``). The quantile uses
  the Weibull plotting position k / (n + 1), so with n held-out scores a new normal loop is
  above the p-th percentile threshold with probability about 1 - p/100 (a conformal bound);
  training scores use plain linear interpolation (see :func:`quantile_threshold`);
- ``predict`` flags scores strictly above the threshold.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Generator

import numpy as np

from ..errors import AnomalizerError, NotEnoughDataError

if TYPE_CHECKING:
    from typing import Self

log = logging.getLogger(__name__)

MIN_LOOPS = 8  # below this no detector is trained at all
SMALL_LIBRARY = 50  # below this there is no meaningful validation set; results are a rough guide
HELD_OUT_FRACTION = 0.2  # share of the library held out to set the threshold (>= SMALL_LIBRARY)
# The default sensitivity: about 1 in 40 new normal loops is above the learned threshold, which
# leaves the signal checks room inside a 5% false-flag budget for the combined flag (measured in
# bench/bench_qc.py). The GUI's sensitivity control starts here.
DEFAULT_THRESHOLD_PERCENTILE = 97.5
STD_FLOOR = 1e-6


class ModelCollapseError(AnomalizerError):
    """Training ended with (near) constant scores: the model cannot tell loops apart."""


class Scaler:
    """Per-dimension standardisation: ``(x - mean_) / scale_``."""

    def __init__(self, mean_: np.ndarray, scale_: np.ndarray) -> None:
        self.mean_ = np.asarray(mean_, dtype=np.float64)
        self.scale_ = np.asarray(scale_, dtype=np.float64)

    @classmethod
    def fit(cls, X: np.ndarray) -> Scaler:
        X = np.asarray(X, dtype=np.float64)
        return cls(X.mean(axis=0), np.maximum(X.std(axis=0), STD_FLOOR))

    def transform(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(X, dtype=np.float64) - self.mean_) / self.scale_


def as_matrix(X: Any, n_features: int | None = None) -> np.ndarray:
    """``X`` as a 2-D float64 array (a single 1-D vector becomes one row); checks the width."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim != 2:
        raise ValueError(f"expected a 2-D array of embeddings, got shape {X.shape}")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(
            f"embeddings have {X.shape[1]} dimensions but the model was trained on {n_features}; "
            "use the encoder the model was trained with, or retrain"
        )
    return X


def training_matrix(X: Any, warnings: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Checked training data and the indices of the rows kept: non-finite rows are dropped
    (with a warning); at least MIN_LOOPS rows must remain."""
    X = as_matrix(X)
    finite = np.isfinite(X).all(axis=1)
    kept = np.flatnonzero(finite)
    if not finite.all():
        n_bad = int((~finite).sum())
        warnings.append(f"{n_bad} embedding(s) contained NaN/inf and were left out of training")
        X = X[finite]
    n = X.shape[0]
    if n < MIN_LOOPS:
        raise NotEnoughDataError(
            f"only {n} usable loop(s); at least {MIN_LOOPS} are needed to train a model "
            f"({SMALL_LIBRARY}+ recommended)"
        )
    if n < SMALL_LIBRARY:
        warnings.append(
            f"only {n} loops: the model is a rough guide; {SMALL_LIBRARY}+ loops recommended"
        )
    return X, kept


def split_rows(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted (training, held-out) row indices from a seeded permutation of ``range(n)``; no
    held-out rows below ``SMALL_LIBRARY`` (too few to say anything)."""
    if n < SMALL_LIBRARY:
        return np.arange(n), np.arange(0)
    perm = np.random.default_rng(seed).permutation(n)  # a permutation of indices, never rows
    n_val = max(2, int(round(n * fraction)))
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def quantile_threshold(scores: np.ndarray, percentile: float, held_out: bool = True) -> float:
    """The ``percentile`` quantile of the finite ``scores`` (NaN without any).

    ``held_out`` scores (loops the model never fitted): at the Weibull plotting position, the
    k-th smallest of n at k / (n + 1). n such scores cut the line into n + 1 equally likely gaps
    for one more score from the same distribution, so a new score exceeds the result with
    probability about 1 - percentile/100; beyond the largest score's position: the largest.
    Training scores (a library too small to hold loops out) are not exchangeable with new ones
    anyway: the plain linear interpolation of ``np.percentile``, so the top few are above it.
    """
    s = np.asarray(scores, dtype=np.float64)
    s = np.sort(s[np.isfinite(s)])
    if s.size == 0:
        return float("nan")
    q = float(np.clip(percentile, 0.0, 100.0))
    if not held_out:
        return float(np.percentile(s, q))
    pos = q / 100.0 * (s.size + 1) - 1.0  # 0-based rank
    if pos <= 0.0:
        return float(s[0])
    if pos >= s.size - 1:
        return float(s[-1])
    lo = int(pos)
    return float(s[lo] + (pos - lo) * (s[lo + 1] - s[lo]))


def percentile_of_threshold(scores: np.ndarray, value: float, held_out: bool = True) -> float:
    """Inverse of :func:`quantile_threshold` (in %, within [0, 100])."""
    s = np.asarray(scores, dtype=np.float64)
    s = np.sort(s[np.isfinite(s)])
    if s.size == 0 or not np.isfinite(value):
        return float("nan")
    n_gaps, first = (s.size + 1, 1) if held_out else (max(1, s.size - 1), 0)
    if value <= s[0]:
        return 100.0 * first / n_gaps
    if value >= s[-1]:
        return 100.0 * (s.size - 1 + first) / n_gaps
    hi = int(np.searchsorted(s, value, side="right"))  # s[hi-1] <= value < s[hi]
    lo = hi - 1
    frac = 0.0 if s[hi] == s[lo] else (value - s[lo]) / (s[hi] - s[lo])
    return 100.0 * (lo + first + frac) / n_gaps


def score_spread(scores: np.ndarray) -> dict[str, float]:
    """min / median / p95 / max / std of a score vector (for logs and the collapse guard)."""
    s = np.asarray(scores, dtype=np.float64)
    return {
        "min": float(s.min()),
        "median": float(np.median(s)),
        "p95": float(np.percentile(s, 95)),
        "max": float(s.max()),
        "std": float(s.std()),
    }


def check_not_collapsed(name: str, scores: np.ndarray) -> dict[str, float]:
    """Raise ModelCollapseError when training scores are (near) constant; return their spread."""
    spread = score_spread(scores)
    log.info(
        "%s training scores: min %.4g, median %.4g, p95 %.4g, max %.4g",
        name, spread["min"], spread["median"], spread["p95"], spread["max"],
    )
    mean_abs = float(np.mean(np.abs(scores)))
    if not np.isfinite(spread["std"]) or spread["max"] < 1e-12 or spread["std"] <= 1e-6 * mean_abs:
        raise ModelCollapseError(
            f"the {name} model collapsed: every loop gets (almost) the same score "
            f"(min {spread['min']:.3g}, max {spread['max']:.3g}); "
            "try another network (e.g. iforest or pca) or another seed"
        )
    return spread


class Detector:
    """Base of all detectors. ``__init__`` stores parameters only; fitted state ends in ``_``."""

    name: str = ""

    def __init__(self, threshold_percentile: float = DEFAULT_THRESHOLD_PERCENTILE,
                 seed: int = 0) -> None:
        self.threshold_percentile = float(threshold_percentile)
        self.seed = int(seed)

    # -- parameters -----------------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """Constructor parameters (JSON-able)."""
        return {"threshold_percentile": self.threshold_percentile, "seed": self.seed}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- fitting --------------------------------------------------------------------------
    def fit_iter(self, X: np.ndarray) -> Generator[dict, None, None]:
        """Fit, yielding ``{"phase", "epoch", "epochs", "train_loss", "val_loss"}`` per step."""
        raise NotImplementedError

    def fit(self, X: np.ndarray) -> Self:
        for _ in self.fit_iter(X):
            pass
        return self

    def _set_fitted(
        self, scaler: Scaler, train_scores: np.ndarray, warnings: list[str], info: dict[str, Any],
        val_scores: np.ndarray | None = None,
    ) -> None:
        """Common end of ``fit_iter``: collapse guard, threshold, fitted attributes.
        ``val_scores``: scores of the held-out rows (none for a small library)."""
        train_scores = np.asarray(train_scores, dtype=np.float64)
        spread = check_not_collapsed(self.name, train_scores)
        for w in warnings:
            log.warning("%s: %s", self.name, w)
        self.scaler_ = scaler
        self.n_features_in_ = int(scaler.mean_.shape[0])
        self.train_scores_ = train_scores
        self.val_scores_ = np.asarray(val_scores if val_scores is not None else np.zeros(0),
                                      dtype=np.float64)
        self.warnings_ = list(warnings)
        self.fit_info_ = {**info, "score_spread": spread, "threshold_from": self.threshold_source}
        self.threshold_ = self.threshold_at(self.threshold_percentile)

    @property
    def reference_scores_(self) -> np.ndarray:
        """The scores the threshold is a quantile of: held-out when there are any, else training."""
        self._check_fitted()
        val = getattr(self, "val_scores_", np.zeros(0))
        return val if np.isfinite(val).sum() >= 2 else self.train_scores_

    @property
    def threshold_source(self) -> str:
        """"held-out" or "training": where ``reference_scores_`` come from."""
        return "training" if self.reference_scores_ is self.train_scores_ else "held-out"

    def _check_fitted(self) -> None:
        if not hasattr(self, "train_scores_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted yet; call fit() first")

    # -- scoring --------------------------------------------------------------------------
    def _score_standardised(self, Z: np.ndarray) -> np.ndarray:
        """Scores of finite, standardised rows (subclasses implement)."""
        raise NotImplementedError

    def _latent_standardised(self, Z: np.ndarray) -> np.ndarray:
        return Z

    def _map_finite(self, X: Any, fn) -> np.ndarray:
        self._check_fitted()
        X = as_matrix(X, self.n_features_in_)
        finite = np.isfinite(X).all(axis=1)
        if finite.all():
            return fn(self.scaler_.transform(X))
        out = None
        if finite.any():
            part = fn(self.scaler_.transform(X[finite]))
            out = np.full((X.shape[0],) + part.shape[1:], np.nan)
            out[finite] = part
        else:
            probe = fn(self.scaler_.transform(np.zeros((1, X.shape[1]))))
            out = np.full((X.shape[0],) + probe.shape[1:], np.nan)
        return out

    def score(self, X: np.ndarray) -> np.ndarray:
        """Anomaly scores, float64 (N,), higher = more anomalous; NaN for non-finite rows."""
        return np.asarray(self._map_finite(X, self._score_standardised), dtype=np.float64)

    def predict(self, X: np.ndarray, threshold: float | None = None) -> np.ndarray:
        """1 where the score is above ``threshold`` (default ``threshold_``), else 0."""
        t = self.threshold_ if threshold is None else float(threshold)
        with np.errstate(invalid="ignore"):
            return (self.score(X) > t).astype(np.int8)

    def threshold_at(self, percentile: float) -> float:
        """The ``percentile`` quantile of ``reference_scores_`` (the GUI's sensitivity slider)."""
        return quantile_threshold(self.reference_scores_, percentile,
                                  held_out=self.threshold_source == "held-out")

    def latent(self, X: np.ndarray) -> np.ndarray:
        """A representation that can be mapped to 2-D (SVDD latent, standardised input, ...)."""
        return self._map_finite(X, self._latent_standardised)

    # -- persistence ----------------------------------------------------------------------
    def _extra_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {}, {}

    def _load_extra_state(self, tensors: dict[str, np.ndarray], fitted: dict[str, Any]) -> None:
        pass

    def get_state(self) -> tuple[dict[str, np.ndarray], dict]:
        """Fitted state as named arrays + JSON-able parameters (no pickling anywhere)."""
        self._check_fitted()
        tensors = {
            "scaler.mean": self.scaler_.mean_,
            "scaler.scale": self.scaler_.scale_,
            "train_scores": self.train_scores_,
            "val_scores": self.val_scores_,
        }
        extra_tensors, fitted = self._extra_state()
        tensors.update(extra_tensors)
        params = {
            "detector": self.name,
            "params": self.get_params(),
            "fitted": {
                "warnings": self.warnings_,
                "fit_info": self.fit_info_,
                "n_features_in": self.n_features_in_,
                **fitted,
            },
        }
        return {k: np.ascontiguousarray(v) for k, v in tensors.items()}, params

    @classmethod
    def from_state(cls, tensors: dict[str, np.ndarray], params: dict) -> Detector:
        """Rebuild a fitted detector from ``get_state`` output."""
        det = cls(**params["params"])
        fitted = params["fitted"]
        scaler = Scaler(tensors["scaler.mean"], tensors["scaler.scale"])
        det.scaler_ = scaler
        det.n_features_in_ = int(fitted["n_features_in"])
        det.train_scores_ = np.asarray(tensors["train_scores"], dtype=np.float64)
        det.val_scores_ = np.asarray(tensors.get("val_scores", np.zeros(0)), dtype=np.float64)
        det.warnings_ = list(fitted.get("warnings", []))
        det.fit_info_ = dict(fitted.get("fit_info", {}))
        det._load_extra_state(tensors, fitted)
        det.threshold_ = det.threshold_at(det.threshold_percentile)
        return det
