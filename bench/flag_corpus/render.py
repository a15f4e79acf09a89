"""From an item spec to audio: realise the performance, render it on the item's source
(batched synth calls or one-shot sequencing), then the mix/master/export chain."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import bass, drums, dsp, guitar, sampler, synth
from .score import Note, Performance, layout, perform
from .sources import Source
from .theory import Key

RATE = 48_000
TAIL_S = 0.25  # rendered past the loop end: context for filters and resampling

GM_NAMES = {24: "Nylon Guitar", 25: "Steel Guitar", 26: "Jazz Guitar", 27: "Clean Guitar",
            28: "Muted Guitar", 29: "Overdrive Guitar", 30: "Distortion Guitar",
            32: "Acoustic Bass", 33: "Finger Bass", 34: "Pick Bass", 35: "Fretless Bass",
            36: "Slap Bass 1", 37: "Slap Bass 2", 38: "Synth Bass 1", 39: "Synth Bass 2"}
GM_KITS = {0: "Standard", 8: "Room", 16: "Power", 24: "Electronic", 25: "TR-808", 32: "Jazz",
           40: "Brush"}


def _rngs(seed: int):
    return tuple(np.random.default_rng([seed, k]) for k in range(4))


def _pick(rng, options, weights=None):
    w = None if weights is None else np.asarray(weights, float) / np.sum(weights)
    return options[int(rng.choice(len(options), p=w))]


def _bass_program(rng, item, source: Source) -> int:
    if item.get("slap"):
        prog = _pick(rng, (36, 37))
    elif item["style"] == "sustain_sub":
        prog = _pick(rng, (38, 39, 33, 32), (0.35, 0.35, 0.15, 0.15))
    else:
        prog = _pick(rng, (32, 33, 34, 35, 38, 39), (0.15, 0.27, 0.22, 0.1, 0.13, 0.13))
    if source.engine == "timidity" and prog == 39:
        prog = 38  # freepats has no Synth Bass 2
    return prog


def _guitar_program(rng, style: str, distorted: bool) -> int:
    if distorted:
        return _pick(rng, (29, 30))
    table = {"strum": ((24, 25, 26, 27), None), "arpeggio": ((24, 25, 26, 27), None),
             "riff": ((25, 26, 27), None), "muted_pluck": ((28, 27, 26), (0.6, 0.25, 0.15)),
             "funk_chank": ((27, 26, 28), (0.5, 0.3, 0.2))}
    opts, w = table[style]
    return _pick(rng, opts, w)


def realize(item: dict, source: Source) -> tuple[Performance, dict]:
    """The performed notes (one repetition) and the render setup of an item."""
    r_pat, r_perf, r_voice, r_fx = _rngs(item["seed"])
    content = item["content"]
    bars = item["bars"]
    setup: dict = {"content": content}
    if content == "drums":
        pat = drums.make(r_pat, bars, item["style"])
    elif content == "bass":
        key = Key(item["key_root"], item["key_mode"])
        pat = bass.make(r_pat, key, bars, item["style"], item.get("low_note"), item.get("slap"))
    else:
        key = Key(item["key_root"], item["key_mode"])
        pat = guitar.make(r_pat, key, bars, item["style"])
    perf = perform(pat, item["bpm"], item["swing"], item["jitter_ms"], item["vel_jitter"], r_perf)
    perf = _export_shape(perf, item, content, r_perf)

    if source.engine in ("fluidsynth", "timidity"):
        if content == "drums":
            gm = drums.gm_map(r_voice)
            for n in perf.notes:
                n.pitch = gm[n.role]
            kits = [k for k in GM_KITS
                    if source.engine == "fluidsynth" and (128, k) in set(
                        map(tuple, source.detail.get("presets", [])))] or [0]
            prog = int(_pick(r_voice, kits))
            setup.update(channel=9, program=prog, patch=f"GM kit {prog} {GM_KITS.get(prog, '')}",
                         pan=64, volume=int(r_voice.integers(96, 118)), reverb=0)
        else:
            prog = (_bass_program(r_voice, item, source) if content == "bass"
                    else _guitar_program(r_voice, item["style"], content == "guitar_dist"))
            pan = 64 + int(r_voice.integers(-6, 7)) if content == "bass" else \
                64 + int(r_voice.integers(-30, 31))
            setup.update(channel=0, program=prog, patch=f"GM {prog} {GM_NAMES.get(prog, '')}",
                         pan=pan, volume=int(r_voice.integers(90, 115)), reverb=0)
    else:
        det = source.detail
        if content == "drums":
            if source.name.startswith("hydrogen"):
                kit_name = _pick(r_voice, tuple(det["kits"]))
                kit = sampler.HydrogenKit(kit_name, r_voice)
            else:
                kit = sampler.PoolKit(source.name, det["drums"], r_voice)
            setup.update(kit=kit, patch=kit.name, kit_samples=dict(sorted(kit.chosen.items())))
        elif content == "bass":
            rows = det["bass"]
            if item.get("slap"):
                rows = [r for r in rows if r[2] == "slap"] or rows
            if item.get("low_note") is not None:
                # the formant-heavy "voxy" sustain has almost no fundamental down there
                rows = [r for r in rows if "voxy_c" not in r[0]] or rows
            row = _pick(r_voice, tuple(rows))
            setup.update(voice=sampler.PitchedVoice(str(source.path / row[0]), row[1], row[2],
                                                    row[3], row[4]),
                         patch=f"{row[0]} ({row[2]})")
        else:
            g = det["guitar_dist"] if content == "guitar_dist" else det["guitar"]
            ch = _pick(r_voice, tuple(g["chord"]))
            notes = tuple(g["note"])
            if item["style"] == "arpeggio":
                nt = _pick(r_voice, notes)
            else:
                nt = notes[0]
            setup.update(chord=sampler.PitchedVoice(str(source.path / ch[0]), ch[1], ch[2],
                                                    ch[3], ch[4]),
                         single=sampler.PitchedVoice(str(source.path / nt[0]), nt[1], nt[2],
                                                     nt[3], nt[4]),
                         pan=float(r_voice.uniform(-0.4, 0.4)),
                         patch=f"{ch[0]} / {nt[0]}")
    p_room = {"drums": 0.45, "bass": 0.2}.get(content, 0.6)
    if r_fx.random() < p_room:
        wet_hi = 0.08 if content == "bass" else 0.22
        setup["room"] = {"rt60": round(float(r_fx.uniform(0.3, 1.2)), 3),
                         "wet": round(float(r_fx.uniform(0.03, wet_hi)), 4),
                         "seed": int(r_fx.integers(0, 2**31))}
    return perf, setup


def _export_shape(perf: Performance, item: dict, content: str, rng) -> Performance:
    """For cut exports make sure something rings over the loop end (it gets cut hard)."""
    if item["export"] == "seamless" or not perf.notes:
        return perf
    L = perf.loop_s
    notes = list(perf.notes)
    if content == "drums":
        spb = 60.0 / item["bpm"]
        if not any(n.t >= L - 0.5 * spb for n in notes):
            notes.append(Note(t=L - 0.5 * spb, dur=0.5 * spb, pitch=0, vel=84, role="hh_open"))
    else:
        last = max(notes, key=lambda n: n.t)
        ring = L - last.t + float(rng.uniform(0.25, 0.8))
        i = notes.index(last)
        notes[i] = replace(last, dur=max(last.dur, ring))
        for j, n in enumerate(notes):  # the rest of that gesture rings too
            if n.group >= 0 and n.group == last.group:
                notes[j] = replace(n, dur=max(n.dur, ring))
    return Performance(notes=notes, loop_s=L, meta=perf.meta)


def render_raw(source: Source, jobs: list[tuple[Performance, dict, str]]) -> list[tuple]:
    """Render (performance, setup, export) jobs; returns (audio 48k stereo, loop start s)."""
    laid = [layout(perf, export) for perf, _, export in jobs]
    if source.engine in ("fluidsynth", "timidity"):
        segs = [synth.Segment(notes, b + TAIL_S, st["channel"], st["program"], st["volume"],
                              st["pan"], st["reverb"])
                for (notes, a, b), (_, st, _) in zip(laid, jobs)]
        audio = synth.render(source.engine, source.path, segs)
        return [(_room(x, st), a) for x, (_, a, _), (_, st, _) in zip(audio, laid, jobs)]
    out = []
    for (notes, a, b), (perf, st, _) in zip(laid, jobs):
        length = b + TAIL_S
        c = st["content"]
        if c == "drums":
            x = sampler.render_drums(notes, length, st["kit"])
        elif c == "bass":
            x = sampler.render_bass(notes, length, st["voice"])
        else:
            x = sampler.render_guitar(notes, length, st["chord"], st["single"], st["pan"])
        out.append((_room(x, st), a))
    return out


def _room(x: np.ndarray, st: dict) -> np.ndarray:
    if "room" not in st:
        return x
    rm = st["room"]
    ir = dsp.room_ir(np.random.default_rng(rm["seed"]), RATE, rm["rt60"])
    return dsp.convolve(x, ir, rm["wet"])


def post(raw: np.ndarray, loop_start: float, item: dict, gains: dict | None = None
         ) -> tuple[np.ndarray, dict]:
    """Mix/master/export chain on a raw render; returns the loop at the item's rate and
    channel count (float) and the gains used (to reproduce the chain on a re-render)."""
    x = dsp.dc_block(raw, RATE, 8.0)
    e = item["eq"]
    x = dsp.eq(x, RATE, e["tilt_db"], e["lp_hz"], e["hp_hz"], e.get("lp_order", 2))
    L = item["bars"] * 4 * 60.0 / item["bpm"]
    a48 = int(round(loop_start * RATE))
    region = x[a48:a48 + int(round(L * RATE))]
    g0 = gains["g0"] if gains else 1.0 / max(dsp.peak(region), 1e-9)
    x = x * g0
    m = item["master"]
    if m["type"] == "saturation":
        x = dsp.saturate(np.clip(x, -1.5, 1.5), m["drive"])
    elif m["type"] == "limiter":
        x = dsp.limit(x, RATE, m["reduction_db"], m["lookahead_ms"], m["release_ms"])
    sr = item["sr"]
    x = dsp.resample(x, RATE, sr)
    a = int(round(loop_start * sr))
    n = int(round(L * sr))
    y = x[a:a + n]
    if len(y) < n:
        y = np.pad(y, ((0, n - len(y)), (0, 0)))
    if item["channels"] == 1:
        y = y.mean(axis=1, keepdims=True)
    target = dsp.undb(item["peak_dbfs"])
    g1 = gains["g1"] if gains else target / max(dsp.peak(y), 1e-9)
    y = y * g1
    renorm = False
    if dsp.peak(y) > 0.995:  # only a re-render with reused gains can get here
        y *= 0.995 / dsp.peak(y)
        renorm = True
    if item["export"] == "cut_fade":
        y = dsp.fade_out(y, int(item["fade_ms"] / 1000 * sr), "cos")
    return y, {"g0": g0, "g1": g1, "renormalised": renorm}
