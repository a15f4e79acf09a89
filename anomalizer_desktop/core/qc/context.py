"""Shared, lazily computed views of one file's audio for the checks (computed once per file)."""

from __future__ import annotations

from functools import cached_property

import numpy as np

ENV_FRAME_S = 0.001          # 1-ms frames for envelopes
DC_BLOCK_S = 0.01
DC_SMOOTH_S = 0.4
DC_DRIFT_FACTOR = 1.5
STFT_FRAME_S = 0.0116        # 512 samples at 44.1/48 kHz; hop a quarter of that (~2.9 ms)


class Analysis:
    """Audio of one file at its original rate: ``x`` is (frames, channels) float32.

    Properties are computed on first use; checks share them through this object.
    """

    def __init__(self, samples: np.ndarray, sample_rate: int) -> None:
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim == 1:
            x = x[:, None]
        if x.ndim != 2:
            raise ValueError(f"samples must be (frames,) or (frames, channels), not {x.shape}")
        if not np.all(np.isfinite(x)):
            x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
        self.x = np.ascontiguousarray(x)
        self.sr = int(sample_rate)
        self.n, self.channels = self.x.shape
        self.cache: dict[str, object] = {}

    @property
    def duration_s(self) -> float:
        return self.n / self.sr

    @cached_property
    def peak(self) -> float:
        return float(np.max(np.abs(self.x))) if self.n else 0.0

    @cached_property
    def dc(self) -> np.ndarray:
        """Per-channel mean (float64)."""
        return self.x.mean(axis=0, dtype=np.float64)

    @cached_property
    def centered(self) -> np.ndarray:
        """(frames, channels) float32 with each channel's mean removed."""
        return (self.x - self.dc.astype(np.float32)).astype(np.float32)

    @cached_property
    def mono(self) -> np.ndarray:
        """Mean of the centred channels (float32)."""
        c = self.centered
        if self.channels == 1:
            return c[:, 0].copy()
        out = c[:, 0].copy()
        for i in range(1, self.channels):
            out += c[:, i]
        out *= np.float32(1.0 / self.channels)
        return out

    @cached_property
    def mono_low(self) -> tuple[np.ndarray, float]:
        """The mono mix averaged over blocks of 4 samples (a crude low-pass) and its rate:
        plenty for analyses below a few hundred Hz (hum) at a quarter of the cost."""
        k = 4 if self.sr >= 16_000 else 1
        m = len(self.mono) // k
        return self.mono[: m * k].reshape(m, k).mean(axis=1), self.sr / k

    @cached_property
    def env_hop(self) -> int:
        return max(1, int(round(ENV_FRAME_S * self.sr)))

    @cached_property
    def dc_drift(self) -> tuple[np.ndarray, np.ndarray]:
        """Per channel: the mean, and how much the 0.4-s running mean drifts (its std).

        Bass-heavy material sits off-centre by an amount that changes note by note; a DC
        offset is the part of the mean that does not drift."""
        block = max(1, int(DC_BLOCK_S * self.sr))
        m = self.n // block
        if m < 8:
            return self.dc, np.full(self.channels, np.inf)
        means = self.x[: m * block].reshape(m, block, self.channels).mean(axis=1, dtype=np.float64)
        width = min(m, max(3, int(DC_SMOOTH_S / DC_BLOCK_S)))
        win = np.hanning(width + 2)[1:-1]
        win /= win.sum()
        drift = np.empty(self.channels)
        for c in range(self.channels):
            padded = np.concatenate([means[-width:, c], means[:, c], means[:width, c]])
            drift[c] = np.convolve(padded, win, mode="same")[width:-width].std()   # circular
        return means.mean(axis=0), drift

    @cached_property
    def dc_steady(self) -> np.ndarray:
        """Per channel: the steady part of the offset (0 when the mean only drifts)."""
        dc, drift = self.dc_drift
        return np.sign(dc) * np.maximum(0.0, np.abs(dc) - DC_DRIFT_FACTOR * drift)

    @cached_property
    def dc_offset(self) -> np.ndarray:
        """Per channel: the offset to take off when looking for (near) silence: the whole
        mean where it is mostly steady, else 0."""
        dc = self.dc_drift[0]
        return np.where(np.abs(self.dc_steady) >= 0.5 * np.abs(dc), dc, 0.0).astype(np.float32)

    @cached_property
    def env_peak(self) -> np.ndarray:
        """Max |x| over channels in 1-ms frames, shape (n // env_hop,), the smaller of the raw
        and the steady-offset-removed value: digital zeros stay 0 in a file with a DC offset,
        and a gap down to the offset level is quiet too."""
        h = self.env_hop
        m = self.n // h

        def peak(offset: np.ndarray) -> np.ndarray:
            a = np.abs(self.x[: m * h, 0] - np.float32(offset[0]))
            for c in range(1, self.channels):
                np.maximum(a, np.abs(self.x[: m * h, c] - np.float32(offset[c])), out=a)
            return a.reshape(m, h).max(axis=1)

        raw = peak(np.zeros(self.channels))
        if np.any(self.dc_offset):
            np.minimum(raw, peak(self.dc_offset), out=raw)
        return raw

    @cached_property
    def env_db(self) -> np.ndarray:
        return 20.0 * np.log10(self.env_peak + 1e-10)

    @cached_property
    def stft_n(self) -> int:
        return int(2 ** round(np.log2(STFT_FRAME_S * self.sr)))

    @cached_property
    def stft_hop(self) -> int:
        return self.stft_n // 4

    @cached_property
    def stft_power(self) -> np.ndarray:
        """Power spectrogram of the mono mix, (frames, bins), Hann window, frames start at 0."""
        import scipy.fft

        n, hop = self.stft_n, self.stft_hop
        y = self.mono
        if len(y) < n:
            y = np.pad(y, (0, n - len(y)))
        frames = np.lib.stride_tricks.sliding_window_view(y, n)[::hop]
        spec = scipy.fft.rfft(frames * np.hanning(n).astype(np.float32), axis=1)
        return (spec.real ** 2 + spec.imag ** 2).astype(np.float32)

    def stft_time(self, frame: int | np.ndarray) -> np.ndarray | float:
        """Centre time (s) of STFT frame(s)."""
        return (np.asarray(frame) * self.stft_hop + self.stft_n / 2) / self.sr

    def stft_freqs(self) -> np.ndarray:
        return np.fft.rfftfreq(self.stft_n, 1.0 / self.sr)


def true_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the runs of True in a 1-D boolean array."""
    d = np.diff(mask.astype(np.int8), prepend=0, append=0)
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)
