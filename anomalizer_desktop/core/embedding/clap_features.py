"""CLAP's log-mel front end in torch, batched, on the model's device, and deterministic.

Matches ``transformers``' ``ClapFeatureExtractor`` (window 1024, hop 480, 64 mel bands,
50-14000 Hz, power -> dB with a 1e-10 floor, reflect-padded centred frames):

* fused models (``clap-fused``): HTK mel filters without area normalisation (torchaudio's
  defaults, which LAION used for the fusion input);
* unfused models (``clap-music``): Slaney mel filters with Slaney normalisation (librosa's
  defaults, which LAION's in-model front end used).

Differences from upstream, on purpose: the three local chunks of a long clip sit at fixed
positions (front, centre, back) instead of random ones, no clip is ever flagged ``is_longer`` at
random, and long clips for unfused models are covered by evenly spaced 10-s windows.

This module imports torch at module level; import it lazily (``clap.py`` does).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

SAMPLE_RATE = 48_000
CHUNK_SAMPLES = 480_000  # 10 s at 48 kHz
HOP = 480
N_FFT = 1024
N_MELS = 64
CHUNK_FRAMES = CHUNK_SAMPLES // HOP + 1  # 1001: centred frames of a 10-s chunk
MAX_WINDOWS = 6  # unfused long clips: at most this many 10-s windows are averaged


@dataclass(frozen=True)
class MelSettings:
    """Mel filter bank flavour; the STFT settings are fixed by CLAP."""

    mel_scale: str  # "htk" | "slaney"
    norm: str | None  # None | "slaney"
    fmin: float = 50.0
    fmax: float = 14_000.0


FUSED_MEL = MelSettings(mel_scale="htk", norm=None)
UNFUSED_MEL = MelSettings(mel_scale="slaney", norm="slaney")


def mel_filters(settings: MelSettings) -> np.ndarray:
    """(513, 64) float64 filter bank, built exactly as ClapFeatureExtractor builds it."""
    from transformers.audio_utils import mel_filter_bank

    return mel_filter_bank(
        num_frequency_bins=N_FFT // 2 + 1,
        num_mel_filters=N_MELS,
        min_frequency=settings.fmin,
        max_frequency=settings.fmax,
        sampling_rate=SAMPLE_RATE,
        norm=settings.norm,
        mel_scale=settings.mel_scale,
    )


class LogMel:
    """Batched log-mel spectrogram: ``(B, L)`` waveforms -> ``(B, 1 + L // 480, 64)`` dB, float32."""

    def __init__(self, settings: MelSettings, device: torch.device | str = "cpu") -> None:
        self.settings = settings
        self.device = torch.device(device)
        self.window = torch.hann_window(N_FFT, periodic=True, dtype=torch.float32, device=self.device)
        self.filters = torch.from_numpy(mel_filters(settings)).to(torch.float32).to(self.device)  # (513, 64)

    def __call__(self, waves: torch.Tensor) -> torch.Tensor:
        if waves.dim() == 1:
            waves = waves[None]
        spec = torch.stft(
            waves.to(self.device, torch.float32),
            n_fft=N_FFT,
            hop_length=HOP,
            window=self.window,
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )  # (B, 513, T)
        power = spec.real.square() + spec.imag.square()
        mel = torch.matmul(power.transpose(1, 2), self.filters)  # (B, T, 64)
        return 10.0 * torch.log10(mel.clamp_min(1e-10))


def int16_roundtrip(clip: torch.Tensor) -> torch.Tensor:
    """Upstream's quantise-to-int16-and-back (clip to [-1, 1], scale by 32767, truncate)."""
    clip = torch.nan_to_num(clip, nan=0.0, posinf=1.0, neginf=-1.0)
    return torch.trunc(clip.clamp(-1.0, 1.0) * 32767.0) / 32767.0


def repeat_pad(clip: torch.Tensor, length: int = CHUNK_SAMPLES) -> torch.Tensor:
    """Upstream ``repeatpad``: tile ``int(length / len)`` whole copies, then zero-pad to ``length``."""
    n = clip.shape[-1]
    if n >= length:
        return clip[..., :length]
    tiled = clip.repeat(length // n)
    return torch.nn.functional.pad(tiled, (0, length - tiled.shape[-1]))


def window_starts(n_samples: int, max_windows: int = MAX_WINDOWS) -> list[int]:
    """Evenly spaced 10-s window starts covering a long clip (first at 0, last at the end)."""
    if n_samples <= CHUNK_SAMPLES:
        return [0]
    count = min(max_windows, -(-n_samples // CHUNK_SAMPLES))
    last = n_samples - CHUNK_SAMPLES
    return [round(i * last / (count - 1)) for i in range(count)]


def fusion_views(mel: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """(T, 64) mel of a whole clip -> ((4, 1001, 64) views, is_longer).

    Long clip: [global view squeezed to 1001 frames (bilinear, as upstream), front, centre, back].
    A clip that yields exactly 1001 frames (10 s < length < 10 s + one hop) uses the whole mel four
    times and is not "longer", as upstream does.
    """
    total = mel.shape[0]
    if total <= CHUNK_FRAMES:
        return mel.expand(4, -1, -1), False
    squeezed = torch.nn.functional.interpolate(
        mel[None, None], size=(CHUNK_FRAMES, mel.shape[1]), mode="bilinear", align_corners=False
    )[0, 0]
    last = total - CHUNK_FRAMES
    starts = (0, last // 2, last)
    chunks = [mel[s : s + CHUNK_FRAMES] for s in starts]
    return torch.stack([squeezed, *chunks]), True


def _prepare(clips: Sequence[np.ndarray | torch.Tensor], device: torch.device) -> list[torch.Tensor]:
    out = []
    for clip in clips:
        tensor = torch.as_tensor(np.asarray(clip, dtype=np.float32) if not isinstance(clip, torch.Tensor) else clip)
        if tensor.dim() != 1:
            raise ValueError(f"expected mono 1-D audio, got shape {tuple(tensor.shape)}")
        if tensor.numel() == 0:
            raise ValueError("cannot embed an empty clip (0 samples)")
        out.append(int16_roundtrip(tensor.to(device, torch.float32)))
    return out


def fused_features(clips: Sequence[np.ndarray], logmel: LogMel) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs of a fused model: ``input_features`` (B, 4, 1001, 64) and ``is_longer`` (B, 1) bool.

    Clips up to 10 s are repeat-padded and share one batched STFT; longer clips get the fixed
    global + front/centre/back views. Every row depends on its own clip only.
    """
    waves = _prepare(clips, logmel.device)
    feats: list[torch.Tensor | None] = [None] * len(waves)
    longer = [False] * len(waves)
    short = [i for i, w in enumerate(waves) if w.numel() <= CHUNK_SAMPLES]
    if short:
        mels = logmel(torch.stack([repeat_pad(waves[i]) for i in short]))
        for row, i in enumerate(short):
            feats[i] = mels[row].expand(4, -1, -1)
    for i, wave in enumerate(waves):
        if feats[i] is None:
            feats[i], longer[i] = fusion_views(logmel(wave)[0])
    features = torch.stack(feats)  # type: ignore[arg-type]
    is_longer = torch.tensor(longer, dtype=torch.bool, device=logmel.device)[:, None]
    return features, is_longer


def unfused_features(
    clips: Sequence[np.ndarray], logmel: LogMel, max_windows: int = MAX_WINDOWS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs of an unfused model: ``(W, 1, 1001, 64)`` window mels and ``(W,)`` owning clip index.

    A clip up to 10 s is one repeat-padded window; a longer clip gets up to ``max_windows`` evenly
    spaced 10-s windows whose embeddings the caller averages.
    """
    waves = _prepare(clips, logmel.device)
    windows: list[torch.Tensor] = []
    owner: list[int] = []
    for i, wave in enumerate(waves):
        if wave.numel() <= CHUNK_SAMPLES:
            windows.append(repeat_pad(wave))
            owner.append(i)
            continue
        for start in window_starts(wave.numel(), max_windows):
            windows.append(wave[start : start + CHUNK_SAMPLES])
            owner.append(i)
    mels = logmel(torch.stack(windows))[:, None]  # (W, 1, 1001, 64)
    return mels, torch.tensor(owner, dtype=torch.long, device=logmel.device)
