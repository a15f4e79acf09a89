"""Batch rendering of note segments through fluidsynth (SF2/SF3) or TiMidity++ (freepats).

Segments are laid end to end in one MIDI file with silence between them (reverb tails die,
all-sound-off at each segment end), rendered in one process call at RATE and sliced back.
Chorus is off in both synths: their chorus puts some presets near anti-phase between the
channels, which no clean export would have. fluidsynth's reverb is off too: its delay lines
are modulated by free-running LFOs, so a segment's tail would depend on where it sits in the
batch (the room is added afterwards by convolution, see render.py)."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from . import smf
from .score import Note

RATE = 48_000
# Segment offsets sit on a 4 ms grid (192 samples): a whole number of both fluidsynth's
# 64-sample blocks and of the milliseconds its MIDI player schedules in, so a segment renders
# the same wherever it lands in a batch (a re-render differs only where its notes differ).
GRID = 192
GAP_S = 2.5
SETARCH = shutil.which("setarch")
MAX_BATCH_S = 420.0   # audio seconds per synth call (keeps the temporary WAV ~160 MB)


@dataclass
class Segment:
    notes: list[Note]
    length_s: float
    channel: int        # 0 for pitched parts, 9 for drums
    program: int
    volume: int = 100
    pan: int = 64
    reverb: int = 20


def _midi_for(batch: list[Segment]) -> tuple[smf.MidiFile, list[int]]:
    mf = smf.MidiFile()
    offsets = []
    t = GRID / RATE
    for seg in batch:
        start_cells = int(np.ceil(t * RATE / GRID))
        start = start_cells * GRID / RATE
        offsets.append(start_cells * GRID)
        ch = seg.channel
        mf.setups.append(smf.MidiSetup(max(0.0, start - 0.2), ch, seg.program, seg.volume,
                                       seg.pan, seg.reverb))
        for n in seg.notes:
            mf.notes.append(smf.MidiNote(start + n.t, n.dur, n.pitch, n.vel, ch))
        end = start + seg.length_s
        mf.silences.append((end, ch))
        t = end + GAP_S
    return mf, offsets


def _run(engine: str, path: Path, workdir: Path, amp: int) -> None:
    """Render workdir/in.mid to workdir/out.wav. Arguments are the same on every call (fixed
    relative names, run inside ``workdir``): TiMidity++'s output depends on its memory layout
    (it varies with address-space randomisation and the argument strings), so it runs with
    randomisation off (setarch -R) in a minimal environment, which makes it repeatable."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    if engine == "fluidsynth":
        cmd = ["fluidsynth", "-ni", "-q", "-C", "0", "-R", "0", "-g", "0.5", "-r", str(RATE),
               "-O", "float", "-T", "wav", "-F", "out.wav", str(path), "in.mid"]
    else:
        cmd = ["timidity", "-c", str(path), "-Ow", "--output-24bit", "--output-stereo",
               "--preserve-silence", "-EFchorus=d", f"-A{amp:03d}", "-s", str(RATE),
               "-o", "out.wav", "in.mid"]
        if SETARCH:
            cmd = [SETARCH, platform.machine(), "-R"] + cmd
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=1800, cwd=workdir, env=env)


def render(engine: str, path: Path, segments: list[Segment]) -> list[np.ndarray]:
    """Render every segment; returns (frames, 2) float arrays of ``length_s`` each."""
    out: list[np.ndarray | None] = [None] * len(segments)
    batches: list[list[int]] = [[]]
    acc = 0.0
    for i, s in enumerate(segments):
        if batches[-1] and acc + s.length_s + GAP_S > MAX_BATCH_S:
            batches.append([])
            acc = 0.0
        batches[-1].append(i)
        acc += s.length_s + GAP_S
    with tempfile.TemporaryDirectory(prefix="flagcorpus-") as td:
        for bi, idx in enumerate(batches):
            if not idx:
                continue
            batch = [segments[i] for i in idx]
            mf, offsets = _midi_for(batch)
            mid, wav = Path(td) / "in.mid", Path(td) / "out.wav"
            smf.write(mid, mf)
            amp = 60
            for _ in range(4):
                _run(engine, path, Path(td), amp)
                audio, sr = sf.read(wav, dtype="float32", always_2d=True)
                if engine != "timidity" or np.max(np.abs(audio)) < 0.98:
                    break
                amp //= 2  # integer output would be clipped: render quieter
            assert sr == RATE, sr
            if audio.shape[1] == 1:
                audio = np.repeat(audio, 2, axis=1)
            wav.unlink()
            for i, off, seg in zip(idx, offsets, batch):
                n = int(round(seg.length_s * RATE))
                piece = audio[off:off + n]
                if len(piece) < n:
                    piece = np.pad(piece, ((0, n - len(piece)), (0, 0)))
                out[i] = np.array(piece, dtype=np.float64)
    return out  # type: ignore[return-value]
