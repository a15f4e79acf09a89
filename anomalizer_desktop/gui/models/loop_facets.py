"""Tempo and key of a loop as the table shows them: the audio's estimate, and the file name's
hint when the two disagree ("124.0 (name 120)", "D minor (name F major)"), plus the tempo/key
filter. Qt-free; the estimates come from the catalog's facets (:mod:`...core.facets`)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ...core.facets import compatible, hints_from_name, key_name

#: How far (relative) a tempo may be from the name's and still agree; half and double agree too.
BPM_TOLERANCE = 0.04
#: The 24 keys in the key filter's order: C major, C minor, C# major, ...
ALL_KEYS: tuple[tuple[int, str], ...] = tuple((t, m) for t in range(12) for m in ("major", "minor"))


def format_bpm(bpm: float | None) -> str:
    return "" if bpm is None or not math.isfinite(bpm) else f"{bpm:.1f}"


def _name_bpm(bpm: float) -> str:
    """A name's tempo as written: "120", "92.5"."""
    return f"{bpm:.0f}" if abs(bpm - round(bpm)) < 0.05 else f"{bpm:.1f}"


def bpm_agrees(audio: float, name: float) -> bool:
    """Within :data:`BPM_TOLERANCE` of the name's tempo, or of its half or double."""
    return any(abs(audio / (name * m) - 1.0) <= BPM_TOLERANCE for m in (0.5, 1.0, 2.0))


def key_of(row) -> str | None:
    return key_name(row.tonic, row.mode) if row.tonic is not None and row.mode else None


def name_key_of(row) -> str | None:
    return (key_name(row.name_tonic, row.name_mode)
            if row.name_tonic is not None and row.name_mode else None)


def bpm_disagrees(row) -> bool:
    return row.bpm is not None and row.name_bpm is not None and not bpm_agrees(row.bpm, row.name_bpm)


def key_disagrees(row) -> bool:
    return (row.tonic is not None and row.name_tonic is not None
            and (row.tonic % 12, row.mode) != (row.name_tonic % 12, row.name_mode))


def bpm_text(row) -> str:
    text = format_bpm(row.bpm)
    if text and bpm_disagrees(row):
        text += f" (name {_name_bpm(row.name_bpm)})"
    return text


def key_text(row) -> str:
    """"D minor", or with a disagreeing name "F major (name Dm)": short, so the column need not
    be wide (the tooltip spells both out)."""
    text = key_of(row) or ""
    if text and key_disagrees(row):
        text += f" (name {short_key(row.name_tonic, row.name_mode)})"
    return text


def short_key(tonic: int, mode: str) -> str:
    """The lead-sheet spelling: "Dm", "F#", "Bbm"."""
    return key_name(tonic, mode).split(" ")[0] + ("m" if mode == "minor" else "")


def bpm_sort(row) -> float | None:
    return row.bpm


def key_sort(row) -> tuple[int, int] | None:
    return None if row.tonic is None or not row.mode else (row.tonic % 12, row.mode == "minor")


def bpm_tooltip(row) -> str | None:
    if row.bpm is None:
        if row.name_bpm is not None:
            return f"no tempo heard in the audio; the file name says {_name_bpm(row.name_bpm)} BPM"
        return "no tempo estimate (no steady beat heard, or not analysed yet)"
    lines = [f"{row.bpm:.1f} BPM: estimated from the audio"]
    if row.bars:
        lines[0] += f" ({row.bars} bar{'s' if row.bars != 1 else ''})"
    if row.name_bpm is not None:
        verdict = ("disagrees with the audio" if bpm_disagrees(row) else "agrees")
        lines.append(f"{_name_bpm(row.name_bpm)} BPM: from the file name ({verdict})")
    return "\n".join(lines)


def key_tooltip(row) -> str | None:
    key, named = key_of(row), name_key_of(row)
    if key is None:
        if named:
            return f"no key heard in the audio; the file name says {named}"
        return "no key estimate (no clear pitch, e.g. drums or noise, or not analysed yet)"
    lines = [f"{key}: estimated from the audio"]
    if named:
        lines.append(f"{named}: from the file name "
                     f"({'disagrees with the audio' if key_disagrees(row) else 'agrees'})")
    return "\n".join(lines)


# --- loading ----------------------------------------------------------------------------------
def set_name_hints(rows: Iterable) -> None:
    """Tempo and key hints from each row's file name ("Bass_124bpm_Dm_03.wav")."""
    for row in rows:
        hints = hints_from_name(row.name)
        row.name_bpm, row.name_tonic, row.name_mode = hints.bpm, hints.tonic, hints.mode


def attach_facets(rows: Sequence, catalog) -> None:
    """Fill the rows' tempo and key from the catalog's facets (by content hash) and their
    name hints. Runs where the rows are made (the library job's worker thread)."""
    from ...core.facets import FACETS_VERSION

    facets = catalog.facets_of([r.hash for r in rows if r.hash], FACETS_VERSION)
    for row in rows:
        f = facets.get(row.hash or "")
        if f is not None:
            row.bpm, row.bars = f.bpm, f.bars
            row.tonic, row.mode = f.tonic, f.mode
    set_name_hints(rows)


# --- filtering --------------------------------------------------------------------------------
@dataclass(frozen=True)
class FacetFilter:
    """A tempo range (either end None = open) and a key (None = any), optionally with the keys
    that mix with it. Rows with no estimate pass only the parts that are unset."""

    bpm_min: float | None = None
    bpm_max: float | None = None
    key: tuple[int, str] | None = None
    compatible: bool = False

    @property
    def is_set(self) -> bool:
        return self.bpm_min is not None or self.bpm_max is not None or self.key is not None

    def keys(self) -> set[tuple[int, str]] | None:
        if self.key is None:
            return None
        tonic, mode = self.key
        return set(compatible(tonic, mode)) if self.compatible else {(tonic % 12, mode)}

    def mask(self, rows: Sequence) -> list[bool]:
        lo, hi, keys = self.bpm_min, self.bpm_max, self.keys()
        out = []
        for r in rows:
            ok = True
            if lo is not None or hi is not None:  # on the shown value (one decimal)
                bpm = None if r.bpm is None else round(r.bpm, 1)
                ok = bpm is not None and (lo is None or bpm >= lo) and (hi is None or bpm <= hi)
            if ok and keys is not None:
                ok = r.tonic is not None and (r.tonic % 12, r.mode) in keys
            out.append(ok)
        return out
