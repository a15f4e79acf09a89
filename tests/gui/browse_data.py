"""A tiny loop library for the browse tests (more like this, duplicates): synthetic bass lines
written with soundfile, scanned into a real catalog with the offline spectral encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

SR = 48_000


def _note(hz: float, seconds: float, sr: int = SR, bright: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    tone = sum((bright ** (k - 1)) / k * np.sin(2 * np.pi * hz * k * t) for k in range(1, 7))
    envelope = np.exp(-t * 5.0) * np.minimum(1.0, t * 400.0)
    return tone * envelope


def bass_line(notes: list[int], bpm: float, bars: int = 1, bright: float = 1.0,
              sr: int = SR) -> np.ndarray:
    """Eighth notes cycling through ``notes`` (MIDI numbers) for ``bars`` 4/4 bars."""
    step = 30.0 / bpm
    out = np.zeros(int(round(bars * 4 * 60.0 / bpm * sr)))
    for i in range(bars * 8):
        start = int(round(i * step * sr))
        hz = 440.0 * 2 ** ((notes[i % len(notes)] - 69) / 12)
        tone = _note(hz, step, sr, bright)[: len(out) - start]
        out[start:start + len(tone)] += tone
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


def noise_loop(seconds: float = 2.0, seed: int = 0) -> np.ndarray:
    return (0.2 * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


LINES = {
    "Bass_120bpm_Dm_a": ([38, 38, 45, 38, 41, 38, 48, 38], 120.0, 1.0),
    "Bass_120bpm_Em_b": ([40, 47, 40, 43, 40, 47, 45, 43], 120.0, 0.9),
    "Bass_100bpm_Cm_c": ([36, 36, 36, 43, 36, 36, 46, 43], 100.0, 0.6),
}


def write_library(root: Path, duplicates: bool = True, noise: bool = True) -> dict[str, Path]:
    """Three bass lines (+ a noise loop); with ``duplicates`` a FLAC copy of the first loop's
    samples (exact) and a -6 dB copy (near). Returns name -> path."""
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (notes, bpm, bright) in LINES.items():
        paths[name] = root / f"{name}.wav"
        sf.write(paths[name], bass_line(notes, bpm, 2, bright), SR, subtype="PCM_24")
    if noise:
        paths["Noise"] = root / "Noise_loop.wav"
        sf.write(paths["Noise"], noise_loop(), SR, subtype="PCM_16")
    if duplicates:
        first = paths["Bass_120bpm_Dm_a"]
        ints, _ = sf.read(first, dtype="int32")
        paths["flac"] = root / "Bass_120bpm_Dm_a_copy.flac"
        sf.write(paths["flac"], ints, SR, subtype="PCM_24")
        x, _ = sf.read(first, dtype="float32")
        paths["quiet"] = root / "Bass_120bpm_Dm_a_quiet.wav"
        sf.write(paths["quiet"], x * 0.5, SR, subtype="PCM_24")
    return paths


def scan_library(root: Path, catalog, encoder=None):
    """Catalog, check, fingerprint and embed ``root`` (spectral encoder) like the window does."""
    from anomalizer_desktop.core.embedding import make_encoder
    from anomalizer_desktop.core.jobs import scan
    from anomalizer_desktop.core.progress import run_job

    encoder = encoder or make_encoder("spectral")
    run_job(scan([root], catalog, encoder), lambda p: None)
    return encoder
