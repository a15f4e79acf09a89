"""Unmistakable defects: findings that flag a file whatever the library looks like.

Calibrated evidence judges every component against the user's own library, so a library full
of clicks stops flagging clicks. A few defects are never music, though: samples cut flat at full
scale for a run, a constant offset of several percent of full scale, digital zeros in the middle
of a sounding take, a file that is silent from start to end, a channel polarity-inverted, a file
cut short or holding NaN samples. These flag on their own (the *floor*), unless that kind is
common in this library (a library of deliberately clipped loops), in which case the finding is
shown as "common in your library".
"""

from __future__ import annotations

from collections.abc import Sequence

from ..qc.findings import FILE_KINDS, Finding

CLIP_FULL_SCALE_SAMPLES = 32     # samples flat on a rail at full scale, in one file
DC_FLOOR = 0.03                  # steady offset (full scale = 1): -30 dBFS
DROPOUT_FLOOR_MS = 3.0           # digital zeros inside a sounding take
PHASE_FLOOR = -0.7               # L/R correlation: the mono sum all but cancels
FLOOR_KINDS = ("silent", "clipping", "dc_offset", "dropout", "stereo_phase") + FILE_KINDS


def unmistakable(findings: Sequence[Finding]) -> list[Finding]:
    """The findings of one file that are defects whatever the library (module docstring)."""
    out = []
    clipped = sum(f.value or 0 for f in findings
                  if f.kind == "clipping" and f.tag == "at full scale")
    for f in findings:
        k, v = f.kind, f.value
        if k == "silent" or k in FILE_KINDS:
            hit = True
        elif k == "clipping":
            hit = f.tag == "at full scale" and clipped >= CLIP_FULL_SCALE_SAMPLES \
                and f.severity >= 0.5
        elif k == "dc_offset":
            hit = v is not None and abs(v) >= DC_FLOOR and f.severity >= 0.8
        elif k == "dropout":
            hit = (f.detail.startswith("digital silence") and f.severity >= 0.5
                   and (f.end_s - f.start_s) * 1000.0 >= DROPOUT_FLOOR_MS)
        elif k == "stereo_phase":
            hit = v is not None and v <= PHASE_FLOOR
        else:
            hit = False
        if hit:
            out.append(f)
    return out
