"""Scan throughput by torch thread count: files on disk -> decode-ahead -> CLAP encoder.

    nice .venv/bin/python bench/bench_threads.py [--files 48] [--seconds 4] [--threads 1,2]

Writes ``--files`` loops (44.1 kHz stereo WAV, so decoding downmixes and resamples as it does
for a real library) and embeds them through ``core.pipeline.embed_paths`` (the scan's own
path: one decode thread ahead of the model) with a random-weight clap-fused encoder, once per
thread count, in one run. Prints clips/s per setting, the ratio against 1 thread (the old
default on a 2-core machine was ``cpu_count - 1`` = 1) and the old default's figure. Run it
alone: another busy process changes every number.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402


def write_loops(folder: Path, count: int, seconds: float) -> list[Path]:
    import soundfile as sf

    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * 44_100)) / 44_100
    paths = []
    for i in range(count):
        freq = rng.uniform(40, 200)
        wave = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 5)) * np.exp(-(t % 0.5) * 6)
        left = 0.3 * wave + 0.01 * rng.standard_normal(t.size)
        path = folder / f"loop {i:03d}.wav"
        sf.write(path, np.stack([left, 0.9 * left], axis=1).astype(np.float32), 44_100,
                 subtype="PCM_24")
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=48)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--threads", default="1,2", help="comma-separated torch thread counts")
    args = parser.parse_args()
    counts = [int(x) for x in args.threads.split(",") if x.strip()]
    with tempfile.TemporaryDirectory(prefix="anomalizer-bench-") as home:
        os.environ["ANOMALIZER_HOME"] = home  # random weights go to a throwaway app dir
        run(args, counts, Path(home))


def run(args: argparse.Namespace, counts: list[int], home: Path) -> None:
    import torch
    from safetensors.torch import save_file

    from anomalizer_desktop.core.embedding.clap import ClapEncoder, default_num_threads
    from anomalizer_desktop.core.embedding.weights import build_model, import_checkpoint
    from anomalizer_desktop.core.pipeline import embed_paths

    save_file(build_model("clap-fused").state_dict(), str(home / "random.safetensors"))
    weights = import_checkpoint(home / "random.safetensors")
    folder = home / "loops"
    folder.mkdir()
    items = [(str(i), p) for i, p in enumerate(write_loops(folder, args.files, args.seconds))]
    encoder = ClapEncoder("clap-fused", weights, device="cpu", num_threads=1)
    old_default = max(1, (os.cpu_count() or 1) - 1)
    print(f"{args.files} files of {args.seconds:g} s (44.1 kHz stereo WAV), batch "
          f"{encoder.batch_size}, cpu cores {os.cpu_count()}, load average "
          f"{os.getloadavg()[0]:.1f}; default threads now {default_num_threads()}, "
          f"before {old_default}")
    results: dict[int, float] = {}
    for threads in counts:
        torch.set_num_threads(threads)
        list(embed_paths(items[: encoder.batch_size], encoder))  # warm-up
        start = time.perf_counter()
        done = sum(len(batch.keys) for batch in embed_paths(items, encoder))
        elapsed = time.perf_counter() - start
        results[threads] = done / elapsed
        print(f"  {threads} thread(s): {results[threads]:5.2f} clips/s  "
              f"({1000 * elapsed / done:.0f} ms per clip, decode overlapped)")
    base = results.get(1)
    if base:
        for threads, rate in results.items():
            print(f"  {threads} thread(s) vs 1: {rate / base:.2f}x")


if __name__ == "__main__":
    main()
