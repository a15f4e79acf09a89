"""Tempo of a loop: the onset envelope's periodicity, with the octave chosen by the loop's
length where it is a whole number of bars.

The envelope is the half-wave-rectified rise of 24 log-band energies (spectral flux). A tempo's
strength is the envelope's autocorrelation at one beat, two beats, one bar and two bars (and,
weaker, at half a beat). Tempo estimators are notoriously unsure about octaves (60 or 120?), so
the strongest few candidates and their halves and doubles compete on strength, a broad prior
around 115 BPM, and whether the clip's duration is a whole number of 4/4 bars at that tempo;
when it is, the tempo is read off the length (far more exact than an autocorrelation lag)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .analysis import Frames, log_bands

MIN_BPM, MAX_BPM = 50.0, 220.0
# log-normal prior: centre and width in octaves. Chosen on the corpus's dev part (bench_facets):
# width 1.0 / 0.7 / 0.5 octaves right for 88 / 93 / 92 % of loops; centre 105 / 115 / 125: 89 / 93 / 92 %
PRIOR_BPM, PRIOR_OCTAVES = 115.0, 0.7
BAR_COUNTS = (1, 2, 4, 8, 16, 32, 64)  # whole-bar loop lengths that are believed
FIT_TOLERANCE = 0.03  # the length fits when the tempo it implies is within 3 % of the estimate
FIT_BONUS = 2.0  # a fitting length counts this much (multiplies the strength)
MIN_SECONDS = 1.0  # shorter clips (one-shots) get no tempo
MIN_STRENGTH = 0.05  # below this the clip has no beat worth naming
CIRCULAR_UP_TO_S = 20.0  # clips up to this long are read as loops (see _autocorrelation)
# (beats, weight): the lags a tempo's strength reads, in beats of that tempo
LAG_WEIGHTS = ((0.5, 0.3), (1.0, 1.0), (2.0, 1.0), (4.0, 0.8), (8.0, 0.5))


@dataclass(frozen=True)
class Tempo:
    bpm: float
    confidence: float  # 0..1: the winning strength against the runner-up of another octave
    bars: int | None  # whole 4/4 bars the clip lasts at this tempo, when it does


def onset_envelope(frames: Frames) -> np.ndarray:
    bands = log_bands(frames, 40.0, 10_000.0, 24)
    flux = np.maximum(np.diff(bands, axis=0), 0.0).sum(axis=1)
    flux = np.concatenate([[0.0], flux])
    width = max(1, int(round(0.4 * frames.fps)))
    local = np.convolve(flux, np.ones(width) / width, mode="same")
    return np.maximum(flux - local, 0.0)


def _autocorrelation(env: np.ndarray, circular: bool) -> np.ndarray:
    """Normalised autocorrelation (lag 0 = 1). A loop is read circularly (its end runs into
    its start, so a one-bar loop still shows its bar lag); a long clip linearly, unbiased for
    the shrinking overlap."""
    x = env - env.mean()
    n = len(x)
    if circular:
        spec = np.fft.rfft(x)
        acf = np.fft.irfft(spec * np.conj(spec), n)
        acf = np.concatenate([acf, acf[:1]])  # lag n wraps to lag 0
    else:
        size = 1 << int(np.ceil(np.log2(2 * n)))
        spec = np.fft.rfft(x, size)
        acf = np.fft.irfft(spec * np.conj(spec), size)[:n]
        acf = acf / np.maximum(n - np.arange(n), 1)
    return acf / acf[0] if acf[0] > 0 else np.zeros(len(acf))


def _at(acf: np.ndarray, lag: float) -> float:
    if lag >= len(acf) - 1 or lag < 1:
        return 0.0
    i = int(lag)
    f = lag - i
    # the peak within +-1.5 % of the lag: an envelope peak is a few frames wide
    span = max(1, int(round(0.015 * lag)))
    lo, hi = max(1, i - span), min(len(acf) - 1, i + span + 1)
    return float(max(acf[lo:hi].max(), acf[i] * (1 - f) + acf[i + 1] * f))


def strength(acf: np.ndarray, fps: float, bpm: float, reach: float) -> float:
    """How strongly the envelope repeats at the beat, bar and half-beat lags of ``bpm``;
    lags past ``reach`` (a fraction of the clip) are not read."""
    beat = 60.0 * fps / bpm
    total = weight = 0.0
    for multiple, w in LAG_WEIGHTS:
        lag = beat * multiple
        if lag <= len(acf) * reach:
            total += w * _at(acf, lag)
            weight += w
    return total / weight if weight else 0.0


def _prior(bpm: float) -> float:
    return float(np.exp(-0.5 * (np.log2(bpm / PRIOR_BPM) / PRIOR_OCTAVES) ** 2))


def _bars(duration_s: float, bpm: float) -> int | None:
    bars = duration_s * bpm / 240.0
    for n in BAR_COUNTS:
        if abs(bars - n) <= FIT_TOLERANCE * n:
            return n
    return None


def estimate_tempo(frames: Frames) -> Tempo | None:
    """The clip's tempo, or None for one-shots and clips with no steady beat."""
    duration = frames.duration_s
    if duration < MIN_SECONDS:
        return None
    env = onset_envelope(frames)
    if not np.any(env > 0):
        return None
    circular = duration <= CIRCULAR_UP_TO_S
    acf = _autocorrelation(env, circular)
    reach = 1.0 if circular else 0.75

    def strength_of(bpm: float) -> float:
        return strength(acf, frames.fps, bpm, reach)

    grid = MIN_BPM * 2.0 ** (np.arange(0, np.log2(MAX_BPM / MIN_BPM), 0.004))
    s = np.array([strength_of(b) for b in grid])
    peaks = [i for i in range(1, len(s) - 1) if s[i] >= s[i - 1] and s[i] >= s[i + 1]]
    peaks = sorted(peaks, key=lambda i: -s[i])[:4]
    if not peaks or s[peaks[0]] < MIN_STRENGTH:
        return None
    tried = [grid[i] * f for i in peaks for f in (0.5, 1.0, 2.0)]
    tried += [n * 240.0 / duration for n in BAR_COUNTS]  # what the length says, always heard
    candidates: dict[float, tuple[float, int | None]] = {}
    for bpm in tried:
        if not MIN_BPM <= bpm <= MAX_BPM:
            continue
        bars = _bars(duration, bpm)
        exact = bars * 240.0 / duration if bars else bpm
        value = max(strength_of(exact), 0.0) * _prior(exact)
        if bars:
            value *= FIT_BONUS
        candidates[round(exact, 3)] = (value, bars)
    ranked = sorted(candidates.items(), key=lambda kv: -kv[1][0])
    best_bpm, (best, bars) = ranked[0]
    rival = next((v for b, (v, _) in ranked[1:] if abs(np.log2(b / best_bpm)) > 0.05), 0.0)
    confidence = float(np.clip(1.0 - rival / best, 0.0, 1.0)) if best > 0 else 0.0
    return Tempo(float(best_bpm), confidence, bars)
