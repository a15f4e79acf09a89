"""What makes two files the same loop: the decoded audio itself (exact), or a band-energy
fingerprint that survives gain, sample rate, bit depth, lossy codecs and a few milliseconds
of trim or padding (near).

The fingerprint is 16 log-spaced bands, 60 Hz to 8 kHz (under any codec's low-pass), in 40-ms
frames of the first 12 s, in dB below the file's loudest band-frame, floored at -60 dB (so a
codec's noise floor and a quieter copy's level do not count), one byte per value (0.24 dB):
at most 4.8 kB per file. Two fingerprints are compared by their correlation at the best of
±3 frames of shift."""

from __future__ import annotations

import hashlib

import numpy as np

from .analysis import Frames, log_bands

BANDS = 16
POOL = 4  # 10-ms analysis frames per fingerprint frame
MAX_FRAMES = 300  # 12 s
FLOOR_DB = -60.0
MAX_SHIFT = 3  # frames (±120 ms)
SEGMENTS = 24  # time segments of the coarse vector used to find candidate pairs


def audio_identity(samples: np.ndarray, sample_rate: int) -> str:
    """A digest of the decoded samples at 24-bit resolution, rate and channel count: a WAV and
    its FLAC copy share it; the same loop at another bit depth or gain does not.

    Not the float samples themselves: libsndfile scales 24-bit WAV and FLAC to float with a
    last-bit difference (1.2e-7). Rounded to 24 bits, 16- and 24-bit sources are exact."""
    x = np.asarray(samples, dtype=np.float32)
    channels = 1 if x.ndim == 1 else x.shape[1]
    ints = np.round(np.clip(np.nan_to_num(x), -2.0, 2.0) * float(1 << 23)).astype("<i4")
    h = hashlib.blake2b(digest_size=16)
    h.update(f"{int(sample_rate)}:{channels}:".encode())
    h.update(np.ascontiguousarray(ints).tobytes())
    return h.hexdigest()


def fingerprint(frames: Frames) -> np.ndarray:
    """(n, BANDS) uint8; n = 0 for silence."""
    db = log_bands(frames, 60.0, 8_000.0, BANDS)
    n = min(len(db) // POOL, MAX_FRAMES)
    if n == 0:
        return np.zeros((0, BANDS), np.uint8)
    energy = (10.0 ** (db[: n * POOL] / 10.0)).reshape(n, POOL, BANDS).mean(axis=1)
    top = energy.max()
    if top <= 1e-9:
        return np.zeros((0, BANDS), np.uint8)
    rel = 10.0 * np.log10(np.maximum(energy / top, 1e-12))
    rel = np.clip(rel, FLOOR_DB, 0.0)
    return np.round((rel - FLOOR_DB) * (255.0 / -FLOOR_DB)).astype(np.uint8)


def to_db(fp: np.ndarray) -> np.ndarray:
    return fp.astype(np.float32) * (-FLOOR_DB / 255.0) + FLOOR_DB


def coarse(fp: np.ndarray) -> np.ndarray:
    """(SEGMENTS * BANDS,) unit vector: the fingerprint averaged into SEGMENTS equal parts of
    time, centred. Cosine of two is a cheap upper-bound-ish screen before :func:`similarity`."""
    if len(fp) == 0:
        return np.zeros(SEGMENTS * BANDS, np.float32)
    db = to_db(fp)
    edges = np.linspace(0, len(db), SEGMENTS + 1)
    idx = np.minimum(np.floor((np.arange(len(db)) + 0.5) / len(db) * SEGMENTS).astype(int), SEGMENTS - 1)
    sums = np.zeros((SEGMENTS, BANDS), np.float64)
    np.add.at(sums, idx, db)
    counts = np.maximum(np.diff(np.floor(edges)).astype(float), 1.0)[:, None]
    v = (sums / counts).ravel()
    v = v - v.mean()
    norm = np.linalg.norm(v)
    return (v / norm).astype(np.float32) if norm > 0 else np.zeros_like(v, np.float32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two fingerprints at their best alignment within ±MAX_SHIFT frames, over
    the overlap (which must cover 80 % of the longer); -1 when they cannot be compared."""
    if len(a) == 0 or len(b) == 0:
        return -1.0
    x, y = to_db(a), to_db(b)
    best = -1.0
    for shift in range(-MAX_SHIFT, MAX_SHIFT + 1):
        xs = x[max(0, shift):]
        ys = y[max(0, -shift):]
        n = min(len(xs), len(ys))
        if n < 0.8 * max(len(x), len(y)) or n < 2:
            continue
        u = xs[:n].ravel() - xs[:n].mean()
        v = ys[:n].ravel() - ys[:n].mean()
        d = float(np.sqrt((u * u).sum() * (v * v).sum()))
        if d > 0:
            best = max(best, float((u * v).sum()) / d)
    return best
