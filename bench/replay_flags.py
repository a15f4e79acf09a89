"""Replay bench_flags.py's calibrated flag with some signal checks recomputed by the current code.

    nice -n 5 .venv/bin/python bench/replay_flags.py [--parts dev] [--recheck hum,noise_burst]
        [--out bench/out/flag-bench/main] [--corpus DIR]

A full ``bench_flags.py`` run trains and scores through the CLI and takes ~11 minutes. To tune a
check against what the user sees (the calibrated flag, not the check's own severity) this reads
a finished run's outputs instead: each model file's library evidence (the learned null and the
library's check strengths), the scored rows' learned scores and findings, and the catalog's
content hashes. ``--recheck`` reruns the named checks on every file involved (library, test and
folder loops; ~10-20 s per check on 2 cores) and puts their strongest severity in place of the
stored one, in the library and in the scored rows alike. Then it recomputes the evidence with
the current calibration code and prints the same figures as bench_flags.py: clean loops flagged,
per-kind AUROC of the evidence, and the whole-folder sort AUROC; before (stored) and after.

Approximations: a recomputed check contributes its strongest severity only (as the evidence
does); the floor of unmistakable defects is taken from the stored reasons ("a defect in any
library") and is not recomputed. So rechecking clipping, DC offset, digital dropouts or stereo
phase, the checks with a floor, understates or overstates the flag there; use bench_flags.py
for those and for the figures of record. Tune on the dev part only.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))

from bench_flags import DEFAULT_OUT, auroc  # noqa: E402
from flag_corpus import DEFAULT_ROOT  # noqa: E402

INSTRUMENTS = ("bass", "guitar", "drums")
FLOOR_WORDS = "a defect in any library"
SHOWN = ("click", "dropout", "noise_burst", "hum", "clipping", "dc_offset", "off_style",
         "loop_seam", "timing_slip")


def _strongest(job: tuple[str, tuple[str, ...]]) -> dict[str, float]:
    from anomalizer_desktop.core.audio.io import read_audio
    from anomalizer_desktop.core.qc.context import Analysis
    from anomalizer_desktop.core.qc.runner import _CHECK_FUNCTIONS

    path, checks = job
    audio = read_audio(path, sample_rate=None, channel_mode="keep")   # as the scan reads it
    ctx = Analysis(audio.samples, audio.sample_rate)
    return {c: max([0.0] + [f.severity for f in _CHECK_FUNCTIONS[c](ctx, 1.0)]) for c in checks}


class Run:
    """One finished bench_flags.py output directory."""

    def __init__(self, out: Path, corpus: Path) -> None:
        self.out, self.corpus = out, corpus
        doc = json.loads((corpus / "manifest.json").read_text())
        self.folders = doc["folders"]
        self.record = {str((corpus / r["path"]).resolve()): r for r in doc["records"]}
        with sqlite3.connect(out / "catalog.sqlite3") as db:
            self.hash_of = {str(Path(p).resolve()): h
                            for p, h in db.execute("SELECT path, hash FROM files")}

    def group(self, part: str, inst: str, folder: bool):
        from anomalizer_desktop.core.detect.persistence import read_model_info
        from anomalizer_desktop.core.evidence import store

        stem = f"{part}-{inst}" + ("-folder" if folder else "")
        model = self.out / f"{stem}.anomalizer"
        library = store.read_library(model, read_model_info(model).extra)
        rows = json.loads((self.out / f"{stem}.json").read_text())["files"]
        return library, rows

    def paths(self, parts) -> list[str]:
        path_of = {h: p for p, h in self.hash_of.items()}
        todo: set[str] = set()
        for part in parts:
            for inst in INSTRUMENTS:
                for folder in (False, True):
                    library, rows = self.group(part, inst, folder)
                    todo |= {path_of[h] for h in library.hashes if h in path_of}
                    todo |= {str(Path(r["path"]).resolve()) for r in rows}
        return sorted(todo)


def _evidence(run: Run, library, rows, fresh: dict[str, dict[str, float]]):
    from anomalizer_desktop.core.evidence.library import FLOOR_P, Calibrated, \
        LibraryEvidence, severity_matrix
    from anomalizer_desktop.core.evidence.policy import FlagPolicy
    from anomalizer_desktop.core.qc.findings import CHECKS, Finding

    policy = FlagPolicy()
    sev = library.severity.copy()
    for i, h in enumerate(library.hashes):
        for kind, s in fresh.get(h, {}).items():
            sev[i, CHECKS.index(kind)] = s if s >= policy.min_severity else 0.0
    lib = LibraryEvidence(list(library.hashes), library.learned_member, sev,
                          library.learned_extra, library.learned_source, library.checks_version)
    found = []
    for r in rows:
        new = fresh.get(run.hash_of.get(str(Path(r["path"]).resolve()), ""), {})
        f = [Finding(x["kind"], x["severity"], x["start_s"], x["end_s"])
             for x in r["findings"] if x["kind"] not in new]
        f += [Finding(k, s, 0.0, 0.0) for k, s in new.items() if s >= policy.min_severity]
        found.append(f)
    learned = np.array([np.nan if r["learned_score"] is None else r["learned_score"]
                        for r in rows])
    member = np.array([lib.member(run.hash_of.get(str(Path(r["path"]).resolve())))
                       for r in rows])
    a = Calibrated(lib, policy).assess(learned, severity_matrix(found), member)
    floor = np.array([FLOOR_WORDS in (r["reasons"] or "") for r in rows])
    p = np.where(floor, np.minimum(a.p, FLOOR_P), a.p)
    return -np.log10(np.maximum(p, 1e-300)), (p <= policy.budget) | floor


def figures(run: Run, parts, fresh) -> dict[tuple[str, str], dict[str, float]]:
    out = {}
    for part in parts:
        for inst in INSTRUMENTS:
            library, rows = run.group(part, inst, False)
            ev, flagged = _evidence(run, library, rows, fresh)
            kinds = np.array([run.record[str(Path(r["path"]).resolve())]["kind"] for r in rows])
            clean = kinds == "clean"
            d = {"clean flagged": float(flagged[clean].mean())}
            for k in sorted(set(kinds) - {"clean"}):
                d[k] = auroc(ev[kinds == k], ev[clean])
            library, rows = run.group(part, inst, True)
            ev, _ = _evidence(run, library, rows, fresh)
            bad = {str((run.corpus / p).resolve()) for p in run.folders[f"{part}/{inst}"]["bad"]}
            is_bad = np.array([str(Path(r["path"]).resolve()) in bad for r in rows])
            d["folder"] = auroc(ev[is_bad], ev[~is_bad])
            out[(part, inst)] = d
    return out


def show(title: str, figs: dict) -> None:
    cols = ("clean flagged", "folder", *SHOWN)
    print(f"\n{title}")
    print(f"{'':14s}" + "".join(f"{c[:9]:>10s}" for c in cols))
    for (part, inst), d in figs.items():
        print(f"{part + ' ' + inst:14s}" + "".join(f"{d.get(c, np.nan):10.3f}" for c in cols))
    mean = {c: np.nanmean([d.get(c, np.nan) for d in figs.values()]) for c in cols}
    print(f"{'mean':14s}" + "".join(f"{mean[c]:10.3f}" for c in cols))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT / "main",
                    help="a finished bench_flags.py output directory")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--parts", default="dev")
    ap.add_argument("--recheck", default="", help="checks to rerun, comma-separated")
    ap.add_argument("--jobs", type=int, default=2)
    a = ap.parse_args(argv)
    from anomalizer_desktop.core.qc.findings import CHECKS

    checks = tuple(c for c in a.recheck.split(",") if c)
    unknown = set(checks) - set(CHECKS)
    if unknown:
        ap.error(f"unknown check(s) {', '.join(sorted(unknown))}; one of {', '.join(CHECKS)}")
    if not (a.out / "catalog.sqlite3").is_file():
        ap.error(f"no bench_flags.py output in {a.out}: run bench/bench_flags.py first")
    parts = [p for p in a.parts.split(",") if p]
    run = Run(a.out, a.corpus)
    show("stored findings", figures(run, parts, {}))
    if checks:
        t0 = time.time()
        todo = run.paths(parts)
        with ProcessPoolExecutor(max(1, a.jobs)) as ex:
            sevs = list(ex.map(_strongest, [(p, checks) for p in todo], chunksize=16))
        fresh = {run.hash_of[p]: s for p, s in zip(todo, sevs)}
        show(f"{', '.join(checks)} rerun on {len(todo)} files ({time.time() - t0:.0f} s)",
             figures(run, parts, fresh))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
