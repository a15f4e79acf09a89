"""Sequencing real one-shots into loops (Sonic Pi, LMMS and Hydrogen samples).

Pitched one-shots are transposed by resampling; bass voices are monophonic (a new note stops
the previous one), guitar chord gestures trigger a chord sample, palm-muted notes are
shortened and darkened; drum hits pick velocity layers, open hi-hats are choked by the next
closed/pedal hat. Everything renders at ``RATE`` into a stereo buffer."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy import signal

from . import dsp
from .score import Note
from .sources import HYDROGEN_DIR, ROLE_FALLBACK, KitInstrument, parse_kit

RATE = 48_000

ROLE_LEVEL_DB = {"kick": 0.0, "snare": -1.0, "ghost": -1.0, "rim": -5.0, "clap": -2.0,
                 "hh_closed": -8.0, "hh_pedal": -10.0, "hh_open": -8.0, "ride": -9.0,
                 "crash": -7.0, "tom_hi": -3.0, "tom_mid": -3.0, "tom_lo": -3.0, "perc": -9.0,
                 "shaker": -9.0}


@lru_cache(maxsize=512)
def load(path: str, start: float = 0.0, end: float | None = None,
         normalise: bool = True) -> np.ndarray:
    """A one-shot at RATE, (frames, channels) float32, DC-free, trailing silence trimmed."""
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    a = int(start * sr)
    b = len(x) if end is None else min(len(x), int(end * sr))
    x = x[a:b].astype(np.float64)
    if end is not None or start > 0:
        n = min(len(x), int(0.03 * sr))
        x = dsp.fade_out(x, n)
        k = min(len(x), int(0.002 * sr))
        x[:k] *= np.linspace(0, 1, k)[:, None]
    x = dsp.resample(x, sr, RATE)
    x = dsp.dc_block(x, RATE, 10.0)
    pk = dsp.peak(x)
    if pk <= 1e-6:
        return np.zeros((0, x.shape[1]), np.float32)
    if normalise:
        x = x / pk
    env = np.max(np.abs(x), axis=1)
    keep = np.nonzero(env > 10 ** (-70 / 20) * env.max())[0]
    if len(keep):
        x = x[: keep[-1] + 1]
        x = dsp.fade_out(x, min(len(x), int(0.005 * RATE)))
    return x.astype(np.float32)


@lru_cache(maxsize=2048)
def transposed(path: str, start: float, end: float | None, semitones: int) -> np.ndarray:
    return dsp.pitch_ratio_resample(load(path, start, end), semitones).astype(np.float32)


def _stereo(x: np.ndarray, pan: float) -> np.ndarray:
    """Equal-power pan of a mono voice, balance of a stereo one (pan -1..1)."""
    th = (pan + 1) * np.pi / 4
    gl, gr = np.cos(th) * np.sqrt(2), np.sin(th) * np.sqrt(2)
    if x.shape[1] == 1:
        return np.concatenate([x * gl, x * gr], axis=1)
    return x[:, :2] * np.array([min(1.0, gl), min(1.0, gr)])


def _mix(buf: np.ndarray, x: np.ndarray, at: int) -> None:
    if at >= len(buf) or len(x) == 0:
        return
    n = min(len(x), len(buf) - at)
    buf[at:at + n] += x[:n]


def _release(x: np.ndarray, keep: int, rel: int) -> np.ndarray:
    if keep >= len(x):
        return x
    y = x[: keep + rel].copy()
    r = len(y) - keep
    if r > 0:
        y[keep:] *= (0.5 + 0.5 * np.cos(np.linspace(0, np.pi, r)))[:, None]
    return y


_MUTE_SOS = signal.butter(2, 1400, "low", fs=RATE, output="sos")


# ------------------------------------------------------------------ pitched instruments

@dataclass
class PitchedVoice:
    file: str
    base: int
    art: str
    start: float = 0.0
    end: float | None = None


def render_bass(notes: list[Note], length_s: float, voice: PitchedVoice,
                release_ms: float = 35.0) -> np.ndarray:
    buf = np.zeros((int(length_s * RATE) + 1, 2))
    ordered = sorted(notes, key=lambda n: n.t)
    for i, n in enumerate(ordered):
        x = transposed(voice.file, voice.start, voice.end, int(n.pitch - voice.base))
        end = n.t + n.dur
        if i + 1 < len(ordered):
            end = min(end, ordered[i + 1].t + 0.006)  # monophonic: the next note stops it
        rel = int(RATE * (0.012 if n.role == "ghost" else release_ms / 1000))
        x = _release(x, max(1, int((end - n.t) * RATE)), rel)
        g = (n.vel / 127) ** 1.4 * (0.55 if n.role == "ghost" else 1.0)
        if n.role == "ghost":
            x = signal.sosfilt(_MUTE_SOS, x, axis=0)
        _mix(buf, _stereo(x * g, 0.0), int(round(n.t * RATE)))
    return buf


def render_guitar(notes: list[Note], length_s: float, chord: PitchedVoice, single: PitchedVoice,
                  pan: float, release_ms: float = 70.0) -> np.ndarray:
    buf = np.zeros((int(length_s * RATE) + 1, 2))
    gestures: dict[int, list[Note]] = {}
    singles = []
    for n in notes:
        if n.group >= 0:
            gestures.setdefault(n.group, []).append(n)
        else:
            singles.append(n)
    events = []
    for g in gestures.values():
        low = min(g, key=lambda n: n.pitch)
        shift = ((low.pitch - chord.base + 6) % 12) - 6
        t = min(n.t for n in g)
        events.append((t, max(n.t + n.dur for n in g) - t, max(n.vel for n in g),
                       any(n.role == "mute" for n in g), chord, shift))
    for n in singles:
        shift = n.pitch - single.base
        while shift > 7:
            shift -= 12
        while shift < -7:
            shift += 12
        events.append((n.t, n.dur, n.vel, n.role == "mute", single, shift))
    for t, dur, vel, mute, v, shift in sorted(events, key=lambda e: e[0]):
        x = transposed(v.file, v.start, v.end, int(shift))
        rel = int(RATE * (0.02 if mute else release_ms / 1000))
        x = _release(x, max(1, int(dur * RATE)), rel)
        if mute:
            x = signal.sosfilt(_MUTE_SOS, x, axis=0)
        g = (vel / 127) ** 1.5 * (0.8 if mute else 1.0)
        _mix(buf, _stereo(x * g, pan), int(round(t * RATE)))
    return buf


# ------------------------------------------------------------------ drums

class Kit:
    """Role -> sample choice, with velocity layers and per-role pan."""

    def __init__(self, name: str):
        self.name = name
        self.roles: dict[str, list] = {}
        self.pans: dict[str, float] = {}
        self.chosen: dict[str, str] = {}

    def resolve(self, role: str) -> str | None:
        if role in self.roles:
            return role
        for alt in ROLE_FALLBACK.get(role, ()):
            if alt in self.roles:
                return alt
        return None

    def hit(self, role: str, vel: int, rr: int) -> tuple[np.ndarray, float] | None:
        raise NotImplementedError


class PoolKit(Kit):
    """A kit assembled from a one-shot pool (one sample per role, chosen per loop)."""

    def __init__(self, name: str, pool: dict[str, tuple[Path, ...]], rng: np.random.Generator):
        super().__init__(name)
        hat_side = float(rng.choice([-1, 1]))
        for role, files in pool.items():
            if files:
                f = files[int(rng.integers(0, len(files)))]
                self.roles[role] = [str(f)]
                self.chosen[role] = f.name
        self.pans = {"kick": 0.0, "snare": 0.05 * hat_side, "ghost": 0.05 * hat_side,
                     "rim": 0.1 * hat_side, "clap": 0.0, "hh_closed": 0.3 * hat_side,
                     "hh_pedal": 0.3 * hat_side, "hh_open": 0.3 * hat_side,
                     "ride": -0.35 * hat_side, "crash": -0.3 * hat_side,
                     "tom_hi": 0.25 * hat_side, "tom_mid": 0.0, "tom_lo": -0.3 * hat_side,
                     "perc": -0.4 * hat_side, "shaker": 0.4 * hat_side}

    def hit(self, role, vel, rr):
        r = role
        if role == "snare" and vel < 50 and "ghost" in self.roles:
            r = "ghost"
        r = self.resolve(r)
        if r is None:
            return None
        x = load(self.roles[r][0])
        g = (vel / 127) ** 1.7 * dsp.undb(ROLE_LEVEL_DB.get(r, -6.0))
        return _stereo(x, self.pans.get(r, 0.0)) * g, 1.0


class HydrogenKit(Kit):
    def __init__(self, kit_name: str, rng: np.random.Generator):
        super().__init__(f"hydrogen:{kit_name}")
        roles = parse_kit(HYDROGEN_DIR / kit_name)
        for role, insts in roles.items():
            inst = insts[int(rng.integers(0, len(insts)))]
            self.roles[role] = [inst]
            self.chosen[role] = inst.name

    @staticmethod
    @lru_cache(maxsize=256)
    def _norm(files: tuple[str, ...]) -> float:
        return max(dsp.peak(load(f, normalise=False)) for f in files) or 1.0

    def hit(self, role, vel, rr):
        r = self.resolve(role)
        if r is None:
            return None
        inst: KitInstrument = self.roles[r][0]
        v = vel / 127
        cands = [l for l in inst.layers if l.vmin - 1e-6 <= v <= l.vmax + 1e-6]
        if not cands:
            cands = [min(inst.layers, key=lambda l: min(abs(l.vmin - v), abs(l.vmax - v)))]
        lay = cands[rr % len(cands)]
        norm = self._norm(tuple(str(l.file) for l in inst.layers))
        x = load(str(lay.file), normalise=False) / norm
        if x.shape[1] == 1:
            x = np.concatenate([x, x], axis=1)
        x = x[:, :2] * np.array([inst.pan_l, inst.pan_r]) * lay.gain
        g = v ** 1.7 * dsp.undb(ROLE_LEVEL_DB.get(r, -6.0)) * min(2.0, max(0.2, inst.gain))
        return x, g


def render_drums(notes: list[Note], length_s: float, kit: Kit) -> np.ndarray:
    buf = np.zeros((int(length_s * RATE) + 1, 2))
    ordered = sorted(notes, key=lambda n: n.t)
    closes = [n.t for n in ordered if n.role in ("hh_closed", "hh_pedal")]
    counter: dict[str, int] = {}
    for n in ordered:
        counter[n.role] = counter.get(n.role, 0) + 1
        res = kit.hit(n.role, n.vel, counter[n.role])
        if res is None:
            continue
        x, g = res
        if n.role == "hh_open":
            nxt = [t for t in closes if t > n.t + 0.01]
            if nxt:
                x = _release(x, max(1, int((nxt[0] - n.t) * RATE)), int(0.02 * RATE))
        _mix(buf, x * g, int(round(n.t * RATE)))
    return buf
