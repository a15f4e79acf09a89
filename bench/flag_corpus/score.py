"""Beat-based note events and their performance (swing, humanised timing and velocity)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass
class Ev:
    """One note in beats. ``group`` ties notes that are played as one gesture (the strings of
    a strum): they share the timing jitter. ``offset_ms`` is a fixed delay added after the
    performance timing (the strum spread)."""

    beat: float
    dur: float
    pitch: int
    vel: int
    role: str = ""      # drums: kick/snare/...; pitched: "", "ghost", "mute", "slap", "pop"
    group: int = -1
    offset_ms: float = 0.0


@dataclass
class Note:
    """A performed note in seconds from the loop start (may be slightly negative)."""

    t: float
    dur: float
    pitch: int
    vel: int
    role: str = ""
    group: int = -1


@dataclass
class Pattern:
    events: list[Ev]
    style: str
    beats: float
    swing_grid: float = 0.25  # 0.25: 16th swing, 0.5: 8th swing
    meta: dict = field(default_factory=dict)


@dataclass
class Performance:
    notes: list[Note]
    loop_s: float
    meta: dict = field(default_factory=dict)


def swing_beat(beat: float, swing: float, grid: float) -> float:
    """Delay the off-grid subdivisions: with ``grid`` = 0.25 every second 16th moves by
    ``swing * grid`` beats (0.33 would be a full triplet feel)."""
    k = beat / grid
    ki = round(k)
    if abs(k - ki) < 1e-6 and ki % 2 == 1:
        return beat + swing * grid
    return beat


def perform(pat: Pattern, bpm: float, swing: float, jitter_ms: float, vel_jitter: float,
            rng: np.random.Generator) -> Performance:
    spb = 60.0 / bpm
    jit_by_group: dict[int, float] = {}
    notes = []
    for e in sorted(pat.events, key=lambda e: (e.beat, e.offset_ms, e.pitch)):
        b = swing_beat(e.beat, swing, pat.swing_grid)
        if e.group >= 0 and e.group in jit_by_group:
            j = jit_by_group[e.group]
        else:
            j = float(np.clip(rng.normal(0.0, jitter_ms / 2.0), -jitter_ms, jitter_ms)) / 1000.0
            if e.group >= 0:
                jit_by_group[e.group] = j
        v = int(np.clip(round(e.vel + rng.normal(0.0, vel_jitter)), 1, 127))
        t = b * spb + j + e.offset_ms / 1000.0
        notes.append(Note(t=t, dur=max(0.02, e.dur * spb), pitch=e.pitch, vel=v, role=e.role,
                          group=e.group))
    return Performance(notes=notes, loop_s=pat.beats * spb, meta=dict(pat.meta))


def shift_note(perf: Performance, index: int, dt: float) -> Performance:
    notes = [replace(n) for n in perf.notes]
    notes[index] = replace(notes[index], t=notes[index].t + dt)
    return Performance(notes=notes, loop_s=perf.loop_s, meta=dict(perf.meta))


def layout(perf: Performance, export: str) -> tuple[list[Note], float, float]:
    """Place the repetitions for an export style.

    ``seamless``: a pre-roll repetition, the loop repetition, and the early-played notes of the
    following repetition (humanised a little before its downbeat), so the cut [L, 2L) holds the
    tails of the previous repetition and joins its own end. ``cut``/``cut_fade``: one
    repetition from silence, cut at L. Returns (notes, loop start s, loop end s) in segment time.
    """
    L = perf.loop_s
    if export == "seamless":
        out = []
        for r in (0, 1, 2):
            for n in perf.notes:
                t = n.t + r * L
                if t < 0:
                    continue
                if r == 2 and t >= 2 * L:
                    continue
                out.append(replace(n, t=t, group=n.group + r * 100_000 if n.group >= 0 else -1))
        return out, L, 2 * L
    out = [replace(n, t=max(0.0, n.t)) for n in perf.notes if n.t < L]
    return out, 0.0, L
