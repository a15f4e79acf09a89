"""Drum-pattern generators on a 16th grid: rock, funk, hip-hop, house and breakbeat grooves
with hi-hats (closed/pedal/open), rim clicks, ghost notes, crashes and end-of-phrase fills."""

from __future__ import annotations

import numpy as np

from .score import Ev, Pattern

STYLES = ("rock", "funk", "hiphop", "house", "breakbeat")
STYLE_WEIGHTS = (0.22, 0.2, 0.22, 0.18, 0.18)

ROLES = ("kick", "snare", "rim", "clap", "hh_closed", "hh_pedal", "hh_open", "ride", "crash",
         "tom_hi", "tom_mid", "tom_lo", "perc")

# General MIDI percussion keys per role (first = default; alternates picked per loop).
GM_NOTES = {
    "kick": (36, 35), "snare": (38, 40), "rim": (37,), "clap": (39,), "hh_closed": (42,),
    "hh_pedal": (44,), "hh_open": (46,), "ride": (51, 59, 53), "crash": (49, 57),
    "tom_hi": (50, 48), "tom_mid": (47, 45), "tom_lo": (43, 41), "perc": (54, 70, 82, 56),
}


class _Bar:
    def __init__(self):
        self.hits: dict[tuple[str, int], int] = {}

    def add(self, role: str, step: int, vel: int) -> None:
        key = (role, step)
        self.hits[key] = max(vel, self.hits.get(key, 0))

    def remove_role(self, role: str, steps) -> None:
        for s in steps:
            self.hits.pop((role, s), None)


def _hats(rng, bar: _Bar, density: int, open_steps=(), ride=False):
    role = "ride" if ride else "hh_closed"
    step = 4 // density if density in (1, 2, 4) else 2
    for s in range(0, 16, step):
        if s in open_steps:
            bar.add("hh_open", s, 88)
            continue
        accent = s % 4 == 0
        v = (92 if accent else 64) if density == 4 else (86 if accent else 70)
        bar.add(role, s, int(v + rng.integers(-6, 7)))


def _rock(rng, bar: _Bar, var: bool):
    for s in (0, 8):
        bar.add("kick", s, 110)
    for s in (10, 6, 14, 3):
        if rng.random() < (0.45 if var else 0.25):
            bar.add("kick", s, 96)
    for s in (4, 12):
        bar.add("snare", s, 112)
    ride = rng.random() < 0.2
    _hats(rng, bar, 2, open_steps=(14,) if rng.random() < 0.3 else (), ride=ride)


def _funk(rng, bar: _Bar, var: bool):
    bar.add("kick", 0, 112)
    for s in (3, 6, 7, 10, 11, 13):
        if rng.random() < 0.35:
            bar.add("kick", s, 98)
    for s in (4, 12):
        bar.add("snare", s, 114)
    for s in range(16):
        if s not in (4, 12) and s % 2 == 1 and rng.random() < 0.35:
            bar.add("snare", s, int(rng.integers(22, 44)))  # ghost notes
    _hats(rng, bar, 4, open_steps=tuple(s for s in (6, 14) if rng.random() < 0.3))


def _hiphop(rng, bar: _Bar, var: bool):
    kicks = [0] + [s for s in (7, 10, 11, 14, 3) if rng.random() < 0.4]
    for s in kicks:
        bar.add("kick", s, 112 if s == 0 else 100)
    back = "clap" if rng.random() < 0.3 else "snare"
    for s in (4, 12):
        bar.add(back, s, 110)
    if rng.random() < 0.35:
        for s in (3, 11, 15):
            if rng.random() < 0.5:
                bar.add("rim", s, int(rng.integers(56, 84)))
    for s in (9, 15):
        if rng.random() < 0.25:
            bar.add("snare", s, int(rng.integers(26, 46)))
    _hats(rng, bar, 2 if rng.random() < 0.6 else 4)


def _house(rng, bar: _Bar, var: bool):
    for s in (0, 4, 8, 12):
        bar.add("kick", s, 114)
    for s in (4, 12):
        bar.add("clap" if rng.random() < 0.7 else "snare", s, 100)
    for s in (2, 6, 10, 14):
        bar.add("hh_open", s, 84)
    for s in range(16):
        if s % 2 == 1 and rng.random() < 0.6:
            bar.add("hh_closed", s, int(rng.integers(44, 66)))
    if rng.random() < 0.5:
        for s in range(0, 16, 2):
            bar.add("perc", s + 1, int(rng.integers(40, 62)))
    if rng.random() < 0.25:
        bar.add("rim", int(rng.choice([3, 7, 11, 15])), 70)


def _breakbeat(rng, bar: _Bar, var: bool):
    for s in (0, 2, 10):
        bar.add("kick", s, 110)
    if rng.random() < 0.5:
        bar.add("kick", 11, 96)
    for s in (4, 12):
        bar.add("snare", s, 114)
    for s in (7, 9, 15):
        if rng.random() < 0.55:
            bar.add("snare", s, int(rng.integers(60, 96)))
    for s in (1, 5, 13):
        if rng.random() < 0.3:
            bar.add("snare", s, int(rng.integers(22, 40)))
    _hats(rng, bar, 2, ride=rng.random() < 0.35,
          open_steps=(6,) if rng.random() < 0.3 else ())


GROOVES = {"rock": _rock, "funk": _funk, "hiphop": _hiphop, "house": _house,
           "breakbeat": _breakbeat}


def _fill(rng, bar: _Bar):
    start = int(rng.choice([8, 12]))
    for role in ("hh_closed", "ride", "hh_open", "snare", "kick"):
        bar.remove_role(role, range(start, 16))
    toms = ["tom_hi", "tom_mid", "tom_lo"]
    kind = rng.random()
    for i, s in enumerate(range(start, 16)):
        if kind < 0.5:
            bar.add(toms[min(2, i * 3 // (16 - start))], s, 96 + (i % 2) * 8)
        else:
            bar.add("snare", s, 60 + int(40 * i / (16 - start)))
    bar.add("kick", 15 if kind < 0.5 else start, 100)


def make(rng: np.random.Generator, bars: int, style: str) -> Pattern:
    groove = GROOVES[style]
    # One groove, repeated with per-bar variation: bars 2/4 vary more, last bar may fill.
    base_seed = int(rng.integers(0, 2**31))
    ev: list[Ev] = []
    crash_first = rng.random() < 0.3
    fill = bars >= 2 and rng.random() < 0.45
    for b in range(bars):
        sub = np.random.default_rng(base_seed if b % 2 == 0 else base_seed + b)
        bar = _Bar()
        groove(sub, bar, b % 2 == 1)
        if fill and b == bars - 1:
            _fill(rng, bar)
        if crash_first and b == 0:
            bar.add("crash", 0, 100)
            bar.remove_role("hh_closed", [0])
        for (role, s), v in sorted(bar.hits.items(), key=lambda kv: (kv[0][1], kv[0][0])):
            dur = 0.5 if role in ("hh_open", "crash", "ride") else 0.2
            ev.append(Ev(b * 4 + s * 0.25, dur, 0, v, role))
    return Pattern(events=ev, style=style, beats=bars * 4.0, swing_grid=0.25,
                   meta={"fill": fill, "crash": crash_first})


def gm_map(rng: np.random.Generator) -> dict[str, int]:
    return {r: int(notes[int(rng.integers(0, len(notes)))]) for r, notes in GM_NOTES.items()}


def to_gm(pat: Pattern, mapping: dict[str, int]) -> Pattern:
    for e in pat.events:
        e.pitch = mapping[e.role]
    return pat
