"""The offline spectral encoder: shape, determinism, edge cases, speed."""

from __future__ import annotations

import time

import numpy as np
import pytest

from anomalizer_desktop.core.embedding.base import SAMPLE_RATE, Encoder
from anomalizer_desktop.core.embedding.spectral import DIM, SpectralEncoder, feature_names

SR = SAMPLE_RATE


def _bass(seconds: float = 4.0, freq: float = 55.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    env = np.exp(-(t % 0.5) * 5.0)
    wave = sum(np.sin(2 * np.pi * freq * k * t + rng.uniform(0, 6.28)) / k for k in range(1, 6))
    return (0.3 * env * wave).astype(np.float32)


def _sine(seconds: float = 4.0, freq: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _noise(seconds: float = 4.0, seed: int = 1) -> np.ndarray:
    return (0.2 * np.random.default_rng(seed).standard_normal(int(seconds * SR))).astype(np.float32)


@pytest.fixture(scope="module")
def encoder() -> SpectralEncoder:
    return SpectralEncoder(batch_size=4)


def test_protocol_attributes(encoder: SpectralEncoder) -> None:
    enc: Encoder = encoder  # static check that it satisfies the protocol
    assert enc.id.startswith("spectral:v")
    assert enc.name == "spectral"
    assert enc.dim == DIM == len(feature_names())
    assert enc.batch_size == 4
    assert "no pre-trained weights" in enc.description and "\n" not in enc.description


def test_shape_dtype_and_finite(encoder: SpectralEncoder) -> None:
    out = encoder.encode([_bass(), _sine(2.5), _noise(1.0)])
    assert out.shape == (3, DIM)
    assert out.dtype == np.float32
    assert np.isfinite(out).all()
    assert encoder.encode([]).shape == (0, DIM)


def test_deterministic_across_calls_and_instances(encoder: SpectralEncoder) -> None:
    clip = _bass(seed=3)
    a = encoder.encode([clip])
    b = encoder.encode([clip.copy()])
    c = SpectralEncoder().encode([clip])
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize(
    "clip",
    [
        np.zeros(4 * SR, dtype=np.float32),  # silence
        np.zeros(1, dtype=np.float32),  # one silent sample
        np.ones(1, dtype=np.float32),  # one loud sample
        np.full(7, 0.5, dtype=np.float32),  # a DC blip shorter than a frame
        np.array([np.nan, np.inf, -np.inf, 0.1] * 500, dtype=np.float32),  # garbage input
    ],
    ids=["silence", "one-zero", "one-one", "seven-dc", "non-finite"],
)
def test_degenerate_clips_give_finite_vectors(encoder: SpectralEncoder, clip: np.ndarray) -> None:
    out = encoder.encode([clip])
    assert out.shape == (1, DIM)
    assert np.isfinite(out).all()
    assert np.abs(out).max() < 1e4  # floors, not -inf-ish sentinels


def test_silence_and_audio_differ(encoder: SpectralEncoder) -> None:
    silence, audio = encoder.encode([np.zeros(2 * SR, np.float32), _bass(2.0)])
    assert not np.allclose(silence, audio)


def test_sine_and_noise_differ_where_expected(encoder: SpectralEncoder) -> None:
    sine, noise = encoder.encode([_sine(), _noise()])
    names = feature_names()
    col = {n: i for i, n in enumerate(names)}
    # Noise is spectrally flat and crosses zero far more often than a 440 Hz sine.
    assert noise[col["log_flatness_0"]] > sine[col["log_flatness_0"]] + 2.0
    assert noise[col["zcr_0"]] > 10 * sine[col["zcr_0"]]
    assert noise[col["log_centroid_0"]] > sine[col["log_centroid_0"]] + 1.0
    # A relative distance, so the test is not passed by a tiny difference in one column.
    assert np.linalg.norm(sine - noise) > 0.2 * np.linalg.norm(sine)


def test_pitch_moves_chroma(encoder: SpectralEncoder) -> None:
    a440, c523 = encoder.encode([_sine(2.0, 440.0), _sine(2.0, 523.25)])
    names = feature_names()
    chroma = [i for i, n in enumerate(names) if n.startswith("chroma_mean_")]
    assert int(np.argmax(a440[chroma])) == 9  # A
    assert int(np.argmax(c523[chroma])) == 0  # C


def test_batch_equals_one_by_one(encoder: SpectralEncoder) -> None:
    clips = [_bass(3.0, seed=i, freq=55.0 * (1 + i / 4)) for i in range(3)] + [_noise(0.5), _sine(0.01)]
    batch = encoder.encode(clips)
    single = np.concatenate([encoder.encode([c]) for c in clips])
    np.testing.assert_array_equal(batch, single)


def test_duration_uses_whole_clip_and_long_clips_are_capped(encoder: SpectralEncoder) -> None:
    names = feature_names()
    dur = names.index("log_duration")
    short, long_ = encoder.encode([_bass(4.0), _bass(75.0)])
    assert short[dur] == pytest.approx(np.log(4.0), abs=1e-3)
    assert long_[dur] == pytest.approx(np.log(75.0), abs=1e-3)
    # A periodic clip looks the same (apart from duration) however long it is.
    others = [i for i in range(DIM) if i != dur]
    np.testing.assert_allclose(short[others], long_[others], rtol=0.15, atol=1.0)


def test_no_huge_dynamic_range_columns(encoder: SpectralEncoder) -> None:
    clips = [_bass(4.0), _sine(1.0), _noise(8.0), np.zeros(SR, np.float32), _bass(0.05)]
    out = encoder.encode(clips)
    assert np.abs(out).max() < 1e3


def test_speed_4s_clip(encoder: SpectralEncoder) -> None:
    clip = _bass(4.0)
    encoder.encode([clip])  # warm up (imports, filter banks)
    times = []
    for _ in range(7):
        t0 = time.perf_counter()
        encoder.encode([clip])
        times.append(time.perf_counter() - t0)
    ms = 1000 * float(np.median(times))
    print(f"\nspectral encoder: {ms:.1f} ms per 4-s clip (median of 7)")
    assert ms < 500  # generous: catches a pathological slowdown, not CI noise
