"""Bass-line generators: root/fifth/octave, octave pump, walking, syncopated funk, sustained
sub, dub and riff lines over a chord track, with an optional sustained low note (G1..B1)."""

from __future__ import annotations

import numpy as np

from .score import Ev, Pattern
from .theory import Chord, Key, chord_at, chord_track, in_register, note_name, midi_hz

STYLES = ("root_fifth", "octave_pump", "walking", "funk_sync", "sustain_sub", "dub", "riff")
STYLE_WEIGHTS = (0.2, 0.12, 0.14, 0.2, 0.14, 0.08, 0.12)
LOW_NOTES = (31, 32, 34, 35)  # G1, G#1, A#1, B1


def _root(c: Chord, low: int) -> int:
    return in_register(c.root_pc, low)


def _fifth(c: Chord, low: int) -> int:
    r = _root(c, low)
    return r + (6 if c.quality == "dim" else 7)


def _third(c: Chord, low: int) -> int:
    return _root(c, low) + c.tones()[1]


def _root_fifth(rng, chords, beats, low):
    ev = []
    figure = rng.choice(["q", "e", "mix"], p=[0.35, 0.3, 0.35])
    legato = rng.uniform(0.55, 0.95)
    for c in chords:
        r, f = _root(c, low), _fifth(c, low)
        if figure == "q":
            cells = [(0, r), (1, f), (2, r + 12), (3, f)]
        elif figure == "e":
            seq = [r, r, f, r, r + 12, r, f, f]
            cells = [(i * 0.5, p) for i, p in enumerate(seq)]
        else:
            cells = [(0, r), (1.5, f), (2, r), (3, r + 12), (3.5, f)]
        step = 1.0 if figure == "q" else 0.5
        for b, p in cells:
            if b >= c.length:
                continue
            if b > 0 and rng.random() < 0.15:
                continue
            vel = 100 if b % 2 == 0 else 86
            ev.append(Ev(c.start + b, step * legato, int(p), vel))
    return ev


def _octave_pump(rng, chords, beats, low):
    ev = []
    octave = rng.random() < 0.6
    for c in chords:
        r = _root(c, low)
        n = int(c.length * 2)
        for i in range(n):
            p = r + (12 if octave and i % 2 == 1 else 0)
            ev.append(Ev(c.start + i * 0.5, 0.38, p, 104 if i % 2 == 0 else 90))
    return ev


def _walking(rng, chords, beats, low, key):
    ev = []
    scale = [(key.root + s) % 12 for s in key.scale()]
    all_chords = chords
    for ci, c in enumerate(all_chords):
        nxt = all_chords[(ci + 1) % len(all_chords)]
        r = _root(c, low)
        target = _root(nxt, low)
        n = int(c.length)
        line = [r]
        for i in range(1, n):
            if i == n - 1:
                line.append(target + (1 if rng.random() < 0.5 else -1))
            else:
                cand = [p for p in range(r - 2, r + 13) if p % 12 in scale and p != line[-1]]
                tones = [r + t for t in c.tones()] + [r + 12]
                pool = tones if rng.random() < 0.6 else cand
                line.append(int(rng.choice(pool)))
        for i, p in enumerate(line):
            ev.append(Ev(c.start + i, 0.85, int(p), 96 if i == 0 else 84))
            if rng.random() < 0.12 and i < n - 1:  # skip note (swung 8th pickup)
                ev.append(Ev(c.start + i + 0.5, 0.3, int(p), 62, "ghost"))
    return ev


def _funk_sync(rng, chords, beats, low, slap):
    ev = []
    bar_steps = {}
    for bar in range(int(beats // 4)):
        steps = {0}
        for s in (3, 6, 7, 10, 11, 14, 15):
            if rng.random() < 0.42:
                steps.add(s)
        bar_steps[bar] = sorted(steps)
    motif = bar_steps[0]
    for bar in range(int(beats // 4)):
        steps = motif if (bar % 2 == 0 or rng.random() < 0.5) else bar_steps[bar]
        for s in steps:
            b = bar * 4 + s * 0.25
            c = chord_at(chords, b)
            r = _root(c, low)
            choice = rng.random()
            if s == 0:
                p, role, vel, dur = r, ("slap" if slap else ""), 112, 0.45
            elif choice < 0.35:
                p, role, vel, dur = r + 12, ("pop" if slap else ""), 100, 0.2
            elif choice < 0.55:
                p, role, vel, dur = r + 10 if c.quality != "maj7" else r + 11, "", 90, 0.22
            elif choice < 0.75:
                p, role, vel, dur = _fifth(c, low), "", 92, 0.22
            else:
                p, role, vel, dur = r, ("slap" if slap else ""), 96, 0.2
            ev.append(Ev(b, dur, int(p), vel, role))
        for s in range(16):  # muted ghost notes
            if s not in steps and rng.random() < 0.14:
                b = bar * 4 + s * 0.25
                ev.append(Ev(b, 0.08, _root(chord_at(chords, b), low), int(rng.integers(30, 50)),
                             "ghost"))
    return ev


def _sustain_sub(rng, chords, beats, low):
    ev = []
    for c in chords:
        r = _root(c, low)
        if c.length >= 4 and rng.random() < 0.5:
            ev.append(Ev(c.start, 2.5, r, 104))
            ev.append(Ev(c.start + 3.0, 0.5, r if rng.random() < 0.5 else r + 12, 88))
        else:
            ev.append(Ev(c.start, c.length * rng.uniform(0.7, 0.97), r, 104))
    return ev


def _dub(rng, chords, beats, low):
    ev = []
    for c in chords:
        r, f = _root(c, low), _fifth(c, low)
        cells = [(0.5 if rng.random() < 0.4 else 0.0, 1.2, r), (1.5, 0.45, r), (2.0, 1.0, f),
                 (3.5, 0.4, _third(c, low))]
        for b, d, p in cells:
            if b < c.length:
                ev.append(Ev(c.start + b, d, int(p), 100))
    return ev


def _riff(rng, chords, beats, low, key):
    pent = key.penta()
    r0 = in_register(key.root, low)
    pool = [r0 + s for s in pent] + [r0 + 12]
    cell_steps = sorted(set([0] + [int(s) for s in rng.choice(16, size=int(rng.integers(4, 8)),
                                                                replace=False)]))
    cell = []
    for s in cell_steps:
        p = r0 if s == 0 else int(rng.choice(pool))
        cell.append((s * 0.25, p))
    ev = []
    for bar in range(int(beats // 4)):
        vary = bar == int(beats // 4) - 1 and beats > 4 and rng.random() < 0.5
        for i, (b, p) in enumerate(cell):
            nb = cell[i + 1][0] if i + 1 < len(cell) else 4.0
            if vary and b >= 2.0:
                p = int(rng.choice(pool))
            ev.append(Ev(bar * 4 + b, max(0.12, (nb - b) * 0.8), p, 98 if b % 1 == 0 else 86))
    return ev


def make(rng: np.random.Generator, key: Key, bars: int, style: str,
         low_note: int | None = None, slap: bool = False) -> Pattern:
    beats = bars * 4.0
    per_bar = 1 if style in ("sustain_sub", "dub") or rng.random() < 0.7 else 2
    prog = int(rng.integers(0, 8))
    chords = chord_track(key, prog, bars, per_bar)
    low = 28 if low_note is not None else int(rng.choice([28, 28, 31, 33]))
    if style == "root_fifth":
        ev = _root_fifth(rng, chords, beats, low)
    elif style == "octave_pump":
        ev = _octave_pump(rng, chords, beats, low)
    elif style == "walking":
        ev = _walking(rng, chords, beats, low, key)
    elif style == "funk_sync":
        ev = _funk_sync(rng, chords, beats, low, slap)
    elif style == "sustain_sub":
        ev = _sustain_sub(rng, chords, beats, low)
    elif style == "dub":
        ev = _dub(rng, chords, beats, low)
    else:
        ev = _riff(rng, chords, beats, low, key)
    meta = {"progression": prog, "chords": [(c.root_pc, c.quality, c.start) for c in chords]}
    if low_note is not None:
        tonic = [c for c in chords if c.root_pc == low_note % 12] or chords[:1]
        c = tonic[int(rng.integers(0, len(tonic)))]
        # held 1.5-3 beats, leaving at least one beat of the line around it
        cap = c.length if len(chords) > 1 else c.length - 1.0
        dur = float(min(cap, rng.choice([1.5, 2.0, 3.0])))
        dur = max(dur, 1.0)
        ev = [e for e in ev if not (c.start - 1e-6 <= e.beat < c.start + dur)]
        ev.append(Ev(c.start, dur * 0.97, low_note, 108))
        meta["low_note"] = {"midi": low_note, "name": note_name(low_note),
                            "hz": round(midi_hz(low_note), 2), "beat": c.start,
                            "dur_beats": round(dur * 0.97, 3)}
    swing_grid = 0.5 if style == "walking" else 0.25
    return Pattern(events=ev, style=style, beats=beats, swing_grid=swing_grid, meta=meta)
