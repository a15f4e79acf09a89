"""Level checks: a silent file, clipping, DC offset, silence at the head/tail.

Silent: no sample louder than -80 dBFS from start to end (an empty bounce, a muted track). Such
a file gets that one finding and no other: every other check would only describe the silence.

Clipping is counted on the original samples: runs of >= 3 consecutive samples sitting exactly
on the file's rail (its positive or negative peak), entered and left steeply (a waveform cut
off flat), or runs too long for any natural peak (> 0.5 ms flat). A loud master whose peaks
touch -0.1 dBFS through a limiter has no such runs; neither has saturation followed by tone
filtering (deliberate distortion). A saturator driven so hard that its output is flat to the
last bit *is* a clipper; in a library made that way clipping is "common in your library"
(``core.evidence``).

DC offset: the steady part of each channel's mean (bass samples drift off-centre note by
note; that drift is not counted). An interface offset shifts the whole waveform, its peaks
with its mean; a waveform that is itself asymmetric moves only the mean (a driven bass
pinned at both rails with an uneven duty cycle sits off-centre with its peaks centred). So
the steady mean counts in full as far as the midpoint of each 50-ms block's extremes (their
median) carries at least half of it; beyond that only what exceeds 15% of the level of the
loop's quietest 50-ms blocks (what content can explain: it goes away where the loop is quiet,
an offset does not). Silence at head/tail: the time before the first / after
the last 1-ms frame within 50 dB of the peak, less the loop's own longest rest inside (a
sparse groove breathes; padding does not).
"""

from __future__ import annotations

import numpy as np

from .context import Analysis, true_runs
from .findings import Finding, severity_from_ratio

CLIP_MIN_RUN = 3
CLIP_LONG_RUN_S = 0.0005          # flat for this long = clipped even if entered gently
CLIP_REF_SAMPLES = 10.0           # clipped samples (in one region) at which severity is 0.5
CLIP_MERGE_S = 0.1
DC_REF = 0.01                     # steady offset at which severity is 0.5
DC_BLOCK_S = 0.05                 # blocks for the peak midpoint and the quiet level
DC_PEAKS_SHARE = 0.5              # peak midpoint >= this share of the mean: a shifted waveform
DC_CONTENT_SHARE = 0.15           # else content may sit off-centre by this share of its level ...
DC_QUIET_PERCENTILE = 5.0         # ... in its quietest blocks (RMS about the block mean)
SILENCE_REL_DB = -50.0            # "sound" = within 50 dB of the file's peak ...
SILENCE_ABS = 1e-4                # ... and above -80 dBFS
SILENCE_REF_S = 0.25              # silence at which severity is 0.5
SILENCE_MIN_S = 0.1


def check_silent(ctx: Analysis, sensitivity: float = 1.0) -> list[Finding]:
    """The whole file is silent (see the module docstring); ``value``: its peak."""
    if ctx.peak > SILENCE_ABS:
        return []
    digital = ctx.peak == 0.0
    level = "digital silence (every sample zero)" if digital else \
        f"peak {20 * np.log10(ctx.peak):.0f} dBFS, nothing audible"
    return [Finding("silent", 1.0 if digital else 0.95, 0.0, ctx.duration_s, ctx.peak, "",
                    f"silent from start to end: {level}")]


def _clip_runs(x: np.ndarray, sr: int) -> list[tuple[int, int]]:
    """Runs of samples exactly on this channel's positive or negative rail, cut off steeply."""
    out: list[tuple[int, int]] = []
    long_run = max(CLIP_MIN_RUN + 1, int(CLIP_LONG_RUN_S * sr))
    for rail in (float(x.max()), float(x.min())):
        if abs(rail) < 0.05:
            continue
        tol = abs(rail) * 2e-6 + 1e-9
        on = np.abs(x - rail) <= tol
        starts, ends = true_runs(on)
        keep = (ends - starts) >= CLIP_MIN_RUN
        for a, b in zip(starts[keep], ends[keep]):
            if b - a >= long_run:
                out.append((int(a), int(b)))
                continue
            # steepness of the waveform where it meets / leaves the rail, vs the rail itself
            slope_in = abs(float(x[a - 1] - x[a - 2])) if a >= 2 else 0.0
            slope_out = abs(float(x[b + 1] - x[b])) if b + 1 < len(x) else 0.0
            if max(slope_in, slope_out) >= 0.002 * abs(rail):
                out.append((int(a), int(b)))
    return out


def check_clipping(ctx: Analysis, sensitivity: float = 1.0) -> list[Finding]:
    if ctx.peak < 0.05:
        return []
    runs: list[tuple[int, int]] = []
    for c in range(ctx.channels):
        runs += _clip_runs(ctx.x[:, c], ctx.sr)
    if not runs:
        return []
    runs.sort()
    merge = int(CLIP_MERGE_S * ctx.sr)
    regions: list[list[int]] = []        # [start, end, samples]
    for a, b in runs:
        if regions and a - regions[-1][1] <= merge:
            regions[-1][1] = max(regions[-1][1], b)
            regions[-1][2] += b - a
        else:
            regions.append([a, b, b - a])
    total = sum(r[2] for r in regions)
    rail_db = 20 * np.log10(ctx.peak)
    tag = "at full scale" if rail_db > -0.5 else f"at {rail_db:.1f} dBFS"
    out = []
    for a, b, count in regions:
        stat = max(count, total / 4.0) / CLIP_REF_SAMPLES
        if rail_db <= -0.5:
            stat *= 0.5       # flat tops below full scale: clipped earlier, or a square wave
        out.append(Finding("clipping", severity_from_ratio(stat * sensitivity, 1.5),
                           a / ctx.sr, b / ctx.sr, float(count), tag,
                           f"{count} samples flat on the rail in this region, {total} in the file"))
    return out


def _dc_content(ctx: Analysis) -> tuple[np.ndarray, np.ndarray]:
    """Per channel over 50-ms blocks: the median midpoint of the block's extremes, and the
    RMS (about the block mean) of the quietest blocks (5th percentile)."""
    block = max(1, int(DC_BLOCK_S * ctx.sr))
    m = ctx.n // block
    mid, quiet = np.zeros(ctx.channels), np.zeros(ctx.channels)
    if m < 4:
        return mid, quiet
    for c in range(ctx.channels):
        y = np.ascontiguousarray(ctx.x[: m * block, c]).reshape(m, block)
        mid[c] = np.median((y.max(axis=1) + y.min(axis=1)) * 0.5)
        d = y - y.mean(axis=1, keepdims=True)
        quiet[c] = np.percentile(np.sqrt(np.einsum("ij,ij->i", d, d) / block), DC_QUIET_PERCENTILE)
    return mid, quiet


def check_dc_offset(ctx: Analysis, sensitivity: float = 1.0) -> list[Finding]:
    """A constant offset. Bass-heavy material can sit off-centre by a drifting amount
    (asymmetric waveforms, note by note); only the part of the mean that does not drift
    (beyond 1.5 x the spread of the 0.4-s running mean) counts: in full where the waveform's
    peaks are shifted with it, else only beyond 15% of the level of the loop's quietest parts
    (what an asymmetric waveform can explain)."""
    dc, drift = ctx.dc_drift
    steady = np.abs(ctx.dc_steady)
    mid, quiet = _dc_content(ctx)
    shifted = np.maximum(0.0, np.sign(dc) * mid) / DC_PEAKS_SHARE
    steady = np.minimum(steady, np.maximum(shifted, steady - DC_CONTENT_SHARE * quiet))
    c = int(np.argmax(steady))
    eff = float(steady[c])
    sev = severity_from_ratio(eff / DC_REF * sensitivity, 2.0)
    if sev < 0.05:
        return []
    value = float(dc[c])
    same = ctx.channels > 1 and all(abs(float(v) - value) <= 0.2 * abs(value) for v in dc)
    tag = "" if ctx.channels == 1 or same else ("L" if c == 0 else "R" if c == 1 else str(c + 1))
    return [Finding("dc_offset", sev, 0.0, ctx.duration_s, value, tag,
                    f"mean {value:+.4f} ({20 * np.log10(abs(value) + 1e-12):.0f} dBFS), "
                    f"drifting by {float(drift[c]):.4f}")]


def _sound_frames(ctx: Analysis) -> np.ndarray:
    thr = max(SILENCE_ABS, ctx.peak * 10 ** (SILENCE_REL_DB / 20))
    return ctx.env_peak > thr


def _longest_inner_gap(sound: np.ndarray) -> int:
    idx = np.flatnonzero(sound)
    if idx.size < 2:
        return 0
    return int(np.max(np.diff(idx)) - 1)


def _silence_findings(ctx: Analysis, sensitivity: float, head: bool) -> list[Finding]:
    if ctx.peak <= SILENCE_ABS or ctx.n < int(0.5 * ctx.sr):
        return []
    sound = _sound_frames(ctx)
    idx = np.flatnonzero(sound)
    if idx.size == 0:
        return []
    hop_s = ctx.env_hop / ctx.sr
    frames = len(sound)
    length = idx[0] if head else frames - 1 - idx[-1]
    dur = length * hop_s
    if dur < SILENCE_MIN_S:
        return []
    # A loop whose rhythm has rests as long as this one is not padded, it just breathes.
    inner = _longest_inner_gap(sound) * hop_s
    eff = dur - 0.8 * inner
    sev = severity_from_ratio(max(0.0, eff) / SILENCE_REF_S * sensitivity, 3.0)
    if sev < 0.05:
        return []
    seg = ctx.x[: length * ctx.env_hop] if head else ctx.x[(frames - length) * ctx.env_hop:]
    digital = bool(seg.size) and not np.any(seg)
    kind = "silence_head" if head else "silence_tail"
    a, b = (0.0, dur) if head else (ctx.duration_s - dur, ctx.duration_s)
    note = "digital silence" if digital else "below -50 dB re peak"
    return [Finding(kind, sev, a, b, dur, "", f"{dur:.2f} s {note}; longest rest inside "
                    f"{inner:.2f} s")]


def check_silence_head(ctx: Analysis, sensitivity: float = 1.0) -> list[Finding]:
    return _silence_findings(ctx, sensitivity, head=True)


def check_silence_tail(ctx: Analysis, sensitivity: float = 1.0) -> list[Finding]:
    return _silence_findings(ctx, sensitivity, head=False)
