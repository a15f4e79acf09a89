"""Where in a take is it unusual: the learned score over sliding windows.

    curve = localise_file(path, encoder, detector, info.threshold)
    curve.times_s, curve.relative          # the strip under the waveform
    curve.peak_s                           # where the take is most unusual

Windows of ``window_s`` (default 2 s) start every ``hop_s`` (0.5 s) from the beginning; one more
window is aligned to the end so the whole clip is covered. A clip shorter than a window is one
window (the whole clip). When that would give more than ``max_windows`` windows, the hop is
widened to ``ceil((n - window) / (max_windows - 1))`` samples, so long files cost a bounded
number of encodes; should that hop exceed the window (clips longer than ``max_windows`` windows),
the window grows to the hop so the windows still tile the clip without gaps. Everything is
deterministic: same samples, same curve.

What the numbers mean. Every window is embedded with the model's encoder and scored with the
model's detector, so ``scores`` are in the detector's units (higher = more unusual). But the
detector learned what whole loops look like, and a 2-s excerpt of a normal loop is not a normal
whole loop: duration, tempo and onset-rate statistics of a short window differ, so window scores
sit on their own scale (often above the whole-file threshold for perfectly fine audio). Hence:

* ``scores`` are returned as-is, with the model's whole-file ``threshold`` for reference;
  ``ratio`` = scores / threshold is only an indication, not a flag.
* ``relative`` = scores / median(scores) compares a window with the rest of the same take
  (1 = typical for this file, 2 = twice the file's typical score). This is the curve to draw:
  it answers *where* the take departs from itself, while the file's own score and the signal
  checks answer *whether* it is flagged.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generator

import numpy as np

from .embedding.base import SAMPLE_RATE, Encoder
from .progress import CancelToken, EtaClock, Progress, run_job

log = logging.getLogger(__name__)

WINDOW_S = 2.0
HOP_S = 0.5
MAX_WINDOWS = 48


@dataclass(frozen=True, eq=False)
class LocalCurve:
    """Learned scores of sliding windows over one clip (see the module docstring).

    ``starts_s``/``ends_s``: each window's extent; ``times_s``: their centres (x of the curve).
    ``scores``: detector scores (float64, NaN when a window could not be scored).
    ``threshold``: the model's whole-file threshold, for reference only.
    ``window_s``/``hop_s``: the window length and hop actually used (the hop may be widened,
    the window is the clip length for a clip shorter than a window). ``duration_s``: the clip.
    """

    times_s: np.ndarray
    starts_s: np.ndarray
    ends_s: np.ndarray
    scores: np.ndarray
    threshold: float
    window_s: float
    hop_s: float
    duration_s: float = 0.0

    def __len__(self) -> int:
        return int(self.scores.size)

    @property
    def ratio(self) -> np.ndarray:
        """scores / threshold: 1 = at the whole-file threshold (indicative only)."""
        if not self.threshold > 0:
            return np.full_like(self.scores, np.nan)
        return self.scores / self.threshold

    @property
    def relative(self) -> np.ndarray:
        """scores / median window score of this clip: 1 = typical for this take."""
        finite = self.scores[np.isfinite(self.scores)]
        median = float(np.median(finite)) if finite.size else float("nan")
        if not median > 0:
            return np.full_like(self.scores, np.nan)
        return self.scores / median

    @property
    def peak_index(self) -> int | None:
        """Index of the most unusual window (None when no window has a finite score)."""
        if not np.isfinite(self.scores).any():
            return None
        return int(np.nanargmax(self.scores))

    @property
    def peak_s(self) -> float | None:
        """Centre of the most unusual window, in seconds."""
        i = self.peak_index
        return None if i is None else float(self.times_s[i])


def window_starts(n: int, window: int, hop: int, max_windows: int = MAX_WINDOWS) -> tuple[np.ndarray, int, int]:
    """Start indices covering ``n`` samples, plus the window and hop actually used.

    Regular starts ``0, hop, 2*hop, ...`` and a last window ending exactly at ``n``; the hop is
    widened when more than ``max_windows`` windows would be needed, and the window grows to the
    hop when the hop outgrows it (no gaps).
    """
    if n < 1 or window < 1 or hop < 1:
        raise ValueError(f"need n, window and hop >= 1 (got {n}, {window}, {hop})")
    if max_windows < 2:
        raise ValueError(f"max_windows must be at least 2 (got {max_windows})")
    if n <= window:
        return np.zeros(1, np.int64), n, hop
    span = n - window
    if math.ceil(span / hop) + 1 > max_windows:
        hop = math.ceil(span / (max_windows - 1))
        if hop > window:  # then n < max_windows * hop, so windows of one hop fit the cap
            window = hop
            span = n - window
    starts = np.arange(0, span, hop, dtype=np.int64)
    return np.append(starts, span), window, hop


def localise_iter(
    samples: np.ndarray,
    encoder: Encoder,
    detector: Any,
    threshold: float | None,
    window_s: float = WINDOW_S,
    hop_s: float = HOP_S,
    max_windows: int = MAX_WINDOWS,
    token: CancelToken | None = None,
) -> Generator[Progress, None, LocalCurve]:
    """Like :func:`localise`, yielding ``Progress("localise", windows done, total)`` per batch."""
    token = token or CancelToken()
    y = np.asarray(samples, dtype=np.float32)
    if y.ndim != 1:
        raise ValueError(f"expected mono 1-D samples at {SAMPLE_RATE} Hz, got shape {y.shape}")
    if y.size == 0:
        raise ValueError("cannot localise an empty clip (0 samples)")
    if not (window_s > 0 and hop_s > 0):
        raise ValueError(f"window_s and hop_s must be positive (got {window_s}, {hop_s})")
    if threshold is None:
        threshold = float(detector.threshold_)
    starts, window, hop = window_starts(
        y.size, max(1, round(window_s * SAMPLE_RATE)), max(1, round(hop_s * SAMPLE_RATE)),
        max_windows)
    batch = max(1, int(getattr(encoder, "batch_size", 16) or 16))
    clock = EtaClock(len(starts))
    parts: list[np.ndarray] = []
    for first in range(0, len(starts), batch):
        token.raise_if_cancelled()
        clips = [y[s:s + window] for s in starts[first:first + batch]]
        parts.append(np.asarray(encoder.encode(clips), dtype=np.float32))
        done = min(len(starts), first + batch)
        yield clock.progress("localise", done, f"{done}/{len(starts)} windows")
    token.raise_if_cancelled()
    scores = np.asarray(detector.score(np.concatenate(parts)), dtype=np.float64)
    starts_s = starts / SAMPLE_RATE
    ends_s = (starts + window) / SAMPLE_RATE
    log.debug("localised %d windows of %d samples (hop %d)", len(starts), window, hop)
    return LocalCurve(
        times_s=(starts_s + ends_s) / 2.0, starts_s=starts_s, ends_s=ends_s, scores=scores,
        threshold=float(threshold), window_s=window / SAMPLE_RATE, hop_s=hop / SAMPLE_RATE,
        duration_s=y.size / SAMPLE_RATE,
    )


def localise(
    samples: np.ndarray,
    encoder: Encoder,
    detector: Any,
    threshold: float | None,
    window_s: float = WINDOW_S,
    hop_s: float = HOP_S,
    max_windows: int = MAX_WINDOWS,
    token: CancelToken | None = None,
) -> LocalCurve:
    """Score sliding windows of a mono 48 kHz clip with the model's encoder and detector.

    ``threshold``: the model's whole-file threshold (None = ``detector.threshold_``).
    Raises ``Cancelled`` between encoder batches when ``token`` is cancelled.
    """
    return run_job(
        localise_iter(samples, encoder, detector, threshold, window_s, hop_s, max_windows, token)
    )


def localise_file(
    path: Path | str, encoder: Encoder, detector: Any, threshold: float | None, **kw: Any
) -> LocalCurve:
    """:func:`localise` on a file decoded read-only to mono 48 kHz (``AudioReadError`` if not)."""
    from .audio.io import read_audio

    audio = read_audio(path, sample_rate=SAMPLE_RATE)
    return localise(audio.samples, encoder, detector, threshold, **kw)
