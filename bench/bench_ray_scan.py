"""Scan throughput of `--engine ray` (a local Ray on this machine) against the in-process scan.

    nice .venv/bin/python bench/bench_ray_scan.py [--files 96,384] [--seconds 4]
        [--real bench/out/flag-corpus/locked/bass/library --real-files 40]

Writes ``--files`` loops (44.1 kHz stereo WAV) and scans them twice into two new catalogs, once
in-process and once on Ray, with a random-weight clap-fused encoder (the real model code, as
bench_threads.py): the whole scan (listing, hashing, signal checks, facets, embeddings), so
clips/s is files per second of scan. Ray's start-up is timed apart; a one-file Ray scan shows
what every Ray scan pays for starting its encoder actors, which a larger library (``--files
96,384``) spreads thinner. Then it compares the two catalogs (embeddings max |difference|,
findings, facets). With ``--real``, the first ``--real-files`` files of that folder (real
rendered loops: bench/make_flag_corpus.py) get the same comparison and timing. Run it alone:
another busy process changes every number.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bench_threads import write_loops  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", default="96",
                        help="comma-separated library sizes, e.g. 96,384 (each scanned both ways)")
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--real", type=Path, help="a folder of real loops to compare on too")
    parser.add_argument("--real-files", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="anomalizer-bench-") as home:
        os.environ["ANOMALIZER_HOME"] = home  # random weights go to a throwaway app dir
        run(args, Path(home))


def run(args: argparse.Namespace, home: Path) -> None:
    import ray
    from safetensors.torch import save_file

    from anomalizer_desktop.core.cluster import engine_for
    from anomalizer_desktop.core.embedding.clap import ClapEncoder
    from anomalizer_desktop.core.embedding.weights import build_model, import_checkpoint

    save_file(build_model("clap-fused").state_dict(), str(home / "random.safetensors"))
    encoder = ClapEncoder("clap-fused", import_checkpoint(home / "random.safetensors"),
                          device="cpu")
    sizes = [int(x) for x in args.files.split(",") if x.strip()]
    synthetic = home / "loops"
    synthetic.mkdir()
    write_loops(synthetic, max(sizes), args.seconds)
    print(f"up to {max(sizes)} files of {args.seconds:g} s (44.1 kHz stereo WAV), clap-fused with "
          f"random weights, cpu cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, "
          f"ray {ray.__version__}")
    started = time.perf_counter()
    ray.init(include_dashboard=False, log_to_driver=False, _temp_dir=str(home / "ray"))
    print(f"  ray start: {time.perf_counter() - started:.1f} s ({ray.cluster_resources()['CPU']:g}"
          " CPUs)")
    try:
        with engine_for("ray") as engine:
            one = home / "one"
            one.mkdir()
            shutil.copy(sorted(synthetic.iterdir())[0], one)
            fixed = timed_scan(one, home / "one.sqlite3", encoder, engine)[0]
            print(f"  a 1-file ray scan: {fixed:.1f} s (starting the encoder actor, every scan)")
            for size in sizes:
                folder = home / f"synthetic-{size}"
                folder.mkdir()
                for path in sorted(synthetic.iterdir())[:size]:
                    (folder / path.name).symlink_to(path)
                compare(f"synthetic-{size}", folder, home, encoder, engine)
            if args.real:
                real = sorted(p for p in args.real.iterdir() if p.is_file())[: args.real_files]
                folder = home / "real"
                folder.mkdir()
                for path in real:  # links: the real files are read where they are
                    (folder / path.name).symlink_to(path.resolve())
                compare(f"real ({len(real)} of {args.real})", folder, home, encoder, engine)
    finally:
        ray.shutdown()


def timed_scan(folder: Path, catalog_path: Path, encoder, engine=None):
    from anomalizer_desktop.core.catalog import Catalog
    from anomalizer_desktop.core.jobs import scan
    from anomalizer_desktop.core.progress import run_job

    with Catalog(catalog_path) as catalog:
        started = time.perf_counter()
        result = run_job(scan([folder], catalog, encoder, engine=engine))
        elapsed = time.perf_counter() - started
        return elapsed, result, contents(catalog, folder, encoder.id)


def contents(catalog, folder: Path, encoder_id: str) -> dict:
    from anomalizer_desktop.core.facets import FACETS_VERSION
    from anomalizer_desktop.core.qc import CHECKS_VERSION

    files = catalog.files(under=folder)
    hashes = sorted({f.hash for f in files if f.hash})
    return {"files": {f.path.name: (f.hash, f.duration_s, f.error) for f in files},
            "findings": catalog.findings_of(hashes, CHECKS_VERSION),
            "facets": {h: (f.bpm, f.tonic, f.mode, f.identity, f.fingerprint.tobytes())
                       for h, f in catalog.facets_of(hashes, FACETS_VERSION).items()},
            "embeddings": catalog.get_embeddings(hashes, encoder_id)}


def compare(name: str, folder: Path, home: Path, encoder, engine) -> None:
    tag = name.split()[0]
    for path in folder.iterdir():  # both scans read from the page cache
        path.read_bytes()
    local_s, result, local = timed_scan(folder, home / f"{tag}-local.sqlite3", encoder)
    ray_s, _, remote = timed_scan(folder, home / f"{tag}-ray.sqlite3", encoder, engine)
    n = len(result.files)
    same = sorted(set(local["embeddings"]) & set(remote["embeddings"]))
    diff = max((float(np.abs(local["embeddings"][h] - remote["embeddings"][h]).max())
                for h in same), default=float("nan"))
    print(f"  {name}: {n} files")
    print(f"    in-process: {n / local_s:5.2f} clips/s ({local_s:.1f} s)")
    print(f"    ray:        {n / ray_s:5.2f} clips/s ({ray_s:.1f} s, actor start included)")
    print(f"    ray / in-process: {local_s / ray_s:.2f}x")
    print(f"    same files: {local['files'] == remote['files']}, same findings: "
          f"{local['findings'] == remote['findings']}, same facets (tempo, key, identity, "
          f"fingerprint): {local['facets'] == remote['facets']}, embeddings: "
          f"{len(same)}/{len(local['embeddings'])} in both, max |difference| {diff:.2e}")


if __name__ == "__main__":
    main()
