"""Tempo and key hints in file names: "Bass_124bpm_Dm_03.wav", "guitar 92 BPM F# major.flac".

A key needs a mode ("Dm", "Amin", "C#maj", "F# major") or an accidental ("Bb"), or stands
alone as a single capital letter in a name that also gives a tempo ("Loop_120_C.wav" reads
no key; "Loop_120bpm_C.wav" reads C major): bare letters are too often take names or kit
pieces otherwise."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .key import NAMES

_BPM = re.compile(r"(?<![0-9.])(\d{2,3}(?:[.,p]\d{1,2})?)\s*-?\s*bpm|bpm\s*-?\s*(\d{2,3})(?![0-9])",
                  re.IGNORECASE)
_KEY = re.compile(r"^([A-Ga-g])(#|b|s|sharp|flat|♯|♭)?(m|min|minor|maj|major|M)?$")
_SPLIT = re.compile(r"[\s_\-.,()\[\]+]+")
_MODE_WORDS = {"minor": "minor", "min": "minor", "major": "major", "maj": "major"}
_PITCH = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


@dataclass(frozen=True)
class NameHints:
    bpm: float | None
    tonic: int | None
    mode: str | None

    @property
    def key(self) -> str | None:
        return f"{NAMES[self.tonic]} {self.mode}" if self.tonic is not None else None


def hints_from_name(name: str) -> NameHints:
    stem = re.sub(r"\.[A-Za-z0-9]{2,5}$", "", name)
    bpm = None
    match = _BPM.search(stem)
    if match:
        value = float((match.group(1) or match.group(2)).replace(",", ".").replace("p", "."))
        bpm = value if 30.0 <= value <= 300.0 else None
    tonic = mode = None
    tokens = [t for t in _SPLIT.split(_BPM.sub(" ", stem)) if t]
    for i, token in enumerate(tokens):
        following = tokens[i + 1].lower() if i + 1 < len(tokens) else ""
        if following in _MODE_WORDS:  # "F# minor", "A maj"
            token = token + ("m" if _MODE_WORDS[following] == "minor" else "maj")
        parsed = _parse_key(token, bare_ok=bpm is not None)
        if parsed:
            tonic, mode = parsed
    return NameHints(bpm, tonic, mode)


def _parse_key(token: str, bare_ok: bool) -> tuple[int, str] | None:
    match = _KEY.match(token)
    if not match:
        return None
    letter, accidental, mode = match.groups()
    if letter.islower() and not mode:
        return None  # "a", "b", "e": words, not keys
    if not accidental and not mode and not bare_ok:
        return None
    if letter.islower() and accidental in ("s",) and not mode:
        return None
    tonic = _PITCH[letter.upper()]
    if accidental in ("#", "s", "sharp", "♯"):
        tonic += 1
    elif accidental in ("b", "flat", "♭"):
        tonic -= 1
    if mode in ("m", "min", "minor"):
        quality = "minor"
    else:
        quality = "major"
    return tonic % 12, quality
