"""Embedding throughput of the whole scan pipeline against the model alone and the naive loop.

    .venv/bin/python bench/bench_pipeline.py [--files 48] [--variant clap-fused]

- pipeline: ``jobs.scan`` on a folder of 4-s 44.1 kHz stereo WAVs: hash + header + decode +
  resample (background thread) + features + model + catalog write.
- model alone: ``encoder.encode`` on the same clips already decoded and resampled, in batches.
- naive: per file, decode then one forward pass, no batching, no overlap.
Random weights (no download here): the numbers are about speed, not embedding quality.
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
import soundfile as sf  # noqa: E402


def make_library(root: Path, n: int) -> list[Path]:
    rng = np.random.default_rng(0)
    sr, seconds = 44_100, 4.0
    t = np.arange(int(sr * seconds)) / sr
    paths = []
    for i in range(n):
        f0 = 55 * 2 ** (rng.integers(0, 12) / 12)
        tone = np.sin(2 * np.pi * f0 * t) * np.exp(-(t % 0.5) * 5)
        stereo = np.stack([tone, np.roll(tone, 7)], 1) * 0.4 + rng.normal(0, 0.01, (t.size, 2))
        path = root / f"loop_{i:03d}.wav"
        sf.write(path, stereo.astype(np.float32), sr, subtype="PCM_24")
        paths.append(path)
    return paths



def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=48)
    parser.add_argument("--variant", default="clap-fused")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        os.environ["ANOMALIZER_HOME"] = str(tmp / "home")
        from safetensors.torch import save_file

        from anomalizer_desktop.core import jobs
        from anomalizer_desktop.core.audio.io import read_audio
        from anomalizer_desktop.core.catalog import Catalog
        from anomalizer_desktop.core.embedding.clap import ClapEncoder
        from anomalizer_desktop.core.embedding.weights import build_model, import_checkpoint
        from anomalizer_desktop.core.progress import run_job

        save_file(build_model(args.variant).state_dict(), str(tmp / "random.safetensors"))
        encoder = ClapEncoder(args.variant, import_checkpoint(tmp / "random.safetensors"),
                              device="cpu")
        (tmp / "lib").mkdir()
        paths = make_library(tmp / "lib", args.files)
        encoder.encode([np.zeros(48_000, np.float32)])  # warm-up

        clips = [read_audio(p).samples for p in paths]
        t = time.perf_counter()
        encoder.encode(clips)
        model_s = time.perf_counter() - t

        t = time.perf_counter()
        for path in paths:
            encoder.encode([read_audio(path).samples])
        naive_s = time.perf_counter() - t

        with Catalog(tmp / "catalog.sqlite3") as catalog:
            t = time.perf_counter()
            result = run_job(jobs.scan([tmp / "lib"], catalog, encoder))
            pipeline_s = time.perf_counter() - t
        assert result.embedded == args.files, result

    n = args.files
    print(f"{args.variant}, {n} 4-s stereo 44.1 kHz files, batch {encoder.batch_size}, "
          f"torch threads {__import__('torch').get_num_threads()}")
    print(f"{'':28}{'clips/s':>9}{'vs model alone':>16}")
    for label, seconds in (("model alone (pre-decoded)", model_s),
                           ("full pipeline (jobs.scan)", pipeline_s),
                           ("naive (decode, 1 per fwd)", naive_s)):
        print(f"{label:28}{n / seconds:9.2f}{model_s / seconds:15.2f}x")
    print(f"pipeline vs naive: {naive_s / pipeline_s:.2f}x")


if __name__ == "__main__":
    main()
