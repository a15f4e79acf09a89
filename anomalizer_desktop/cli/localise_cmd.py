"""`anomalizer localise FILE --model M`: where in a take it is unusual, and what the checks found.

Prints the learned score of sliding windows (``core.localise``) next to the file's signal-check
findings, or writes them as CSV/JSON. The same curve is the strip under the app's waveform.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

from ..core.errors import AnomalizerError

MAX_LISTED = 12  # findings printed to the terminal


def cmd_localise(args, token, bar) -> int:
    from ..core import jobs
    from ..core.audio.io import read_audio
    from ..core.detect.persistence import load_model
    from ..core.embedding import encoder_for_id
    from ..core.embedding.base import SAMPLE_RATE
    from ..core.localise import localise_iter
    from ..core.qc import TITLES, group_findings
    from .commands import drive, flag_policy, open_catalog, open_output, say

    path = Path(args.file)
    if not path.is_file():
        raise AnomalizerError(f"no such file: {path}")
    detector, info = load_model(args.model)
    encoder = encoder_for_id(info.encoder_id, weights=args.weights)
    audio = read_audio(path, sample_rate=SAMPLE_RATE)
    curve = drive(localise_iter(audio.samples, encoder, detector, info.threshold,
                                args.window, args.hop, token=token), bar)
    with open_catalog(args) as catalog:
        judge = jobs.model_judge(detector, info, catalog, flag_policy(args))
    whole = jobs.score_file(path, encoder, detector, judge)
    if whole.error or whole.score is None:
        raise AnomalizerError(f"{path}: {whole.error or 'could not be scored'}")
    shown = list(whole.reasons)
    verdict = {"flagged": whole.flagged, "score": whole.score, "threshold": whole.threshold,
               "learned_score": whole.learned_score, "evidence": list(whole.words)}
    rows = [{"start_s": round(float(a), 4), "end_s": round(float(b), 4),
             "score": float(s), "relative": float(r)}
            for a, b, s, r in zip(curve.starts_s, curve.ends_s, curve.scores, curve.relative)]
    if args.csv or args.json:
        stream = open_output(args.csv or args.json)
        try:
            if args.csv:
                writer = csv.DictWriter(stream, fieldnames=list(rows[0]) if rows else ["start_s"])
                writer.writeheader()
                writer.writerows(rows)
            else:
                json.dump({"file": str(path), **verdict, "window_threshold": curve.threshold,
                           "window_s": curve.window_s, "hop_s": curve.hop_s,
                           "peak_s": curve.peak_s, "windows": rows,
                           "findings": [{"kind": f.kind, "label": f.label(), "severity": f.severity,
                                         "start_s": f.start_s, "end_s": f.end_s} for f in shown]},
                          stream, indent=2)
                stream.write("\n")
        finally:
            if stream is not sys.stdout:
                stream.close()
        return 0
    out = sys.stdout
    out.write(f"{path.name}: {len(rows)} windows of {curve.window_s:.2f} s every "
              f"{curve.hop_s:.2f} s (x typical = score / this take's median window score)\n")
    top = float(np.nanmax(curve.relative)) if np.isfinite(curve.relative).any() else 1.0
    for row in rows:
        bar_len = int(round(20 * row["relative"] / top)) if np.isfinite(row["relative"]) else 0
        mark = "  <- most unusual" if curve.peak_s is not None and abs(
            (row["start_s"] + row["end_s"]) / 2 - curve.peak_s) < 1e-3 else ""
        out.write(f"  {row['start_s']:7.2f}-{row['end_s']:<7.2f} s  score {row['score']:9.4g}  "
                  f"{row['relative']:5.2f}x  {'#' * bar_len}{mark}\n")
    mark = "FLAG" if whole.flagged else "ok"
    out.write(f"whole file: {mark}, evidence {whole.score:.3g} (flag from {whole.threshold:.3g})"
              + (f": {'; '.join(whole.words)}" if whole.words else "") + "\n")
    out.write("signal checks that make it unusual here:" + ("" if shown else " none") + "\n")
    for f, group in group_findings(shown, max_items=MAX_LISTED):
        if len(group) == 1:
            out.write(f"  {f.label()}\n")
        else:
            out.write(f"  {TITLES.get(f.kind, f.kind)} x{len(group)} "
                      f"({group[0].start_s:.2f}-{group[-1].end_s:.2f} s), worst: {f.label()}\n")
    say("window scores are on the learned score's own scale (x typical = against this take)")
    return 0
