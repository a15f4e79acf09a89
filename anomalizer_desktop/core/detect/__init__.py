"""Anomaly detectors on embeddings: Deep SVDD (AE, AEwRES) and the iforest / pca baselines.

Importing this package is cheap: torch and scikit-learn load only when a detector needs them.

    det = make_detector("aewres", seed=0).fit(X)       # X: (N, D) embeddings
    scores = det.score(X_new)                          # higher = more anomalous
    flags = det.predict(X_new)                         # 1 above det.threshold_
"""

from __future__ import annotations

from typing import Any

from .base import MIN_LOOPS, SMALL_LIBRARY, Detector, ModelCollapseError

NETWORK_NAMES = ("AEwRES", "AE", "iforest", "pca")
CROSSFIT = "crossfit"

__all__ = [
    "Detector", "ModelCollapseError", "MIN_LOOPS", "SMALL_LIBRARY", "NETWORK_NAMES",
    "make_detector", "detector_class", "cross_fitted", "CROSSFIT",
]


def detector_class(network: str) -> type[Detector]:
    """The class implementing ``network`` (case-insensitive: aewres | ae | iforest | pca)."""
    key = str(network).strip().lower()
    if key in ("ae", "aewres"):
        from .deep_svdd import DeepSVDD

        return DeepSVDD
    if key == "iforest":
        from .baselines import IsolationForestDetector

        return IsolationForestDetector
    if key == "pca":
        from .baselines import PCADetector

        return PCADetector
    if key == CROSSFIT:
        from .crossfit import CrossFittedDetector

        return CrossFittedDetector
    raise ValueError(f"unknown detector {network!r}; choose one of {', '.join(NETWORK_NAMES)}")


def make_detector(network: str, **params: Any) -> Detector:
    """A new, unfitted detector. ``params`` go to its constructor (e.g. ``seed=1``, ``lr=1e-5``)."""
    if str(network).strip().lower() == CROSSFIT:
        raise ValueError("use cross_fitted() for a cross-fitted detector")
    cls = detector_class(network)
    if str(network).strip().lower() in ("ae", "aewres"):
        params["network"] = network
    return cls(**params)


def cross_fitted(network: str, folds: int | None = None, trim: float | None = None,
                 seed: int = 0, neighbours: int | None = None, **params: Any) -> Detector:
    """``network`` cross-fitted over ``folds`` parts with a neighbour guard of ``neighbours``
    nearest loops (0 = none; the app's default way to train; see :mod:`.crossfit`);
    ``params`` go to each fold's base detector."""
    from .crossfit import DEFAULT_FOLDS, DEFAULT_NEIGHBOURS, DEFAULT_TRIM, CrossFittedDetector

    detector_class(network)  # unknown names fail here, before any training
    return CrossFittedDetector(base=network, folds=folds or DEFAULT_FOLDS,
                               trim=DEFAULT_TRIM if trim is None else trim,
                               neighbours=DEFAULT_NEIGHBOURS if neighbours is None else neighbours,
                               base_params=params, seed=seed)
