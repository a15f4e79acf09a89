"""Building the corpus: render the plan in parallel tasks, plant the defects, write the
manifest, and print the count table."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import defects as defect_mod
from . import dsp, export, render
from .plan import VERSION, make_plan
from .score import Performance
from .sources import by_name, registry

MANIFEST = "manifest.json"
CHUNK = 24  # items rendered per synth call / held in memory at once


def _rel(item: dict) -> str:
    return f"{item['part']}/{item['instrument']}/{item['set']}/{item['name']}" \
           f"{export.ext(item['fmt'])}"


def _base_record(item: dict, setup: dict, perf: Performance, y: np.ndarray, gains: dict) -> dict:
    fmt = export.FORMATS[item["fmt"]]
    spb = 60.0 / item["bpm"]
    low = perf.meta.get("low_note")
    if low:
        low = dict(low, start_s=round(low["beat"] * spb, 4),
                   dur_s=round(low["dur_beats"] * spb, 4))
    rec = {
        "path": _rel(item), "name": item["name"], "part": item["part"],
        "instrument": item["instrument"], "source": item["source"], "set": item["set"],
        "kind": item["kind"], "start_s": None, "end_s": None, "strength": None,
        "strength_unit": None, "content": item["content"], "style": item["style"],
        "bpm": item["bpm"], "key": item["key"], "bars": item["bars"],
        "loop_s": round(item["bars"] * 4 * spb, 6), "swing": item["swing"],
        "jitter_ms": item["jitter_ms"], "export": item["export"], "fade_ms": item["fade_ms"],
        "master": item["master"], "eq": item["eq"], "sample_rate": item["sr"],
        "format": fmt[0], "subtype": fmt[1], "bit_depth": fmt[3], "channels": item["channels"],
        "frames": int(len(y)), "duration_s": round(len(y) / item["sr"], 6),
        "peak_dbfs_target": item["peak_dbfs"], "peak": round(dsp.peak(y), 6),
        "low_note": low, "slap": item.get("slap"), "patch": setup.get("patch"),
        "kit_samples": setup.get("kit_samples"), "room": setup.get("room"),
        "clean_path": None, "folder": False,
        "defect": None, "seed": item["seed"], "renormalised": gains.get("renormalised", False),
    }
    return rec


def _slip_target(perf: Performance, item: dict, params: dict) -> tuple[list[int], float]:
    """Notes to move (a whole strum for chord gestures) and the realised shift (s)."""
    rng = np.random.default_rng(params["pick_seed"])
    L = perf.loop_s
    dt = params["shift_ms"] / 1000.0
    strong = {"kick", "snare", "clap", "rim"}
    cands = []
    for i, n in enumerate(perf.notes):
        if n.vel < 60 or n.role in ("ghost", "mute"):
            continue
        if item["content"] == "drums" and n.role not in strong:
            continue
        if 0.06 <= n.t + dt <= L - 0.06 and 0.06 <= n.t <= L - 0.06:
            cands.append(i)
    if not cands:  # flip the direction, relax the filters
        dt = -dt
        cands = [i for i, n in enumerate(perf.notes)
                 if 0.06 <= n.t + dt <= L - 0.06 and 0.06 <= n.t <= L - 0.06] or [0]
    i = cands[int(rng.integers(0, len(cands)))]
    g = perf.notes[i].group
    idx = [k for k, n in enumerate(perf.notes) if g >= 0 and n.group == g] or [i]
    return idx, dt


def run_task(root: str, source_name: str, items: list[dict], defects: list[dict]) -> list[dict]:
    """Render one source's share of one part/instrument: clean and off-style loops, the
    timing-slip re-renders, then every other defect from the written clean files."""
    root_p = Path(root)
    source = by_name(source_name)
    records: dict[str, dict] = {}
    gains: dict[str, dict] = {}
    by_name_item = {it["name"]: it for it in items}
    slips = [d for d in defects if d["kind"] == "timing_slip"]
    jobs = [("clean", it, None) for it in items] + [("slip", by_name_item[d["orig"]], d)
                                                     for d in slips]
    for c0 in range(0, len(jobs), CHUNK):
        chunk = jobs[c0:c0 + CHUNK]
        prepared = []
        for what, it, d in chunk:
            perf, setup = render.realize(it, source)
            extra = None
            if what == "slip":
                idx, dt = _slip_target(perf, it, d["params"])
                t_orig = perf.notes[idx[0]].t
                notes = [replace(n, t=n.t + dt) if k in idx else n
                         for k, n in enumerate(perf.notes)]
                perf = Performance(notes=notes, loop_s=perf.loop_s, meta=perf.meta)
                extra = (t_orig, dt, perf.notes[idx[0]])
            prepared.append((what, it, d, perf, setup, extra))
        raws = render.render_raw(source, [(p[3], p[4], p[1]["export"]) for p in prepared])
        for (what, it, d, perf, setup, extra), (raw, a) in zip(prepared, raws):
            if what == "clean":
                y, g = render.post(raw, a, it)
                gains[it["name"]] = g
                path = root_p / _rel(it)
                export.write(path, y, it["sr"], it["fmt"])
                records[it["name"]] = _base_record(it, setup, perf, y, g)
            else:
                y, g = render.post(raw, a, it, gains=gains[it["name"]])
                rec = dict(records[it["name"]])
                di = dict(it, set="defect", kind="timing_slip", name=d["name"])
                path = root_p / _rel(di)
                export.write(path, y, it["sr"], it["fmt"])
                t_orig, dt, note = extra
                rec.update(path=_rel(di), name=d["name"], set="defect", kind="timing_slip",
                           clean_path=records[it["name"]]["path"],
                           start_s=round(min(t_orig, t_orig + dt), 6),
                           end_s=round(max(t_orig, t_orig + dt) + 0.03, 6),
                           strength=round(dt * 1000, 2), strength_unit="ms (signed shift)",
                           defect={"params": d["params"], "orig_onset_s": round(t_orig, 6),
                                   "new_onset_s": round(t_orig + dt, 6), "pitch": note.pitch,
                                   "role": note.role}, peak=round(dsp.peak(y), 6),
                           renormalised=g["renormalised"], seed=d["seed"])
                records[d["name"]] = rec
        del raws, prepared
    for d in defects:
        if d["kind"] == "timing_slip":
            continue
        orig = by_name_item[d["orig"]]
        src_rec = records[orig["name"]]
        x, sr = export.read(root_p / src_rec["path"])
        y, info = defect_mod.plant(x, sr, d["kind"], d["params"], orig)
        di = dict(orig, set="defect", name=d["name"])
        path = root_p / _rel(di)
        export.write(path, y, sr, orig["fmt"])
        rec = dict(src_rec)
        rec.update(path=_rel(di), name=d["name"], set="defect", kind=d["kind"],
                   clean_path=src_rec["path"], start_s=_r(info["start_s"]),
                   end_s=_r(info["end_s"]), strength=info["strength"],
                   strength_unit=info["strength_unit"],
                   defect={"params": d["params"], **info["details"]}, frames=int(len(y)),
                   duration_s=round(len(y) / sr, 6), peak=round(dsp.peak(y), 6),
                   seed=d["seed"])
        records[d["name"]] = rec
    return list(records.values())


def _r(v):
    return None if v is None else round(float(v), 6)


def _params(scale, seed, parts, instruments) -> dict:
    return {"scale": float(scale), "seed": int(seed), "parts": list(parts),
            "instruments": list(instruments), "version": VERSION}


def load_manifest_doc(root: Path) -> dict | None:
    p = Path(root) / MANIFEST
    if not p.is_file():
        return None
    try:
        return json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def build(root: Path, scale: float = 1.0, seed: int = 0, parts=("dev", "locked"),
          instruments=("bass", "guitar", "drums"), jobs: int = 2, log=print) -> list[dict]:
    root = Path(root)
    params = _params(scale, seed, parts, instruments)
    doc = load_manifest_doc(root)
    if doc and doc.get("params") == params and all(
            (root / r["path"]).is_file() for r in doc["records"]):
        log(f"flag corpus: {root / MANIFEST} is up to date ({len(doc['records'])} files)")
        return doc["records"]
    t0 = time.time()
    for s in registry():
        if s.missing and s.part in parts:
            log(f"note: source {s.name} ({s.part}) skipped: {s.missing}")
    plan = make_plan(seed, scale, parts, instruments)
    for n in plan["notes"]:
        log(f"note: {n}")
    for part in parts:
        for inst in instruments:
            d = root / part / inst
            if d.is_dir():
                shutil.rmtree(d)
    (root / MANIFEST).unlink(missing_ok=True)
    tasks: dict[tuple, dict] = {}
    for it in plan["items"]:
        tasks.setdefault((it["part"], it["instrument"], it["source"]),
                         {"items": [], "defects": []})["items"].append(it)
    for d in plan["defects"]:
        tasks[(d["part"], d["instrument"], d["source"])]["defects"].append(d)

    def cost(k):
        v = tasks[k]
        return sum(it["bars"] * 240.0 / it["bpm"] for it in v["items"])

    order = sorted(tasks, key=cost, reverse=True)
    n_files = len(plan["items"]) + len(plan["defects"])
    log(f"flag corpus: {n_files} files in {len(order)} tasks, {jobs} worker(s) -> {root}")
    records: list[dict] = []
    env_threads = {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    os.environ.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    try:
        if jobs <= 1:
            for k in order:
                records += run_task(str(root), k[2], tasks[k]["items"], tasks[k]["defects"])
                log(f"  done {'/'.join(k)} ({time.time() - t0:.0f} s)")
        else:
            with ProcessPoolExecutor(max_workers=jobs) as ex:
                futs = {ex.submit(run_task, str(root), k[2], tasks[k]["items"],
                                  tasks[k]["defects"]): k for k in order}
                for f in as_completed(futs):
                    k = futs[f]
                    records += f.result()
                    log(f"  done {'/'.join(k)} ({time.time() - t0:.0f} s)")
    finally:
        for k, v in env_threads.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    by = {r["name"]: r for r in records}
    folders = {}
    for key, f in plan["folders"].items():
        members = [by[n]["path"] for n in f["names"] if n in by]
        for n in f["names"]:
            if n in by:
                by[n]["folder"] = True
        folders[key] = {"paths": members, "bad": [by[n]["path"] for n in f["bad"] if n in by]}
    records.sort(key=lambda r: r["path"])
    doc = {
        "corpus": "anomalizer-flag-corpus", "params": params,
        "build_seconds": round(time.time() - t0, 1),
        "sources": {s.name: {"part": s.part, "engine": s.engine,
                             "instruments": list(s.instruments),
                             "path": str(s.path) if s.path else None, "missing": s.missing,
                             **({"kits": list(s.detail.get("kits", ()))}
                                if "kits" in s.detail else {})}
                    for s in registry()},
        "notes": plan["notes"], "folders": folders, "records": records,
    }
    tmp = root / (MANIFEST + ".part")
    root.mkdir(parents=True, exist_ok=True)
    tmp.write_text(json.dumps(doc, indent=1, default=_json_default))
    tmp.replace(root / MANIFEST)
    log(f"flag corpus: {len(records)} files in {doc['build_seconds']:.0f} s")
    return records


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o))


def count_table(records: list[dict], out=sys.stdout) -> None:
    rows = Counter((r["part"], r["instrument"], r["source"], r["set"], r["kind"])
                   for r in records)
    hdr = ("part", "instrument", "source", "set", "kind", "n")
    w = [max(len(h), *(len(str(k[i])) for k in rows)) if rows else len(h)
         for i, h in enumerate(hdr[:-1])]
    print("  ".join(h.ljust(w[i]) for i, h in enumerate(hdr[:-1])) + "      n", file=out)
    for k in sorted(rows):
        print("  ".join(str(v).ljust(w[i]) for i, v in enumerate(k)) + f"  {rows[k]:5d}",
              file=out)
    tot = Counter((r["part"], r["instrument"]) for r in records)
    fold = Counter((r["part"], r["instrument"]) for r in records if r["folder"])
    print(file=out)
    for k in sorted(tot):
        print(f"{k[0]}/{k[1]}: {tot[k]} files, folder {fold[k]}", file=out)
    print(f"total: {len(records)} files", file=out)
