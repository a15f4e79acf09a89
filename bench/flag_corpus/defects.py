"""Planting one defect into a copy of a clean loop, and saying where it is.

Every function takes the clean loop as read back from its file ((frames, channels) float),
its rate, the planned parameters and the clean item, and returns the defective audio and a
record: start_s/end_s (seconds in the defective file; the whole file for global defects),
strength with its unit, and the realised details. timing_slip is not here: it is a re-render
with one note moved (see build)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage, signal

from . import dsp

HEADROOM = 0.999


def _active_start(x: np.ndarray, sr: int, n: int, frac: float, margin: int) -> int:
    """A start index near ``frac`` of the loop where the next ``n`` samples are not quiet
    (a dropout in silence would be no defect at all)."""
    mono = np.max(np.abs(x), axis=1)
    hop = max(1, int(0.005 * sr))
    frames = len(mono) // hop
    env = mono[: frames * hop].reshape(frames, hop).max(axis=1)
    win = max(1, n // hop)
    if frames <= win + 2:
        return int(np.clip(frac * len(x), margin, max(margin, len(x) - n - margin)))
    cs = np.concatenate([[0.0], np.cumsum(env)])
    level = (cs[win:] - cs[:-win]) / win  # mean envelope over [i, i + win)
    floor = ndimage.minimum_filter1d(env, size=win, origin=-(win // 2))[: len(level)]
    ok = np.nonzero((level >= np.median(level)) & (floor > 0.02 * env.max()))[0] * hop
    ok = ok[(ok >= margin) & (ok + n <= len(x) - margin)]
    if not len(ok):
        return int(np.clip(frac * len(x), margin, max(margin, len(x) - n - margin)))
    want = frac * len(x)
    return int(ok[np.argmin(np.abs(ok - want))])


def click(x, sr, p, item):
    y = x.copy()
    n = len(x)
    t = int(np.clip(p["pos"] * n, 0.05 * n, 0.95 * n - 8))
    w = p["width"]
    amp = p["amp"]
    local = float(np.mean(x[t]))
    sign = -1.0 if local > 0 else 1.0   # away from the signal, so it never clips
    if p["variant"] == "impulse":
        bump = np.zeros(n)
        bump[t:t + w] = sign * amp
        end = t + w
    else:
        k = np.arange(n - t)
        tau = max(1.0, p["decay_ms"] / 1000 * sr)
        bump = np.zeros(n)
        bump[t:] = sign * amp * np.exp(-k / tau)
        bump[t + int(10 * tau):] = 0.0
        end = t + max(w, int(10 * tau))  # the step and its decay (zero after 10 tau)
    y = x + bump[:, None]
    over = dsp.peak(y)
    if over > HEADROOM:  # keep the click but stop it at full scale
        scale = (amp - (over - HEADROOM)) / amp
        y = x + scale * bump[:, None]
        amp *= scale
    return y, {"start_s": t / sr, "end_s": end / sr, "strength": round(float(amp), 4),
               "strength_unit": "full-scale amplitude",
               "details": {"variant": p["variant"], "width_samples": w, "sample": t,
                           "decay_ms": p["decay_ms"] if p["variant"] == "step" else None}}


def dropout(x, sr, p, item):
    n = max(1, int(round(p["dur_ms"] / 1000 * sr)))
    t = _active_start(x, sr, n, p["pos"], int(0.02 * sr))
    y = x.copy()
    if p["variant"] == "zeros":
        y[t:t + n] = 0.0
    else:
        y[t:t + n] *= dsp.undb(-60)
    return y, {"start_s": t / sr, "end_s": (t + n) / sr, "strength": p["dur_ms"],
               "strength_unit": "ms", "details": {"variant": p["variant"]}}


def clipping(x, sr, p, item):
    c = p["clip_level"]
    q = float(np.quantile(np.abs(x), 1.0 - p["fraction"]))
    g = c / max(q, 1e-9)
    y = np.clip(x * g, -c, c)
    hit = np.nonzero(np.any(np.abs(x * g) >= c, axis=1))[0]
    frac = float(np.mean(np.abs(x * g) >= c))
    return y, {"start_s": hit[0] / sr if len(hit) else 0.0,
               "end_s": (hit[-1] + 1) / sr if len(hit) else len(x) / sr,
               "strength": round(frac, 5), "strength_unit": "fraction of samples clipped",
               "details": {"clip_level": c, "gain_db": round(dsp.db(g), 2),
                           "clipped_frames": int(len(hit))}}


def dc_offset(x, sr, p, item):
    return x + p["offset"], {"start_s": 0.0, "end_s": len(x) / sr, "strength": p["offset"],
                             "strength_unit": "offset (full scale)", "details": {}}


def hum(x, sr, p, item):
    t = np.arange(len(x)) / sr
    ph = np.random.default_rng(p["phase_seed"]).uniform(0, 2 * np.pi, len(p["amps"]))
    h = sum(a * np.sin(2 * np.pi * p["freq"] * (k + 1) * t + ph[k])
            for k, a in enumerate(p["amps"]))
    h *= dsp.undb(p["level_dbfs"]) / max(np.max(np.abs(h)), 1e-12)
    y = x + h[:, None]
    return y, {"start_s": 0.0, "end_s": len(x) / sr, "strength": p["level_dbfs"],
               "strength_unit": "dBFS peak", "details": {"freq": p["freq"],
                                                         "harmonics": p["harmonics"]}}


def _pink(rng, n):
    w = rng.standard_normal(n)
    f = np.fft.rfft(w)
    k = np.arange(len(f))
    k[0] = 1
    return np.fft.irfft(f / np.sqrt(k), n)


def noise_burst(x, sr, p, item):
    n = max(2, int(p["dur_ms"] / 1000 * sr))
    rng = np.random.default_rng(p["noise_seed"])
    t = int(np.clip(p["pos"] * len(x), 0.02 * len(x), max(0, len(x) - n - 1)))
    ch = x.shape[1]
    noise = np.stack([rng.standard_normal(n) if p["color"] == "white" else _pink(rng, n)
                      for _ in range(ch)], axis=1)
    edge = min(n // 4, int(0.001 * sr))
    if edge > 0:
        ramp = np.sin(np.linspace(0, np.pi / 2, edge)) ** 2
        noise[:edge] *= ramp[:, None]
        noise[-edge:] *= ramp[::-1, None]
    level = dsp.peak(x) * dsp.undb(p["rel_db"])
    noise *= level / max(dsp.peak(noise), 1e-12)
    y = x.copy()
    y[t:t + n] += noise
    rel = p["rel_db"]
    over = dsp.peak(y)
    if over > HEADROOM:
        y = x.copy()
        s = 1.0
        for _ in range(20):
            s *= 0.9
            y[t:t + n] = x[t:t + n] + s * noise
            if dsp.peak(y) <= HEADROOM:
                break
        rel = round(rel + dsp.db(s), 2)
    return y, {"start_s": t / sr, "end_s": (t + n) / sr, "strength": rel,
               "strength_unit": "dB re loop peak", "details": {"color": p["color"],
                                                               "dur_ms": p["dur_ms"]}}


def silence_head(x, sr, p, item):
    n = int(round(p["seconds"] * sr))
    y = np.concatenate([np.zeros((n, x.shape[1])), x])
    return y, {"start_s": 0.0, "end_s": n / sr, "strength": p["seconds"], "strength_unit": "s",
               "details": {}}


def silence_tail(x, sr, p, item):
    n = int(round(p["seconds"] * sr))
    y = np.concatenate([x, np.zeros((n, x.shape[1]))])
    return y, {"start_s": len(x) / sr, "end_s": len(y) / sr, "strength": p["seconds"],
               "strength_unit": "s", "details": {}}


def loop_seam(x, sr, p, item):
    k = max(1, int(round(p["trim_ms"] / 1000 * sr)))
    details = {"variant": p["variant"], "trim_samples": k}
    if p["variant"] == "rotate_trim":
        spb = 60.0 / item["bpm"]
        o = p["rotate"] * len(x) / sr
        beat = round(o / spb) * spb
        if abs(o - beat) < 0.03:  # keep the new start clearly off the beat grid
            o = beat + 0.03 + 0.25 * spb
        off = int(round(o * sr)) % len(x)
        x = np.roll(x, -off, axis=0)
        details["rotate_samples"] = off
        details["rotate_s"] = round(off / sr, 4)
    y = x[:-k]
    dur = len(y) / sr
    return y, {"start_s": max(0.0, dur - 0.05), "end_s": dur, "strength": p["trim_ms"],
               "strength_unit": "ms removed at the end (the wrap end->start jumps)",
               "details": details}


def stereo_phase(x, sr, p, item):
    c = p["channel"]
    y = x.copy()
    side = None
    if p["variant"] == "full":
        y[:, c] = -x[:, c]
        frac = 1.0
    else:
        sos = signal.butter(4, p["crossover_hz"], "low", fs=sr, output="sos")
        low = signal.sosfiltfilt(sos, x[:, c])
        total = max(np.sum(x[:, c] ** 2), 1e-12)
        e_low = float(np.sum(low ** 2) / total)
        # invert the planned side unless it carries little of the channel (then the other)
        side = p["band"] if (e_low if p["band"] == "low" else 1 - e_low) >= 0.3 else (
            "high" if p["band"] == "low" else "low")
        band = low if side == "low" else x[:, c] - low
        y[:, c] = x[:, c] - 2 * band
        frac = float(np.sum(band ** 2) / total)
    pk = dsp.peak(y)
    rescaled = None
    if pk > HEADROOM:
        y *= HEADROOM / pk
        rescaled = round(dsp.db(HEADROOM / pk), 2)
    return y, {"start_s": 0.0, "end_s": len(x) / sr, "strength": round(frac, 4),
               "strength_unit": "fraction of the channel's energy inverted",
               "details": {"variant": p["variant"], "channel": c,
                           "crossover_hz": p["crossover_hz"] if p["variant"] == "band" else None,
                           "band": side if p["variant"] == "band" else None,
                           "rescaled_db": rescaled}}


def silent(x, sr, p, item):
    return np.zeros_like(x), {"start_s": None, "end_s": None, "strength": None,
                              "strength_unit": None, "details": {}}


PLANT = {"click": click, "dropout": dropout, "clipping": clipping, "dc_offset": dc_offset,
         "hum": hum, "noise_burst": noise_burst, "silence_head": silence_head,
         "silence_tail": silence_tail, "loop_seam": loop_seam, "stereo_phase": stereo_phase,
         "silent": silent}


def plant(x: np.ndarray, sr: int, kind: str, params: dict, item: dict):
    return PLANT[kind](x, sr, params, item)
