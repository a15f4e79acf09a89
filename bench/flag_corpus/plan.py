"""The corpus plan: every file's parameters, drawn deterministically from the seed.

Pure Python and cheap; rendering happens elsewhere. Each item's parameters come from its own
random stream keyed by (seed, part, instrument, set, index), so they do not depend on the
other items, the scale of the other sets, or the worker that renders them."""

from __future__ import annotations

import zlib

import numpy as np

from . import bass as bass_gen
from . import drums as drum_gen
from . import guitar as guitar_gen
from .sources import Source, off_style_providers, providers
from .theory import KEY_NAMES

VERSION = "1"
BASE_COUNTS = {"library": 80, "new_clean": 300, "off_style": 20, "defect_per_kind": 12,
               "silent": 2, "folder": 400}
FOLDER_BAD_FRACTION = 0.08
DEFECT_KINDS = ("click", "dropout", "clipping", "dc_offset", "hum", "noise_burst",
                "silence_head", "silence_tail", "loop_seam", "timing_slip", "stereo_phase",
                "silent")
SET_TAG = {"library": "lib", "new_clean": "new", "off_style": "off", "folder_clean": "fold"}

BPM_RANGE = {
    "rock": (90, 150), "funk": (88, 120), "hiphop": (70, 98), "house": (118, 130),
    "breakbeat": (125, 175),
    "root_fifth": (80, 140), "octave_pump": (110, 132), "walking": (90, 170),
    "funk_sync": (85, 120), "sustain_sub": (70, 100), "dub": (70, 96), "riff": (90, 150),
    "strum": (75, 140), "arpeggio": (70, 130), "muted_pluck": (95, 150), "funk_chank": (88, 120),
    "power": (100, 175),
}
SWING_STYLES = {"hiphop", "funk", "funk_sync", "walking", "dub", "funk_chank"}
SAMPLER_GUITAR_EXCLUDE = {"lmms": {"arpeggio"}}  # a power-chord sample cannot arpeggiate


def count(base: int, scale: float) -> int:
    return max(1, int(round(base * scale)))


def _h(s: str) -> int:
    return zlib.crc32(s.encode())


def rng_for(seed: int, *keys) -> np.random.Generator:
    return np.random.default_rng([seed] + [_h(str(k)) for k in keys])


def _choice(rng, options, weights):
    w = np.asarray(weights, float)
    return options[int(rng.choice(len(options), p=w / w.sum()))]


def clean_item(seed: int, part: str, instrument: str, set_name: str, idx: int,
               source: Source, content: str) -> dict:
    rng = rng_for(seed, part, instrument, set_name, idx)
    if content == "drums":
        style = _choice(rng, drum_gen.STYLES, drum_gen.STYLE_WEIGHTS)
    elif content == "bass":
        style = _choice(rng, bass_gen.STYLES, bass_gen.STYLE_WEIGHTS)
    elif content == "guitar":
        excl = SAMPLER_GUITAR_EXCLUDE.get(source.name, set())
        opts = [(s, w) for s, w in zip(guitar_gen.STYLES, guitar_gen.STYLE_WEIGHTS)
                if s not in excl]
        style = _choice(rng, [s for s, _ in opts], [w for _, w in opts])
    else:  # guitar_dist
        style = _choice(rng, ("power", "riff"), (0.6, 0.4))
    lo, hi = BPM_RANGE[style]
    if style == "sustain_sub" and rng.random() < 0.3:
        lo, hi = 130, 150  # half-time trap tempo
    bpm = float(rng.integers(lo, hi + 1)) if rng.random() < 0.85 else round(
        float(rng.uniform(lo, hi)), 1)
    bpm = min(175.0, max(70.0, bpm))
    bars = int(_choice(rng, (1, 2, 4), (0.3, 0.4, 0.3)))
    swing = 0.0
    if rng.random() < (0.75 if style in SWING_STYLES else 0.3):
        swing = round(float(rng.uniform(0.05, 0.3)), 3)
    item = {
        "part": part, "instrument": instrument, "set": set_name, "index": idx,
        "source": source.name, "content": content, "style": style, "bpm": bpm, "bars": bars,
        "swing": swing, "jitter_ms": round(float(rng.uniform(0, 15)), 2),
        "vel_jitter": round(float(rng.uniform(0, 12)), 2),
        "seed": int(rng.integers(0, 2**31 - 1)),
    }
    key_root = int(rng.integers(0, 12))
    key_mode = "minor" if rng.random() < 0.6 else "major"
    low_note = None
    if content == "bass":
        if idx % 20 < 7:  # 35 % of bass loops hold a low G1..B1
            low_note = bass_gen.LOW_NOTES[int(rng.integers(0, 4))]
            key_root = low_note % 12
        item["slap"] = bool(rng.random() < (0.5 if style == "funk_sync" else
                                            0.15 if style in ("root_fifth", "octave_pump")
                                            else 0.0))
    item["low_note"] = low_note
    if content == "drums":
        item.update(key=None, key_root=None, key_mode=None)
    else:
        item.update(key=f"{KEY_NAMES[key_root]} {key_mode}", key_root=key_root,
                    key_mode=key_mode)
    item["export"] = _choice(rng, ("seamless", "cut", "cut_fade"), (0.55, 0.25, 0.2))
    item["fade_ms"] = round(float(rng.uniform(3, 30)), 1) if item["export"] == "cut_fade" else None
    mt = _choice(rng, ("none", "limiter", "saturation"), (0.7, 0.15, 0.15))
    master = {"type": mt}
    if mt == "limiter":
        master.update(reduction_db=round(float(rng.uniform(1.5, 6.0)), 2),
                      lookahead_ms=round(float(rng.uniform(1.0, 5.0)), 2),
                      release_ms=round(float(rng.uniform(40, 200)), 1))
    elif mt == "saturation":
        master.update(drive=round(float(rng.uniform(1.2, 2.8)), 2))
    item["master"] = master
    tilt = round(float(rng.uniform(-3, 3)), 2) if rng.random() < 0.6 else 0.0
    lp = hp = None
    if rng.random() < 0.3:
        lp = round(float(rng.uniform(1500, 8000) if content == "bass"
                         else rng.uniform(3000, 16000)), 0)
    if rng.random() < 0.35:
        hp = round(float({"bass": rng.uniform(18, 30), "drums": rng.uniform(25, 80)}.get(
            content, rng.uniform(60, 150))), 1)
    item["eq"] = {"tilt_db": tilt, "lp_hz": lp, "hp_hz": hp,
                  "lp_order": int(rng.choice([2, 4]))}
    item["sr"] = int(_choice(rng, (44100, 48000, 96000), (0.45, 0.4, 0.15)))
    item["fmt"] = _choice(rng, ("wav16", "wav24", "wav32f", "flac16", "flac24"),
                          (0.3, 0.35, 0.13, 0.1, 0.12))
    p_st = {"bass": 0.5, "drums": 0.75}.get(content, 0.7)
    item["channels"] = 2 if rng.random() < p_st else 1
    if rng.random() < 0.6:
        item["peak_dbfs"] = round(float(rng.uniform(-6, -1)), 2)
    else:
        item["peak_dbfs"] = round(float(rng.uniform(-24, -6)), 2)
    bpm_s = f"{bpm:g}".replace(".", "p")
    key_s = "" if content == "drums" else f"_{KEY_NAMES[key_root]}{key_mode[:3]}"
    tag = "dist_" if content == "guitar_dist" else (
        f"{content}_" if set_name == "off_style" else "")
    item["name"] = (f"{source.name}_{SET_TAG.get(set_name, set_name)}{idx:04d}_{tag}{style}_"
                    f"{bpm_s}bpm{key_s}")
    item["kind"] = "off_style" if set_name == "off_style" else "clean"
    return item


def _defect_params(rng, kind: str) -> dict:
    if kind == "click":
        return {"amp": round(float(rng.uniform(0.05, 0.6)), 4),
                "variant": _choice(rng, ("impulse", "step"), (0.6, 0.4)),
                "width": int(rng.integers(1, 4)), "pos": float(rng.uniform(0.05, 0.95)),
                "decay_ms": round(float(rng.uniform(0.3, 3.0)), 2)}
    if kind == "dropout":
        return {"dur_ms": round(float(np.exp(rng.uniform(np.log(3), np.log(80)))), 2),
                "variant": _choice(rng, ("zeros", "atten60"), (0.65, 0.35)),
                "pos": float(rng.uniform(0.1, 0.9))}
    if kind == "clipping":
        return {"fraction": round(float(np.exp(rng.uniform(np.log(0.001), np.log(0.03)))), 5),
                "clip_level": 1.0 if rng.random() < 0.65 else round(float(rng.uniform(0.9, 0.99)),
                                                                   3)}
    if kind == "dc_offset":
        return {"offset": round(float(rng.uniform(0.02, 0.15)) * float(rng.choice([-1, 1])), 4)}
    if kind == "hum":
        n = int(rng.integers(2, 5))
        return {"freq": int(rng.choice([50, 60])), "harmonics": n,
                "level_dbfs": round(float(rng.uniform(-50, -30)), 2),
                "amps": [1.0] + [round(float(rng.uniform(0.15, 0.7)) / (k + 1), 3)
                                 for k in range(n)],
                "phase_seed": int(rng.integers(0, 2**31))}
    if kind == "noise_burst":
        return {"dur_ms": round(float(rng.uniform(20, 300)), 1),
                "rel_db": round(float(rng.uniform(-30, -6)), 2),
                "color": _choice(rng, ("white", "pink"), (0.5, 0.5)),
                "pos": float(rng.uniform(0.05, 0.9)), "noise_seed": int(rng.integers(0, 2**31))}
    if kind in ("silence_head", "silence_tail"):
        return {"seconds": round(float(rng.uniform(0.3, 1.5)), 3)}
    if kind == "loop_seam":
        return {"variant": _choice(rng, ("trim", "rotate_trim"), (0.5, 0.5)),
                "trim_ms": round(float(rng.uniform(5, 60)), 2),
                "rotate": float(rng.uniform(0.1, 0.9))}
    if kind == "timing_slip":
        return {"shift_ms": round(float(rng.uniform(30, 90)) * float(rng.choice([-1, 1])), 2),
                "pick_seed": int(rng.integers(0, 2**31))}
    if kind == "stereo_phase":
        return {"variant": _choice(rng, ("full", "band"), (0.5, 0.5)),
                "crossover_hz": round(float(rng.uniform(150, 1500)), 1),
                "band": _choice(rng, ("low", "high"), (0.5, 0.5)),
                "channel": int(rng.integers(0, 2))}
    return {}


def _eligible(kind: str, item: dict, params: dict) -> bool:
    if kind == "stereo_phase":
        return item["channels"] == 2
    if kind == "loop_seam":
        return item["export"] == "seamless"
    if kind == "dc_offset":
        return 10 ** (item["peak_dbfs"] / 20) + abs(params["offset"]) <= 0.97
    return True


def make_plan(seed: int, scale: float, parts, instruments) -> dict:
    items: list[dict] = []
    defects: list[dict] = []
    folders: dict[str, dict] = {}
    notes: list[str] = []
    for part in parts:
        for inst in instruments:
            provs = providers(part, inst)
            if not provs:
                notes.append(f"{part}/{inst}: no available source provides {inst}; skipped")
                continue
            sets: dict[str, list[dict]] = {}
            for set_name in ("library", "new_clean"):
                n = count(BASE_COUNTS[set_name], scale)
                sets[set_name] = [clean_item(seed, part, inst, set_name, i, provs[i % len(provs)],
                                             inst) for i in range(n)]
            offp = off_style_providers(part, inst)
            if offp:
                n = count(BASE_COUNTS["off_style"], scale)
                sets["off_style"] = [clean_item(seed, part, inst, "off_style", i,
                                                offp[i % len(offp)][0], offp[i % len(offp)][1])
                                     for i in range(n)]
            else:
                sets["off_style"] = []
                notes.append(f"{part}/{inst}: no source can render its off-style loops")
            # defects from new_clean originals, spread over sources, one original per defect
            used: set[str] = set()
            by_source = {s.name: [it for it in sets["new_clean"] if it["source"] == s.name]
                         for s in provs}
            dl = []
            for kind in DEFECT_KINDS:
                n = count(BASE_COUNTS["silent" if kind == "silent" else "defect_per_kind"], scale)
                for j in range(n):
                    rng = rng_for(seed, part, inst, "defect", kind, j)
                    params = _defect_params(rng, kind)
                    pref = provs[(j + DEFECT_KINDS.index(kind)) % len(provs)].name
                    own = by_source[pref]
                    others = [it for it in sets["new_clean"] if it["source"] != pref]
                    order = ([own[k] for k in rng.permutation(len(own))]
                             + [others[k] for k in rng.permutation(len(others))])
                    cand = [it for it in order if _eligible(kind, it, params)]
                    if not cand:
                        notes.append(f"{part}/{inst}: no eligible original for {kind}")
                        continue
                    fresh = [it for it in cand if it["name"] not in used]
                    orig = (fresh or cand)[0]
                    used.add(orig["name"])
                    dl.append({"part": part, "instrument": inst, "set": "defect", "kind": kind,
                               "index": j, "source": orig["source"], "orig": orig["name"],
                               "params": params, "seed": int(rng.integers(0, 2**31 - 1)),
                               "name": f"{orig['name']}__{kind}_{j:02d}"})
            defects += dl
            # whole-folder sort test: N loops, 8 % bad (defects + off-style)
            rng = rng_for(seed, part, inst, "folder")
            N = count(BASE_COUNTS["folder"], scale)
            n_bad = max(1, int(round(FOLDER_BAD_FRACTION * N)))
            n_off = min(len(sets["off_style"]), max(1, int(round(n_bad / 4))))
            n_def = n_bad - n_off
            by_kind: dict[str, list[dict]] = {}
            for d in dl:
                by_kind.setdefault(d["kind"], []).append(d)
            kinds = [k for k in DEFECT_KINDS if k in by_kind]
            kinds = [kinds[k] for k in rng.permutation(len(kinds))]
            bad_def = []
            r = 0
            while len(bad_def) < n_def and any(by_kind.values()):
                k = kinds[r % len(kinds)]
                if by_kind[k]:
                    bad_def.append(by_kind[k].pop(0))
                r += 1
            offs = [sets["off_style"][k] for k in rng.permutation(len(sets["off_style"]))][:n_off]
            excluded = {d["orig"] for d in bad_def}
            pool = [it for it in sets["library"] + sets["new_clean"] if it["name"] not in excluded]
            n_clean = N - len(bad_def) - len(offs)
            if len(pool) >= n_clean:
                clean = [pool[k] for k in sorted(rng.permutation(len(pool))[:n_clean])]
                extra = []
            else:
                extra = [clean_item(seed, part, inst, "folder_clean", i, provs[i % len(provs)],
                                    inst) for i in range(n_clean - len(pool))]
                clean = pool + extra
            sets["folder_clean"] = extra
            folders[f"{part}/{inst}"] = {
                "names": [it["name"] for it in clean] + [d["name"] for d in bad_def]
                + [o["name"] for o in offs],
                "bad": [d["name"] for d in bad_def] + [o["name"] for o in offs],
            }
            for s in ("library", "new_clean", "off_style", "folder_clean"):
                items += sets[s]
    return {"items": items, "defects": defects, "folders": folders, "notes": notes}
