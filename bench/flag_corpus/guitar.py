"""Guitar-part generators: strummed chords, arpeggios, single-note riffs, palm-muted plucks,
funk chord stabs, and power-chord riffs (the last for the distorted off-style loops)."""

from __future__ import annotations

import numpy as np

from .score import Ev, Pattern
from .theory import Key, chord_at, chord_track, guitar_voicing, in_register

STYLES = ("strum", "arpeggio", "riff", "muted_pluck", "funk_chank")
STYLE_WEIGHTS = (0.3, 0.22, 0.2, 0.13, 0.15)

# Strum rhythms on the 8th grid: D = down, U = up, x = muted scratch, . = rest.
STRUMS = ("D.DU.UDU", "D.D.D.DU", "D..UD.DU", "D.DUxUDU", "D...D.U.", "DUDUDUDU", "D..U.UD.",
          "D.xUD.xU")
# Picking orders over the voicing (indices into the voicing, low string = 0).
PICKS = ((0, 2, 3, 4, 3, 2, 1, 2), (0, 3, 2, 4, 1, 3, 2, 4), (0, 2, 4, 2, 1, 3, 5, 3),
         (0, 1, 2, 3, 4, 3, 2, 1), (0, 4, 3, 4, 2, 4, 3, 4))


def _strum(rng, chords, beats, spread_ms, group0):
    ev = []
    g = group0
    pattern = STRUMS[int(rng.integers(0, len(STRUMS)))]
    alt = STRUMS[int(rng.integers(0, len(STRUMS)))]
    for bar in range(int(beats // 4)):
        pat = alt if (bar % 2 == 1 and rng.random() < 0.4) else pattern
        hits = [(i, ch) for i, ch in enumerate(pat) if ch != "."]
        for k, (i, ch) in enumerate(hits):
            b = bar * 4 + i * 0.5
            nxt = hits[k + 1][0] * 0.5 + bar * 4 if k + 1 < len(hits) else (bar + 1) * 4
            c = chord_at(chords, b)
            voicing = guitar_voicing(c.root_pc, c.quality)
            if ch == "U":
                strings = voicing[-4:][::-1]
                vel, dur = 74, (nxt - b) * 0.95
            elif ch == "x":
                strings = voicing[-4:]
                vel, dur = 52, 0.08
            else:
                strings = voicing
                vel, dur = 98 if i % 2 == 0 else 88, (nxt - b) * 0.98
            step = spread_ms / max(1, len(strings) - 1)
            for s, p in enumerate(strings):
                ev.append(Ev(b, dur, p, vel - 2 * s, "mute" if ch == "x" else "", g, s * step))
            g += 1
    return ev


def _arpeggio(rng, chords, beats):
    ev = []
    order = PICKS[int(rng.integers(0, len(PICKS)))]
    step = 0.5 if rng.random() < 0.6 else 0.25
    ring = rng.uniform(1.0, 2.5)
    n = int(beats / step)
    for i in range(n):
        b = i * step
        c = chord_at(chords, b)
        v = guitar_voicing(c.root_pc, c.quality, prefer_low=rng.random() < 0.5)
        idx = order[i % len(order)] % len(v)
        ev.append(Ev(b, ring, v[idx], 92 if idx == 0 else 80))
    return ev


def _riff(rng, key, beats):
    base = in_register(key.root, 45 if rng.random() < 0.5 else 52)
    pool = [base + s for s in key.penta()] + [base + 12, base + 12 + key.penta()[1]]
    steps = sorted(set([0] + [int(s) for s in rng.choice(16, size=int(rng.integers(5, 10)),
                                                          replace=False)]))
    cell = [(s * 0.25, base if s == 0 else int(rng.choice(pool))) for s in steps]
    ev = []
    for bar in range(int(beats // 4)):
        last = bar == int(beats // 4) - 1 and beats > 4
        for i, (b, p) in enumerate(cell):
            nb = cell[i + 1][0] if i + 1 < len(cell) else 4.0
            if last and b >= 2 and rng.random() < 0.5:
                p = int(rng.choice(pool))
            ev.append(Ev(bar * 4 + b, max(0.15, (nb - b) * 0.9), p, 96 if b % 1 == 0 else 84))
    return ev


def _muted_pluck(rng, chords, beats):
    ev = []
    step = 0.5 if rng.random() < 0.65 else 0.25
    for i in range(int(beats / step)):
        b = i * step
        c = chord_at(chords, b)
        r = in_register(c.root_pc, 40)
        p = r + 7 if (i % 4 == 3 and rng.random() < 0.5) else r
        accent = (i * step) % 1 == 0
        ev.append(Ev(b, step * rng.uniform(0.3, 0.55), p, 96 if accent else 76, "mute"))
    return ev


def _funk_chank(rng, chords, beats, group0):
    ev = []
    g = group0
    stabs = [s for s in range(16) if rng.random() < (0.7 if s in (4, 12, 6, 14) else 0.22)]
    stabs = stabs or [4, 12]
    for bar in range(int(beats // 4)):
        for s in stabs:
            b = bar * 4 + s * 0.25
            c = chord_at(chords, b)
            v = guitar_voicing(c.root_pc, "dom7" if c.quality == "maj" else c.quality,
                               prefer_low=False)[-3:]
            scratch = rng.random() < 0.25
            for k, p in enumerate(v):
                ev.append(Ev(b, 0.07 if scratch else 0.16, p, 50 if scratch else 94,
                             "mute" if scratch else "", g, k * 3.0))
            g += 1
    return ev


def _power(rng, chords, beats, group0):
    ev = []
    g = group0
    chug = rng.random() < 0.6
    for bar in range(int(beats // 4)):
        cells = ([(i * 0.5, 0.3) for i in range(8)] if chug
                 else [(0, 1.4), (1.5, 0.4), (2, 1.4), (3.5, 0.4)])
        for b, d in cells:
            c = chord_at(chords, bar * 4 + b)
            for k, p in enumerate(guitar_voicing(c.root_pc, "pow")):
                ev.append(Ev(bar * 4 + b, d, p, 104 if b % 1 == 0 else 90, "", g, k * 4.0))
            g += 1
    return ev


def make(rng: np.random.Generator, key: Key, bars: int, style: str) -> Pattern:
    beats = bars * 4.0
    per_bar = 1 if rng.random() < 0.6 else 2
    prog = int(rng.integers(0, 8))
    chords = chord_track(key, prog, bars, per_bar)
    if style == "strum":
        ev = _strum(rng, chords, beats, rng.uniform(8, 30), 0)
    elif style == "arpeggio":
        ev = _arpeggio(rng, chords, beats)
    elif style == "riff":
        ev = _riff(rng, key, beats)
    elif style == "muted_pluck":
        ev = _muted_pluck(rng, chords, beats)
    elif style == "funk_chank":
        ev = _funk_chank(rng, chords, beats, 0)
    else:
        ev = _power(rng, chords, beats, 0)
    return Pattern(events=ev, style=style, beats=beats,
                   swing_grid=0.5 if style in ("strum", "arpeggio") else 0.25,
                   meta={"progression": prog,
                         "chords": [(c.root_pc, c.quality, c.start) for c in chords]})
