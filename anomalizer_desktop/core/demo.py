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
            return _glitch(y, sr, rng)
        if spec.kind == "clipped":  # a broken drive stage: folds the wave over, then clips it
            return np.clip(np.sin(25.0 * y) * 1.4, -1.0, 1.0) * 0.999
    peak = float(np.max(np.abs(y))) or 1.0
    return y / peak * 10 ** (-rng.uniform(1.0, 6.0) / 20.0)


def _glitch(y: np.ndarray, sr: int, rng: np.random.Generator) -> np.ndarray:
    """A loud 3-sample click, and a 250-ms dropout cut into a note that carries on after it."""
    n = y.size
    at = int(n * rng.uniform(0.3, 0.45))
    y[at : at + 3] = [0.98, -0.98, 0.9]
    # The gap goes where the bass is playing at about the same level before and after it,
    # so it is a dropout in a sounding note, not a longer rest.
    gap_n = int(0.25 * sr)
    w = int(0.01 * sr)
    level = np.sqrt(np.convolve(y * y, np.ones(w) / w, mode="same"))
    ref = float(level.max())
    lo, hi = int(0.55 * n), int(0.85 * n) - gap_n
    cands = np.arange(lo, hi, max(1, w // 2))
    after = level[np.minimum(cands + gap_n + w, n - 1)]
    ok = cands[(level[cands - w] >= 0.4 * ref) & (after >= 0.4 * ref)]
    gap = int(rng.choice(ok)) if ok.size else int(n * rng.uniform(0.6, 0.75))
    y[gap : gap + gap_n] = 0.0
    return y


def _note_grid(bars: int, rng: np.random.Generator, density: float) -> list[tuple[int, int, int]]:
    """(start step, length in steps, scale degree) of a one-bar motif repeated over ``bars``.

    The motif always plays through to the end of the bar (a pickup into the downbeat), as a
    loop cut to its bars does: no long rest at the end that the start does not have.
    """
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
    last_start, last_len, last_degree = motif[-1]
    if last_start + last_len < 16 or last_len > 2:
        if last_start < 14:
            motif[-1] = (last_start, min(last_len, 14 - last_start), last_degree)
            motif.append((14, 2, int(rng.choice([0, 2, 3, 4]))))
        else:
            motif[-1] = (last_start, 16 - last_start, last_degree)
    notes = []
    for b in range(bars):
        for start, length, degree in motif:
            if b % 4 == 3 and start >= 12 and rng.random() < 0.5:  # a small fill at phrase ends
                degree = int(rng.choice([3, 4, 5]))
            notes.append((b * 16 + start, length, degree))
    return notes


def _adsr(n_gate: int, n_release: int, sr: int, a: float, d: float, s: float) -> np.ndarray:
    """Attack (raised cosine), decay to sustain, then a release that fades smoothly to 0."""
    t = np.arange(n_gate) / sr
    rise = 0.5 - 0.5 * np.cos(np.pi * np.minimum(t / a, 1.0))
    env = np.where(t < a, rise, s + (1.0 - s) * np.exp(-(t - a) / d))
    tail = env[-1] * (1.0 - np.arange(1, n_release + 1) / n_release) ** 3
    return np.concatenate([env, tail])


def _poly_blep(t: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """Band-limiting correction for a unit step at phase 0 (t: phase in [0, 1))."""
    out = np.zeros_like(t)
    lo = t < dt
    x = t[lo] / dt[lo]
    out[lo] = 2 * x - x * x - 1.0
    hi = t > 1.0 - dt
    x = (t[hi] - 1.0) / dt[hi]
    out[hi] = x * x + 2 * x + 1.0
    return out


def _bass(n: int, sr: int, step: float, root_midi: int, dark: bool, rng: np.random.Generator) -> np.ndarray:
    """A mono-synth bass line: saw/square/pulse oscillator, low-pass with a filter envelope.

    Rendered like a loop made in a DAW: band-limited oscillators, notes with short attack and
    release ramps, and the tail that rings past the loop end wrapped onto its start, so the
    end joins the start without a jump.
    """
    from scipy.signal import butter, sosfilt

    pre = int(0.05 * sr)  # filter warm-up, dropped
    tail = int(0.25 * sr)  # rings past the loop end, wrapped onto the start
    m = pre + n + tail
    octave = int(rng.choice([0, 12], p=[0.6, 0.4]))
    freq = np.full(m, 440.0 * 2 ** ((root_midi + octave - 69) / 12))
    amp = np.zeros(m)
    fenv = np.zeros(m)
    a, d, s = rng.uniform(0.006, 0.015), rng.uniform(0.05, 0.3), rng.uniform(0.3, 0.85)
    gate = rng.uniform(0.6, 0.95)
    n_release = int(rng.uniform(0.04, 0.08) * sr)
    step_n = step * sr
    for start, length, degree in _note_grid(max(1, round(n / (16 * step_n))), rng, rng.uniform(0.25, 0.6)):
        i0 = int(start * step_n)
        if i0 >= n:
            break
        i0 += pre
        n_gate = max(int(length * step_n * gate), 16)
        env = _adsr(n_gate, n_release, sr, a, d, s)[: m - i0]
        seg = slice(i0, i0 + env.size)
        freq[i0:] = 440.0 * 2 ** ((root_midi + octave + PENTATONIC[degree] - 69) / 12)
        amp[seg] = np.maximum(amp[seg], env)
        decay = np.exp(-np.arange(env.size) / (sr * rng.uniform(0.04, 0.2)))
        fenv[seg] = np.maximum(fenv[seg], decay * np.minimum(env / max(env.max(), 1e-9) * 4.0, 1.0))
    # A little analog pitch drift (a few cents, moving every 0.25 s): steady notes do not form
    # lines as exact as mains hum.
    points = rng.standard_normal(int(m / sr / 0.25) + 2) * 4.0
    freq = freq * 2 ** (np.interp(np.arange(m) / sr / 0.25, np.arange(points.size), points) / 1200)
    dt = freq / sr
    phase = np.cumsum(dt)
    shape = rng.choice(["saw", "square", "pulse", "saw+sine"])
    frac = phase % 1.0
    saw = 2.0 * frac - 1.0 - _poly_blep(frac, dt)
    if shape == "saw":
        osc = saw
    elif shape == "square":
        osc = np.where(frac < 0.5, 1.0, -1.0) + _poly_blep(frac, dt) - _poly_blep((frac + 0.5) % 1.0, dt)
    elif shape == "pulse":
        osc = np.where(frac < 0.25, 1.0, -1.0) + _poly_blep(frac, dt) - _poly_blep((frac + 0.75) % 1.0, dt)
        osc += 0.5  # zero mean
    else:
        osc = 0.5 * saw + 0.8 * np.sin(2 * np.pi * phase)
    base = rng.uniform(120.0, 250.0) if dark else rng.uniform(200.0, 500.0)
    # 24-dB/octave filters, opened by the filter envelope to at most 800 Hz: a round bass whose
    # oscillator edges do not ring out as clicks (a 41-Hz saw has one edge every 24 ms)
    low = sosfilt(butter(4, base, fs=sr, output="sos"), osc)
    high = sosfilt(butter(4, min(base * rng.uniform(1.5, 3.0), 800.0), fs=sr, output="sos"), osc)
    y = ((low + fenv * (high - low)) * amp)[pre:]
    y[:tail] += y[n:]
    y = np.tanh(rng.uniform(1.0, 2.0) * y[:n])
    # DC blocker (the saturated pulse is asymmetric), run around the loop so the seam stays joined
    warm = min(n, int(0.2 * sr))
    hp = butter(1, 20.0, "highpass", fs=sr, output="sos")
    return sosfilt(hp, np.concatenate([y[n - warm :], y]))[warm:]


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
    """Two channels: the mono signal with a slightly delayed, quieter copy on the right.

    The delay runs around the loop (what leaves the end comes in at the start), so the right
    channel joins its start as seamlessly as the left."""
    delay = int(0.0004 * sr)
    right = np.roll(y, delay) * 0.92 + 0.08 * y
    return np.stack([y, right], axis=1)
