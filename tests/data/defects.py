"""Plant one defect of a known kind at a known place into clean loop audio.

    planted = plant("click", loop.samples, loop.sample_rate, rng)
    planted.samples, planted.start_s, planted.end_s

``start_s`` is where a check should report the defect (the first affected sample). Off-grid
onsets are planted at note level instead (see :func:`off_grid_spec`), because moving a hit
means rendering the loop again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .loops import Loop, LoopSpec

KINDS = ("click", "dropout", "clipping", "dc_offset", "hum", "noise_burst", "silence_head",
         "silence_tail", "loop_seam", "off_grid", "stereo_phase")


@dataclass(frozen=True)
class Planted:
    kind: str
    samples: np.ndarray
    start_s: float
    end_s: float
    note: str = ""


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12)


def _playing_position(x: np.ndarray, sr: int, length: int, rng: np.random.Generator,
                      margin_s: float = 0.1) -> int:
    """A start index where the loop is sounding over ``length`` samples (tries a few)."""
    lo, hi = int(margin_s * sr), max(int(margin_s * sr) + 1, len(x) - length - int(margin_s * sr))
    ref = _rms(x)
    best, best_level = lo, -1.0
    for _ in range(30):
        p = int(rng.integers(lo, hi))
        seg = x[p: p + length]
        level = min(_rms(seg[: max(1, length // 4)]), _rms(seg))
        if level >= 0.3 * ref:
            return p
        if level > best_level:
            best, best_level = p, level
    return best


def plant(kind: str, samples: np.ndarray, sr: int, rng: np.random.Generator) -> Planted:
    """Return a copy of ``samples`` ((frames, ch) float32) with one defect of ``kind``."""
    x = np.array(samples, dtype=np.float32, copy=True)
    n = len(x)
    if kind == "click":
        width = int(rng.integers(1, 4))
        p = int(rng.integers(int(0.05 * sr), n - int(0.05 * sr)))
        amp = float(rng.uniform(0.2, 0.5)) * float(rng.choice([-1.0, 1.0]))
        chans = slice(None) if rng.random() < 0.5 else slice(0, 1)
        x[p: p + width, chans] += amp
        np.clip(x, -1.0, 1.0, out=x)
        return Planted(kind, x, p / sr, (p + width) / sr, f"{width} samples {amp:+.2f}")
    if kind == "dropout":
        length = int(rng.uniform(0.02, 0.08) * sr)
        p = _playing_position(x, sr, length, rng)
        gain = 0.0 if rng.random() < 0.5 else 10 ** (-60 / 20)
        x[p: p + length] *= gain
        return Planted(kind, x, p / sr, (p + length) / sr, "digital zero" if gain == 0 else "-60 dB")
    if kind == "clipping":
        peak = float(np.max(np.abs(x))) + 1e-12
        if rng.random() < 0.5:   # the whole bounce too hot
            x *= float(rng.uniform(1.3, 3.0)) / peak
        else:                    # one section pushed into the rail (10-ms gain ramps)
            length = int(rng.uniform(0.2, 1.0) * sr)
            p = _playing_position(x, sr, length, rng, 0.05)
            ramp = int(0.01 * sr)
            g = np.ones(n, np.float32)
            boost = float(rng.uniform(1.5, 3.0)) / (np.max(np.abs(x[p: p + length])) + 1e-12)
            env = np.ones(length, np.float32) * boost
            env[:ramp] = np.linspace(1, boost, ramp)
            env[-ramp:] = np.linspace(boost, 1, ramp)
            g[p: p + length] = env
            x *= g[:, None]
        x = np.clip(x, -1.0, 1.0)
        # where it is clipped: the first and last run of >= 3 samples flat on the rail
        rail = (np.max(np.abs(x), axis=1) >= 1.0).astype(np.int8)
        runs = np.flatnonzero(np.convolve(rail, np.ones(3, np.int8), "valid") == 3)
        hit = runs if runs.size else np.flatnonzero(rail)
        return Planted(kind, x, hit[0] / sr, (hit[-1] + 2) / sr,
                       f"{int(rail.sum())} samples at the rail")
    if kind == "dc_offset":
        dc = float(rng.uniform(0.02, 0.1)) * float(rng.choice([-1.0, 1.0]))
        return Planted(kind, x + dc, 0.0, n / sr, f"{dc:+.3f}")
    if kind == "hum":
        f0 = float(rng.choice([50.0, 60.0]))
        t = np.arange(n) / sr
        hum = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 2 * np.pi)) / k ** 1.2
                  for k in range(1, 6))
        level_db = float(rng.uniform(-30, -20))
        hum *= _rms(x) * 10 ** (level_db / 20) / _rms(hum)
        return Planted(kind, x + hum[:, None].astype(np.float32), 0.0, n / sr,
                       f"{f0:.0f} Hz {level_db:.0f} dB")
    if kind == "noise_burst":
        length = int(rng.uniform(0.1, 0.3) * sr)
        p = int(rng.integers(int(0.05 * sr), n - length - int(0.05 * sr)))
        noise = rng.normal(0, 1, (length, x.shape[1])).astype(np.float32)
        ramp = int(0.002 * sr)
        noise[:ramp] *= np.linspace(0, 1, ramp)[:, None]
        noise[-ramp:] *= np.linspace(1, 0, ramp)[:, None]
        level_db = float(rng.uniform(-18, -6))
        x[p: p + length] += noise * _rms(x) * 10 ** (level_db / 20)
        return Planted(kind, x, p / sr, (p + length) / sr, f"{level_db:.0f} dB")
    if kind == "silence_head":
        length = int(rng.uniform(0.25, 1.0) * sr)
        out = np.concatenate([np.zeros((length, x.shape[1]), np.float32), x])[:n]
        return Planted(kind, out, 0.0, length / sr)
    if kind == "silence_tail":
        length = int(rng.uniform(0.25, 1.0) * sr)
        fade = int(0.02 * sr)
        y = x.copy()
        y[-fade:] *= np.linspace(1, 0, fade, dtype=np.float32)[:, None]
        out = np.concatenate([y, np.zeros((length, x.shape[1]), np.float32)])
        return Planted(kind, out, n / sr, (n + length) / sr)
    if kind == "loop_seam":
        # The export range ends early or late: cut where the loop is sounding.
        for _ in range(30):
            cut = int(rng.uniform(0.02, 0.3) * sr)
            tail = x[n - cut - int(0.005 * sr): n - cut]
            if _rms(tail) >= 0.3 * _rms(x):
                break
        out = x[: n - cut] if rng.random() < 0.7 else np.concatenate([x, x[:cut]])
        return Planted(kind, out, len(out) / sr, len(out) / sr, f"{cut / sr * 1000:.0f} ms")
    if kind == "stereo_phase":
        if x.shape[1] < 2:
            x = np.repeat(x, 2, axis=1)
        x[:, 1] *= -1.0
        return Planted(kind, x, 0.0, n / sr)
    raise ValueError(f"cannot plant {kind!r} into audio (off_grid is planted with off_grid_spec)")


def off_grid_spec(loop: Loop, rng: np.random.Generator) -> tuple[LoopSpec, float] | None:
    """A copy of a drum loop's spec with one strong hit moved 30-60 ms; and the new hit time."""
    from . import loops

    spec = loop.spec
    if "drums" not in spec.roles:
        return None
    hits, _ = loops._groove(spec)
    strong = [i for i, h in enumerate(hits)
              if h.role in ("kick", "snare", "clap") and h.step > 0 and h.velocity >= 80]
    if not strong:
        return None
    i = int(rng.choice(strong))
    shift = float(rng.uniform(0.03, 0.06)) * float(rng.choice([-1.0, 1.0]))
    new = replace(spec, shift=(i, shift), name=spec.name + "_offgrid")
    return new, loops._hit_times(new)[i]
