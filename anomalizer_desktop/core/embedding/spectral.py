"""Offline encoder: hand-made spectral descriptors (librosa), no pre-trained weights needed.

This is the fallback when no CLAP weights are on the machine. Each clip (mono float32, 48 kHz)
becomes a fixed vector of clip-level statistics of frame features:

==============================  ====  ==================================================
feature                          dims  notes
==============================  ====  ==================================================
MFCC (20) mean, std                40  log-mel (64 bands, 30 Hz - 16 kHz) in dB, DCT-II
delta-MFCC std                     20  frame-to-frame change of the MFCCs
spectral contrast mean, std        14  6 octave bands from 200 Hz + the rest, dB
chroma mean, std                   24  fixed A440 tuning (no tuning estimate: faster,
                                       deterministic)
centroid, bandwidth, rolloff        6  log(Hz) mean, std
flatness                            2  log10 mean, std
zero-crossing rate                  2  mean, std
RMS                                 3  dB mean, dB std, crest factor (dB, peak / RMS)
onset strength                      3  mean, std, log(max / mean)
tempo                               1  log(BPM): librosa's estimator on one global
                                       autocorrelation of the onset envelope
onset rate                          1  log(1 + onsets per second)
duration                            1  log(seconds) of the *whole* clip
==============================  ====  ==================================================

Long clips: at most ``MAX_ANALYSED_S`` (60 s) are analysed. Longer clips are summarised by three
20-s windows at the start, the centre and the end (fixed positions, like the FFM chunks of the
CLAP encoder), analysed separately and pooled; the duration feature still sees the whole clip.
Very short clips are zero-padded to one FFT window. Silence and NaN/inf input give finite
vectors (every value is finite by construction and checked at the end).

The vector is not standardised (detectors do that), but every column is on a log/dB or bounded
scale so no column spans orders of magnitude.
"""

from __future__ import annotations

import logging
from typing import Any, Sequence

import numpy as np

from .base import SAMPLE_RATE

log = logging.getLogger(__name__)

N_FFT = 2048
HOP = 512
N_MELS = 64
N_MFCC = 20
MAX_ANALYSED_S = 60.0
TEMPO_AC_S = 8.0  # longest beat period pattern the tempo autocorrelation looks at
WINDOW_S = 20.0  # window length used for clips longer than MAX_ANALYSED_S
_EPS = 1e-10

_FEATURE_DIMS = (
    ("mfcc_mean", N_MFCC),
    ("mfcc_std", N_MFCC),
    ("delta_mfcc_std", N_MFCC),
    ("contrast_mean", 7),
    ("contrast_std", 7),
    ("chroma_mean", 12),
    ("chroma_std", 12),
    ("log_centroid", 2),
    ("log_bandwidth", 2),
    ("log_rolloff", 2),
    ("log_flatness", 2),
    ("zcr", 2),
    ("rms", 3),
    ("onset_strength", 3),
    ("log_tempo", 1),
    ("log_onset_rate", 1),
    ("log_duration", 1),
)
DIM = sum(n for _, n in _FEATURE_DIMS)


def feature_names() -> list[str]:
    """One name per column of the encoded vector (for "why is this flagged" and debugging)."""
    names: list[str] = []
    for group, n in _FEATURE_DIMS:
        names.extend([group] if n == 1 else [f"{group}_{i}" for i in range(n)])
    return names


class SpectralEncoder:
    """Encoder protocol implementation over librosa descriptors (see the module docstring)."""

    id = "spectral:v1"
    name = "spectral"
    dim = DIM
    description = (
        "offline spectral-feature encoder (no pre-trained weights): MFCC, contrast, chroma, "
        "onset/tempo statistics"
    )

    def __init__(self, batch_size: int = 16) -> None:
        self.batch_size = int(batch_size)
        self._filters: Any = None  # scipy.sparse matrix, built on first use

    def encode(self, clips: Sequence[np.ndarray]) -> np.ndarray:
        """(N, dim) float32; each clip is encoded on its own, so batching never changes a row."""
        out = np.empty((len(clips), DIM), dtype=np.float32)
        for i, clip in enumerate(clips):
            out[i] = self.encode_one(clip)
        return out

    def encode_one(self, clip: np.ndarray) -> np.ndarray:
        """(dim,) float32 for one mono 48 kHz clip of any length >= 1 sample."""
        y = np.asarray(clip, dtype=np.float32)
        if y.ndim != 1:
            raise ValueError(f"expected a mono 1-D clip, got shape {y.shape}")
        if y.size == 0:
            raise ValueError("cannot encode an empty clip (0 samples)")
        y = np.nan_to_num(y, nan=0.0, posinf=1.0, neginf=-1.0)
        duration_s = y.size / SAMPLE_RATE
        segments = _analysis_segments(y)
        frames = [self._frame_features(seg) for seg in segments]
        vec = _pool(frames, analysed_s=sum(s.size for s in segments) / SAMPLE_RATE)
        vec.append(np.array([np.log(max(duration_s, 1e-3))]))
        result = np.concatenate(vec).astype(np.float32)
        if result.shape != (DIM,):  # pragma: no cover - guards the table above
            raise AssertionError(f"spectral feature size {result.shape} != {DIM}")
        return np.nan_to_num(result, nan=0.0, posinf=0.0, neginf=0.0)

    # -- internals -------------------------------------------------------------------------

    def _filterbanks(self) -> Any:
        """Mel (rows 0-63) + chroma (rows 64-75) filter banks as one sparse matrix.

        Sparse on purpose: a dense ``filters @ power`` goes through multi-threaded OpenBLAS, whose
        spinning worker threads made the whole encoder 3-4x slower on a busy 2-core machine. Chroma
        weights below 1e-3 of a filter's peak are dropped (deterministic, negligible change).
        """
        if self._filters is None:
            import librosa
            import scipy.sparse

            mel = librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=30.0, fmax=16000.0)
            chroma = librosa.filters.chroma(sr=SAMPLE_RATE, n_fft=N_FFT, tuning=0.0)
            chroma[chroma < 1e-3 * chroma.max(axis=1, keepdims=True)] = 0.0
            self._filters = scipy.sparse.csr_matrix(np.vstack([mel, chroma]).astype(np.float32))
        return self._filters

    def _frame_features(self, y: np.ndarray) -> dict[str, np.ndarray]:
        """Frame-level features of one segment (arrays shaped (features, frames))."""
        import librosa
        import scipy.fft

        bank = self._filterbanks()
        n = y.size
        if n < N_FFT:
            y = np.pad(y, (0, N_FFT - n))
        stft = librosa.stft(y, n_fft=N_FFT, hop_length=HOP, center=True, pad_mode="constant")
        spec = np.ascontiguousarray(np.abs(stft))
        power = spec**2
        freqs = librosa.fft_frequencies(sr=SAMPLE_RATE, n_fft=N_FFT).astype(np.float32)

        banded = np.asarray(bank @ power)
        log_mel = 10.0 * np.log10(np.maximum(banded[:N_MELS], _EPS))  # dB, floor -100 dB
        mfcc = scipy.fft.dct(log_mel, type=2, norm="ortho", axis=0)[:N_MFCC]
        delta = np.diff(mfcc, axis=1) if mfcc.shape[1] > 1 else np.zeros_like(mfcc)

        contrast = librosa.feature.spectral_contrast(S=spec, sr=SAMPLE_RATE, freq=freqs, n_bands=6)
        chroma = banded[N_MELS:]
        chroma = chroma / np.maximum(chroma.max(axis=0, keepdims=True), _EPS)

        mag_sum = np.maximum(spec.sum(axis=0, keepdims=True), _EPS)
        centroid = (freqs[:, None] * spec).sum(axis=0, keepdims=True) / mag_sum
        bandwidth = np.sqrt(((freqs[:, None] - centroid) ** 2 * spec).sum(axis=0, keepdims=True) / mag_sum)
        cumulative = np.cumsum(spec, axis=0)  # rolloff: frequency below which 85% of magnitude lies
        below = (cumulative < 0.85 * cumulative[-1:]).sum(axis=0)
        rolloff = freqs[np.minimum(below, freqs.size - 1)][None, :]
        # Silent frames: centroid/bandwidth 0 -> log(1 Hz) = 0, flatness 1 (floored power).
        flat_power = np.maximum(power, _EPS)
        flatness = np.exp(np.log(flat_power).mean(axis=0, keepdims=True)) / flat_power.mean(axis=0, keepdims=True)

        # Per-frame RMS and zero-crossing rate from running sums (O(n), no framed copy).
        padded = np.pad(y, (N_FFT // 2, N_FFT // 2))
        starts = np.arange(1 + (padded.size - N_FFT) // HOP) * HOP
        energy = np.concatenate([[0.0], np.cumsum(padded.astype(np.float64) ** 2)])
        rms = np.sqrt(np.maximum(energy[starts + N_FFT] - energy[starts], 0.0) / N_FFT)[None, :]
        signs = np.signbit(padded)
        crossings = np.concatenate([[0], np.cumsum(signs[1:] != signs[:-1])])
        zcr = ((crossings[starts + N_FFT - 1] - crossings[starts]) / (N_FFT - 1))[None, :]

        onset = librosa.onset.onset_strength(S=log_mel, sr=SAMPLE_RATE, hop_length=HOP)
        return {
            "mfcc": mfcc,
            "delta": delta,
            "contrast": contrast,
            "chroma": chroma,
            "log_centroid": np.log(np.maximum(centroid, 1.0)),
            "log_bandwidth": np.log(np.maximum(bandwidth, 1.0)),
            "log_rolloff": np.log(np.maximum(rolloff, 1.0)),
            "log_flatness": np.log10(np.maximum(flatness, _EPS)),
            "zcr": zcr,
            "rms": rms,
            "onset": onset[None, :],
            "peak": np.array([float(np.max(np.abs(y[:n])))]),
            "n_samples": np.array([n]),
        }


def _analysis_segments(y: np.ndarray) -> list[np.ndarray]:
    """The whole clip, or three fixed 20-s windows (start, centre, end) of a clip over 60 s."""
    max_len = int(MAX_ANALYSED_S * SAMPLE_RATE)
    if y.size <= max_len:
        return [y]
    win = int(WINDOW_S * SAMPLE_RATE)
    mid = (y.size - win) // 2
    return [y[:win], y[mid : mid + win], y[-win:]]


def _mean_std(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    stacked = np.concatenate(parts, axis=1).astype(np.float64)
    return stacked.mean(axis=1), stacked.std(axis=1)


def _pool(frames: list[dict[str, np.ndarray]], analysed_s: float) -> list[np.ndarray]:
    """Clip-level statistics of the frame features of all analysed segments, in table order."""
    import librosa

    def stats(key: str) -> tuple[np.ndarray, np.ndarray]:
        return _mean_std([f[key] for f in frames])

    out: list[np.ndarray] = []
    mfcc_mean, mfcc_std = stats("mfcc")
    out += [mfcc_mean, mfcc_std, stats("delta")[1]]
    out += list(stats("contrast"))
    out += list(stats("chroma"))
    for key in ("log_centroid", "log_bandwidth", "log_rolloff", "log_flatness", "zcr"):
        out += list(stats(key))

    rms = np.concatenate([f["rms"] for f in frames], axis=1).ravel()
    rms_db = 20.0 * np.log10(np.maximum(rms, 1e-5))  # floor -100 dB
    rms_all = float(np.sqrt(np.mean(rms**2)))
    peak = max(float(f["peak"][0]) for f in frames)
    crest_db = 20.0 * np.log10(peak / rms_all) if rms_all > 1e-5 and peak > 0 else 0.0
    out.append(np.array([rms_db.mean(), rms_db.std(), crest_db]))

    onset = np.concatenate([f["onset"] for f in frames], axis=1).ravel().astype(np.float64)
    o_mean = float(onset.mean()) if onset.size else 0.0
    o_std = float(onset.std()) if onset.size else 0.0
    o_ratio = float(np.log(max(onset.max(), _EPS) / max(o_mean, _EPS))) if o_mean > 1e-6 else 0.0
    out.append(np.array([o_mean, o_std, o_ratio]))

    tempo, n_onsets = _tempo_and_onsets([f["onset"].ravel() for f in frames], librosa)
    out.append(np.array([np.log(tempo)]))
    out.append(np.array([np.log1p(n_onsets / max(analysed_s, 1e-3))]))
    return out


def _tempo_and_onsets(envelopes: list[np.ndarray], librosa) -> tuple[float, int]:
    """Tempo (BPM) of the longest envelope (120 when undefined) and the onset count of all."""
    n_onsets = 0
    for env in envelopes:
        if env.size >= 3 and env.max() > 1e-6:
            peaks = librosa.onset.onset_detect(
                onset_envelope=env, sr=SAMPLE_RATE, hop_length=HOP, backtrack=False
            )
            n_onsets += int(len(peaks))
    env = max(envelopes, key=len).astype(np.float64)
    tempo = 120.0
    if env.size >= 8 and env.max() > 1e-6:
        # One autocorrelation of the whole envelope (a global tempogram column) instead of
        # librosa's frame-wise tempogram: same estimator and prior, ~20x cheaper.
        win = int(librosa.time_to_frames(TEMPO_AC_S, sr=SAMPLE_RATE, hop_length=HOP))
        env = env - env.mean()
        ac = np.zeros(win)
        full = librosa.autocorrelate(env, max_size=win)
        ac[: full.size] = full
        if ac[0] > 1e-12:
            ac = np.clip(ac / ac[0], 0.0, None)
            est = float(librosa.feature.tempo(tg=ac[:, None], sr=SAMPLE_RATE, hop_length=HOP, aggregate=None).ravel()[0])
            if np.isfinite(est) and est > 0:
                tempo = float(np.clip(est, 30.0, 320.0))
    return tempo, n_onsets
