"""Mains hum: a steady 50 or 60 Hz tone with harmonics, exactly on the mains frequencies.

Hum is there all the time, music near 50-360 Hz is not (kicks decay, bass notes change), so
the evidence is a *persistence* spectrum: the 20th percentile over time of a short-time
spectrum with 5-Hz bins. A mains harmonic counts when its bin stands >= 6 dB over the bins
15-30 Hz away, is not far below the signal, and that persistent power is a line *on* the mains
frequency. For that, each frame's value in the bin is demodulated at k x the mains frequency
(phase referred to the file start): hum gives the same complex value in every frame, a note
1 Hz off rotates, noise and drum hits scatter. The centre of these phasors (median of the
real and of the imaginary parts, per span of a few seconds) is the steady line: it must carry
at least half the bin's persistent power, and no steady line 0.6-3 Hz away (a sustained
G1 = 49 Hz bass, a B1 = 61.7 Hz pedal, an 808 tuned near the mains) may be much stronger.
Medians ignore transients; a whole-file spectrum does not, and in drum loops the kick's
energy 1-3 Hz from the mains line outweighs a clearly audible hum. The grid frequency may
drift (up to 0.1 Hz, the same for all harmonics): the best-fitting value is used.

A line only counts fully when it is also steady: in >= 15% of the frames the bin's value lies
within half the line's amplitude of it. Hum is constant; a loop that retriggers a kick or a
note every beat has lines on the multiples of the beat rate (1.67 Hz at 100 BPM: 50 and 60 Hz
among them) that pass the tests above, but their amplitude swings with every hit. Such an
unsteady line counts only when no line 0.6-3 Hz away is stronger at all: a G1 bass note
(49 Hz) played now and then leaves a swinging line on 50 Hz with its own line 1 Hz off only
a few dB above it. Lines under -55 dB re the signal are inaudible under it and not counted
(drum samples can carry such hum). Severity grows with how many harmonics stand out and by
how much; a lone line (a tuned kick, a partial of a held note) counts a third, which keeps
it under the 0.2 from which findings count as evidence: in a library where hum never fires,
one such finding on a clean loop outranked nearly every planted click.
"""

from __future__ import annotations

import math

import numpy as np

from .context import Analysis
from .findings import Finding, severity_from_ratio

MAINS_HZ = (50.0, 60.0)
HARMONICS = 6
BIN_HZ = 5.0                 # persistence spectrum resolution
PERSIST_PERCENTILE = 20
PROMINENCE_MIN_DB = 6.0
PROMINENCE_CAP_DB = 15.0     # one very prominent line (a tuned kick) cannot carry the score
LEVEL_MIN_DB = -55.0         # persistent line power re the mean frame power: audible at all
SCORE_REF = 15.0             # summed capped (prominence - 3 dB) at which severity is 0.5
SPAN_S = 4.0                 # phasors are centred per span of about this length
DRIFT_HZ, DRIFT_STEPS = 0.1, 9   # the grid frequency may be off the nominal by this much
LINE_SHARE_DB = -3.0         # the steady line's power re the bin's persistent power
OFF_HZ, NEAR_HZ, NEAR_STEP_HZ = 0.6, 3.0, 0.2
NOTE_MARGIN_DB = 10.0        # a steady line this much stronger nearby: the bin is a note's
UNSTEADY_NOTE_MARGIN_DB = 0.0   # ... for a line that is not steady itself: any stronger one
STEADY_RADIUS = 0.5          # a frame is on the line when within this x its amplitude of it
STEADY_FRAMES = 0.15         # share of frames on the line for it to count fully
UNSTEADY_WEIGHT = 0.3        # what a line that is on the mains frequency but not steady counts
LONE_WEIGHT = 0.35            # a lone line (no other harmonic of that mains) stays under 0.2

_DRIFTS = np.array(sorted(np.linspace(-DRIFT_HZ, DRIFT_HZ, DRIFT_STEPS), key=abs))  # 0 first
_NEAR = np.arange(OFF_HZ, NEAR_HZ + 1e-9, NEAR_STEP_HZ)
_NEAR = np.concatenate([-_NEAR, _NEAR])


def _frames(ctx: Analysis) -> tuple[np.ndarray, np.ndarray, np.ndarray, float] | None:
    """Short-time spectrum up to the last harmonic (frames x bins, complex), each frame's start
    in seconds, the persistence spectrum and the mean power of a whole frame (Hann: 3/8)."""
    import scipy.fft

    y, rate = ctx.mono_low
    nfft = int(round(rate / BIN_HZ))
    hop = nfft // 4
    if len(y) < 2 * nfft:
        return None
    frames = np.lib.stride_tricks.sliding_window_view(y, nfft)[::hop]
    top = int((MAINS_HZ[-1] * HARMONICS + 40) / BIN_HZ)
    spec = scipy.fft.rfft(frames * np.hanning(nfft).astype(np.float32), axis=1)[:, :top]
    power = spec.real.astype(np.float64) ** 2 + spec.imag.astype(np.float64) ** 2
    total = float(np.mean(np.sum(frames.astype(np.float64) ** 2, axis=1))) * nfft * 0.375
    starts = np.arange(len(frames)) * (hop / rate)
    return spec, starts, np.percentile(power, PERSIST_PERCENTILE, axis=0), total + 1e-30


def _lines(spec: np.ndarray, starts: np.ndarray, bins: np.ndarray,
           freqs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each of ``freqs`` (harmonics x frequencies, read from the frames' ``bins``, one per
    harmonic): the power of the steady line there (|median phasor|^2 per span, averaged over
    the spans, corrected for the Hann frame's response off the bin centre) and the share of
    frames on it."""
    n = len(starts)
    spans = max(1, int(round(starts[-1] / SPAN_S)))
    power, steady = np.zeros(freqs.shape), np.zeros(freqs.shape)
    for s in range(spans):
        part = slice(s * n // spans, (s + 1) * n // spans)
        turn = np.exp(-2j * np.pi * starts[part, None, None] * freqs).astype(np.complex64)
        d = spec[part][:, bins, None] * turn
        centre = np.median(d.real, axis=0) + 1j * np.median(d.imag, axis=0)
        power += np.abs(centre) ** 2
        steady += np.mean(np.abs(d - centre) < STEADY_RADIUS * np.abs(centre), axis=0)
    x = freqs / BIN_HZ - bins[:, None]
    return power / spans / (np.sinc(x) / (1.0 - x ** 2)) ** 2, steady / spans


def check_hum(ctx: Analysis, sensitivity: float = 1.0) -> list[Finding]:
    if ctx.duration_s < 1.0 or ctx.peak <= 1e-4:
        return []
    got = _frames(ctx)
    if got is None:
        return []
    spec, starts, low, total = got
    # harmonics whose persistent bin stands out: (f0, k, bin, prominence dB, excess power)
    cand = []
    for f0 in MAINS_HZ:
        for k in range(1, HARMONICS + 1):
            b = int(round(k * f0 / BIN_HZ))
            if b + 7 > len(low):
                break
            floor = float(np.median(np.concatenate([low[b - 6: b - 2], low[b + 3: b + 7]])))
            prom = 10 * math.log10(low[b] / (floor + 1e-30) + 1e-30)
            level_db = 10 * math.log10(low[b] / total + 1e-30)
            if prom >= PROMINENCE_MIN_DB and level_db >= LEVEL_MIN_DB:
                cand.append((f0, k, b, prom, (float(low[b]) - floor) / total))
    if not cand:
        return []
    f0s = np.array([c[0] for c in cand])
    ks = np.array([c[1] for c in cand])
    bins = np.array([c[2] for c in cand])
    mains = f0s * ks
    power, steady = _lines(spec, starts, bins, np.hstack([
        mains[:, None] + ks[:, None] * _DRIFTS, mains[:, None] + _NEAR]))
    on, steady = power[:, :len(_DRIFTS)], steady[:, :len(_DRIFTS)]        # harmonics x drifts
    near = power[:, len(_DRIFTS):].max(axis=1, keepdims=True)
    margin = np.where(steady >= STEADY_FRAMES, NOTE_MARGIN_DB, UNSTEADY_NOTE_MARGIN_DB)
    exact = ((on >= low[bins, None] * 10 ** (LINE_SHARE_DB / 10))
             & (near <= on * 10 ** (margin / 10)))
    gain = np.minimum(np.array([c[3] for c in cand]) - 3.0, PROMINENCE_CAP_DB)[:, None]
    gain = gain * np.where(steady >= STEADY_FRAMES, 1.0, UNSTEADY_WEIGHT) * exact
    score = np.stack([gain[f0s == f0].sum(axis=0) for f0 in MAINS_HZ])     # mains x drifts
    count = np.stack([exact[f0s == f0].sum(axis=0) for f0 in MAINS_HZ])
    # hum has a series of harmonics; a lone line could be a kick tuned to the mains or a note's
    score = np.where(count < 2, LONE_WEIGHT * score, score)
    i, r = np.unravel_index(int(np.argmax(score)), score.shape)    # ties: 50 Hz, no drift
    if score[i, r] <= 0:
        return []
    f0 = MAINS_HZ[i]
    hits = [c for c, ok in zip(cand, exact[:, r]) if ok and c[0] == f0]
    rel_db = 10 * math.log10(max(sum(c[4] for c in hits), 1e-30))  # re the mean frame power
    sev = severity_from_ratio(float(score[i, r]) / SCORE_REF * sensitivity, 2.0)
    if sev < 0.05:
        return []
    return [Finding("hum", sev, 0.0, ctx.duration_s, round(rel_db, 1), f"{f0:.0f} Hz",
                    f"steady tone at {f0:.0f} Hz and harmonics {[c[1] for c in hits]}, "
                    f"{rel_db:.0f} dB re the signal")]
