"""Drum loops from real one-shot samples (Debian's hydrogen-drumkits / sonic-pi-samples) or,
where those are not installed, from a small synthetic kit.

Hits are mixed cyclically (a tail that runs past the loop end wraps to the start), which is
what a seamless loop export does, so clean kit loops join perfectly at the seam.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from .patterns import Hit

HYDROGEN = Path("/usr/share/hydrogen/data/drumkits")
SONIC_PI = Path("/usr/share/sonic-pi/samples")
KIT_RATE = 44_100

# kit name -> (folder, {role: file-name glob})
KITS: dict[str, tuple[Path, dict[str, str]]] = {
    "black_pearl": (HYDROGEN / "The Black Pearl 1.0", {
        "kick": "PearlKick-Hard.wav", "snare": "PearlSnare-Hard.wav",
        "hat": "SabianHatClosed-Med.wav", "open_hat": "SabianHatOpen-Med.wav",
        "crash": "SabianCrash-Hard.wav", "ride": "PaisteRide-Med.wav",
        "clap": "HandClap.wav", "tom": "PearlTom1-Hard.wav", "rim": "PearlSideStick-Med.wav"}),
    "millo": (HYDROGEN / "Millo_MultiLayered2", {
        "kick": "bd_03.flac", "snare": "jsnare_03.flac", "hat": "hhclosed_03.flac",
        "open_hat": "hhopen_02.flac", "crash": "crash_03.flac", "ride": "ride_03.flac",
        "clap": "clap_02.flac", "tom": "floortom_02.flac", "rim": "rim_01.flac"}),
    "electric_empire": (HYDROGEN / "ElectricEmpireKit", {
        "kick": "EE_Kick_Hard_1.flac", "snare": "EE_Snare_1.flac", "hat": "EE_Hat_Cl_Bs.flac",
        "open_hat": "EE_Hat_Op_Dirty.flac", "crash": "EE_Hat_Ring_1.flac",
        "ride": "EE_Hat_Ring_2.flac", "clap": "EE_Clap.flac", "tom": "EE_Drum_1.flac",
        "rim": "EE_Click.flac"}),
    "varibreaks": (HYDROGEN / "VariBreaks", {
        "kick": "VP Kick 1.flac", "snare": "VP Snare 1.flac", "hat": "VP Hat 1 Cl.flac",
        "open_hat": "VP Hat 1 Op.flac", "crash": "VP Hat 1 Op.flac", "ride": "VP Hat 2 Cl.flac",
        "clap": "VP Snare 2.flac", "tom": "VP Tom Mid.flac", "rim": "VP Click.flac"}),
    "sonic_pi": (SONIC_PI, {
        "kick": "bd_haus.flac", "snare": "sn_dolf.flac", "hat": "drum_cymbal_closed.flac",
        "open_hat": "drum_cymbal_open.flac", "crash": "drum_splash_hard.flac",
        "ride": "drum_cymbal_pedal.flac", "clap": "sn_generic.flac",
        "tom": "drum_tom_mid_hard.flac", "rim": "elec_tick.flac"}),
    "sonic_pi_808": (SONIC_PI, {
        "kick": "bd_808.flac", "snare": "sn_dub.flac", "hat": "drum_cymbal_closed.flac",
        "open_hat": "drum_cymbal_soft.flac", "crash": "drum_splash_soft.flac",
        "ride": "drum_cymbal_pedal.flac", "clap": "elec_hi_snare.flac",
        "tom": "drum_tom_lo_soft.flac", "rim": "elec_wood.flac"}),
}
PANS = {"kick": 0.0, "snare": -0.05, "hat": 0.35, "open_hat": 0.35, "crash": -0.4,
        "ride": 0.4, "clap": 0.1, "tom": -0.25, "rim": 0.15}


def available_kits() -> list[str]:
    """Sample kits whose files are all present on this machine."""
    out = []
    for name, (folder, files) in KITS.items():
        if all((folder / f).is_file() for f in files.values()):
            out.append(name)
    return out


@functools.lru_cache(maxsize=None)
def _load(path: str) -> np.ndarray:
    """A one-shot as (frames, 2) float32 at KIT_RATE, with a short fade at its end."""
    import soundfile as sf

    audio, sr = sf.read(path, dtype="float32", always_2d=True)
    if audio.shape[1] == 1:
        audio = np.repeat(audio, 2, axis=1)
    audio = audio[:, :2]
    if sr != KIT_RATE:
        import soxr

        audio = soxr.resample(audio, sr, KIT_RATE).astype(np.float32)
    audio = audio[: int(1.5 * KIT_RATE)].copy()  # a choke: no one-shot rings over 1.5 s
    fade = min(len(audio), int(0.03 * KIT_RATE))
    audio[len(audio) - fade:] *= np.linspace(1, 0, fade, dtype=np.float32)[:, None]
    return audio


def synthetic_sample(role: str, sr: int = KIT_RATE, seed: int = 0) -> np.ndarray:
    """A synthetic one-shot (frames, 2): swept-sine kick, noise+tone snare, filtered-noise hats."""
    rng = np.random.default_rng(seed + sum(map(ord, role)))
    dur = {"kick": 0.45, "snare": 0.3, "hat": 0.08, "open_hat": 0.35, "crash": 1.2,
           "ride": 0.6, "clap": 0.25, "tom": 0.4, "rim": 0.05}[role]
    n = int(dur * sr)
    t = np.arange(n) / sr
    attack = np.minimum(1.0, t / 0.0015)
    if role in ("kick", "tom"):
        f0, f1 = (150.0, 48.0) if role == "kick" else (260.0, 140.0)
        phase = 2 * np.pi * np.cumsum(f1 + (f0 - f1) * np.exp(-t / 0.04)) / sr
        y = np.sin(phase) * np.exp(-t / (0.18 if role == "kick" else 0.15))
    else:
        noise = rng.normal(0, 1, n)
        if role in ("hat", "open_hat", "crash", "ride", "rim"):
            noise = np.diff(noise, prepend=0.0)  # tilt towards the highs
        decay = {"snare": 0.07, "clap": 0.05, "hat": 0.02, "open_hat": 0.12, "crash": 0.5,
                 "ride": 0.25, "rim": 0.01}[role]
        y = 0.4 * noise * np.exp(-t / decay)
        if role == "snare":
            y += 0.6 * np.sin(2 * np.pi * 190 * t) * np.exp(-t / 0.05)
    release = np.minimum(1.0, (dur - t) / 0.02)     # fade the last 20 ms: no truncation click
    y = (0.8 * attack * release * y / (np.max(np.abs(y)) + 1e-9)).astype(np.float32)
    return np.stack([y, y], axis=1)


def kit_sample(kit: str, role: str) -> np.ndarray:
    if kit == "synthetic":
        return synthetic_sample(role)
    folder, files = KITS[kit]
    return _load(str(folder / files[role]))


def render_hits(kit: str, hits: list[Hit], step_s: float, loop_frames: int,
                sr: int = KIT_RATE, shift_s: dict[int, float] | None = None) -> np.ndarray:
    """Mix hits into a seamless (frames, 2) loop; ``shift_s`` moves hit i by that many seconds."""
    out = np.zeros((loop_frames, 2), np.float32)
    for i, h in enumerate(hits):
        sample = kit_sample(kit, h.role)
        pan = PANS[h.role]
        gains = np.array([np.sqrt(0.5 * (1 - pan)), np.sqrt(0.5 * (1 + pan))], np.float32)
        start = int(round((h.step * step_s + (shift_s or {}).get(i, 0.0)) * sr))
        n = min(len(sample), loop_frames)
        piece = sample[:n] * gains * (h.velocity / 127.0) ** 1.5
        s0 = start % loop_frames
        first = min(n, loop_frames - s0)
        out[s0:s0 + first] += piece[:first]
        out[: n - first] += piece[first:]          # the tail wraps to the loop start
    return out
