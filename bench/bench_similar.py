"""More like this at scale: exact search against the approximate index (faiss HNSW).

For each library size (default 10k, 100k and 1M vectors of 512 dimensions) prints the index
build time, the single-query latency of exact search (:class:`SimilarSpace`, the baseline,
measured in the same run) and of the approximate index, their ratio, and the approximate index's
recall@10 against exact search. Also the time to add 1 % new vectors incrementally and to
save and load the index file.

The vectors are synthetic: clusters of ~100 loops whose spread follows the singular-value
spectrum of the real pre-trained HTS-AT embeddings in ``../shared/data`` (a power law fitted to
them), standardised as the app standardises a library. The queries are new vectors from the
same clusters (a take that sounds like loops already in the library).

    python bench/bench_similar.py [--sizes 10000 100000 1000000] [--queries 200]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from anomalizer_desktop.core.similar import ann  # noqa: E402
from anomalizer_desktop.core.similar.space import SimilarSpace  # noqa: E402

DIM = 512
REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "musicradar_bass392_htsat_base.npy"


def spectrum(dim: int) -> np.ndarray:
    """Per-direction spread shaped like the real embeddings' singular values (or a -0.9 power
    law when the real data is not at hand)."""
    slope, first = -0.9, None
    if REAL.exists():
        real = np.load(REAL)
        ev = np.linalg.svd(real - real.mean(0), compute_uv=False)
        r = np.arange(1, len(ev) + 1)
        slope, _ = np.polyfit(np.log(r[4:200]), np.log(ev[4:200]), 1)
        first = ev[:5] / ev[0]
    scale = np.arange(1, dim + 1, dtype=np.float64) ** slope
    if first is not None:
        scale[:5] = first
    return scale / scale[0]


def library(n: int, queries: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scale = spectrum(DIM).astype(np.float32)
    centres = rng.standard_normal((max(1, n // 100), DIM)).astype(np.float32) * scale
    x = np.empty((n + queries, DIM), np.float32)
    for start in range(0, n + queries, 100_000):  # in blocks: 1M x 512 stays ~2 GB
        stop = min(n + queries, start + 100_000)
        noise = rng.standard_normal((stop - start, DIM)).astype(np.float32)
        x[start:stop] = centres[rng.integers(0, len(centres), stop - start)] + 0.5 * noise * scale
    return x[:n], x[n:]


def run(n: int, n_queries: int) -> dict:
    raw, raw_q = library(n, n_queries)
    keys = [f"{i:016x}" for i in range(n)]
    space = SimilarSpace(keys, raw)
    del raw
    Q = space.standardise(raw_q)

    exact_ms, truth = [], []
    for q in Q:
        t = time.perf_counter()
        hits = space.nearest(q, 10, standardised=True)
        exact_ms.append(1000 * (time.perf_counter() - t))
        truth.append({h.key for h in hits})

    grow = max(1, n // 100)
    t = time.perf_counter()
    index = ann.AnnIndex.build(keys[:n - grow], space.Z[:n - grow])
    build_s = time.perf_counter() - t
    t = time.perf_counter()
    index.add(keys[n - grow:], space.Z[n - grow:])
    add_s = time.perf_counter() - t

    ann_ms, recall = [], []
    for q, want in zip(Q, truth):
        t = time.perf_counter()
        row = index.search(q, 10)[0]
        ann_ms.append(1000 * (time.perf_counter() - t))
        recall.append(len({key for key, _ in row} & want) / 10)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "similar.ann"
        t = time.perf_counter()
        index.save(path)
        save_s = time.perf_counter() - t
        size_mb = path.stat().st_size / 2**20
        t = time.perf_counter()
        ann.AnnIndex.load(path)
        load_s = time.perf_counter() - t
    return {"n": n, "exact_ms": float(np.median(exact_ms)), "exact_p95": float(np.percentile(exact_ms, 95)),
            "ann_ms": float(np.median(ann_ms)), "ann_p95": float(np.percentile(ann_ms, 95)),
            "recall": float(np.mean(recall)), "build_s": build_s, "add_s": add_s, "grow": grow,
            "save_s": save_s, "load_s": load_s, "size_mb": size_mb}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args(argv)
    if not ann.available():
        print("faiss-cpu is not installed: pip install -e '.[similar]'")
        return 1
    print(f"dimension {DIM}, {args.queries} single queries per size, k=10; "
          f"HNSW M={ann.CONNECTIVITY} efConstruction={ann.EF_CONSTRUCTION} efSearch={ann.EF_SEARCH}")
    print(f"{'vectors':>9} {'exact ms':>9} {'p95':>6} {'ann ms':>7} {'p95':>6} {'speed-up':>9} "
          f"{'recall@10':>9} {'build s':>8} {'add 1% s':>9} {'save s':>7} {'load s':>7} {'MB':>6}")
    for n in args.sizes:
        r = run(n, args.queries)
        print(f"{r['n']:>9} {r['exact_ms']:>9.2f} {r['exact_p95']:>6.1f} {r['ann_ms']:>7.3f} "
              f"{r['ann_p95']:>6.2f} {r['exact_ms'] / r['ann_ms']:>8.0f}x {r['recall']:>9.3f} "
              f"{r['build_s']:>8.1f} {r['add_s']:>9.2f} {r['save_s']:>7.2f} {r['load_s']:>7.2f} "
              f"{r['size_mb']:>6.0f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
