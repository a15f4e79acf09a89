"""Mains hum: a steady 50 or 60 Hz tone with harmonics, exactly on the mains frequencies.

Hum is there all the time, music near 50-360 Hz is not (kicks decay, bass notes change), so
the evidence is a *persistence* spectrum: the 20th percentile over time of a short-time
spectrum with 5-Hz bins. A mains harmonic counts when its bin stands >= 6 dB over the bins
15-30 Hz away. A long (whole-seconds) spectrum then checks exactness: when a line within
3 Hz but not on the mains frequency is much stronger (a sustained G1 = 49 Hz bass note,
a B1 = 61.7 Hz pedal), that harmonic is the note's, not hum. Severity grows with how many
harmonics stand out and by how much; a lone fundamental (a tuned kick) counts less.
"""

from __future__ import annotations

import math

import numpy as np

from .context import Analysis
from .findings import Finding, severity_from_ratio

MAINS_HZ = (50.0, 60.0)
HARMONICS = 6
BIN_HZ = 5.0                 # persistence spectrum resolution
PERSIST_PERCENTILE = 20
PROMINENCE_MIN_DB = 6.0
PROMINENCE_CAP_DB = 15.0     # one very prominent line (a tuned kick) cannot carry the score
LEVEL_MIN_DB = -60.0         # persistent line power re the mean frame power: audible at all
SCORE_REF = 15.0             # summed capped (prominence - 3 dB) at which severity is 0.5
LONG_MAX_S = 8
ON_HZ, OFF_HZ, NEAR_HZ = 0.35, 0.6, 3.0
NOTE_MARGIN_DB = 3.0
SHARP_DB = 3.0


def _persistence(ctx: Analysis) -> np.ndarray | None:
    import scipy.fft

    y, rate = ctx.mono_low
    nfft = int(round(rate / BIN_HZ))
    hop = nfft // 4
    if len(y) < 2 * nfft:
        return None
    frames = np.lib.stride_tricks.sliding_window_view(y, nfft)[::hop]
    top = int((MAINS_HZ[-1] * HARMONICS + 40) / BIN_HZ)
    spec = scipy.fft.rfft(frames * np.hanning(nfft).astype(np.float32), axis=1)[:, :top]
    power = spec.real.astype(np.float64) ** 2 + spec.imag.astype(np.float64) ** 2
    total = float(np.mean(np.sum(frames.astype(np.float64) ** 2, axis=1))) * nfft * 0.375
    # persistent power per bin, relative to the mean power of a whole frame (Hann: 3/8)
    return np.percentile(power, PERSIST_PERCENTILE, axis=0) / (total + 1e-30)


def _long_spectrum(ctx: Analysis) -> tuple[np.ndarray, float]:
    """Power spectrum over whole seconds (bins on exact multiples of 1/seconds Hz)."""
    import scipy.fft

    y, rate = ctx.mono_low
    seg_s = int(min(LONG_MAX_S, math.ceil(ctx.duration_s)))
    nfft = int(round(seg_s * rate))
    part = y[:nfft]
    spec = scipy.fft.rfft(part * np.hanning(len(part)).astype(np.float32), nfft)
    return spec.real.astype(np.float64) ** 2 + spec.imag.astype(np.float64) ** 2, float(seg_s)


def _mains_line(long_p: np.ndarray, per_hz: float, f: float) -> bool:
    """True when the long spectrum has a sharp line exactly at ``f``: stronger than the
    spectrum around it and not overshadowed by a line 0.6-3 Hz away (a note near the mains
    frequency, like G1 = 49 Hz or its harmonics, is broad or off the exact frequency)."""
    b = int(round(f * per_hz))
    on_w, off_w, near_w = (max(1, int(round(h * per_hz))) for h in (ON_HZ, OFF_HZ, NEAR_HZ))
    if b + near_w + 1 >= len(long_p) or b - near_w < 0:
        return False
    on = float(long_p[b - on_w: b + on_w + 1].max())
    around = np.concatenate([long_p[b - near_w: b - off_w + 1], long_p[b + off_w: b + near_w + 1]])
    if float(around.max()) > on * 10 ** (NOTE_MARGIN_DB / 10):
        return False
    return on >= float(np.median(around)) * 10 ** (SHARP_DB / 10)


def check_hum(ctx: Analysis, sensitivity: float = 1.0) -> list[Finding]:
    if ctx.duration_s < 1.0 or ctx.peak <= 1e-4:
        return []
    low = _persistence(ctx)
    if low is None:
        return []
    long_p, per_hz = _long_spectrum(ctx)
    best = None
    for f0 in MAINS_HZ:
        score, found, power = 0.0, [], 0.0
        for k in range(1, HARMONICS + 1):
            b = int(round(k * f0 / BIN_HZ))
            if b + 7 > len(low):
                break
            neighbours = np.concatenate([low[b - 6: b - 2], low[b + 3: b + 7]])
            prom = 10 * math.log10(low[b] / (float(np.median(neighbours)) + 1e-30) + 1e-30)
            level_db = 10 * math.log10(low[b] + 1e-30)
            if (prom < PROMINENCE_MIN_DB or level_db < LEVEL_MIN_DB
                    or not _mains_line(long_p, per_hz, k * f0)):
                continue
            score += min(prom - 3.0, PROMINENCE_CAP_DB)
            found.append(k)
            power += float(low[b]) - float(np.median(neighbours))  # re the mean frame power
        if sum(1 for k in found if k <= 3) < 2:
            score *= 0.5             # hum has a series of low harmonics; a lone fundamental
            #                          could be a kick tuned near the mains
        if best is None or score > best[0]:
            best = (score, f0, found, power)
    assert best is not None
    score, f0, found, power = best
    if score <= 0:
        return []
    rel_db = 10 * math.log10(max(power, 1e-30))
    sev = severity_from_ratio(score / SCORE_REF * sensitivity, 2.0)
    if sev < 0.05:
        return []
    return [Finding("hum", sev, 0.0, ctx.duration_s, round(rel_db, 1), f"{f0:.0f} Hz",
                    f"steady tone at {f0:.0f} Hz and harmonics {found}, {rel_db:.0f} dB re "
                    f"the signal")]
