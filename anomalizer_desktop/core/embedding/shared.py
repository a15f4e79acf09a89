"""One built CLAP encoder per variant and device, shared by the jobs of a long-running process.

Building the HTS-AT encoder takes seconds, and much of it is Python-heavy model construction
that holds the GIL: in the app, each library job building its own stalled the window for
112-157 ms (``bench_gui_stall --encoder clap-fused --why``) and kept another copy of the model
in memory. ``make_encoder(..., shared=True)`` and ``encoder_for_id(..., shared=True)`` come here:
the first caller builds the encoder (the app's start-up warm-up does, when weights are
installed), later callers get the same object while the resolved weights stay the same
(variant, path, origin and content hash); other weights build a new one, which replaces it.

A shared encoder is safe across threads: ``ClapEncoder.encode`` holds its own lock, so two jobs
embedding at once take turns (their torch threads would only compete for the same cores).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .base import Encoder
    from .weights import WeightsSource

_LOCK = threading.Lock()  # held while building, so concurrent callers wait for one build
_BUILT: dict[tuple[str, str], Encoder] = {}  # (variant, device) -> encoder


def shared_clap_encoder(variant: str, source: WeightsSource, device: str = "auto") -> Encoder:
    """The process's encoder for ``variant`` on ``device`` with ``source``'s weights."""
    from .clap import ClapEncoder

    key = (variant, device)
    with _LOCK:
        encoder = _BUILT.get(key)
        if encoder is None or encoder.weights != source:
            _BUILT.pop(key, None)  # let the old model go before the new one is built
            encoder = ClapEncoder(variant, source, device=device)
            _BUILT[key] = encoder
        return encoder


def shared_encoders() -> list[Encoder]:
    """The encoders built so far (for tests and diagnostics)."""
    with _LOCK:
        return list(_BUILT.values())


def forget_shared_encoders() -> None:
    """Drop every shared encoder, so the next caller builds afresh (tests do, after each one;
    changed weights need no call: they no longer match and are rebuilt)."""
    with _LOCK:
        _BUILT.clear()
