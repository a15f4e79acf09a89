"""Loop checks: the seam (does the end join the start?) and off-grid onsets.

Seam: the click analysis runs on the file as a circle, so a waveform jump from the last sample
to the first shows up as a residual spike at the seam; an end that is cut off while sounding
over a start that is silent is reported too.

Off-grid: onsets (spectral flux, circular like the loop, so the downbeat is one) are fitted
to the loop's own grid. A flux peak is an onset only if the spectrum after it rises over the
spectrum before it: in the decay of a loud hit the frame-to-frame flux flickers (a kick's low
fundamental beats against the short frame, a saturated master swells back) with no new sound;
and the sound coming back after a dropout is the dropout's, not a note. The loop length fixes
the candidate tempi (a whole number of beats, 60-200 BPM); each tempo gives a 16th-note and an
8th-triplet grid. The grid is "clear" when nearly all onsets (all but the worst one) sit
within 15 ms of it; only then is an onset 20+ ms away from every grid line reported (the
next finer subdivision counts as grid when the loop itself uses it: twice, or once when it
is a playable note value, 80+ ms, like a lone syncopated 16th). Weak onsets (ghost notes,
flams) count less than a full hit.
"""

from __future__ import annotations

import numpy as np

from .context import Analysis
from .findings import Finding, severity_from_ratio
from .transients import click_spikes, dropout_events, near_seam

SEAM_EDGE_S = 0.005
SEAM_REF = 2.0               # a seam jump must be this many times the click threshold
SEAM_CUT_DB = 30.0           # end this much louder than an (almost) silent start = cut off

ONSET_HOP_S = 0.0029         # the shared STFT's hop (context.STFT_FRAME_S / 4)
ONSET_SPACING_S = 0.05       # onsets closer than this are one onset
ONSET_RISE_FRAMES = 4        # frames (~12 ms) averaged before / after a flux peak
ONSET_RISE_MIN = 0.3         # that rise, relative to the peak's flux, below which it is a flicker
BPM_MIN, BPM_MAX = 60.0, 200.0
GRID_MIN_S = 0.06
GRID_TOL_S = 0.015
GRID_FIT_MIN = 0.85
OFF_MIN_S = 0.02
OFF_REF_S = 0.025            # deviation (beyond 5 ms of slack) at which severity is 0.5
MIN_ONSETS = 6
DROPOUT_END_S = (0.005, 0.03)   # onsets this close to a dropout's end are its resumption
LONE_SUBDIV_MIN_S = 0.08     # a finer subdivision one onset may use: a 16th up to ~190 BPM


def check_loop_seam(ctx: Analysis, sensitivity: float = 1.0) -> list[Finding]:
    if ctx.n < int(0.2 * ctx.sr):
        return []
    # A jump at the seam counts against the loop's own sharpest attacks: a loop that starts
    # on an abrupt kick, like its other kicks, is seamless.
    spikes = click_spikes(ctx)
    inner = max((s.raw_strength for s in spikes if not near_seam(ctx, s.index)), default=0.0)
    strength, detail = 0.0, ""
    for s in spikes:
        if near_seam(ctx, s.index):
            value = s.raw_strength / max(SEAM_REF, inner)
            if value > strength:
                strength = value
                detail = f"the waveform jumps by {s.amplitude:.3f} full scale across the seam"
    w = max(1, int(SEAM_EDGE_S * ctx.sr))
    end = float(np.sqrt(np.mean(ctx.centered[-w:].astype(np.float64) ** 2)))
    start = float(np.sqrt(np.mean(ctx.centered[:w].astype(np.float64) ** 2)))
    ref = float(np.sqrt(np.mean(ctx.centered.astype(np.float64) ** 2))) + 1e-12
    if end >= 0.1 * ref:
        drop_db = 20 * np.log10(end / (start + 1e-9))
        cut = drop_db / SEAM_CUT_DB
        if cut > strength:
            strength = cut
            detail = f"the end is {drop_db:.0f} dB louder than the start (sound cut off)"
    sev = severity_from_ratio(strength * sensitivity, 2.0)
    if sev < 0.05:
        return []
    t = ctx.duration_s
    return [Finding("loop_seam", sev, t, t, round(strength, 2), "", detail)]


def onsets(ctx: Analysis) -> tuple[np.ndarray, np.ndarray]:
    """Onset times (s, bias not removed) and strengths from log-magnitude spectral flux.

    Circular, like the loop: the first frame is compared with the last, so a hit on the
    downbeat is an onset. A flux peak counts only if the log spectrum of the few frames after
    it rises over that of the few frames before (its strength is that rise): during the decay
    of a loud hit the frame-to-frame flux flickers (a kick's low fundamental beats against the
    short frame, a saturated master swells back), with no new sound behind it."""
    if "onsets" in ctx.cache:
        return ctx.cache["onsets"]  # type: ignore[return-value]
    from scipy.ndimage import maximum_filter1d

    if ctx.n < 4 * ctx.stft_n:
        ctx.cache["onsets"] = (np.zeros(0), np.zeros(0))
        return ctx.cache["onsets"]  # type: ignore[return-value]
    mag = np.sqrt(ctx.stft_power)
    logm = np.log1p(mag * (1000.0 / (float(mag.max()) + 1e-12)))
    flux = np.maximum(0.0, logm - np.roll(logm, 1, axis=0)).sum(axis=1)
    width = max(3, int(ONSET_SPACING_S / ONSET_HOP_S))
    peaks = flux == maximum_filter1d(flux, width, mode="wrap")
    peaks &= flux >= 0.2 * float(flux.max())
    peaks &= flux > 2.0 * float(np.median(flux)) + 1e-9
    idx = np.flatnonzero(peaks)
    k, m = ONSET_RISE_FRAMES, len(logm)
    before = logm[(idx[:, None] - np.arange(2, k + 2)) % m].mean(axis=1)
    after = logm[(idx[:, None] + np.arange(1, k + 1)) % m].mean(axis=1)
    rise = np.maximum(0.0, after - before).sum(axis=1)
    keep = rise >= ONSET_RISE_MIN * flux[idx]
    times = np.asarray(ctx.stft_time(idx[keep]), dtype=np.float64)
    ctx.cache["onsets"] = (times, rise[keep])
    return ctx.cache["onsets"]  # type: ignore[return-value]


def _fit_grid(times: np.ndarray, w: np.ndarray, period: float) -> tuple[float, np.ndarray]:
    """Best offset and signed deviations of ``times`` from a grid with spacing ``period``."""
    phase = np.exp(2j * np.pi * times / period)
    off = float(np.angle(np.sum(w * phase))) / (2 * np.pi) * period
    dev = (times - off + period / 2) % period - period / 2
    return off, dev


def _after_dropout(ctx: Analysis, times: np.ndarray) -> np.ndarray:
    """Onsets that are a dropout's end (the sound coming back), not a played note."""
    ends = np.array([b * ctx.env_hop / ctx.sr for _, b, _, matters, _, _ in dropout_events(ctx)
                     if matters > 0])
    if ends.size == 0:
        return np.zeros(len(times), bool)
    lag = times[:, None] - ends[None, :]
    return np.any((lag >= -DROPOUT_END_S[0]) & (lag <= DROPOUT_END_S[1]), axis=1)


def check_off_grid(ctx: Analysis, sensitivity: float = 1.0) -> list[Finding]:
    times, strength = onsets(ctx)
    resumed = _after_dropout(ctx, times)
    times, strength = times[~resumed], strength[~resumed]
    dur = ctx.duration_s
    if len(times) < MIN_ONSETS or dur < 1.0:
        return []
    w = strength / strength.sum()
    best = None
    for beats in range(1, 129):
        bpm = 60.0 * beats / dur
        if bpm < BPM_MIN:
            continue
        if bpm > BPM_MAX:
            break
        for per_beat in (4, 3):
            g = dur / (beats * per_beat)
            if g < GRID_MIN_S:
                continue
            tol = min(GRID_TOL_S, g / 6)
            off, dev = _fit_grid(times, w, g)
            ok = np.abs(dev) <= tol
            worst = int(np.argmax(np.abs(dev)))
            fit = (float(w[ok].sum()) - (float(w[worst]) if ok[worst] else 0.0)) / (1 - float(w[worst]))
            if fit >= GRID_FIT_MIN and (best is None or g > best[0] + 1e-9):
                best = (g, off, dev, fit, bpm, per_beat)
    if best is None:
        return []
    g, off, dev, fit, bpm, per_beat = best
    tol = min(GRID_TOL_S, g / 6)
    half = (times - off + g / 4) % (g / 2) - g / 4
    # The loop itself uses the next finer subdivision (16ths among 8ths): that is grid too.
    # Twice shows it; once is enough when that subdivision is a playable note value (a lone
    # syncopated 16th; the coarsest grid that fits is often the half-tempo one).
    uses = int(np.sum((np.abs(half) <= tol) & (np.abs(dev) > tol)))
    if g / 2 >= GRID_MIN_S and (uses >= 2 or (uses == 1 and g / 2 >= LONE_SUBDIV_MIN_S)):
        dev = np.where(np.abs(half) < np.abs(dev), half, dev)
    # A clear grid: the biggest deviations are few. Report onsets off every grid line.
    far = np.flatnonzero(np.abs(dev) >= max(OFF_MIN_S, 2 * min(GRID_TOL_S, g / 6)))
    if len(far) > max(1, len(times) // 8):
        return []
    on = np.abs(dev) < min(GRID_TOL_S, g / 6)
    bias = float(np.median(dev[on])) if np.any(on) else 0.0
    typical = float(np.median(strength[on])) if np.any(on) else float(np.median(strength))
    # The loop starts on its grid, so what the fitted grid is offset by is the onset
    # detector's own delay: take it off the reported times.
    shift = (off + bias + g / 2) % g - g / 2
    if abs(shift) > 0.025:
        shift = 0.0
    out = []
    for i in far:
        d = float(dev[i] - bias)
        loud = min(1.0, float(strength[i]) / (typical + 1e-12))
        clear = float(np.clip((fit - 0.8) / 0.1, 0.0, 1.0))
        stat = max(0.0, abs(d) - 0.005) / OFF_REF_S * loud ** 1.5 * clear   # weak = ghost/flam
        sev = severity_from_ratio(stat * sensitivity, 2.0)
        if sev < 0.05:
            continue
        t = float(times[i] - shift)
        grid_name = "16th" if per_beat == 4 else "8th-triplet"
        out.append(Finding("off_grid", sev, t, t, round(d * 1000, 1), "",
                           f"{d * 1000:+.0f} ms from the {grid_name} grid at {bpm:.1f} BPM "
                           f"({fit:.0%} of onsets on it)"))
    return out
