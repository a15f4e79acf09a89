"""Small audio fixtures shared by the core tests (synthetic, written to tmp dirs)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import soundfile as sf


def tone_loop(path: Path, freq: float = 110.0, seconds: float = 2.0, sr: int = 48_000,
              seed: int = 0, subtype: str = "PCM_16", format: str | None = None) -> Path:
    """A plucked-bass-like loop: decaying harmonics retriggered on every beat."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    beat = 0.5
    since = t % beat
    env = np.minimum(1.0, since / 0.005) * np.exp(-since * 6.0)  # 5-ms attack: no click
    wave = sum(np.sin(2 * np.pi * freq * k * t + rng.uniform(0, 6.28)) / k for k in range(1, 5))
    audio = (0.3 * env * wave).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, audio, sr, subtype=subtype, format=format)
    return path


def noise_loop(path: Path, seconds: float = 2.0, sr: int = 48_000, seed: int = 1) -> Path:
    audio = np.random.default_rng(seed).normal(0, 0.3, int(seconds * sr)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.clip(audio, -1, 1), sr)
    return path


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under root (to prove nothing was modified)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*")) if p.is_file()
    }
