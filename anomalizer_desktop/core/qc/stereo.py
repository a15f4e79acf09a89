"""Stereo phase: one channel (partly) inverted, so the mono sum cancels."""

from __future__ import annotations

import numpy as np

from .context import Analysis
from .findings import Finding, severity_from_ratio

PHASE_REF = 0.5          # L/R correlation of -0.5 (mono sum 6 dB below the channels) = severity 0.5
MIN_BALANCE = 0.1        # the quieter channel must carry at least this fraction of the energy


def check_stereo_phase(ctx: Analysis, sensitivity: float = 1.0) -> list[Finding]:
    if ctx.channels < 2 or ctx.peak <= 1e-4:
        return []
    left = ctx.centered[:, 0].astype(np.float64)
    right = ctx.centered[:, 1].astype(np.float64)
    el, er = float(np.einsum("i,i->", left, left)), float(np.einsum("i,i->", right, right))
    lr = float(np.einsum("i,i->", left, right))
    if min(el, er) < MIN_BALANCE * max(el, er) or el + er <= 0:
        return []
    corr = lr / float(np.sqrt(el * er))
    if corr >= 0:
        return []
    mono_db = 10 * np.log10(max(1e-12, (el + er + 2 * lr) / (el + er)))
    sev = severity_from_ratio(-corr / PHASE_REF * sensitivity, 3.0)
    if sev < 0.05:
        return []
    return [Finding("stereo_phase", sev, 0.0, ctx.duration_s, round(corr, 3), "",
                    f"L/R correlation {corr:+.2f}: the mono sum is {mono_db:.1f} dB "
                    f"below the channels")]
