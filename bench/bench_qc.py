"""Signal-QC benchmark: realistic loops with planted defects of every kind, plus clean loops.

    .venv/bin/python bench/bench_qc.py [--n 40] [--root bench/out/qc] [--seed 1]

Loops come from fluidsynth + the GM soundfont (bass, keys, guitar, strings, pads, organ, drums,
mixes) and from real drum-kit one-shots (hydrogen-drumkits, sonic-pi-samples), at 70-170 BPM,
with clean mastering variants (plain, limited to -0.1 dBFS, deliberately distorted). For every
defect kind ``n`` loops get one planted defect; ``n`` more stay clean. Files are 24-bit WAVs
under ``--root`` (bench/out/ is ignored by git).

Reported per kind: AUROC of the checks alone (score = max severity of that kind's findings, and
of any finding), the share detected at the default severity, the median localisation error,
and the false-flag rate on the clean loops at the default settings.

How the checks join the learned score into one calibrated flag, on real material from sources
the checks were not tuned on, is ``bench/bench_flags.py``.

Reuse: ``make_benchmark(root)`` returns ``[(path, defect_kind | None, planted_time_s)]``;
``auroc_table(items, {"checks": qc_scores, ...})`` prints the same
table for any set of per-file score columns (dicts path -> score, higher = more anomalous).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

log = logging.getLogger("bench_qc")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from anomalizer_desktop.core.qc import CHECKS, QcConfig, run_checks  # noqa: E402
from tests.data import defects, drumkit, loops, midi  # noqa: E402

BenchItem = tuple[Path, "str | None", "float | None"]
REQUIRED = ("click", "dropout", "clipping", "dc_offset", "hum")
# A finding "localises" the defect when it starts within this of the planted time.
LOCALISE_S = {"click": 0.003, "dropout": 0.005, "clipping": 0.005, "noise_burst": 0.02,
              "off_grid": 0.01, "silence_head": 0.02, "silence_tail": 0.03, "loop_seam": 0.003}


def _specs(n: int, seed: int) -> list[loops.LoopSpec]:
    sources = ("gm", "kit") if midi.fluidsynth_missing_reason() is None else ("kit", "synth")
    if not drumkit.available_kits() and "kit" in sources:
        sources = tuple(s for s in sources if s != "kit") or ("synth",)
    return loops.clean_specs(n, seed=seed, sources=sources)


def make_benchmark(root: Path, n: int = 40, seed: int = 1) -> list[BenchItem]:
    """Write the benchmark under ``root`` (reusing files already there) and list it."""
    import soundfile as sf

    root = Path(root)
    manifest = root / f"manifest-n{n}-s{seed}.json"
    if manifest.is_file():
        rows = json.loads(manifest.read_text())
        if all((root / r[0]).is_file() for r in rows):
            return [(root / p, k, t) for p, k, t in rows]
    cache = root / "render-cache"
    specs = _specs(2 * n, seed)
    rendered = loops.render_loops(specs, cache)
    clean, pool = rendered[:n], rendered[n:]
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, str | None, float | None]] = []

    def write(name: str, audio: np.ndarray, sr: int, kind: str | None, t: float | None) -> None:
        rel = f"{kind or 'clean'}/{name}.wav"
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        sf.write(root / rel, np.clip(audio, -1.0, 1.0), sr, subtype="PCM_24")
        rows.append((rel, kind, t))

    for lp in clean:
        write(lp.spec.name, lp.samples, lp.sample_rate, None, None)
    for kind in defects.KINDS:
        if kind == "off_grid":
            continue
        for i in range(n):
            lp = pool[i % len(pool)]
            p = defects.plant(kind, lp.samples, lp.sample_rate, rng)
            write(f"{lp.spec.name}_{kind}", p.samples, lp.sample_rate, kind, p.start_s)
    # off-grid: drum loops re-rendered with one hit moved
    drum_loops = [lp for lp in rendered if "drums" in lp.spec.roles]
    shifted = []
    for i in range(min(n, 4 * len(drum_loops))):
        moved = defects.off_grid_spec(drum_loops[i % len(drum_loops)], rng)
        if moved:
            spec, t = moved
            shifted.append((replace(spec, name=f"{spec.name}{i}"), t))
    for lp, (_, t) in zip(loops.render_loops([s for s, _ in shifted], cache), shifted):
        write(lp.spec.name, lp.samples, lp.sample_rate, "off_grid", t)
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps(rows))
    return [(root / p, k, t) for p, k, t in rows]


def run_qc(items: Sequence[BenchItem]) -> tuple[dict[str, list], list[float]]:
    """Findings (all severities) per file path, and the time run_checks took per file."""
    import soundfile as sf

    cfg = QcConfig(min_severity=0.0)
    out: dict[str, list] = {}
    times = []
    for path, _, _ in items:
        audio, sr = sf.read(path, dtype="float32", always_2d=True)
        t0 = time.perf_counter()
        out[str(path)] = run_checks(audio, sr, cfg)
        times.append(time.perf_counter() - t0)
    return out, times


def auroc(pos: Sequence[float], neg: Sequence[float]) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    p, q = np.asarray(pos, float), np.asarray(neg, float)
    if not len(p) or not len(q):
        return float("nan")
    greater = (p[:, None] > q[None, :]).sum()
    ties = (p[:, None] == q[None, :]).sum()
    return float((greater + 0.5 * ties) / (len(p) * len(q)))


def auroc_table(items: Sequence[BenchItem], columns: Mapping[str, Mapping[str, float]]) -> str:
    """Per-kind and overall AUROC (defect vs clean) for each score column."""
    kinds = [k for k in defects.KINDS if any(kind == k for _, kind, _ in items)]
    names = list(columns)
    lines = [f"{'kind':<14}{'n':>4}" + "".join(f"{c:>12}" for c in names)]
    clean = [str(p) for p, k, _ in items if k is None]
    for kind in kinds + ["overall"]:
        pos = [str(p) for p, k, _ in items if (k == kind or (kind == "overall" and k))]
        row = f"{kind:<14}{len(pos):>4}"
        for c in names:
            row += f"{auroc([columns[c][p] for p in pos], [columns[c][p] for p in clean]):>12.3f}"
        lines.append(row)
    return "\n".join(lines)


def qc_report(items: Sequence[BenchItem], found: Mapping[str, list]) -> str:
    clean = [str(p) for p, k, _ in items if k is None]
    lines = [f"{'kind':<14}{'n':>4}{'AUROC kind':>12}{'AUROC any':>11}{'found@0.5':>11}"
             f"{'localised':>11}{'med err ms':>11}",
             "  (AUROC vs the clean loops; score = max severity of that kind / of any finding;"
             " found = flagged at 0.5; localised = flagged and within the kind's tolerance)"]
    any_score = {p: max((f.severity for f in fs), default=0.0) for p, fs in found.items()}
    for kind in defects.KINDS:
        rows = [(str(p), t) for p, k, t in items if k == kind]
        if not rows:
            continue
        ks = {p: max((f.severity for f in fs if f.kind == kind), default=0.0)
              for p, fs in found.items()}
        hits, errs = 0, []
        for p, t in rows:
            fs = [f for f in found[p] if f.kind == kind and f.severity >= 0.5]
            if fs and t is not None:
                if kind == "silence_tail":   # the loop may fade out before the padding
                    err = min(max(0.0, f.start_s - t) for f in fs)
                else:
                    err = min(abs(f.start_s - t) for f in fs)
                errs.append(err * 1000)
                hits += err <= LOCALISE_S.get(kind, float("inf"))
        det = np.mean([ks[p] >= 0.5 for p, _ in rows])
        lines.append(
            f"{kind:<14}{len(rows):>4}{auroc([ks[p] for p, _ in rows], [ks[p] for p in clean]):>12.3f}"
            f"{auroc([any_score[p] for p, _ in rows], [any_score[p] for p in clean]):>11.3f}"
            f"{det:>11.0%}{hits / len(rows):>11.0%}"
            f"{(np.median(errs) if errs else float('nan')):>11.1f}")
    pos = [str(p) for p, k, _ in items if k]
    lines.append(f"{'overall':<14}{len(pos):>4}{'':>12}"
                 f"{auroc([any_score[p] for p in pos], [any_score[p] for p in clean]):>11.3f}")
    flagged = [p for p in clean if any_score[p] >= 0.5]
    lines.append(f"clean loops flagged at the default severity (0.5): {len(flagged)}/{len(clean)}"
                 f" = {len(flagged) / max(1, len(clean)):.1%}")
    per_kind = {k: sum(any(f.kind == k and f.severity >= 0.5 for f in found[p]) for p in clean)
                for k in CHECKS}
    fired = ", ".join(f"{k} {v}" for k, v in per_kind.items() if v)
    lines.append(f"  by check: {fired or 'none'}")
    for p in flagged:
        labels = [f.label() for f in found[p] if f.severity >= 0.5]
        lines.append(f"  {Path(p).name}: {'; '.join(labels)}")
    return "\n".join(lines)


def make_clean_set(root: Path, n: int, seed: int, bench_n: int, bench_seed: int,
                      avoid: Sequence[tuple[int, int]] = ()) -> list[Path]:
    """``n`` more clean loops, from the bench's generator with another seed
    (written once as 24-bit WAVs under ``root/train-s<seed>``); none is a benchmark loop, nor one
    of the ``(n, seed)`` sets in ``avoid`` (the extra clean set avoids the training set)."""
    import soundfile as sf

    if seed == bench_seed or seed in {s for _, s in avoid}:
        raise ValueError("every loop set needs its own generator seed")
    taken = {s.key() for s in _specs(2 * bench_n, bench_seed)}
    for n_other, seed_other in avoid:
        taken |= {s.key() for s in _specs(n_other, seed_other)}
    specs = [s for s in _specs(n, seed) if s.key() not in taken]
    folder = Path(root) / f"train-s{seed}"
    paths = [folder / f"{s.name}.wav" for s in specs]
    if not all(p.is_file() for p in paths):
        folder.mkdir(parents=True, exist_ok=True)
        for lp, path in zip(loops.render_loops(specs, Path(root) / "render-cache"), paths):
            if not path.is_file():
                sf.write(path, np.clip(lp.samples, -1.0, 1.0), lp.sample_rate, subtype="PCM_24")
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=40, help="loops per defect kind (and clean)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--root", type=Path, default=ROOT / "bench" / "out" / "qc")
    ap.add_argument("--n-clean-extra", type=int, default=200,
                    help="more clean loops (another generator seed) so the false-flag rates "
                         "and AUROCs rest on more than --n clean loops")
    ap.add_argument("--extra-seed", type=int, default=3)
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    t0 = time.perf_counter()
    items = make_benchmark(args.root, args.n, args.seed)
    if args.n_clean_extra:
        extra = make_clean_set(args.root, args.n_clean_extra, args.extra_seed, args.n, args.seed)
        items += [(p, None, None) for p in extra]
    n_clean = sum(1 for _, k, _ in items if k is None)
    print(f"benchmark: {len(items)} files ({n_clean} clean) under {args.root} "
          f"({time.perf_counter() - t0:.1f} s)")
    found, times = run_qc(items)
    ms = np.array(times) * 1000
    print(f"run_checks per file (2.4-4.3 s stereo loops, 44.1/48 kHz): median {np.median(ms):.1f}"
          f" ms, 90th percentile {np.percentile(ms, 90):.1f} ms\n")
    print(qc_report(items, found))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
