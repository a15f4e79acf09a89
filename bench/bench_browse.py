"""The browser's lookups on real rendered loops: duplicates, more like this, tempo and key.

    nice .venv/bin/python bench/bench_browse.py [--corpus bench/out/flag-corpus] [--parts dev,locked]
        [--per-instrument 60] [--out bench/out/browse-bench]

From the real-material corpus of ``bench/make_flag_corpus.py`` (build it first), per part
(``dev``: the sources the estimators were tuned on; ``locked``: the ones they must not be):

* copies ``--per-instrument`` clean bass, guitar and drum loops into a library under names with
  no tempo or key in them, and for every other one adds a variant: an exact copy in FLAC, or a
  near copy at -7 dB, at another sample rate, at another bit depth, through Ogg Vorbis or MP3,
  trimmed by 4 ms or padded by 12 ms of silence;
* scans the library in-process with the offline encoder, then
* **duplicates**: precision and recall of the duplicate pairs found, by variant kind (every
  other pair of loops, many at the same tempo on the same instrument, must stay apart);
* **more like this**: each variant as the query, the rank of its original;
* **tempo**: the BPM estimate against the corpus's tempo, within 4 %, and how many are off by
  an octave (half or double) instead;
* **key**: the tonic (and tonic + mode) against the corpus's key, bass and guitar.

Numbers, not pass/fail.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

KINDS = ("flac_copy", "gain", "rate", "depth", "vorbis", "mp3", "trim", "pad")
PITCH = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6,
         "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11}
NAME = re.compile(r"_(\d+(?:p\d+)?)bpm(?:_([A-G][#b]?)(maj|min))?")


def truth_of(path: Path) -> tuple[float, int | None, str | None]:
    m = NAME.search(path.name)
    bpm = float(m.group(1).replace("p", "."))
    if not m.group(2):
        return bpm, None, None
    return bpm, PITCH[m.group(2)], "major" if m.group(3) == "maj" else "minor"


def make_variant(src: Path, dst_stem: Path, kind: str) -> Path:
    x, sr = sf.read(src, dtype="float32", always_2d=True)
    info = sf.info(src)
    from anomalizer_desktop.core.audio.io import resample

    if kind == "flac_copy":
        out = dst_stem.with_suffix(".flac")
        ints, _ = sf.read(src, dtype="int32", always_2d=True)  # the WAV's own samples, losslessly
        sf.write(out, ints, sr, subtype=info.subtype if info.subtype in ("PCM_16", "PCM_24") else "PCM_24")
        if info.subtype not in ("PCM_16", "PCM_24"):  # float source: FLAC cannot be exact
            out.unlink()
            out = dst_stem.with_suffix(src.suffix)
            shutil.copyfile(src, out)
        return out
    out = dst_stem.with_suffix(".wav")
    if kind == "gain":
        sf.write(out, x * 10 ** (-7 / 20), sr, subtype="PCM_24")
    elif kind == "rate":
        to = 44_100 if sr != 44_100 else 48_000
        sf.write(out, resample(x, sr, to), to, subtype="PCM_16")
    elif kind == "depth":
        sf.write(out, x, sr, subtype="FLOAT" if info.subtype != "FLOAT" else "PCM_16")
    elif kind == "vorbis":
        out = dst_stem.with_suffix(".ogg")
        sf.write(out, x, sr, format="OGG", subtype="VORBIS")
    elif kind == "mp3":
        out = dst_stem.with_suffix(".mp3")
        to = sr if sr in (32_000, 44_100, 48_000) else 44_100
        sf.write(out, resample(x, sr, to), to, format="MP3", subtype="MPEG_LAYER_III")
    elif kind == "trim":
        sf.write(out, x[int(0.004 * sr):], sr, subtype="PCM_24")
    elif kind == "pad":
        sf.write(out, np.concatenate([np.zeros((int(0.012 * sr), x.shape[1]), np.float32), x]),
                 sr, subtype="PCM_24")
    return out


def build_library(corpus: Path, part: str, per: int, where: Path):
    originals, variants = {}, {}
    n = 0
    for inst in ("bass", "guitar", "drums"):
        files = sorted((corpus / part / inst / "new_clean").iterdir())
        step = max(1, len(files) // per)
        for i, src in enumerate(files[::step][:per]):
            n += 1
            dst = where / inst / f"loop_{n:04d}{src.suffix}"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            originals[dst] = (inst, src)
            if i % 2 == 0:
                kind = KINDS[(i // 2) % len(KINDS)]
                variants[make_variant(src, where / inst / f"take_{n:04d}_v", kind)] = (dst, kind)
    return originals, variants


def run_part(corpus: Path, part: str, per: int, work: Path) -> None:
    from anomalizer_desktop.core.browse import duplicates, similar
    from anomalizer_desktop.core.catalog import Catalog
    from anomalizer_desktop.core.embedding import make_encoder
    from anomalizer_desktop.core.facets import FACETS_VERSION
    from anomalizer_desktop.core.jobs import scan
    from anomalizer_desktop.core.progress import run_job

    lib = work / part
    originals, variants = build_library(corpus, part, per, lib)
    encoder = make_encoder("spectral")
    with Catalog(work / f"{part}.sqlite") as catalog:
        started = time.monotonic()
        result = run_job(scan([lib], catalog, encoder), lambda p: None)
        scan_s = time.monotonic() - started
        started = time.monotonic()
        rows = run_job(duplicates([lib], catalog), lambda p: None)
        dup_s = time.monotonic() - started
        groups = defaultdict(set)
        for r in rows:
            groups[r.group].add(r.path)
        found = {frozenset((a, b)) for g in groups.values() for a in g for b in g if a < b}
        truth = {frozenset((v, o)): kind for v, (o, kind) in variants.items()}
        print(f"\n== {part}: {len(originals)} loops + {len(variants)} variants; scan "
              f"{scan_s:.1f} s ({len(result.files)} files), duplicates {dup_s:.2f} s")
        tp = len(found & set(truth))
        print(f"duplicate pairs: found {len(found)}, true {len(truth)}, precision "
              f"{tp / max(len(found), 1):.3f}, recall {tp / max(len(truth), 1):.3f}")
        for kind in KINDS:
            pairs = [p for p, k in truth.items() if k == kind]
            if pairs:
                print(f"  {kind:10s} recall {sum(p in found for p in pairs) / len(pairs):.2f} "
                      f"({len(pairs)})")
        for p in sorted(found - set(truth), key=str)[:8]:
            print("  false pair:", " <-> ".join(sorted(x.name for x in p)))
        ranks, by_kind = [], defaultdict(list)
        started = time.monotonic()
        for v, (o, kind) in variants.items():
            hits = similar(v, catalog, encoder, library=lib, k=10)
            rank = next((h.rank for h in hits if h.path == o), 99)
            ranks.append(rank)
            by_kind[kind].append(rank)
        q_ms = 1000 * (time.monotonic() - started) / max(len(variants), 1)
        ranks = np.array(ranks)
        print(f"more like this: original at rank 1 for {np.mean(ranks == 1):.3f} of "
              f"{len(ranks)} variants (top 5: {np.mean(ranks <= 5):.3f}; {q_ms:.0f} ms/query "
              "with the catalog read)")
        for kind, rs in by_kind.items():
            print(f"  {kind:10s} rank-1 {np.mean(np.array(rs) == 1):.2f}")
        files = {f.path: f for f in catalog.files(lib)}
        facets = catalog.facets_of([files[p].hash for p in originals], FACETS_VERSION)
        tempo, key = defaultdict(list), defaultdict(list)
        for path, (inst, src) in originals.items():
            bpm, tonic, mode = truth_of(src)
            f = facets.get(files[path].hash)
            est = f.bpm if f and f.bpm else 0.0
            ratio = est / bpm
            tempo[inst].append((abs(ratio - 1) <= 0.04,
                                abs(ratio - 0.5) <= 0.02 or abs(ratio - 2) <= 0.08))
            if tonic is not None:
                key[inst].append((f is not None and f.tonic == tonic,
                                  f is not None and f.tonic == tonic and f.mode == mode))
        every = [x for v in tempo.values() for x in v]
        print(f"tempo within 4 %: {np.mean([a for a, _ in every]):.3f} of {len(every)}; "
              f"half/double instead: {np.mean([b for _, b in every]):.3f}")
        for inst, v in tempo.items():
            print(f"  {inst:7s} {np.mean([a for a, _ in v]):.3f}  (octave off "
                  f"{np.mean([b for _, b in v]):.3f})")
        every = [x for v in key.values() for x in v]
        print(f"key tonic right: {np.mean([a for a, _ in every]):.3f} of {len(every)}; tonic "
              f"and mode: {np.mean([b for _, b in every]):.3f}")
        for inst, v in key.items():
            print(f"  {inst:7s} tonic {np.mean([a for a, _ in v]):.3f}  tonic+mode "
                  f"{np.mean([b for _, b in v]):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", type=Path, default=ROOT / "bench" / "out" / "flag-corpus")
    ap.add_argument("--parts", default="dev,locked")
    ap.add_argument("--per-instrument", type=int, default=60)
    ap.add_argument("--out", type=Path, default=None, help="work folder (default: a temp dir)")
    args = ap.parse_args()
    if not (args.corpus / "dev").is_dir():
        sys.exit(f"no corpus at {args.corpus}: build it with bench/make_flag_corpus.py")
    work = Path(args.out or tempfile.mkdtemp(prefix="browse-bench-"))
    if work.exists() and args.out:
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    for part in args.parts.split(","):
        run_part(args.corpus, part, args.per_instrument, work)
    if not args.out:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
