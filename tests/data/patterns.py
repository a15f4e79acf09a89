"""Musical patterns for test loops: drum grooves (as roles on a step grid) and GM note parts.

Everything is seeded and expressed in whole milliseconds, on a grid of ``step_ms`` (a 16th note,
or an 8th-note triplet for the shuffle groove), so rendered onsets sit exactly where the
pattern says (plus any humanisation asked for).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .midi import DRUM_CHANNEL, Note, Part

GM_DRUM_NOTES = {"kick": 36, "snare": 38, "hat": 42, "open_hat": 46, "crash": 49, "ride": 51,
                 "clap": 39, "tom": 45, "rim": 37}

DRUM_STYLES = ("rock", "house", "hiphop", "dnb", "halftime", "funk", "shuffle")

# GM programs by role (0-based program numbers).
GM_PROGRAMS = {
    # Not Synth Bass 1/2 (38/39): FluidR3's samples click ~10 ms into some notes, a real click
    # that the click check rightly reports, so they cannot be part of a clean set.
    "bass": (32, 33, 34, 35, 36),
    "piano": (0, 1),
    "epiano": (4, 5),
    "organ": (16, 17),
    "guitar": (24, 25, 27),
    "dist_guitar": (29, 30),
    "strings": (48, 49),
    "pad": (88, 89, 91, 94),
    "pluck": (11, 12, 46),
    "brass": (61, 62),
}


@dataclass(frozen=True)
class Hit:
    step: int       # index on the step grid of the whole loop
    role: str
    velocity: int   # 1..127


def drum_groove(style: str, bars: int, rng: np.random.Generator) -> tuple[list[Hit], int]:
    """Hits of a groove and the number of steps per beat (4 = 16ths, 3 = triplets)."""
    per_beat = 3 if style == "shuffle" else 4
    steps = 4 * per_beat
    hits: list[Hit] = []

    def add(step: int, role: str, vel: int) -> None:
        hits.append(Hit(step, role, int(np.clip(vel + rng.integers(-8, 9), 20, 127))))

    for bar in range(bars):
        o = bar * steps
        if style == "shuffle":
            for beat in range(4):
                add(o + 3 * beat, "ride", 90)
                add(o + 3 * beat + 2, "ride", 70)
            for s in (0, 8):
                add(o + s, "kick", 110)
            for s in (3, 9):
                add(o + s, "snare", 105)
            continue
        if style == "house":
            for beat in range(4):
                add(o + 4 * beat, "kick", 115)
                add(o + 4 * beat + 2, "open_hat", 80)
            for s in (4, 12):
                add(o + s, "clap", 100)
            continue
        if style == "dnb":
            for s in (0, 10):
                add(o + s, "kick", 115)
            for s in (4, 12):
                add(o + s, "snare", 112)
            for s in range(0, 16, 2):
                add(o + s, "hat", 70 + 15 * (s % 4 == 0))
            continue
        kicks = {"rock": (0, 8), "hiphop": (0, 7, 10), "halftime": (0, 3), "funk": (0, 6, 10)}[style]
        snares = (8,) if style == "halftime" else (4, 12)
        for s in kicks:
            add(o + s, "kick", 112)
        for s in snares:
            add(o + s, "snare", 108)
        hat_step = 1 if style == "funk" else 2
        for s in range(0, 16, hat_step):
            add(o + s, "hat", 85 if s % 4 == 0 else 62)
        if style == "funk":
            add(o + 14, "snare", 40)   # ghost note
        if bar == 0 and rng.random() < 0.4:
            add(o, "crash", 100)
    return hits, per_beat


def drum_notes(hits: list[Hit], step_ms: int, reps: int, loop_ms: int) -> list[Note]:
    notes = []
    for r in range(reps):
        for h in hits:
            notes.append(Note(r * loop_ms + h.step * step_ms, 60, GM_DRUM_NOTES[h.role],
                              h.velocity, DRUM_CHANNEL))
    return notes


def _chords(rng: np.random.Generator, bars: int) -> tuple[int, list[list[int]]]:
    """A key root (MIDI pitch class) and one triad (semitone offsets) per half bar."""
    root = int(rng.integers(0, 12))
    minor = bool(rng.random() < 0.5)
    scale = (0, 2, 3, 5, 7, 8, 10) if minor else (0, 2, 4, 5, 7, 9, 11)
    progs = ((0, 5, 3, 4), (0, 3, 4, 3), (5, 3, 0, 4), (0, 4, 5, 3), (0, 0, 3, 3))
    prog = progs[int(rng.integers(0, len(progs)))]
    chords = []
    for i in range(2 * bars):
        d = prog[i % len(prog)]
        chords.append([scale[(d + k) % 7] + 12 * ((d + k) // 7) for k in (0, 2, 4)])
    return root, chords


def melodic_notes(role: str, bars: int, step_ms: int, reps: int, loop_ms: int,
                  rng: np.random.Generator, humanise_ms: int = 0) -> list[Note]:
    """Notes for one GM role (bass, chords, pad, arpeggio) over ``reps`` repetitions."""
    root, chords = _chords(rng, bars)
    half = 8 * step_ms
    one: list[Note] = []
    if role == "bass":
        base = 28 + (root + 4) % 12           # E1..D#2: low fundamentals on purpose
        legato = rng.random() < 0.5
        rhythm = (0, 3, 6) if rng.random() < 0.5 else (0, 2, 4, 6)
        for i, ch in enumerate(chords):
            for j, s in enumerate(rhythm):
                nxt = rhythm[j + 1] if j + 1 < len(rhythm) else 8
                dur = (nxt - s) * step_ms - (5 if legato else step_ms // 2)
                pitch = base + ch[0] + (12 if j == len(rhythm) - 1 and rng.random() < 0.3 else 0)
                one.append(Note(i * half + s * step_ms, dur, pitch, int(rng.integers(85, 115))))
    elif role in ("pad", "strings", "organ"):
        for i, ch in enumerate(chords):
            for k in ch:
                one.append(Note(i * half, half - 10, 52 + root % 12 + k, 80))
    elif role == "pluck":
        for i, ch in enumerate(chords):
            tones = [60 + root + k for k in ch] + [72 + root + ch[0]]
            for s in range(8):
                one.append(Note(i * half + s * step_ms, step_ms * 2, tones[s % 4],
                                int(rng.integers(70, 105))))
    else:  # comping chords: piano, epiano, guitar, dist_guitar, brass
        rhythm = (0, 3, 6) if rng.random() < 0.5 else (0, 4)
        for i, ch in enumerate(chords):
            for j, s in enumerate(rhythm):
                nxt = rhythm[j + 1] if j + 1 < len(rhythm) else 8
                for k in ch:
                    start = i * half + s * step_ms + (k * 7 if role == "guitar" else 0)
                    one.append(Note(start, (nxt - s) * step_ms - 20, 55 + root % 12 + k,
                                    int(rng.integers(75, 110))))
    out = []
    for r in range(reps):
        for n in one:
            jitter = int(rng.integers(-humanise_ms, humanise_ms + 1)) if humanise_ms else 0
            out.append(Note(r * loop_ms + max(0, n.start_ms + jitter), n.dur_ms, n.pitch,
                            n.velocity, n.channel))
    return out


def gm_part(role: str, channel: int, rng: np.random.Generator) -> Part:
    progs = GM_PROGRAMS[role]
    pan = 64 if role == "bass" else int(rng.integers(34, 95))
    return Part(channel, progs[int(rng.integers(0, len(progs)))], 100, pan)
