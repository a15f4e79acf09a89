"""Realistic test loops: GM instruments rendered by fluidsynth, drum kits from real one-shot
samples, and a numpy-only synthetic set; plus clean "mastering" variants (peak-normalised,
loud/limited to -0.1 dBFS, deliberately distorted, 16-bit dithered).

    specs = clean_specs(24, seed=0)
    loops = render_loops(specs, cache_dir)       # cached by spec, so re-rendering is free

Every loop is seamless: GM loops are the middle of three rendered repetitions (tails of the
previous repetition run into the start), kit loops wrap their tails. Nothing here is written
into the repository: callers pass a temporary or ignored cache directory.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from . import drumkit, midi, patterns

# 16th-note lengths (ms) for the tempi used; bpm = 15000 / m. Multiples of 3 also allow a
# triplet grid; every loop length is then a multiple of 4 ms (fluidsynth's block grid).
TEMPO_STEPS_MS = (213, 168, 150, 135, 126, 114, 108, 96, 88)
GM_ROLES = ("bass", "piano", "epiano", "organ", "guitar", "dist_guitar", "strings", "pad",
            "pluck", "brass")
MASTERS = ("plain", "loud", "distorted")
RENDER_VERSION = 3   # bump when rendering changes, so cached renders are not reused


@dataclass(frozen=True)
class LoopSpec:
    """What to render. ``source``: "gm" (fluidsynth), "kit:<name>" or "synth" (numpy only)."""

    name: str
    source: str
    roles: tuple[str, ...]
    m: int                      # 16th-note length in ms
    bars: int = 1
    style: str = "rock"         # drum groove, when "drums" is in roles
    seed: int = 0
    master: str = "plain"
    dither16: bool = True
    shift: tuple[int, float] | None = None   # (index of a drum hit, seconds) to put it off grid

    @property
    def bpm(self) -> float:
        return 15000.0 / self.m

    @property
    def length_ms(self) -> int:
        return 16 * self.m * self.bars

    def key(self) -> str:
        data = json.dumps([RENDER_VERSION, asdict(self)], sort_keys=True).encode()
        return hashlib.sha1(data).hexdigest()[:16]


@dataclass(frozen=True)
class Loop:
    spec: LoopSpec
    samples: np.ndarray         # (frames, 2) float32
    sample_rate: int
    hit_times_s: tuple[float, ...] = field(default=())   # drum hits (for off-grid planting)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate


def _groove(spec: LoopSpec) -> tuple[list[patterns.Hit], float]:
    rng = np.random.default_rng(spec.seed + 7)
    hits, per_beat = patterns.drum_groove(spec.style, spec.bars, rng)
    return hits, 4 * spec.m / per_beat / 1000.0


def _gm_segment(spec: LoopSpec) -> midi.Segment:
    rng = np.random.default_rng(spec.seed)
    loop_ms = spec.length_ms
    parts: list[midi.Part] = []
    notes: list[midi.Note] = []
    channel = 0
    for role in spec.roles:
        if role == "drums":
            hits, step_s = _groove(spec)
            shift = dict([spec.shift]) if spec.shift else {}
            for r in range(3):
                for i, h in enumerate(hits):
                    dt = shift.get(i, 0.0) if r == 1 else 0.0
                    start = r * loop_ms + int(round((h.step * step_s + dt) * 1000))
                    notes.append(midi.Note(max(0, start), 60, patterns.GM_DRUM_NOTES[h.role],
                                           h.velocity, midi.DRUM_CHANNEL))
            parts.append(midi.Part(midi.DRUM_CHANNEL, int(rng.choice([0, 8, 16, 24, 25])), 110))
            continue
        part = patterns.gm_part(role, channel, rng)
        parts.append(part)
        for n in patterns.melodic_notes(role, spec.bars, spec.m, 3, loop_ms, rng):
            notes.append(replace(n, channel=channel))
        channel += 1
    return midi.Segment(tuple(parts), tuple(notes), 3 * loop_ms)


def _hit_times(spec: LoopSpec) -> tuple[float, ...]:
    if "drums" not in spec.roles:
        return ()
    hits, step_s = _groove(spec)
    shift = dict([spec.shift]) if spec.shift else {}
    return tuple(h.step * step_s + shift.get(i, 0.0) for i, h in enumerate(hits))


def _synth_loop(spec: LoopSpec, sr: int = 44_100) -> np.ndarray:
    """Numpy-only: synthetic drums and/or an additive bass + pad, seamless by construction."""
    n = int(round(spec.length_ms * sr / 1000))
    out = np.zeros((n, 2), np.float32)
    rng = np.random.default_rng(spec.seed)
    t = np.arange(n) / sr
    if "drums" in spec.roles:
        hits, step_s = _groove(spec)
        shift = dict([spec.shift]) if spec.shift else {}
        out += drumkit.render_hits("synthetic", hits, step_s, n, sr, shift)
    step = spec.m / 1000.0
    if "bass" in spec.roles:
        f = 55.0 * 2 ** (rng.integers(-5, 7) / 12)
        note = 2 * step
        tau = t % note            # attack 5 ms, decay, 10-ms release before the next note
        env = (np.minimum(1.0, tau / 0.005) * np.exp(-tau / 0.25)
               * np.minimum(1.0, (note - tau) / 0.01))
        y = sum(np.sin(2 * np.pi * k * f * t) / k for k in range(1, 6)) * env * 0.5
        out += y[:, None].astype(np.float32)
    if "pad" in spec.roles:
        f = 220.0 * 2 ** (rng.integers(0, 12) / 12)
        cycles = np.round(f * n / sr)            # whole cycles per loop -> seamless
        y = sum(np.sin(2 * np.pi * (cycles + d) * np.arange(n) / n) for d in (0, 1, 2))
        y = 0.2 * y * (1 + 0.3 * np.sin(2 * np.pi * np.arange(n) / n))
        out[:, 0] += y.astype(np.float32)
        out[:, 1] += (0.9 * y).astype(np.float32)
    return out


def master(audio: np.ndarray, spec: LoopSpec) -> np.ndarray:
    """Clean mastering variants: normalise, limit to -0.1 dBFS, saturate, dither to 16 bit."""
    from scipy.ndimage import minimum_filter1d, uniform_filter1d

    rng = np.random.default_rng(spec.seed + 1)
    x = audio.astype(np.float64)
    x -= x.mean(axis=0)   # no steady DC (the note-by-note drift of bass samples stays)
    peak = np.max(np.abs(x)) + 1e-12
    if spec.master == "distorted":
        from scipy.signal import butter, sosfiltfilt

        # Drive into a saturator, then a tone/cabinet low-pass, as a distortion plug-in does.
        x = np.tanh(rng.uniform(3, 8) * x / peak)
        sr_guess = 48_000 if spec.source == "gm" else 44_100
        sos = butter(2, rng.uniform(5_000, 9_000), "low", fs=sr_guess, output="sos")
        pad = min(len(x), 4096)   # filter circularly so the loop stays seamless
        x = sosfiltfilt(sos, np.concatenate([x[-pad:], x, x[:pad]]), axis=0)[pad:-pad]
        x *= 10 ** (rng.uniform(-3, -0.3) / 20) / (np.max(np.abs(x)) + 1e-12)
    elif spec.master == "loud":
        x *= 10 ** (rng.uniform(6, 10) / 20) / peak
        ceiling = 10 ** (-0.1 / 20)
        env = np.max(np.abs(x), axis=1)
        gain = np.minimum(1.0, ceiling / np.maximum(env, 1e-12))
        look = int(0.003 * 48_000)
        gain = minimum_filter1d(gain, 2 * look + 1, mode="wrap")
        gain = uniform_filter1d(gain, look, mode="wrap")
        x = x * gain[:, None]
    else:
        x *= 10 ** (rng.uniform(-6, -1) / 20) / peak
    if spec.dither16:
        lsb = 1 / 32768
        x = np.round(x / lsb + rng.uniform(-0.5, 0.5, x.shape) + rng.uniform(-0.5, 0.5, x.shape))
        x = np.clip(x, -32768, 32767) * lsb
    return x.astype(np.float32)


def render_loops(specs: list[LoopSpec], cache_dir: Path) -> list[Loop]:
    """Render (or load from ``cache_dir``) every spec; GM specs go through one fluidsynth run."""
    import soundfile as sf

    cache_dir.mkdir(parents=True, exist_ok=True)
    raw: dict[str, tuple[np.ndarray, int]] = {}
    todo_gm = []
    for spec in specs:
        path = cache_dir / f"{spec.key()}.wav"
        if path.is_file():
            audio, sr = sf.read(path, dtype="float32", always_2d=True)
            raw[spec.key()] = (audio, sr)
        elif spec.source == "gm":
            todo_gm.append(spec)
        else:
            if spec.source == "synth":
                audio, sr = _synth_loop(spec), 44_100
            else:
                kit = spec.source.split(":", 1)[1]
                hits, step_s = _groove(spec)
                n = int(round(spec.length_ms * drumkit.KIT_RATE / 1000))
                shift = dict([spec.shift]) if spec.shift else {}
                audio = drumkit.render_hits(kit, hits, step_s, n, drumkit.KIT_RATE, shift)
                sr = drumkit.KIT_RATE
            audio = master(audio, spec)
            sf.write(path, audio, sr, subtype="FLOAT")
            raw[spec.key()] = (audio, sr)
    if todo_gm:
        segs = [_gm_segment(s) for s in todo_gm]
        rendered = midi.render_segments(segs, cache_dir / "render")
        for spec, audio in zip(todo_gm, rendered):
            n = len(audio) // 3
            # The middle repetition, its first 20 ms crossfaded from the third repetition's
            # start: that is exactly what follows its own end, so the seam is seamless even
            # where the synth's modulators do not repeat sample for sample.
            loop = audio[n:2 * n].copy()
            fade = int(0.02 * midi.RENDER_RATE)
            w = np.linspace(0.0, 1.0, fade, dtype=np.float32)[:, None]
            loop[:fade] = audio[2 * n: 2 * n + fade] * (1 - w) + loop[:fade] * w
            audio = master(loop, spec)
            sf.write(cache_dir / f"{spec.key()}.wav", audio, midi.RENDER_RATE, subtype="FLOAT")
            raw[spec.key()] = (audio, midi.RENDER_RATE)
    return [Loop(s, raw[s.key()][0], raw[s.key()][1], _hit_times(s)) for s in specs]


def clean_specs(n: int, seed: int = 0, sources: tuple[str, ...] = ("gm", "kit")) -> list[LoopSpec]:
    """``n`` varied clean loop specs: instruments, mixes, drum kits, tempi 70-170 BPM, masters."""
    rng = np.random.default_rng(seed)
    kits = drumkit.available_kits() or ["synthetic"]
    out = []
    for i in range(n):
        src = sources[i % len(sources)]
        m = int(TEMPO_STEPS_MS[int(rng.integers(0, len(TEMPO_STEPS_MS)))])
        style = str(rng.choice(patterns.DRUM_STYLES))
        if style == "shuffle" and m % 3:
            style = "rock"
        bars = 1 if m >= 150 else 2
        master_kind = str(rng.choice(MASTERS, p=[0.6, 0.2, 0.2]))
        if src == "kit":
            kit = kits[i // len(sources) % len(kits)]
            roles, source = ("drums",), f"kit:{kit}"
        elif src == "synth":
            roles = (("drums",), ("bass",), ("pad",), ("drums", "bass"))[i % 4]
            source = "synth"
        else:
            source = "gm"
            r = rng.random()
            if r < 0.2:
                roles = ("drums",)
            elif r < 0.35:
                roles = ("drums", "bass", str(rng.choice(["piano", "epiano", "guitar", "organ"])))
            else:
                roles = (str(GM_ROLES[i % len(GM_ROLES)]),)
        name = f"{source.replace(':', '-')}_{'+'.join(roles)}_{15000 / m:.0f}bpm_{style}_{i:03d}"
        out.append(LoopSpec(name, source, roles, m, bars, style, int(seed * 1000 + i),
                            master_kind, bool(rng.random() < 0.7)))
    return out


def synth_loop(roles: tuple[str, ...] = ("drums", "bass"), m: int = 125, bars: int = 2,
               style: str = "rock", seed: int = 0, master_kind: str = "plain",
               dither16: bool = False, shift: tuple[int, float] | None = None) -> Loop:
    """A numpy-only loop (no files, no fluidsynth): synthetic drums, bass and/or pad at
    44.1 kHz, seamless, mastered like the rendered ones."""
    spec = LoopSpec(f"synth_{'+'.join(roles)}_{seed}", "synth", roles, m, bars, style, seed,
                    master_kind, dither16, shift)
    return Loop(spec, master(_synth_loop(spec), spec), 44_100, _hit_times(spec))
