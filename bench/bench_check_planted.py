"""One signal check alone, on many planted defects: clean vs planted severity on a flag-corpus part.

    nice -n 5 .venv/bin/python bench/bench_check_planted.py noise_burst [--kind noise_burst]
        [--part dev] [--per-instrument 300] [--jobs 2] [--corpus DIR]

The flag corpus (bench/make_flag_corpus.py) holds only 12 planted defects of a kind per
instrument and part, too few to tune a check on. This plants one defect of ``--kind`` (drawn
from the corpus generator's own parameter ranges, seeded per loop) in every clean "new" loop of
the part and runs the check on the clean and the planted version. Per instrument it prints the
AUROC of the check's strongest severity, recall and clean fires at severity 0.5 (the flag's
floor), recall above the clean loops' 99th percentile (what survives calibration against a
library), the share above 0.9 (strong enough to flag in a library where the check fires
now and then), and clean fires at 0.2: the calibrated evidence counts every finding from
there, and a check that never fires in a library makes even a weak one stand out. Tune on the dev part; the locked part is for bench_flags.py's report.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))

from flag_corpus import DEFAULT_ROOT  # noqa: E402

SEED = 1000


def _strongest(check: str, x: np.ndarray, sr: int) -> float:
    from anomalizer_desktop.core.qc.context import Analysis
    from anomalizer_desktop.core.qc.runner import _CHECK_FUNCTIONS

    found = _CHECK_FUNCTIONS[check](Analysis(x, sr), 1.0)
    return max([0.0] + [f.severity for f in found])


def _one(job: tuple[str, str, Path, int, str]) -> tuple[float, float]:
    from flag_corpus import defects, export, plan

    check, kind, path, index, _ = job
    x, sr = export.read(path)
    x = np.asarray(x, dtype=np.float32)
    params = plan._defect_params(np.random.default_rng(SEED + index), kind)
    y, _info = defects.PLANT[kind](x.astype(np.float64), sr, params, {})
    return _strongest(check, x, sr), _strongest(check, np.asarray(y, np.float32), sr)


def auroc(pos: np.ndarray, neg: np.ndarray) -> float:
    if not len(pos) or not len(neg):
        return float("nan")
    return float((pos[:, None] > neg[None]).mean() + 0.5 * (pos[:, None] == neg[None]).mean())


def main(argv=None) -> int:
    from flag_corpus import defects

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("check")
    ap.add_argument("--kind", help="defect to plant (default: the check's own kind)")
    ap.add_argument("--part", default="dev", choices=("dev", "locked"))
    ap.add_argument("--per-instrument", type=int, default=300)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_ROOT)
    a = ap.parse_args(argv)
    from anomalizer_desktop.core.qc import CHECKS

    kind = a.kind or a.check
    if a.check not in CHECKS:
        ap.error(f"unknown check {a.check!r}; one of {', '.join(CHECKS)}")
    if kind not in defects.PLANT:
        ap.error(f"no planter for {kind!r}; one of {', '.join(defects.PLANT)}")
    manifest = a.corpus / "manifest.json"
    if not manifest.is_file():
        ap.error(f"no corpus at {a.corpus}: build it with bench/make_flag_corpus.py")
    records = [r for r in json.loads(manifest.read_text())["records"]
               if r["part"] == a.part and r["kind"] == "clean" and r["set"] == "new_clean"]
    by_inst: dict[str, list[dict]] = {}
    for r in records:
        by_inst.setdefault(r["instrument"], []).append(r)
    chosen = [r for rs in by_inst.values() for r in rs[: a.per_instrument]]
    jobs = [(a.check, kind, a.corpus / r["path"], i, r["instrument"])
            for i, r in enumerate(chosen)]
    t0 = time.time()
    with ProcessPoolExecutor(max(1, a.jobs)) as ex:
        results = list(ex.map(_one, jobs, chunksize=8))
    print(f"check {a.check}, planted {kind}, {a.part} part ({time.time() - t0:.0f} s)")
    print(f"{'':8s}{'loops':>6s}{'AUROC':>8s}{'recall@.5':>11s}{'fires@.5':>10s}"
          f"{'recall>p99':>12s}{'>0.9':>7s}{'clean>0.9':>11s}{'fires@.2':>10s}")
    for inst in (*sorted(by_inst), None):
        sel = [res for job, res in zip(jobs, results) if inst is None or job[4] == inst]
        if not sel:
            continue
        neg = np.array([s[0] for s in sel])
        pos = np.array([s[1] for s in sel])
        cut = max(0.5, float(np.quantile(neg, 0.99)))
        print(f"{inst or 'all':8s}{len(sel):6d}{auroc(pos, neg):8.3f}{np.mean(pos >= .5):11.3f}"
              f"{np.mean(neg >= .5):10.3f}{np.mean(pos > cut):12.3f}{np.mean(pos > .9):7.2f}"
              f"{np.mean(neg > .9):11.3f}{np.mean(neg >= .2):10.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
