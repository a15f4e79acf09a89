"""Rescan time of an unchanged library, against the floor of walking + stat-ing the same tree.

    .venv/bin/python bench/bench_rescan.py [--files 10000]

The first scan catalogs and "embeds" every file with a stand-in encoder (a constant vector, so
the benchmark measures the catalog, not a model); the rescan must then do no audio work at all.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from anomalizer_desktop.core import jobs  # noqa: E402
from anomalizer_desktop.core.audio.io import iter_audio_files  # noqa: E402
from anomalizer_desktop.core.catalog import Catalog  # noqa: E402
from anomalizer_desktop.core.progress import run_job  # noqa: E402


class ConstantEncoder:
    id, name, dim, batch_size, description = "bench:constant", "bench", 8, 64, "constant"

    def encode(self, clips):
        return np.ones((len(clips), self.dim), np.float32)


def make_library(root: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    for i in range(n):
        folder = root / f"pack{i // 500:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        sf.write(folder / f"loop_{i:05d}.wav", rng.normal(0, 0.1, 480).astype(np.float32), 48_000)



def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "library"
        t = time.perf_counter()
        make_library(root, args.files)
        print(f"wrote {args.files} files in {time.perf_counter() - t:.1f} s")
        with Catalog(Path(tmp) / "catalog.sqlite3") as catalog:
            t = time.perf_counter()
            first = run_job(jobs.scan([root], catalog, ConstantEncoder()))
            first_s = time.perf_counter() - t
            t = time.perf_counter()
            again = run_job(jobs.scan([root], catalog, ConstantEncoder()))
            rescan_s = time.perf_counter() - t
        t = time.perf_counter()
        floor = sum(1 for p in iter_audio_files(root) if os.stat(p))
        floor_s = time.perf_counter() - t
    assert again.unchanged == args.files and again.embedded == 0, again
    print(f"first scan (hash + header + catalog + stand-in embed): {first_s:.2f} s "
          f"({first.added} files)")
    print(f"rescan of the unchanged library: {rescan_s:.2f} s "
          f"({rescan_s / args.files * 1e6:.0f} us/file)")
    print(f"floor (walk + stat only, same tree): {floor_s:.2f} s for {floor} files")
    print(f"rescan / floor ratio: {rescan_s / floor_s:.1f}x")


if __name__ == "__main__":
    main()
