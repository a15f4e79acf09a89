"""A tiny standard-MIDI-file writer and a batch renderer through Debian's ``fluidsynth``.

Times are whole milliseconds: the file uses 500 ticks per quarter at 120 BPM, so one tick is
one millisecond. Loops are rendered at 48 kHz, where a millisecond is 48 samples and
fluidsynth's 64-sample blocks line up with every 4 ms; loop lengths that are multiples of
4 ms therefore render the same way in every repetition (a seamless loop when one middle
repetition is cut out).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SOUNDFONT_CANDIDATES = (
    Path("/usr/share/sounds/sf2/FluidR3_GM.sf2"),
    Path("/usr/share/sounds/sf2/default-GM.sf2"),
    Path("/usr/share/soundfonts/FluidR3_GM.sf2"),
)
RENDER_RATE = 48_000
PPQ = 500
TEMPO_US = 500_000  # 120 BPM with PPQ 500 -> one tick = one millisecond
DRUM_CHANNEL = 9


@dataclass(frozen=True)
class Note:
    start_ms: int
    dur_ms: int
    pitch: int
    velocity: int = 96
    channel: int = 0


@dataclass(frozen=True)
class Part:
    """One MIDI channel of a segment: GM program, volume (0..127) and pan (0..127)."""

    channel: int
    program: int
    volume: int = 100
    pan: int = 64


@dataclass(frozen=True)
class Segment:
    """Notes of one piece to render, with the length (ms) to keep after its start."""

    parts: tuple[Part, ...]
    notes: tuple[Note, ...]
    length_ms: int


def soundfont() -> Path | None:
    return next((p for p in SOUNDFONT_CANDIDATES if p.is_file()), None)


def fluidsynth_missing_reason() -> str | None:
    """None when rendering works here, else a sentence saying what to install."""
    if shutil.which("fluidsynth") is None:
        return "fluidsynth is not installed (apt-get install fluidsynth fluid-soundfont-gm)"
    if soundfont() is None:
        return "no GM soundfont found (apt-get install fluid-soundfont-gm)"
    return None


def _vlq(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _track_bytes(events: list[tuple[int, int, bytes]]) -> bytes:
    """events: (tick, order, message bytes); order breaks ties (note-offs before note-ons)."""
    body = bytearray()
    now = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        body += _vlq(tick - now) + msg
        now = tick
    body += _vlq(0) + b"\xff\x2f\x00"
    return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)


def write_smf(path: Path, segments: list[tuple[int, Segment]]) -> Path:
    """Write a format-0 MIDI file with each segment starting at its offset (ms)."""
    events: list[tuple[int, int, bytes]] = [(0, 0, b"\xff\x51\x03" + TEMPO_US.to_bytes(3, "big"))]
    for offset, seg in segments:
        for part in seg.parts:
            ch = part.channel & 0x0F
            events += [
                (offset, 1, bytes([0xB0 | ch, 121, 0])),          # reset controllers
                (offset, 2, bytes([0xC0 | ch, part.program & 0x7F])),
                (offset, 3, bytes([0xB0 | ch, 7, part.volume & 0x7F])),
                (offset, 3, bytes([0xB0 | ch, 10, part.pan & 0x7F])),
            ]
        for n in seg.notes:
            ch = n.channel & 0x0F
            on = offset + n.start_ms
            events.append((on, 5, bytes([0x90 | ch, n.pitch & 0x7F, max(1, n.velocity) & 0x7F])))
            events.append((on + max(1, n.dur_ms), 4, bytes([0x80 | ch, n.pitch & 0x7F, 64])))
        end = offset + seg.length_ms
        for part in seg.parts:  # all sound off so nothing leaks into the next segment
            events.append((end, 6, bytes([0xB0 | (part.channel & 0x0F), 120, 0])))
    header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, PPQ)
    path.write_bytes(header + _track_bytes(events))
    return path


def render_segments(segments: list[Segment], work_dir: Path, gap_ms: int = 2_000,
                    gain: float = 0.5) -> list[np.ndarray]:
    """Render all segments in one fluidsynth run; returns (frames, 2) float32 per segment.

    Segments are placed one after another with ``gap_ms`` of silence between them (so reverb
    tails die out), starting on 4-ms boundaries so each lands on fluidsynth's block grid.
    """
    reason = fluidsynth_missing_reason()
    if reason:
        raise RuntimeError(reason)
    import soundfile as sf

    work_dir.mkdir(parents=True, exist_ok=True)
    placed: list[tuple[int, Segment]] = []
    t = 4
    for seg in segments:
        placed.append((t, seg))
        t += seg.length_ms + gap_ms
        t += (-t) % 4
    mid, wav = work_dir / "batch.mid", work_dir / "batch.wav"
    write_smf(mid, placed)
    # Chorus off: fluidsynth's chorus puts some GM presets almost in anti-phase between the
    # channels, which no clean export would do (the stereo-phase check would rightly fire).
    cmd = ["fluidsynth", "-ni", "-q", "-C", "0", "-g", str(gain), "-r", str(RENDER_RATE),
           "-O", "float",
           "-T", "wav", "-F", str(wav), str(soundfont()), str(mid)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=600)
    audio, sr = sf.read(wav, dtype="float32", always_2d=True)
    assert sr == RENDER_RATE, sr
    per_ms = RENDER_RATE // 1000
    out = []
    for offset, seg in placed:
        a, b = offset * per_ms, (offset + seg.length_ms) * per_ms
        piece = audio[a:b]
        if len(piece) < b - a:
            piece = np.pad(piece, ((0, b - a - len(piece)), (0, 0)))
        out.append(np.ascontiguousarray(piece))
    wav.unlink(missing_ok=True)
    return out
