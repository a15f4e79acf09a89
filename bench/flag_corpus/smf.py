"""Standard MIDI file (format 0) writer with sample-exact timing.

The file runs at a fixed 60 BPM (one quarter = one second) with 1000 ticks per quarter, so one
tick is exactly one millisecond: the resolution fluidsynth's MIDI player schedules in anyway,
and an exact tick length keeps its tick-to-time arithmetic free of rounding drift (a segment
renders identically wherever it lands in a file). Musical tempo lives in the note times.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

TICKS_PER_SECOND = 1_000
DRUM_CHANNEL = 9


@dataclass
class MidiNote:
    t: float          # onset, seconds from the start of the file
    dur: float        # seconds
    pitch: int
    vel: int
    channel: int = 0


@dataclass
class MidiSetup:
    """Controller state sent at ``t`` for one channel (program, volume, pan, reverb send)."""

    t: float
    channel: int
    program: int
    volume: int = 100
    pan: int = 64
    reverb: int = 20
    bank: int = 0


@dataclass
class MidiFile:
    notes: list[MidiNote] = field(default_factory=list)
    setups: list[MidiSetup] = field(default_factory=list)
    silences: list[tuple[float, int]] = field(default_factory=list)  # (t, channel): all sound off


def _ticks(t: float) -> int:
    return max(0, int(round(t * TICKS_PER_SECOND)))


def _varlen(n: int) -> bytes:
    chunks = [n & 0x7F]
    n >>= 7
    while n:
        chunks.append((n & 0x7F) | 0x80)
        n >>= 7
    return bytes(chunks[::-1])


def encode(mf: MidiFile) -> bytes:
    # (tick, priority, bytes): at equal ticks controller resets go first, then note-offs, then
    # note-ons, so a re-struck note is not cut by its own previous note-off.
    ev: list[tuple[int, int, int, bytes]] = []
    seq = 0

    def add(tick: int, prio: int, msg: bytes) -> None:
        nonlocal seq
        ev.append((tick, prio, seq, msg))
        seq += 1

    add(0, 0, b"\xff\x51\x03" + (1_000_000).to_bytes(3, "big"))  # 60 BPM
    for s in mf.setups:
        c = s.channel & 0x0F
        tk = _ticks(s.t)
        add(tk, 1, bytes([0xB0 | c, 121, 0]))            # reset all controllers
        add(tk, 1, bytes([0xB0 | c, 0, s.bank & 0x7F]))  # bank select MSB
        add(tk, 1, bytes([0xB0 | c, 32, 0]))
        add(tk, 2, bytes([0xC0 | c, s.program & 0x7F]))
        add(tk, 3, bytes([0xB0 | c, 7, s.volume & 0x7F]))
        add(tk, 3, bytes([0xB0 | c, 10, s.pan & 0x7F]))
        add(tk, 3, bytes([0xB0 | c, 91, s.reverb & 0x7F]))
        add(tk, 3, bytes([0xB0 | c, 93, 0]))
    for t, c in mf.silences:
        tk = _ticks(t)
        add(tk, 0, bytes([0xB0 | (c & 0x0F), 123, 0]))  # all notes off
        add(tk, 0, bytes([0xB0 | (c & 0x0F), 120, 0]))  # all sound off
    for n in mf.notes:
        c = n.channel & 0x0F
        on = _ticks(n.t)
        off = max(on + 1, _ticks(n.t + n.dur))
        add(on, 5, bytes([0x90 | c, n.pitch & 0x7F, min(127, max(1, int(n.vel)))]))
        add(off, 4, bytes([0x80 | c, n.pitch & 0x7F, 0]))
    ev.sort(key=lambda e: (e[0], e[1], e[2]))
    body = bytearray()
    last = 0
    for tick, _, _, msg in ev:
        body += _varlen(tick - last)
        body += msg
        last = tick
    body += b"\x00\xff\x2f\x00"
    head = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_SECOND)
    return head + b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def write(path: Path, mf: MidiFile) -> Path:
    path.write_bytes(encode(mf))
    return path
