"""Signal processing for the mix/master chain: EQ tilt, filters, saturation, limiter,
resampling, fades and a small synthetic room. Arrays are (frames, channels) float."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy import ndimage, signal


def _biquad_shelf(kind: str, f0: float, gain_db: float, sr: float) -> np.ndarray:
    # RBJ audio-EQ-cookbook shelving filters (S = 1).
    A = 10 ** (gain_db / 40)
    w0 = 2 * np.pi * f0 / sr
    cw, sw = np.cos(w0), np.sin(w0)
    alpha = sw / 2 * np.sqrt(2)
    sA = 2 * np.sqrt(A) * alpha
    if kind == "low":
        b = [A * ((A + 1) - (A - 1) * cw + sA), 2 * A * ((A - 1) - (A + 1) * cw),
             A * ((A + 1) - (A - 1) * cw - sA)]
        a = [(A + 1) + (A - 1) * cw + sA, -2 * ((A - 1) + (A + 1) * cw),
             (A + 1) + (A - 1) * cw - sA]
    else:
        b = [A * ((A + 1) + (A - 1) * cw + sA), -2 * A * ((A - 1) + (A + 1) * cw),
             A * ((A + 1) + (A - 1) * cw - sA)]
        a = [(A + 1) - (A - 1) * cw + sA, 2 * ((A - 1) - (A + 1) * cw),
             (A + 1) - (A - 1) * cw - sA]
    b = np.asarray(b) / a[0]
    a = np.asarray(a) / a[0]
    return np.concatenate([b, a])[None, :]


def eq(x: np.ndarray, sr: float, tilt_db: float = 0.0, lp_hz: float | None = None,
       hp_hz: float | None = None, lp_order: int = 2) -> np.ndarray:
    """Causal (time-invariant) EQ: a tilt of +/- ``tilt_db`` (low shelf at 300 Hz down, high
    shelf at 3 kHz up), then optional Butterworth low-/high-pass."""
    sos = []
    if abs(tilt_db) > 1e-3:
        sos.append(_biquad_shelf("low", 300.0, -tilt_db, sr))
        sos.append(_biquad_shelf("high", 3000.0, tilt_db, sr))
    if lp_hz:
        sos.append(signal.butter(lp_order, min(lp_hz, 0.45 * sr), "low", fs=sr, output="sos"))
    if hp_hz:
        sos.append(signal.butter(2, hp_hz, "high", fs=sr, output="sos"))
    if not sos:
        return x
    return signal.sosfilt(np.concatenate(sos), x, axis=0)


def dc_block(x: np.ndarray, sr: float, hz: float = 8.0) -> np.ndarray:
    sos = signal.butter(1, hz, "high", fs=sr, output="sos")
    return signal.sosfilt(sos, x, axis=0)


def saturate(x: np.ndarray, drive: float, mix: float = 1.0) -> np.ndarray:
    """Soft tanh saturation of a peak-normalised signal (drive ~1.2-3): rounded, never flat."""
    y = np.tanh(drive * x) / np.tanh(drive)
    return mix * y + (1 - mix) * x


def limit(x: np.ndarray, sr: float, reduction_db: float, lookahead_ms: float = 3.0,
          release_ms: float = 80.0) -> np.ndarray:
    """Look-ahead peak limiter on a peak-normalised signal: threshold ``reduction_db`` below
    the peak; the gain is a held minimum smoothed by a window no wider than the hold, so it is
    fully down at every peak (no overs) and recovers smoothly."""
    thr = 10 ** (-reduction_db / 20)
    level = np.max(np.abs(x), axis=1)
    need = np.minimum(1.0, thr / np.maximum(level, 1e-9))
    la = max(1, int(sr * lookahead_ms / 1000))
    rel = max(la, int(sr * release_ms / 1000))
    size = la + rel + 1
    held = ndimage.minimum_filter1d(need, size=size, origin=rel - size // 2)  # [n-rel, n+la]
    k = np.hanning(2 * la + 3)[1:-1]
    g = np.convolve(held, k / k.sum(), mode="same")
    a = np.exp(-1.0 / (sr * release_ms / 1000))
    slow = signal.lfilter([1 - a], [1, -a], g, zi=[a * g[0]])[0]
    g = np.minimum(g, slow)
    return x * g[:, None]


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    if sr_in == sr_out:
        return x
    fr = Fraction(sr_out, sr_in).limit_denominator(1000)
    return signal.resample_poly(x, fr.numerator, fr.denominator, axis=0)


def pitch_ratio_resample(x: np.ndarray, semitones: float) -> np.ndarray:
    """Play a one-shot ``semitones`` higher by resampling (shorter when higher)."""
    if abs(semitones) < 1e-6:
        return x
    ratio = 2 ** (semitones / 12.0)
    fr = Fraction(1.0 / ratio).limit_denominator(256)
    return signal.resample_poly(x, fr.numerator, fr.denominator, axis=0)


def fade_out(x: np.ndarray, n: int, shape: str = "cos") -> np.ndarray:
    n = min(n, len(x))
    if n <= 0:
        return x
    y = x.copy()
    r = np.linspace(1.0, 0.0, n)
    if shape == "cos":
        r = 0.5 - 0.5 * np.cos(np.pi * r)
    y[-n:] *= r[:, None]
    return y


def room_ir(rng: np.random.Generator, sr: int, rt60: float, channels: int = 2) -> np.ndarray:
    """Exponentially decaying, low-passed noise per channel (decorrelated, never inverted in
    sum: both channels share a common early part)."""
    n = int(sr * rt60)
    t = np.arange(n) / sr
    env = np.exp(-6.9 * t / rt60)
    common = rng.standard_normal(n)
    out = np.empty((n, channels))
    for c in range(channels):
        out[:, c] = (0.6 * common + 0.4 * rng.standard_normal(n)) * env
    sos = signal.butter(2, 5000, "low", fs=sr, output="sos")
    out = signal.sosfilt(sos, out, axis=0)
    pre = int(sr * 0.012)
    out = np.concatenate([np.zeros((pre, channels)), out])
    return out / np.sqrt(np.sum(out ** 2, axis=0, keepdims=True))


def convolve(x: np.ndarray, ir: np.ndarray, wet: float) -> np.ndarray:
    y = signal.fftconvolve(x, ir[:, : x.shape[1]], axes=0)[: len(x)]
    return x + wet * y


def peak(x: np.ndarray) -> float:
    return float(np.max(np.abs(x))) if x.size else 0.0


def db(v: float) -> float:
    return 20 * np.log10(max(v, 1e-12))


def undb(v: float) -> float:
    return 10 ** (v / 20)
