"""Listen-by-numbers checks of a built corpus.

    .venv/bin/python -m flag_corpus.verify ROOT      (with bench/ on sys.path)

Decodes every file and compares it with its manifest record: rate, channels, frames
(= bars x 4 x 60 / bpm for loops), clean loops neither clipped nor silent, low bass notes
present in the spectrum, every defect found where the manifest says (against its clean
original), and the loop wrap of seamless vs cut exports."""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf


def _read(p: Path):
    x, sr = sf.read(str(p), dtype="float64", always_2d=True)
    return x, sr


def _expected_frames(r: dict) -> int:
    return int(round(r["bars"] * 4 * 60.0 / r["bpm"] * r["sample_rate"]))


LSB = {"PCM_16": 2.0 ** -15, "PCM_24": 2.0 ** -23, "FLOAT": 1e-7}


def _flat_top(x: np.ndarray, subtype: str) -> tuple[int, bool]:
    """Longest run of samples at the peak, and whether it looks clipped: a run of 3+ with
    steep shoulders (a smooth crest quantised to 16 bits also repeats its top value, but its
    neighbours are only an LSB or two below)."""
    a = np.max(np.abs(x), axis=1)
    pk = a.max()
    at = np.concatenate([[False], a >= pk - 1e-9, [False]])
    d = np.diff(at.astype(int))
    starts, ends = np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]
    if not len(starts):
        return 0, False
    k = int(np.argmax(ends - starts))
    s, e = starts[k], ends[k]
    run = int(e - s)
    lsb = LSB.get(subtype, 1e-7)
    left = pk - a[s - 1] if s > 0 else np.inf
    right = pk - a[e] if e < len(a) else np.inf
    return run, bool(run >= 3 and min(left, right) > 3 * lsb)


def _low_note_ok(x, sr, ln) -> tuple[bool, float]:
    a = int(ln["start_s"] * sr)
    b = int((ln["start_s"] + ln["dur_s"]) * sr)
    seg = x[max(0, a + int(0.03 * sr)):b].mean(axis=1)
    if len(seg) < sr // 10:
        return False, 0.0
    n = 1 << int(np.ceil(np.log2(len(seg) * 4)))
    S = np.abs(np.fft.rfft(seg * np.hanning(len(seg)), n))
    f = np.fft.rfftfreq(n, 1 / sr)
    band = (f > 40) & (f < 70)
    fpk = float(f[band][np.argmax(S[band])])
    strong = S[band].max() >= 0.1 * S[(f > 20) & (f < 2000)].max()
    return abs(fpk - ln["hz"]) / ln["hz"] < 0.03 and strong, fpk


def _locate(kind: str, y, x, sr, r) -> tuple[bool, str]:
    """Is the defect where the manifest says? (y: defective, x: clean original)"""
    s, e = r["start_s"], r["end_s"]
    tol = 0.002
    if kind in ("click", "dropout", "noise_burst"):
        d = np.max(np.abs(y - x), axis=1)
        nz = np.nonzero(d > 1e-4)[0]
        if not len(nz):
            return False, "no difference"
        a, b = nz[0] / sr, (nz[-1] + 1) / sr
        ok = a >= s - tol and b <= e + tol
        return ok, f"diff {a:.4f}-{b:.4f} s vs manifest {s:.4f}-{e:.4f}"
    if kind == "timing_slip":
        # The difference starts at the moved note's earlier onset (old or new). Allowed before
        # it: the moved note's tail wrapping round from the previous repetition (seamless
        # loops), and for TiMidity++ a little re-render difference; so at most 20 % (seamless)
        # or 5 % of the difference energy may lie before the manifest's start.
        d = np.sum((y - x) ** 2, axis=1)
        if not np.any(d):
            return False, "no difference"
        a = max(0, int((s - 0.01) * sr))
        b = int((e + 0.01) * sr)
        pre = float(d[:a].sum() / d.sum())
        inside = float(d[a:b].sum() / d.sum())
        lim = 0.2 if r["export"] == "seamless" else 0.05
        return pre <= lim and inside > 0.01, \
            f"diff energy before {s:.3f} s: {pre:.3f}, in {s:.3f}-{e:.3f} s: {inside:.3f}"
    if kind == "silence_head":
        nz = np.nonzero(np.any(y != 0, axis=1))[0]
        ok = len(nz) and nz[0] / sr >= e - tol and np.array_equal(y[int(round(e * sr)):], x)
        return bool(ok), f"first non-zero {nz[0] / sr if len(nz) else None} s, head {e:.3f} s"
    if kind == "silence_tail":
        a = int(round(s * sr))
        ok = not np.any(y[a:]) and np.array_equal(y[:a], x)
        return bool(ok), f"zeros from {s:.3f} s to {e:.3f} s"
    if kind == "clipping":
        c = r["defect"]["clip_level"]
        frac = float(np.mean(np.abs(y) >= c - 2e-4))
        return abs(frac - r["strength"]) <= 0.3 * r["strength"] + 2e-4, \
            f"samples at clip level {frac:.4f} vs {r['strength']:.4f}"
    if kind == "dc_offset":
        m = float(np.mean(y - x))
        return abs(m - r["strength"]) < 1e-3, f"mean diff {m:.4f} vs {r['strength']}"
    if kind == "hum":
        d = (y - x).mean(axis=1)
        S = np.abs(np.fft.rfft(d))
        f = np.fft.rfftfreq(len(d), 1 / sr)
        fpk = f[np.argmax(S)]
        hz = r["defect"]["freq"]
        lvl = 20 * np.log10(np.max(np.abs(d)) + 1e-12)
        return abs(fpk - hz) < 2 and abs(lvl - r["strength"]) < 1.5, \
            f"diff peak at {fpk:.1f} Hz, {lvl:.1f} dBFS vs {hz} Hz {r['strength']} dBFS"
    if kind == "stereo_phase":
        c = np.corrcoef(y[:, 0], y[:, 1])[0, 1]
        c0 = np.corrcoef(x[:, 0], x[:, 1])[0, 1]
        ch = r["defect"]["channel"]
        g = (r["defect"].get("rescaled_db") or 0.0)
        inv = 10 ** (-g / 20) * y[:, ch]
        e = float(np.sum((x[:, ch] - inv) ** 2) / 4 / max(np.sum(x[:, ch] ** 2), 1e-12))
        ok = abs(e - r["strength"]) < 0.02 and (r["strength"] < 0.99 or abs(c + c0) < 0.02)
        return ok, f"L/R correlation {c0:.2f} -> {c:.2f}, inverted energy {e:.3f} " \
                   f"(manifest {r['strength']})"
    if kind == "loop_seam":
        jump = np.max(np.abs(y[0] - y[-1]))
        step = np.median(np.max(np.abs(np.diff(y, axis=0)), axis=1))
        j0 = np.max(np.abs(x[0] - x[-1]))
        return True, f"wrap jump {jump:.4f} (clean {j0:.4f}, median step {step:.4f})"
    if kind == "silent":
        return not np.any(y), "all zero" if not np.any(y) else "not silent"
    return True, ""


def verify(root: Path, verbose: bool = False) -> dict:
    root = Path(root)
    doc = json.loads((root / "manifest.json").read_text())
    recs = doc["records"]
    by_path = {r["path"]: r for r in recs}
    problems: list[str] = []
    stats = Counter()
    loc = defaultdict(list)
    low = []
    wraps = defaultdict(list)
    cache: dict[str, np.ndarray] = {}
    for r in recs:
        p = root / r["path"]
        try:
            y, sr = _read(p)
        except Exception as e:  # noqa: BLE001
            problems.append(f"{r['path']}: does not decode ({e})")
            continue
        stats["decoded"] += 1
        if sr != r["sample_rate"] or y.shape[1] != r["channels"] or len(y) != r["frames"]:
            problems.append(f"{r['path']}: header {sr}/{y.shape[1]}/{len(y)} != manifest")
        if r["set"] != "defect":
            if len(y) != _expected_frames(r):
                problems.append(f"{r['path']}: {len(y)} frames, bars/bpm say "
                                f"{_expected_frames(r)}")
            pk = np.max(np.abs(y))
            rms = np.sqrt(np.mean(y ** 2))
            if pk >= 1.0:
                problems.append(f"{r['path']}: clean loop peaks at {pk:.4f}")
            if rms < 1e-4:
                problems.append(f"{r['path']}: clean loop is (nearly) silent")
            run, flat = _flat_top(y, r["subtype"])
            stats["max_run_at_peak"] = max(stats["max_run_at_peak"], run)
            if flat:
                problems.append(f"{r['path']}: flat top of {run} samples at the peak (clipped?)")
            if abs(20 * np.log10(pk) - r["peak_dbfs_target"]) > 0.2:
                problems.append(f"{r['path']}: peak {20 * np.log10(pk):.2f} dBFS != target "
                                f"{r['peak_dbfs_target']}")
            if r["content"] == "bass" and r.get("low_note"):
                ok, fpk = _low_note_ok(y, sr, r["low_note"])
                low.append((r["path"], r["low_note"]["name"], r["low_note"]["hz"], fpk, ok))
                if not ok:
                    problems.append(f"{r['path']}: low note {r['low_note']['name']} not found "
                                    f"(FFT peak 40-70 Hz at {fpk:.1f} Hz or too weak)")
            if len(y) > 2:
                d = np.max(np.abs(np.diff(y, axis=0)), axis=1)
                wraps[r["export"]].append(float(np.max(np.abs(y[0] - y[-1])) /
                                                (np.percentile(d, 99) + 1e-9)))
            if r["kind"] == "clean":
                cache[r["path"]] = y
        else:
            x = cache.get(r["clean_path"])
            if x is None:
                x, _ = _read(root / r["clean_path"])
            ok, msg = _locate(r["kind"], y, x, sr, r)
            loc[r["kind"]].append((ok, r["path"], msg))
            if not ok:
                problems.append(f"{r['path']}: {r['kind']} not where the manifest says: {msg}")
    bass_clean = [r for r in recs if r["content"] == "bass" and r["set"] != "defect"]
    share = (sum(1 for r in bass_clean if r.get("low_note")) / len(bass_clean)
             if bass_clean else 0.0)
    out = {"files": len(recs), "decoded": stats["decoded"], "problems": problems,
           "defect_localised": {k: f"{sum(o for o, _, _ in v)}/{len(v)}" for k, v in
                                sorted(loc.items())},
           "low_note_loops": f"{sum(1 for *_, ok in low if ok)}/{len(low)} with the fundamental "
                             f"found (FFT 40-70 Hz)",
           "low_note_share_of_bass_loops": round(share, 3),
           "wrap_jump_over_p99_step": {k: round(float(np.median(v)), 3)
                                       for k, v in wraps.items()},
           "max_run_at_peak_clean": stats["max_run_at_peak"]}
    if verbose:
        for k, v in sorted(loc.items()):
            for ok, p, msg in v[:3]:
                print(f"  {k:13s} {'ok ' if ok else 'BAD'} {msg}   [{Path(p).name}]")
        for p, name, hz, fpk, ok in low[:6]:
            print(f"  low note {name} {hz:.1f} Hz -> FFT peak {fpk:.1f} Hz {'ok' if ok else 'BAD'}"
                  f"   [{Path(p).name}]")
    _ = by_path
    return out


if __name__ == "__main__":
    res = verify(Path(sys.argv[1]), verbose=True)
    probs = res.pop("problems")
    print(json.dumps(res, indent=1))
    print(f"{len(probs)} problem(s)")
    for p in probs[:60]:
        print("  " + p)
