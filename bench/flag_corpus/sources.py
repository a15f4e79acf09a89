"""The installed sound sources, which part (dev/locked) each belongs to, what it can play,
and the one-shot sample pools of the sample-based sources (Sonic Pi, LMMS, Hydrogen kits)."""

from __future__ import annotations

import re
import shutil
import struct
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

SF2_FLUIDR3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SF2_TIMGM = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
SF3_MUSESCORE = Path("/usr/share/sounds/sf3/MuseScore_General_Lite.sf3")
FREEPATS_CFG = Path("/etc/timidity/freepats.cfg")
SONICPI_DIR = Path("/usr/share/sonic-pi/samples")
LMMS_DIR = Path("/usr/share/lmms/samples")
HYDROGEN_DIR = Path("/usr/share/hydrogen/data/drumkits")

PARTS = ("dev", "locked")
INSTRUMENTS = ("bass", "guitar", "drums")


@dataclass
class Source:
    name: str
    part: str
    engine: str                 # "fluidsynth" | "timidity" | "sampler"
    instruments: tuple[str, ...]
    path: Path | None = None    # soundfont / timidity cfg / sample dir
    distorted_guitar: bool = False
    detail: dict = field(default_factory=dict)
    missing: str | None = None  # why it is unavailable (None: available)


# ---------------------------------------------------------------- soundfont presets

def soundfont_presets(path: Path) -> set[tuple[int, int]]:
    """(bank, program) pairs from the soundfont's preset headers (SF2 and SF3)."""
    data = path.read_bytes()
    i = data.rfind(b"phdr")
    if i < 0:
        return set()
    size = struct.unpack("<I", data[i + 4:i + 8])[0]
    out = set()
    for k in range(size // 38 - 1):  # last record is the terminal "EOP"
        rec = data[i + 8 + k * 38:i + 8 + (k + 1) * 38]
        prog, bank = struct.unpack("<HH", rec[20:24])
        out.add((bank, prog))
    return out


# ---------------------------------------------------------------- sample pools

# Pitched one-shots: (file, MIDI pitch of the sample, articulation, slice start s, slice end s)
SONICPI_BASS = (
    ("bass_woodsy_c.flac", 36, "pluck", 0.0, None),
    ("bass_thick_c.flac", 36, "synth", 0.0, None),
    ("bass_trance_c.flac", 36, "synth", 0.0, None),
    ("bass_voxy_c.flac", 36, "synth", 0.0, None),
    ("bass_voxy_hit_c.flac", 36, "pluck", 0.0, None),
)
SONICPI_GUITAR = {
    "chord": (("guit_em9.flac", 52, "chord_min9", 0.0, None),),
    "note": (("guit_e_fifths.flac", 52, "dyad", 0.0, 0.5),
             ("guit_harmonics.flac", 71, "harmonic", 1.21, 3.4)),
}
LMMS_BASS = (
    ("instruments/bassslap01.ogg", 38, "slap", 0.0, None),
    ("instruments/bassslap02.ogg", 36, "slap", 0.0, None),
    ("basses/matrix1000_pluck01.ogg", 36, "pluck", 0.0, None),
    ("basses/bass_hard02.ogg", 36, "synth", 0.0, None),
    ("basses/bass01.ogg", 36, "synth", 0.0, None),
    ("basses/synth_acid01.ogg", 36, "synth", 0.0, None),
    ("basses/bass_hard01.ogg", 32, "synth", 0.0, None),
)
LMMS_GUITAR = {
    "chord": (("instruments/steel_guitar01.ogg", 48, "power_chord", 0.0, None),),
    "note": (("instruments/steel_guitar01.ogg", 48, "power_chord", 0.0, None),),
}
LMMS_GUITAR_DIST = {
    "chord": (("instruments/steel_guitar_slight_distorted01.ogg", 48, "power_chord", 0.0, None),
              ("instruments/steel_guitar_medium_distorted01.ogg", 48, "power_chord", 0.0, None),
              ("instruments/steel_guitar_heavy_distorted01.ogg", 48, "power_chord", 0.0, None)),
}
LMMS_GUITAR_DIST["note"] = LMMS_GUITAR_DIST["chord"]

SONICPI_DRUMS = {
    "kick": ("bd_808", "bd_ada", "bd_boom", "bd_fat", "bd_gas", "bd_haus", "bd_klub", "bd_pure",
             "bd_tek", "bd_zome", "bd_zum", "bd_sone", "drum_bass_hard", "drum_heavy_kick"),
    "snare": ("sn_dolf", "sn_dub", "sn_generic", "sn_zome", "drum_snare_hard", "elec_snare",
              "elec_hi_snare", "elec_mid_snare", "elec_lo_snare", "elec_filt_snare"),
    "ghost": ("drum_snare_soft",),
    "rim": ("elec_wood", "elec_tick", "perc_snap2"),
    "clap": ("perc_snap", "perc_snap2"),
    "hh_closed": ("drum_cymbal_closed",),
    "hh_pedal": ("drum_cymbal_pedal",),
    "hh_open": ("drum_cymbal_open",),
    "ride": ("drum_cymbal_soft",),
    "crash": ("drum_cymbal_hard", "drum_splash_hard"),
    "tom_hi": ("drum_tom_hi_hard",),
    "tom_mid": ("drum_tom_mid_hard",),
    "tom_lo": ("drum_tom_lo_hard",),
    "perc": ("drum_cowbell", "elec_triangle"),
}
LMMS_DRUMS = {
    "kick": ("bassdrum01", "bassdrum02", "bassdrum03", "bassdrum04", "bassdrum_acoustic01",
             "bassdrum_acoustic02", "kick01", "kick02", "kick03", "kick04", "kick_hard01",
             "kick_hiphop01", "kick_soft01", "kick_soft02", "kick_long01"),
    "snare": ("snare01", "snare02", "snare03", "snare04", "snare05", "snare06", "snare07",
              "snare_acoustic01", "snare_electro01", "snare_hiphop01", "snare_hiphop02",
              "snare_muffled01", "snare_short01"),
    "ghost": ("snare_muffled02", "snare_short01"),
    "rim": ("rim01", "sidestick01", "snare_rim01"),
    "clap": ("clap01", "clap02", "clap03", "clap04"),
    "hh_closed": ("hihat_closed01", "hihat_closed02", "hihat_closed03", "hihat_closed04",
                  "hihat_closed05"),
    "hh_pedal": ("hihat_foot_pedal01",),
    "hh_open": ("hihat_opened01", "hihat_opened02", "hihat_opened03"),
    "ride": ("ride01", "ride02"),
    "crash": ("crash01", "crash02"),
    "tom_hi": ("tom_hi01", "tom01", "tom02"),
    "tom_mid": ("tom_mid01", "tom03"),
    "tom_lo": ("tom_low01", "tom04", "tom05"),
    "perc": ("shaker01", "shaker02", "shaker03"),
}

# Roles a kit may lack, and what stands in for them (first available).
ROLE_FALLBACK = {
    "kick": ("tom_lo", "perc"), "snare": ("clap", "rim", "tom_hi"), "ghost": ("snare",),
    "rim": ("snare", "perc"), "clap": ("snare", "rim"), "hh_closed": ("shaker", "perc", "ride"),
    "hh_pedal": ("hh_closed", "shaker", "perc"), "hh_open": ("hh_closed", "shaker", "perc"),
    "ride": ("hh_closed", "shaker", "perc"), "crash": ("ride", "hh_open", "hh_closed", "perc"),
    "tom_hi": ("tom_mid", "tom_lo", "snare"), "tom_mid": ("tom_hi", "tom_lo", "snare"),
    "tom_lo": ("tom_mid", "tom_hi", "kick"), "perc": ("shaker", "hh_closed", "rim"),
    "shaker": ("hh_closed", "perc"),
}


@lru_cache(maxsize=4096)
def readable(path: Path) -> bool:
    """The file exists and libsndfile opens it (a few packaged samples are malformed, e.g.
    LMMS's drums/kick04.ogg)."""
    if not path.is_file():
        return False
    try:
        import soundfile as sf
        with sf.SoundFile(str(path)) as f:
            return f.frames > 0
    except Exception:  # noqa: BLE001 - any decoder error means "not usable"
        return False


def _present(base: Path, names, ext: str) -> tuple[str, ...]:
    return tuple(n for n in names if readable(base / f"{n}{ext}"))


def sonicpi_drum_pool() -> dict[str, tuple[Path, ...]]:
    return {r: tuple(SONICPI_DIR / f"{n}.flac" for n in _present(SONICPI_DIR, ns, ".flac"))
            for r, ns in SONICPI_DRUMS.items()}


def lmms_drum_pool() -> dict[str, tuple[Path, ...]]:
    d = LMMS_DIR / "drums"
    return {r: tuple(d / f"{n}.ogg" for n in _present(d, ns, ".ogg"))
            for r, ns in LMMS_DRUMS.items()}


def _pitched_present(base: Path, table) -> tuple:
    return tuple(row for row in table if readable(base / row[0]))


# ---------------------------------------------------------------- hydrogen kits

@dataclass
class KitLayer:
    file: Path
    vmin: float
    vmax: float
    gain: float


@dataclass
class KitInstrument:
    name: str
    role: str
    gain: float
    pan_l: float
    pan_r: float
    layers: list[KitLayer]


_ROLE_RULES = (
    ("clap", r"clap"),
    ("rim", r"stick|rim|click"),
    ("hh_pedal", r"(hh|hat).*(pedal|foot|\bpd\b)|pedal.*(hh|hat)"),
    ("hh_open", r"(hh|hat).*(open|\bop\b|semi)|open.*(hh|hat)|ohh"),
    ("hh_closed", r"hh|hat"),
    ("ride", r"ride"),
    ("crash", r"crash|splash|china|cymbal"),
    ("tom", r"(?<![a-z])tom|tone\b|bongo|conga"),
    ("kick", r"kick|bass ?drum|\bbd\b|thump|bass\b|dununba.*head hit"),
    ("snare", r"snare|slap"),
    ("shaker", r"maraca|shaker|tambourine|cabasa"),
    ("perc", r"cowbell|clave|wood ?block|agogo|bell|finger|snap|head"),
)


def _role_of(name: str) -> str | None:
    n = name.lower()
    n = re.sub(r"^[a-g]#?\d\s*-\s*", "", n)  # "c3 - bass drum 1"
    if not re.search(r"[a-z]{2}", n) or n.startswith("sample:") or re.search(
            r"\bfx\b|zap|whistle|roll|choke|swish|waterglass", n):
        return None
    for role, rx in _ROLE_RULES:
        if re.search(rx, n):
            if role == "tom":
                if re.search(r"hi|high|\b1\b|12", n):
                    return "tom_hi"
                if re.search(r"lo|low|floor|16|\b3\b", n):
                    return "tom_lo"
                return "tom_mid"
            return role
    return None


def parse_kit(kit_dir: Path) -> dict[str, list[KitInstrument]]:
    """Role -> instruments of a Hydrogen kit (drumkit.xml, any namespace)."""
    root = ET.parse(kit_dir / "drumkit.xml").getroot()
    m = re.match(r"\{.*\}", root.tag)
    ns = m.group(0) if m else ""
    roles: dict[str, list[KitInstrument]] = {}
    for inst in root.iter(ns + "instrument"):
        name = inst.findtext(ns + "name") or ""
        role = _role_of(name)
        if role is None:
            continue

        def f(tag, default=1.0):
            try:
                return float(inst.findtext(ns + tag) or default)
            except ValueError:
                return default

        layers = []
        for lay in inst.iter(ns + "layer"):
            fn = lay.findtext(ns + "filename")
            if not fn or "empty" in fn.lower():
                continue
            p = kit_dir / fn
            if not readable(p):
                continue
            layers.append(KitLayer(p, float(lay.findtext(ns + "min") or 0),
                                   float(lay.findtext(ns + "max") or 1),
                                   float(lay.findtext(ns + "gain") or 1)))
        if not layers:
            fn = inst.findtext(ns + "filename")
            if fn and readable(kit_dir / fn):
                layers.append(KitLayer(kit_dir / fn, 0.0, 1.0, 1.0))
        if not layers:
            continue
        roles.setdefault(role, []).append(KitInstrument(
            name, role, f("gain") * f("volume"), f("pan_L"), f("pan_R"),
            sorted(layers, key=lambda l: l.vmin)))
    return roles


@lru_cache(maxsize=1)
def hydrogen_kits() -> tuple[str, ...]:
    if not HYDROGEN_DIR.is_dir():
        return ()
    kits = [d.name for d in HYDROGEN_DIR.iterdir() if (d / "drumkit.xml").is_file()]
    usable = []
    for k in sorted(kits, key=str.casefold):
        try:
            roles = parse_kit(HYDROGEN_DIR / k)
        except (ET.ParseError, OSError):
            continue
        if roles and ("kick" in roles or "tom_lo" in roles) and (
                "snare" in roles or "clap" in roles or "rim" in roles):
            usable.append(k)
    return tuple(usable)


def hydrogen_split() -> dict[str, tuple[str, ...]]:
    """Kits sorted case-insensitively by name: first half dev (A), second half locked (B)."""
    kits = hydrogen_kits()
    half = (len(kits) + 1) // 2
    return {"dev": kits[:half], "locked": kits[half:]}


# ---------------------------------------------------------------- registry

def _engine_missing(engine: str) -> str | None:
    exe = {"fluidsynth": "fluidsynth", "timidity": "timidity"}.get(engine)
    if exe and shutil.which(exe) is None:
        return f"{exe} is not installed"
    return None


@lru_cache(maxsize=1)
def registry() -> tuple[Source, ...]:
    out: list[Source] = []
    for name, part, path in (("fluidr3", "dev", SF2_FLUIDR3), ("timgm6mb", "locked", SF2_TIMGM),
                             ("musescore", "locked", SF3_MUSESCORE)):
        s = Source(name, part, "fluidsynth", INSTRUMENTS, path, distorted_guitar=True)
        s.missing = _engine_missing("fluidsynth") or (None if path.is_file()
                                                      else f"{path} not found")
        if not s.missing:
            s.detail["presets"] = sorted(soundfont_presets(path))
        out.append(s)
    s = Source("freepats", "locked", "timidity", INSTRUMENTS, FREEPATS_CFG, distorted_guitar=True)
    s.missing = _engine_missing("timidity") or (None if FREEPATS_CFG.is_file()
                                                else f"{FREEPATS_CFG} not found")
    out.append(s)

    # Sonic Pi
    bass = _pitched_present(SONICPI_DIR, SONICPI_BASS)
    gch = _pitched_present(SONICPI_DIR, SONICPI_GUITAR["chord"])
    gno = _pitched_present(SONICPI_DIR, SONICPI_GUITAR["note"])
    dpool = sonicpi_drum_pool() if SONICPI_DIR.is_dir() else {}
    inst = tuple(i for i, ok in (("bass", bool(bass)), ("guitar", bool(gch and gno)),
                                 ("drums", bool(dpool.get("kick") and dpool.get("snare"))))
                 if ok)
    s = Source("sonicpi", "dev", "sampler", inst, SONICPI_DIR,
               detail={"bass": bass, "guitar": {"chord": gch, "note": gno}, "drums": dpool})
    s.missing = None if inst else f"{SONICPI_DIR} not found or without usable samples"
    out.append(s)

    # LMMS
    bass = _pitched_present(LMMS_DIR, LMMS_BASS)
    gch = _pitched_present(LMMS_DIR, LMMS_GUITAR["chord"])
    dist = _pitched_present(LMMS_DIR, LMMS_GUITAR_DIST["chord"])
    dpool = lmms_drum_pool() if (LMMS_DIR / "drums").is_dir() else {}
    inst = tuple(i for i, ok in (("bass", bool(bass)), ("guitar", bool(gch)),
                                 ("drums", bool(dpool.get("kick") and dpool.get("snare"))))
                 if ok)
    s = Source("lmms", "locked", "sampler", inst, LMMS_DIR, distorted_guitar=bool(dist),
               detail={"bass": bass, "guitar": {"chord": gch, "note": gch},
                       "guitar_dist": {"chord": dist, "note": dist}, "drums": dpool})
    s.missing = None if inst else f"{LMMS_DIR} not found or without usable samples"
    out.append(s)

    # Hydrogen
    split = hydrogen_split()
    for part, tag in (("dev", "A"), ("locked", "B")):
        kits = split.get(part, ())
        s = Source(f"hydrogen-{tag}", part, "sampler", ("drums",) if kits else (), HYDROGEN_DIR,
                   detail={"kits": kits})
        s.missing = None if kits else f"no usable Hydrogen drum kits under {HYDROGEN_DIR}"
        out.append(s)
    return tuple(out)


def available(part: str) -> list[Source]:
    return [s for s in registry() if s.part == part and not s.missing]


def providers(part: str, instrument: str) -> list[Source]:
    return [s for s in available(part) if instrument in s.instruments]


def off_style_providers(part: str, instrument: str) -> list[tuple[Source, str]]:
    """(source, content) pairs that can render the part's off-style loops for ``instrument``:
    distorted guitar for guitar, drum loops for bass, bass or guitar loops for drums."""
    out = []
    for s in available(part):
        if instrument == "guitar" and s.distorted_guitar:
            out.append((s, "guitar_dist"))
        elif instrument == "bass" and "drums" in s.instruments:
            out.append((s, "drums"))
        elif instrument == "drums":
            for c in ("bass", "guitar"):
                if c in s.instruments:
                    out.append((s, c))
    return out


def by_name(name: str) -> Source:
    for s in registry():
        if s.name == name:
            return s
    raise KeyError(name)
