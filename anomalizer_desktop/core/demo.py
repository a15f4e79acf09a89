"""A synthetic "bass loop pack" with a few planted oddities, for the first run and for tests.

Everything is generated with numpy (no external files) and is a pure function of the seed, so
the same seed writes byte-identical files. The pack looks like a real one: loops at 80-140 BPM in
several minor keys, 1-8 bars (about 2-16 s), 44.1/48 kHz, 16/24-bit WAV, mono and stereo, a few
FLACs, spread over ``Basses/``, ``Basses/Dark/`` and ``Basses/Groove/``. The oddities carry the
same kind of names as the loops around them, so only listening (or the app) gives them away.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

FOLDERS = ("Basses", "Basses/Dark", "Basses/Groove")
KEYS = {"E": 28, "F": 29, "F#": 30, "G": 31, "A": 33, "B": 35, "C": 36, "D": 38}  # MIDI, octave 1-2
PENTATONIC = (0, 3, 5, 7, 10, 12, 15)
N_ODDITIES = 5

ODDITIES = {
    "drums": "a drum loop (kick, snare, hats) in a pack of bass loops",
    "noise": "a white-noise loop, no musical content",
    "glitch": "a bass loop with a loud click and a dropout (a gap of silence)",
    "clipped": "a bass loop driven into heavy distortion (folded over and hard-clipped)",
    "bell": "a high-pitched bell/lead melody, not a bass line",
}


@dataclass(frozen=True)
class DemoLibrary:
    """What :func:`write_demo_library` wrote: every path is absolute and under ``root``."""

    root: Path
    normal: list[Path]
    oddities: dict[Path, str]  # path -> what is odd about it

    @property
    def all_files(self) -> list[Path]:
        return sorted([*self.normal, *self.oddities])


@dataclass(frozen=True)
class _Spec:
    kind: str  # "bass" or one of ODDITIES
    folder: str
    bpm: int
    key: str
    bars: int
    sample_rate: int
    channels: int
    fmt: str  # "WAV" or "FLAC"
    subtype: str  # "PCM_16" or "PCM_24"


def write_demo_library(root: Path, n_normal: int = 40, seed: int = 0) -> DemoLibrary:
    """Write ``n_normal`` bass loops plus 5 oddities under ``root`` (created if needed).

    Existing files with the same names are overwritten; nothing else in ``root`` is touched.
    """
    import soundfile as sf

    if n_normal < 1:
        raise ValueError("n_normal must be at least 1")
    root = Path(root).expanduser().absolute()
    rng = np.random.default_rng(seed)
    specs = _plan(rng, n_normal)
    normal: list[Path] = []
    oddities: dict[Path, str] = {}
    counters: dict[str, int] = {}
    for index, spec in enumerate(specs):
        counters[spec.folder] = counters.get(spec.folder, 0) + 1
        ext = "flac" if spec.fmt == "FLAC" else "wav"
        name = f"Bass_{spec.bpm:03d}bpm_{spec.key}m_{counters[spec.folder]:02d}.{ext}"
        path = root / spec.folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        audio = _render(spec, np.random.default_rng([seed, index]))
        data = audio if spec.channels == 1 else _stereo(audio, spec.sample_rate)
        sf.write(path, data, spec.sample_rate, subtype=spec.subtype, format=spec.fmt)
        if spec.kind == "bass":
            normal.append(path)
        else:
            oddities[path] = ODDITIES[spec.kind]
    log.info("demo library: %d loops + %d oddities in %s", len(normal), len(oddities), root)
    return DemoLibrary(root=root, normal=sorted(normal), oddities=oddities)


# -- planning ---------------------------------------------------------------------------------


def _plan(rng: np.random.Generator, n_normal: int) -> list[_Spec]:
    kinds = ["bass"] * n_normal + list(ODDITIES)
    order = rng.permutation(len(kinds))
    kinds = [kinds[i] for i in order]
    flac_slots = set(rng.choice(len(kinds), size=min(3, len(kinds)), replace=False).tolist())
    specs = []
    for i, kind in enumerate(kinds):
        bpm = int(rng.integers(80, 141))
        bars = int(rng.choice([1, 2, 2, 4, 4, 8]))
        if i % 9 == 4:  # a few long loops (> 10 s)
            bars = 8
        while bars > 1 and bars * 240.0 / bpm > 16.5:
            bars //= 2
        folder = FOLDERS[int(rng.choice(3, p=[0.5, 0.25, 0.25]))]
        specs.append(
            _Spec(
                kind=kind,
                folder=folder,
                bpm=bpm,
                key=str(rng.choice(list(KEYS))),
                bars=bars,
                sample_rate=int(rng.choice([44100, 48000])),
                channels=int(rng.choice([1, 2], p=[0.6, 0.4])),
                fmt="FLAC" if i in flac_slots else "WAV",
                subtype=str(rng.choice(["PCM_16", "PCM_24"])),
            )
        )
    return specs


# -- synthesis --------------------------------------------------------------------------------


def _render(spec: _Spec, rng: np.random.Generator) -> np.ndarray:
    """Mono float64 audio of one file, peak below full scale (except the clipped oddity)."""
    sr = spec.sample_rate
    n = int(round(spec.bars * 240.0 / spec.bpm * sr))
    step = 15.0 / spec.bpm  # one 16th note in seconds
    if spec.kind == "drums":
        y = _drums(n, sr, step, rng)
    elif spec.kind == "noise":
        y = rng.standard_normal(n) * 0.25
    elif spec.kind == "bell":
        y = _bell_melody(n, sr, step, KEYS[spec.key] + 48, rng)
    else:
        dark = spec.folder.endswith("Dark")
        y = _bass(n, sr, step, KEYS[spec.key], dark, rng)
        if spec.kind == "glitch":
            at = int(n * rng.uniform(0.3, 0.45))
            y[at : at + 3] = [0.98, -0.98, 0.9]  # a loud click
            gap = int(n * rng.uniform(0.6, 0.75))
            y[gap : gap + int(0.25 * sr)] = 0.0  # a 250-ms dropout
            return y
        if spec.kind == "clipped":  # a broken drive stage: folds the wave over, then clips it
            return np.clip(np.sin(25.0 * y) * 1.4, -1.0, 1.0) * 0.999
    peak = float(np.max(np.abs(y))) or 1.0
    return y / peak * 10 ** (-rng.uniform(1.0, 6.0) / 20.0)


def _note_grid(bars: int, rng: np.random.Generator, density: float) -> list[tuple[int, int, int]]:
    """(start step, length in steps, scale degree) of a one-bar motif repeated over ``bars``."""
    motif: list[tuple[int, int, int]] = []
    s = 0
    while s < 16:
        p = density * (1.4 if s % 4 == 0 else 0.8)
        if s == 0 or rng.random() < p:
            length = int(rng.choice([1, 2, 2, 3, 4]))
            degree = 0 if s == 0 else int(rng.choice(len(PENTATONIC), p=[0.35, 0.15, 0.15, 0.15, 0.1, 0.05, 0.05]))
            motif.append((s, min(length, 16 - s), degree))
            s += length
        else:
            s += 1
    notes = []
    for b in range(bars):
        for start, length, degree in motif:
            if b % 4 == 3 and start >= 12 and rng.random() < 0.5:  # a small fill at phrase ends
                degree = int(rng.choice([3, 4, 5]))
            notes.append((b * 16 + start, length, degree))
    return notes


def _adsr(n_gate: int, n_release: int, sr: int, a: float, d: float, s: float) -> np.ndarray:
    t = np.arange(n_gate) / sr
    env = np.where(t < a, t / a, s + (1.0 - s) * np.exp(-(t - a) / d))
    tail = env[-1] * np.exp(-np.arange(n_release) / max(n_release / 5.0, 1.0))
    return np.concatenate([env, tail])


def _bass(n: int, sr: int, step: float, root_midi: int, dark: bool, rng: np.random.Generator) -> np.ndarray:
    """A mono-synth bass line: saw/square/pulse oscillator, low-pass with a filter envelope."""
    from scipy.signal import butter, sosfilt

    octave = int(rng.choice([0, 12], p=[0.6, 0.4]))
    freq = np.full(n, 440.0 * 2 ** ((root_midi + octave - 69) / 12))
    amp = np.zeros(n)
    fenv = np.zeros(n)
    a, d, s = rng.uniform(0.002, 0.01), rng.uniform(0.05, 0.3), rng.uniform(0.3, 0.85)
    gate = rng.uniform(0.6, 0.95)
    step_n = step * sr
    for start, length, degree in _note_grid(max(1, round(n / (16 * step_n))), rng, rng.uniform(0.25, 0.6)):
        i0 = int(start * step_n)
        if i0 >= n:
            break
        n_gate = max(int(length * step_n * gate), 16)
        env = _adsr(n_gate, int(0.04 * sr), sr, a, d, s)[: n - i0]
        seg = slice(i0, i0 + env.size)
        freq[i0:] = 440.0 * 2 ** ((root_midi + octave + PENTATONIC[degree] - 69) / 12)
        amp[seg] = np.maximum(amp[seg], env)
        fenv[seg] = np.maximum(fenv[seg], np.exp(-np.arange(env.size) / (sr * rng.uniform(0.04, 0.2))))
    phase = np.cumsum(freq) / sr
    shape = rng.choice(["saw", "square", "pulse", "saw+sine"])
    frac = phase % 1.0
    if shape == "saw":
        osc = 2.0 * frac - 1.0
    elif shape == "square":
        osc = np.where(frac < 0.5, 1.0, -1.0)
    elif shape == "pulse":
        osc = np.where(frac < 0.25, 1.0, -0.35)
    else:
        osc = 0.5 * (2.0 * frac - 1.0) + 0.8 * np.sin(2 * np.pi * phase)
    base = rng.uniform(120.0, 250.0) if dark else rng.uniform(200.0, 500.0)
    low = sosfilt(butter(2, base, fs=sr, output="sos"), osc)
    high = sosfilt(butter(2, min(base * rng.uniform(3.0, 7.0), 0.4 * sr), fs=sr, output="sos"), osc)
    y = (low + fenv * (high - low)) * amp
    return np.tanh(rng.uniform(1.0, 2.0) * y)


def _drums(n: int, sr: int, step: float, rng: np.random.Generator) -> np.ndarray:
    """Kick on the beats, snare on 2 and 4, closed hats on 8ths or 16ths."""
    from scipy.signal import butter, sosfilt

    y = np.zeros(n)
    step_n = step * sr
    t = np.arange(int(0.35 * sr)) / sr
    kick = np.sin(2 * np.pi * (50 * t + 100 * 0.03 * (1 - np.exp(-t / 0.03)))) * np.exp(-t / 0.12)
    noise = rng.standard_normal(t.size)
    snare = (sosfilt(butter(2, [1000, 6000], "bandpass", fs=sr, output="sos"), noise) * 2.0
             + 0.5 * np.sin(2 * np.pi * 185 * t)) * np.exp(-t / 0.06)
    hat = sosfilt(butter(4, 7000, "highpass", fs=sr, output="sos"), noise) * np.exp(-t / 0.015)
    hat_every = int(rng.choice([1, 2]))
    for k in range(int(np.ceil(n / step_n))):
        i0 = int(k * step_n)
        for hit, on, gain in ((kick, k % 4 == 0, 1.0), (snare, k % 8 == 4, 0.7),
                              (hat, k % hat_every == 0, rng.uniform(0.2, 0.4))):
            if on:
                m = min(hit.size, n - i0)
                y[i0 : i0 + m] += gain * hit[:m]
    return y


def _bell_melody(n: int, sr: int, step: float, root_midi: int, rng: np.random.Generator) -> np.ndarray:
    """An FM bell playing a bright pentatonic melody two to three octaves above the basses."""
    y = np.zeros(n)
    step_n = step * sr
    for start, length, degree in _note_grid(max(1, round(n / (16 * step_n))), rng, 0.5):
        i0 = int(start * step_n)
        if i0 >= n:
            break
        f = 440.0 * 2 ** ((root_midi + PENTATONIC[degree] - 69) / 12)
        t = np.arange(min(int(1.2 * sr), n - i0)) / sr
        index = 3.0 * np.exp(-t / 0.15)
        y[i0 : i0 + t.size] += np.sin(2 * np.pi * f * t + index * np.sin(2 * np.pi * 3.5 * f * t)) * np.exp(-t / 0.4)
    return y


def _stereo(y: np.ndarray, sr: int) -> np.ndarray:
    """Two channels: the mono signal with a slightly delayed, quieter copy on the right."""
    delay = int(0.0004 * sr)
    right = np.concatenate([y[:delay] * 0.0, y[: y.size - delay]]) * 0.92 + 0.08 * y
    return np.stack([y, right], axis=1)
