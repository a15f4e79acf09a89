"""Keys, scales, chord progressions and guitar voicings for the loop generators."""

from __future__ import annotations

from dataclasses import dataclass

KEY_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
MINOR_PENTA = (0, 3, 5, 7, 10)
MAJOR_PENTA = (0, 2, 4, 7, 9)
BLUES = (0, 3, 5, 6, 7, 10)

# Chord qualities as intervals above the root.
QUALITIES = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "dom7": (0, 4, 7, 10),
    "min7": (0, 3, 7, 10),
    "maj7": (0, 4, 7, 11),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
    "dim": (0, 3, 6),
    "pow": (0, 7),
}

# Progressions as (semitones above the key root, quality). Several are modal colours
# (mixolydian bVII, dorian IV) that producers use all the time.
PROGRESSIONS = {
    "major": (
        ((0, "maj"), (7, "maj"), (9, "min"), (5, "maj")),
        ((0, "maj"), (5, "maj"), (7, "maj"), (5, "maj")),
        ((2, "min7"), (7, "dom7"), (0, "maj7"), (0, "maj7")),
        ((0, "maj"), (9, "min"), (5, "maj"), (7, "maj")),
        ((0, "maj"), (10, "maj"), (5, "maj"), (0, "maj")),
        ((0, "maj7"), (5, "maj7"), (0, "maj7"), (5, "maj7")),
        ((0, "dom7"), (5, "dom7"), (0, "dom7"), (7, "dom7")),
        ((0, "sus2"), (0, "maj"), (5, "sus2"), (5, "maj")),
    ),
    "minor": (
        ((0, "min"), (8, "maj"), (3, "maj"), (10, "maj")),
        ((0, "min"), (5, "min"), (7, "min"), (0, "min")),
        ((0, "min"), (10, "maj"), (8, "maj"), (10, "maj")),
        ((0, "min7"), (5, "dom7"), (0, "min7"), (5, "dom7")),
        ((0, "min"), (0, "min"), (5, "min"), (7, "dom7")),
        ((0, "min7"), (3, "maj7"), (8, "maj7"), (7, "min7")),
        ((0, "min"), (3, "maj"), (10, "maj"), (5, "min")),
        ((0, "min7"), (0, "min7"), (10, "maj"), (10, "maj")),
    ),
}

# Standard tuning, low to high.
GUITAR_OPEN = (40, 45, 50, 55, 59, 64)


@dataclass(frozen=True)
class Key:
    root: int   # pitch class 0..11
    mode: str   # "major" | "minor"

    @property
    def name(self) -> str:
        return f"{KEY_NAMES[self.root]} {self.mode}"

    def scale(self) -> tuple[int, ...]:
        return MAJOR if self.mode == "major" else MINOR

    def penta(self) -> tuple[int, ...]:
        return MAJOR_PENTA if self.mode == "major" else MINOR_PENTA


def note_name(midi: int) -> str:
    return f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


def midi_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69) / 12.0)


def in_register(pc: int, low: int) -> int:
    """The lowest MIDI note with pitch class ``pc`` at or above ``low``."""
    return low + ((pc - low) % 12)


def snap_to_scale(pitch: int, key: Key) -> int:
    """Nearest pitch (downwards on ties) in the key's scale."""
    pcs = {(key.root + s) % 12 for s in key.scale()}
    for d in (0, -1, 1, -2, 2):
        if (pitch + d) % 12 in pcs:
            return pitch + d
    return pitch


@dataclass(frozen=True)
class Chord:
    root_pc: int
    quality: str
    start: float  # beats from loop start
    length: float  # beats

    def tones(self) -> tuple[int, ...]:
        return QUALITIES[self.quality]


def chord_track(key: Key, prog_index: int, bars: int, per_bar: int) -> list[Chord]:
    """Chords covering ``bars`` bars: ``per_bar`` (1 or 2) chords per bar, cycling the
    progression. A 1-bar loop with one chord per bar stays on the tonic chord."""
    prog = PROGRESSIONS[key.mode][prog_index % len(PROGRESSIONS[key.mode])]
    n = bars * per_bar
    length = 4.0 / per_bar
    out = []
    for i in range(n):
        off, q = prog[i % len(prog)]
        out.append(Chord((key.root + off) % 12, q, i * length, length))
    return out


def chord_at(chords: list[Chord], beat: float) -> Chord:
    for c in chords:
        if c.start <= beat < c.start + c.length:
            return c
    return chords[-1]


def guitar_voicing(root_pc: int, quality: str, prefer_low: bool = True) -> list[int]:
    """A playable barre voicing (E- or A-shape, or an open-position shape when the root
    allows), low string first. Power chords are root-fifth-octave on the lowest strings."""
    e_fret = (root_pc - 4) % 12
    a_fret = (root_pc - 9) % 12
    if quality == "pow":
        if e_fret <= 7 or not prefer_low:
            b = 40 + e_fret
        else:
            b = 45 + a_fret
        return [b, b + 7, b + 12]
    third = {"maj": 4, "dom7": 4, "maj7": 4, "min": 3, "min7": 3, "dim": 3,
             "sus2": 2, "sus4": 5}.get(quality, 4)
    seventh = {"dom7": 10, "min7": 10, "maj7": 11}.get(quality)
    fifth = 6 if quality == "dim" else 7
    use_e = e_fret <= 5 if prefer_low else e_fret <= 2
    if use_e:
        r = 40 + e_fret
        # E shape: R 5 R 3 5 R (7th replaces the doubled root on the D string)
        notes = [r, r + fifth, r + (seventh if seventh else 12), r + 12 + third,
                 r + 12 + fifth, r + 24]
    else:
        r = 45 + a_fret
        # A shape: R 5 R/7 3 5 on the A..e strings
        notes = [r, r + fifth, r + (seventh if seventh else 12), r + 12 + third, r + 12 + fifth]
    return notes
