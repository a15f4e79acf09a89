"""Tempo, key and file-name hints: synthetic loops with a known answer, and real rendered
loops (fluidsynth GM instruments and drum kits) for the tempo."""

from __future__ import annotations

import numpy as np
import pytest

from anomalizer_desktop.core.facets import compatible, describe, hints_from_name, key_name
from anomalizer_desktop.core.facets.analysis import frames_of
from anomalizer_desktop.core.facets.key import estimate_key
from anomalizer_desktop.core.facets.tempo import estimate_tempo

SR = 44_100


def _note(freq: float, seconds: float, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    env = np.minimum(1.0, t / 0.004) * np.exp(-t * 3.0)
    return sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 6)) * env


def _midi_hz(m: int) -> float:
    return 440.0 * 2 ** ((m - 69) / 12)


def bass_line(notes: list[int], bpm: float, bars: int = 2, sr: int = SR) -> np.ndarray:
    """Eighth notes cycling through ``notes`` (MIDI numbers) for ``bars`` 4/4 bars."""
    step = 30.0 / bpm
    n = int(round(bars * 8))
    out = np.zeros(int(round(bars * 4 * 60.0 / bpm * sr)), np.float64)
    for i in range(n):
        start = int(round(i * step * sr))
        tone = _note(_midi_hz(notes[i % len(notes)]), step, sr)[: len(out) - start]
        out[start:start + len(tone)] += tone
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


@pytest.mark.parametrize("bpm,bars", [(90.0, 2), (124.0, 4), (140.0, 2), (155.0, 4)])
def test_tempo_of_a_whole_bar_loop(bpm, bars):
    x = bass_line([38, 41, 45, 48, 45, 41, 38, 36], bpm, bars)
    tempo = estimate_tempo(frames_of(x, SR))
    assert tempo is not None and abs(tempo.bpm / bpm - 1) < 0.01
    assert tempo.bars == bars


def test_no_tempo_for_a_one_shot_or_silence():
    assert estimate_tempo(frames_of(_note(110.0, 0.6).astype(np.float32), SR)) is None
    assert estimate_tempo(frames_of(np.zeros(SR * 4, np.float32), SR)) is None


@pytest.mark.parametrize("tonic,mode,notes", [
    # root-heavy lines, as bass lines are: the tonic on the downbeats
    ("D", "minor", [38, 38, 45, 38, 41, 38, 48, 38]),   # D D A D F D C D
    ("F#", "major", [42, 42, 49, 42, 46, 42, 47, 42]),  # F# F# C# F# A# F# B F#
    ("A", "minor", [33, 33, 40, 33, 36, 33, 43, 33]),   # A A E A C A G A
])
def test_key_tonic_of_a_bass_line(tonic, mode, notes):
    key = estimate_key(bass_line(notes, 110.0), SR)
    assert key is not None and key.name == f"{tonic} {mode}"


def test_no_key_for_silence():
    assert estimate_key(np.zeros(SR * 2, np.float32), SR) is None


def test_describe_gives_every_facet_and_is_deterministic():
    x = bass_line([38, 38, 45, 38, 41, 38, 48, 38], 120.0, 2)
    a, b = describe(x, SR), describe(np.stack([x, x], axis=1), SR)
    assert a.key == "D minor" and abs(a.bpm - 120.0) < 1.0 and a.bars == 2
    assert a.identity != b.identity  # mono and stereo are different audio
    assert describe(x, SR).identity == a.identity and a.fingerprint.dtype == np.uint8


@pytest.mark.parametrize("name,bpm,key", [
    ("Bass_124bpm_Dm_03.wav", 124.0, "D minor"),
    ("guitar 92 BPM F# minor.flac", 92.0, "F# minor"),
    ("strum_102p2bpm_C#maj.wav", 102.2, "C# major"),
    ("bpm128_Bbmin.wav", 128.0, "Bb minor"),
    ("Loop_120bpm_C.wav", 120.0, "C major"),
    ("Loop_120_C.wav", None, None),      # a bare letter with no tempo in the name: a take name
    ("kick_a.wav", None, None),
    ("Snare_B_01.wav", None, None),
    ("take 3.wav", None, None),
])
def test_hints_from_file_names(name, bpm, key):
    hints = hints_from_name(name)
    assert hints.bpm == bpm and hints.key == key


def test_compatible_keys_are_the_camelot_neighbours():
    names = {key_name(t, m) for t, m in compatible(2, "minor")}
    assert names == {"D minor", "F major", "A minor", "G minor"}


@pytest.mark.slow
def test_tempo_of_real_rendered_loops(tmp_path_factory):
    from tests.data import loops, midi

    reason = midi.fluidsynth_missing_reason()
    if reason:
        pytest.skip(f"needs fluidsynth: {reason}")
    rendered = loops.render_loops(loops.clean_specs(16, seed=3), tmp_path_factory.mktemp("tempo"))
    right = octave = 0
    for lp in rendered:
        mono = lp.samples.mean(axis=1) if lp.samples.ndim == 2 else lp.samples
        tempo = estimate_tempo(frames_of(mono, lp.sample_rate))
        ratio = tempo.bpm / lp.spec.bpm if tempo else 0.0
        right += abs(ratio - 1) <= 0.04
        octave += abs(ratio - 0.5) <= 0.02 or abs(ratio - 2) <= 0.08
    # Measured on these 16 (never tuned on): 10 right, the other 6 an octave off (156-170 BPM
    # read as half, 70 as double). The octave is the estimator's known weak point; the pulse
    # itself must be found.
    assert right + octave == len(rendered), f"{right} right, {octave} octave off"
    assert right >= 0.5 * len(rendered), f"{right} of {len(rendered)}"
