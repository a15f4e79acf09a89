"""Build the flag-evaluation corpus (real-material loops with planted defects), see
bench/flag_corpus/__init__.py.

    nice -n 10 .venv/bin/python bench/make_flag_corpus.py [--out DIR] [--scale S] [--seed N]
        [--parts dev,locked] [--instruments bass,guitar,drums] [--jobs 2]

Output defaults to bench/out/flag-corpus/ (ignored by git); prints a count table at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flag_corpus import DEFAULT_ROOT, build_corpus, count_table  # noqa: E402


def _csv(s: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in s.split(",") if x.strip())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--parts", type=_csv, default=("dev", "locked"))
    ap.add_argument("--instruments", type=_csv, default=("bass", "guitar", "drums"))
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args(argv)
    bad = [p for p in a.parts if p not in ("dev", "locked")] + [
        i for i in a.instruments if i not in ("bass", "guitar", "drums")]
    if bad:
        ap.error(f"unknown part/instrument: {', '.join(bad)}")
    if a.scale <= 0:
        ap.error("--scale must be > 0")
    t0 = time.time()
    records = build_corpus(a.out, scale=a.scale, seed=a.seed, parts=a.parts,
                           instruments=a.instruments, jobs=max(1, a.jobs))
    print()
    count_table(records)
    print(f"\n{a.out}/manifest.json  ({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
