"""Key of a loop: a pitch-class profile correlated with the 24 major and minor key profiles.

The profile is a chroma read from a fine spectrum (11,025 Hz, 8,192-point frames: 1.3 Hz per
bin, so a bass E1 at 41 Hz is a semitone away from its neighbours). Only bins within a third
of a semitone of an equal-tempered pitch count, log-compressed so one loud note does not decide
alone; low notes weigh more, because the lowest line of a loop names its tonic more often than
the upper voices. The key profiles are Temperley's (Music and Probability, 2007), which keep
the tonic above the fifth and so confuse fewer keys with their dominant than Krumhansl's."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RATE = 11_025
N_FFT = 8192
HOP = 2048
LOW_HZ, HIGH_HZ = 38.0, 2_000.0
BASS_BOOST_BELOW_HZ, BASS_BOOST = 260.0, 2.0
MAX_SECONDS = 60.0
START_WEIGHT = 0.0  # the opening's whole profile (0.5 and 1.0 measured worse than 0 on the dev part)
FIRST_BASS_WEIGHT = 0.6  # the opening's lowest note as the tonic
FIRST_CHORD_WEIGHT = 1.0  # the root of the opening's best-matching triad as the tonic
PEAK_RANGE_DB = 40.0
COMPRESS = 0.5
MIN_CONFIDENCE = 0.02  # a profile this flat (drums, noise) has no key
NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MAJOR = np.array([5.0, 2.0, 3.5, 2.0, 4.5, 4.0, 2.0, 4.5, 2.0, 3.5, 1.5, 4.0])
MINOR = np.array([5.0, 2.0, 3.5, 4.5, 2.0, 4.0, 2.0, 4.5, 3.5, 2.0, 1.5, 4.0])


@dataclass(frozen=True)
class Key:
    tonic: int  # pitch class, 0 = C
    mode: str  # "major" or "minor"
    confidence: float  # best correlation minus the runner-up's (0..2)

    @property
    def name(self) -> str:
        return key_name(self.tonic, self.mode)


def key_name(tonic: int, mode: str) -> str:
    return f"{NAMES[tonic % 12]} {mode}"


def chroma(mono: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pitch-class profiles (each (12,), summing to 1 or all zero for silence): the whole
    clip's, its first frame's (the first 0.74 s), and the first frame's bass (below 260 Hz)."""
    from ..audio.io import resample

    x = np.asarray(mono, np.float32)[: int(MAX_SECONDS * sample_rate) + 1]
    x = resample(x, sample_rate, RATE) if sample_rate != RATE else x
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    if len(x) < N_FFT:
        x = np.pad(x, (0, N_FFT - len(x)))
    n = 1 + (len(x) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n)[:, None]
    mag = np.abs(np.fft.rfft(x[idx] * np.hanning(N_FFT).astype(np.float32), axis=1))
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / RATE)
    use = (freqs >= LOW_HZ) & (freqs <= HIGH_HZ)
    midi = 69.0 + 12.0 * np.log2(freqs[use] / 440.0)
    near = np.abs(midi - np.round(midi)) <= 1.0 / 3.0
    pc = np.round(midi).astype(int) % 12
    weight = np.where(freqs[use] < BASS_BOOST_BELOW_HZ, BASS_BOOST, 1.0) * near
    spectrum = mag[:, use]
    if spectrum.max() <= 0:
        return np.zeros(12), np.zeros(12), np.zeros(12)
    # spectral peaks only (a partial, not its window's skirt), within PEAK_RANGE_DB of the
    # frame's loudest, weighed by compressed magnitude
    peaks = np.zeros_like(spectrum, dtype=bool)
    peaks[:, 1:-1] = (spectrum[:, 1:-1] >= spectrum[:, :-2]) & (spectrum[:, 1:-1] > spectrum[:, 2:])
    floor = spectrum.max(axis=1, keepdims=True) * 10 ** (-PEAK_RANGE_DB / 20)
    level = np.where(peaks & (spectrum >= floor), spectrum, 0.0) ** COMPRESS
    low = freqs[use] < BASS_BOOST_BELOW_HZ
    return (_profile(pc, level.sum(axis=0) * weight), _profile(pc, level[0] * weight),
            _profile(pc, level[0] * weight * low))


def _profile(pc: np.ndarray, weights: np.ndarray) -> np.ndarray:
    profile = np.bincount(pc, weights=weights, minlength=12)
    total = profile.sum()
    return profile / total if total > 0 else np.zeros(12)


def estimate_key(mono: np.ndarray, sample_rate: int) -> Key | None:
    """The most likely key, or None when the clip has no pitch to speak of."""
    profile, start, start_bass = chroma(mono, sample_rate)
    if not profile.any():
        return None
    first_bass = start_bass / start_bass.max() if start_bass.any() else start_bass
    triads = np.array([start[t] + start[(t + 7) % 12] + max(start[(t + 3) % 12], start[(t + 4) % 12])
                       for t in range(12)])
    first_chord = triads / triads.max() if triads.max() > 0 else triads
    scores = []
    for mode, template in (("major", MAJOR), ("minor", MINOR)):
        for tonic in range(12):
            t = np.roll(template, tonic)
            value = (_corr(profile, t) + START_WEIGHT * _corr(start, t)
                     + FIRST_BASS_WEIGHT * first_bass[tonic]
                     + FIRST_CHORD_WEIGHT * first_chord[tonic])
            scores.append((value, tonic, mode))
    scores.sort(reverse=True)
    (best, tonic, mode), (second, _, _) = scores[0], scores[1]
    confidence = float(best - second)
    if best <= 0 or not np.isfinite(best):
        return None
    return Key(int(tonic), mode, confidence)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a = a - a.mean()
    b = b - b.mean()
    d = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / d) if d > 0 else 0.0


def compatible(tonic: int, mode: str) -> list[tuple[int, str]]:
    """Keys that mix with this one: itself, its relative, and its neighbours a fifth up and
    down in the same mode (the Camelot wheel's ±1 and its other ring)."""
    relative = ((tonic + 9) % 12, "minor") if mode == "major" else ((tonic + 3) % 12, "major")
    return [(tonic % 12, mode), relative, ((tonic + 7) % 12, mode), ((tonic + 5) % 12, mode)]
