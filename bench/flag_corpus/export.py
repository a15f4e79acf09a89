"""File formats of the corpus and reading/writing them with soundfile."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

# name -> (container, subtype, extension, bit-depth label)
FORMATS = {
    "wav16": ("WAV", "PCM_16", ".wav", "16"),
    "wav24": ("WAV", "PCM_24", ".wav", "24"),
    "wav32f": ("WAV", "FLOAT", ".wav", "32f"),
    "flac16": ("FLAC", "PCM_16", ".flac", "16"),
    "flac24": ("FLAC", "PCM_24", ".flac", "24"),
}


def ext(fmt: str) -> str:
    return FORMATS[fmt][2]


def write(path: Path, x: np.ndarray, sr: int, fmt: str) -> None:
    container, subtype, _, _ = FORMATS[fmt]
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.asarray(x, dtype=np.float64)
    if subtype != "FLOAT":
        data = np.clip(data, -1.0, 1.0 - 2.0 ** -23)
    if data.ndim == 2 and data.shape[1] == 1:
        data = data[:, 0]
    tmp = path.with_name(path.name + ".part")
    with sf.SoundFile(str(tmp), "w", sr, 1 if data.ndim == 1 else data.shape[1], subtype,
                      format=container) as f:
        _no_peak_chunk(f)
        f.write(data)
    tmp.replace(path)


def _no_peak_chunk(f: sf.SoundFile) -> None:
    """libsndfile stamps float WAVs with a PEAK chunk holding the wall-clock time; leave it
    out so a rebuild writes byte-identical files."""
    try:
        from soundfile import _ffi, _snd
        _snd.sf_command(f._file, 0x1050, _ffi.NULL, 0)  # SFC_SET_ADD_PEAK_CHUNK, off
    except (ImportError, AttributeError):
        pass


def read(path: Path) -> tuple[np.ndarray, int]:
    x, sr = sf.read(str(path), dtype="float64", always_2d=True)
    return x, sr
