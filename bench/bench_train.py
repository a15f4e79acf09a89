"""Training benchmark of the detectors on real HTS-AT embeddings (not a test).

Data: /work/shared/data/musicradar_bass392_htsat_base.npy (392 real bass loops, 1024-d
HTS-AT-base embeddings; see that folder's README). Located relative to the repository:
<repo>/../shared/data. The script exits when the file is absent.

Injected anomalies (added to the 392 real rows; the detector is trained on the contaminated
library, like a user's library with a few odd loops, and all rows are ranked):
- ``shuffled``: each dimension copied from a different random real row. Every value is a real
  value of that dimension, but the correlation between dimensions is destroyed.
- ``noise``: Gaussian noise with the per-dimension mean and std of the real rows (same scale,
  no structure).
- ``perturbed``: a real row plus Gaussian noise of 0.5x the per-dimension std (a subtle
  deviation from a normal loop).
- ``amplified``: mean + 2.5 x (real row - mean): an exaggerated version of a real loop that
  stays in the span of the real rows (no "private" noise directions; see the note below).

"new flagged": share of the 92 new real loops (false flags) and of the injected rows above the
model's default threshold (97.5th percentile of its held-out scores), and the same at the paper's
95th percentile of the training scores.

Note on the "library" column: with N < D, a row with independent noise in many dimensions has a
direction of its own that a flexible model can fit exactly when the row is in the training set
(PCA gives it its own component; a network can map it onto the centre). Noise-like oddities are
therefore much easier to flag as *new* takes than inside the library the model was trained on.
AUROC = how well the scores separate the injected rows from the real ones (1 = perfect).

Large-library timing: 6,000 x 1024 rows synthesised by resampling the real rows with
replacement and adding Gaussian noise of 0.1x the per-dimension std.

    python bench/bench_train.py                 # everything (about 15-30 min on 2 cores)
    python bench/bench_train.py --skip-paper --skip-large
    python bench/bench_train.py --threads 1,2   # only: the app's cross-fitted training per
                                                # torch thread count, on the 392 real rows
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data" / "musicradar_bass392_htsat_base.npy"

from anomalizer_desktop.core.detect import make_detector  # noqa: E402
from anomalizer_desktop.core.detect.deep_svdd import PAPER_SETTINGS  # noqa: E402

N_PER_KIND = 5
KINDS = ("shuffled", "noise", "perturbed", "amplified")


def inject(real: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """N_PER_KIND rows of every kind; returns (rows, kind) with kind 1..len(KINDS)."""
    n, d = real.shape
    mean, std = real.mean(axis=0), real.std(axis=0)
    parts, kinds = [], []
    for k, kind in enumerate(KINDS, start=1):
        if kind == "shuffled":
            rows = real[rng.integers(0, n, size=(N_PER_KIND, d)), np.arange(d)]
        elif kind == "noise":
            rows = mean + std * rng.standard_normal((N_PER_KIND, d))
        elif kind == "perturbed":
            base = real[rng.integers(0, n, size=N_PER_KIND)]
            rows = base + 0.5 * std * rng.standard_normal((N_PER_KIND, d))
        else:  # amplified: a real loop's deviation from the mean, 2.5x (stays in the data's span)
            base = real[rng.integers(0, n, size=N_PER_KIND)]
            rows = mean + 2.5 * (base - mean)
        parts.append(rows.astype(np.float32))
        kinds.append(np.full(N_PER_KIND, k))
    return np.concatenate(parts), np.concatenate(kinds)


def protocols(real: np.ndarray, rng: np.random.Generator) -> dict[str, tuple]:
    """(fit rows, eval rows, eval labels) for the two ways the app uses a model.

    library: the model is trained on the contaminated library (392 real + injected rows) and
        ranks those same rows (sorting a library that contains a few odd loops);
    new: the model is trained on 300 random real rows only and scores the other 92 real rows
        plus the injected ones, none of them seen in training (flagging new takes).
    """
    odd, kind = inject(real, rng)
    lib = np.concatenate([real, odd])
    lib_labels = np.concatenate([np.zeros(len(real), dtype=int), kind])
    perm = rng.permutation(len(real))
    fit_rows, test_rows = real[perm[:300]], real[perm[300:]]
    new_eval = np.concatenate([test_rows, odd])
    new_labels = np.concatenate([np.zeros(len(test_rows), dtype=int), kind])
    return {"library": (lib, lib, lib_labels), "new": (fit_rows, new_eval, new_labels)}


def auroc(scores: np.ndarray, positive: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(positive.astype(int), scores))


def fit_timed(network: str, X: np.ndarray, **params):
    det = make_detector(network, **params)
    epochs = {"pretrain": 0, "svdd": 0, "fit": 0}
    t0 = time.perf_counter()
    for stats in det.fit_iter(X):
        epochs[stats["phase"]] = stats["epoch"]
    seconds = time.perf_counter() - t0
    deep = det.name in ("AE", "AEwRES")
    return det, seconds, (f"{epochs['pretrain']}+{epochs['svdd']}" if deep else "-")


def evaluate(scores: np.ndarray, labels: np.ndarray) -> dict:
    out = {"all": auroc(scores, labels > 0)}
    for k, kind in enumerate(KINDS, start=1):
        keep = (labels == 0) | (labels == k)
        out[kind] = auroc(scores[keep], labels[keep] == k)
    return out


def run(network: str, protos: dict | None, X: np.ndarray | None = None, **params) -> dict:
    """Fit on every protocol (or just time a fit on X); spread/time come from the first one."""
    row: dict = {}
    for pname, (fit_x, eval_x, labels) in (protos or {"time": (X, None, None)}).items():
        det, seconds, epochs = fit_timed(network, fit_x, **params)
        if "seconds" not in row:
            spread = det.fit_info_["score_spread"]
            row.update(model=det.name, seconds=seconds, epochs=epochs, spread=spread,
                       rel_spread=spread["std"] / max(float(np.mean(det.train_scores_)), 1e-300))
        if labels is not None:
            scores = det.score(eval_x)
            row[pname] = evaluate(scores, labels)
            if pname == "new":  # flag rates of the 92 new real loops and of the injected ones
                p95_train = float(np.percentile(det.train_scores_, 95))
                row["flags"] = {"ffr": float(np.mean(scores[labels == 0] > det.threshold_)),
                                "recall": float(np.mean(scores[labels > 0] > det.threshold_)),
                                "ffr_paper": float(np.mean(scores[labels == 0] > p95_train)),
                                "recall_paper": float(np.mean(scores[labels > 0] > p95_train))}
    return row


def print_table(title: str, rows: list[dict]) -> None:
    print(f"\n## {title}")
    cols = ["all", *KINDS]
    aur = " ".join(f"{c[:5]:>5}" for c in cols)
    print(f"{'model':7} {'setting':9} {'time s':>6} {'epochs':>8} {'min':>8} {'median':>8} "
          f"{'p95':>8} {'max':>8} {'std/mn':>6} | library AUROC {aur} | new AUROC {aur}")
    for r in rows:
        s = r["spread"]
        line = (f"{r['model']:7} {r['setting']:9} {r['seconds']:6.1f} {r['epochs']:>8} "
                f"{s['min']:8.3g} {s['median']:8.3g} {s['p95']:8.3g} {s['max']:8.3g} "
                f"{r['rel_spread']:6.2f}")
        for pname, pad in (("library", 14), ("new", 10)):
            if pname in r:
                line += " | " + " " * pad + " ".join(f"{r[pname][c]:5.3f}" for c in cols)
        if "flags" in r:
            f = r["flags"]
            line += (f" | new flagged: normal {f['ffr']:5.1%} injected {f['recall']:5.1%}"
                     f" (paper's p95 of training: {f['ffr_paper']:5.1%} / {f['recall_paper']:5.1%})")
        print(line, flush=True)


def time_threads(real: np.ndarray, counts: list[int]) -> int:
    """The app's training (5-fold cross-fitted AEwRES, seed 0) timed per torch thread count,
    one after the other in this run; ratios against the first count."""
    import torch

    from anomalizer_desktop.core.detect import cross_fitted
    from anomalizer_desktop.core.detect import training_threads as tt

    print(f"cross-fitted AEwRES on {real.shape[0]} x {real.shape[1]} real rows, "
          f"{os.cpu_count()} cores")
    first = None
    for count in counts:
        tt.TRAINING_THREADS = count
        torch.set_num_threads(count)
        t0 = time.perf_counter()
        cross_fitted("AEwRES", seed=0).fit(real)
        seconds = time.perf_counter() - t0
        first = first or seconds
        print(f"  {count} thread(s): {seconds:7.1f} s   speed vs {counts[0]} thread(s): "
              f"{first / seconds:.2f}x", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-paper", action="store_true", help="skip the lr 1e-5 paper settings")
    ap.add_argument("--skip-large", action="store_true", help="skip the 6,000-row timing")
    ap.add_argument("--skip-small", action="store_true", help="only the 6,000-row timing")
    ap.add_argument("--seeds", type=int, default=1, help="repeat deep models over N seeds")
    ap.add_argument("--networks", default="AE,AEwRES,iforest,pca")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a default hyper-parameter (repeatable)")
    ap.add_argument("--threads", default="", metavar="N,M",
                    help="only time the app's cross-fitted AEwRES training with N, M, ... torch "
                         "threads (what chose core/detect/training_threads.py's count)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if not DATA.is_file():
        print(f"data not found: {DATA}")
        return 1
    real = np.load(DATA).astype(np.float32)
    if args.threads:
        return time_threads(real, [int(t) for t in args.threads.split(",")])
    protos = protocols(real, np.random.default_rng(2024))
    overrides = {k: float(v) if "." in v or "e" in v else int(v)
                 for k, v in (s.split("=", 1) for s in args.set)}
    networks = [n.strip() for n in args.networks.split(",") if n.strip()]
    deep = [n for n in networks if n.lower() in ("ae", "aewres")]
    settings = [("default", overrides)]
    if not args.skip_paper:
        settings.append(("paper", dict(PAPER_SETTINGS)))
    print(f"data: {real.shape[0]} real rows + {N_PER_KIND * len(KINDS)} injected "
          f"({N_PER_KIND} x {', '.join(KINDS)}), dim {real.shape[1]}; AUROC columns: "
          "library = trained on the contaminated library, new = trained on 300 clean rows")

    rows = []
    for name in networks if not args.skip_small else []:
        for setting, params in settings if name in deep else [("default", {})]:
            for seed in range(args.seeds if name in deep else 1):
                row = run(name, protos, seed=seed, **params)
                row["setting"] = setting if args.seeds == 1 else f"{setting}/{seed}"
                rows.append(row)
                print_table("progress", [row])
    if rows:
        print_table("392 real bass embeddings + injected anomalies", rows)

    if not args.skip_large:
        rng = np.random.default_rng(7)
        big = real[rng.integers(0, len(real), 6000)]
        big = big + 0.1 * real.std(axis=0) * rng.standard_normal(big.shape).astype(np.float32)
        large = []
        for name in networks:
            row = run(name, None, big, seed=0, **(overrides if name in deep else {}))
            row["setting"] = "default"
            large.append(row)
            print_table("progress", [row])
        print_table("6,000 x 1024 synthetic rows (timing)", large)
    return 0


if __name__ == "__main__":
    sys.exit(main())
