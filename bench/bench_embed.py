"""CLAP encoder throughput on this machine (random weights; numbers, not quality).

Prints, for torch thread counts 1 and 2:
  * feature extraction (int16 round trip + repeat-pad + batched log-mel) per clip,
  * model alone on pre-computed features, batch 8 and batch 4 (clips/s),
  * naive: one clip per forward (clips/s),
  * end to end ``encode`` (features + model) on a batch of 8 (clips/s),
plus the cost of one 25-s clip (fusion views). Run: ``python bench/bench_embed.py [--variant clap-music]``.
Takes about 1-2 minutes for clap-fused on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402


def loops(count: int, seconds: float, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 48_000)) / 48_000
    out = []
    for _ in range(count):
        freq = rng.uniform(40, 200)
        wave = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 5)) * np.exp(-(t % 0.5) * 6)
        out.append((0.3 * wave + 0.01 * rng.standard_normal(t.size)).astype(np.float32))
    return out


def timed(fn, repeats: int) -> float:
    fn()  # warm-up (allocator, oneDNN kernels)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="clap-fused", choices=["clap-fused", "clap-music"])
    parser.add_argument("--seconds", type=float, default=4.0, help="loop length (median loop is ~4.5 s)")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="anomalizer-bench-") as home:
        os.environ["ANOMALIZER_HOME"] = home  # random weights go to a throwaway app dir
        run(args, Path(home))


def run(args: argparse.Namespace, home: Path) -> None:
    import torch
    from safetensors.torch import save_file

    from anomalizer_desktop.core.embedding.clap import ClapEncoder
    from anomalizer_desktop.core.embedding.weights import build_model, import_checkpoint

    model = build_model(args.variant)
    save_file(model.state_dict(), str(home / "random.safetensors"))
    encoder = ClapEncoder(args.variant, import_checkpoint(home / "random.safetensors"), device="cpu")
    clips = loops(8, args.seconds)
    long_clip = loops(1, 25.0, seed=9)
    print(f"{args.variant}: {encoder.dim}-d, {args.seconds:g}-s loops, cpu cores {os.cpu_count()}, "
          f"load average {os.getloadavg()[0]:.1f} (other processes skew the numbers)")  # fmt: skip

    for threads in (1, 2):
        torch.set_num_threads(threads)
        with torch.inference_mode():
            feats = encoder.features(clips)
            t_feat = timed(lambda: encoder.features(clips), args.repeats) / len(clips)
            if args.variant == "clap-fused":
                batch = lambda: encoder.forward(*feats)  # noqa: E731
                singles = [(feats[0][i : i + 1], feats[1][i : i + 1]) for i in range(len(clips))]
            else:
                batch = lambda: encoder.forward(feats[0])  # noqa: E731
                singles = [(feats[0][i : i + 1],) for i in range(len(clips))]
            t_batch = timed(batch, args.repeats)
            half = [f[: len(clips) // 2] for f in feats]
            t_half = timed(lambda: encoder.forward(*half) if args.variant == "clap-fused"
                           else encoder.forward(half[0]), args.repeats)  # fmt: skip
            t_naive = timed(lambda: [encoder.forward(*s) for s in singles], 1)
        t_encode = timed(lambda: encoder.encode(clips), 1)
        t_long = timed(lambda: encoder.encode(long_clip), 1)
        print(f"threads={threads}: features {1000 * t_feat:6.1f} ms/clip | model batch 8 "
              f"{len(clips) / t_batch:5.2f} clips/s (batch 4: {len(clips) / 2 / t_half:5.2f}) | "
              f"naive 1/forward {len(clips) / t_naive:5.2f} clips/s | "
              f"encode() {len(clips) / t_encode:5.2f} clips/s | one 25-s clip {t_long:5.2f} s")  # fmt: skip

    # The app's localisation strip for one selected loop (windows as the GUI picks them)
    from anomalizer_desktop.core.detect import make_detector
    from anomalizer_desktop.core.localise import localise
    from anomalizer_desktop.gui.localisation import window_for

    torch.set_num_threads(1)
    rng = np.random.default_rng(1)
    detector = make_detector("pca").fit(rng.normal(size=(64, encoder.dim)))
    window_s, hop_s = window_for(args.seconds)
    t_one = timed(lambda: encoder.encode(clips[:1]), args.repeats)
    t_loc = timed(lambda: localise(clips[0], encoder, detector, None, window_s, hop_s), 1)
    n_win = len(localise(clips[0], encoder, detector, None, window_s, hop_s))
    print(f"localisation strip of one {args.seconds:g}-s loop ({n_win} windows of {window_s:g} s, "
          f"1 thread): {t_loc:5.2f} s = {t_loc / t_one:4.1f}x one whole-loop encode ({t_one:4.2f} s)")


if __name__ == "__main__":
    main()
