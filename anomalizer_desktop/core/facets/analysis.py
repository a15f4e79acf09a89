"""The one short-time analysis the facets share: a mono clip at 22,050 Hz, 10-ms frames.

Tempo reads the onset envelope, the fingerprint reads band energies; key has its own, finer
analysis (:mod:`.key`) because a bass note needs ~1 Hz resolution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATE = 22_050
HOP = 220  # 10 ms (100.2 frames/s)
N_FFT = 2048  # 93 ms: band energies change smoothly when a copy is trimmed by a few ms
MAX_SECONDS = 60.0  # facets read the first minute: loops are shorter, songs do not need more
FLOOR = 1e-10


@dataclass(frozen=True)
class Frames:
    power: np.ndarray  # (frames, bins) power spectrum
    freqs: np.ndarray  # (bins,) Hz
    fps: float  # frames per second
    duration_s: float  # of the whole clip (not only the analysed minute)


def frames_of(mono: np.ndarray, sample_rate: int) -> Frames:
    """Power spectrogram of the first :data:`MAX_SECONDS` of ``mono`` at :data:`RATE`."""
    from ..audio.io import resample

    x = np.asarray(mono, np.float32)
    duration = len(x) / float(sample_rate)
    x = x[: int(MAX_SECONDS * sample_rate) + 1]
    x = resample(x, sample_rate, RATE) if sample_rate != RATE else x
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    pad = N_FFT // 2
    x = np.pad(x, (pad, pad))
    n = 1 + max(0, (len(x) - N_FFT) // HOP)
    if len(x) < N_FFT:
        x = np.pad(x, (0, N_FFT - len(x)))
        n = 1
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
    window = np.hanning(N_FFT).astype(np.float32)
    spec = np.fft.rfft(x[idx] * window, axis=1)
    power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
    return Frames(power, np.fft.rfftfreq(N_FFT, 1.0 / RATE), RATE / HOP, duration)


def band_matrix(freqs: np.ndarray, lo_hz: float, hi_hz: float, count: int) -> np.ndarray:
    """(bins, count) 0/1 matrix summing FFT bins into ``count`` log-spaced bands; a band
    narrower than one bin takes its nearest bin."""
    edges = np.geomspace(lo_hz, hi_hz, count + 1)
    m = np.zeros((len(freqs), count), np.float32)
    for b in range(count):
        inside = (freqs >= edges[b]) & (freqs < edges[b + 1])
        if not inside.any():
            inside = np.zeros(len(freqs), bool)
            inside[int(np.argmin(np.abs(freqs - np.sqrt(edges[b] * edges[b + 1]))))] = True
        m[inside, b] = 1.0
    return m


def log_bands(frames: Frames, lo_hz: float, hi_hz: float, count: int) -> np.ndarray:
    """(frames, count) band energies in dB."""
    energy = frames.power @ band_matrix(frames.freqs, lo_hz, hi_hz, count)
    return 10.0 * np.log10(np.maximum(energy, FLOOR))
