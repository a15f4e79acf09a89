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

__all__ = [
    "Detector", "ModelCollapseError", "MIN_LOOPS", "SMALL_LIBRARY", "NETWORK_NAMES",
    "make_detector", "detector_class",
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
    raise ValueError(f"unknown detector {network!r}; choose one of {', '.join(NETWORK_NAMES)}")


def make_detector(network: str, **params: Any) -> Detector:
    """A new, unfitted detector. ``params`` go to its constructor (e.g. ``seed=1``, ``lr=1e-5``)."""
    cls = detector_class(network)
    if str(network).strip().lower() in ("ae", "aewres"):
        params["network"] = network
    return cls(**params)
