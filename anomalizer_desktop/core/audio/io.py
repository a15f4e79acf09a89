"""Find, probe, hash and decode audio files (read-only), resampled to the analysis rate.

Every failure surfaces as :class:`AudioReadError` whose message reads
``"<file name>: <reason>"``, one line a user can act on, chained to the cause.

Decisions:
* Non-finite samples (NaN/inf, only possible in float files) are replaced by 0 and reported in
  :attr:`DecodedAudio.warnings` (and the log) rather than rejecting the file: the rest of the
  take is still worth analysing, and signal QC can show the warning.
* Truncated or damaged files (the header promises more data than the file holds, a FLAC frame
  that does not decode) are decoded as far as the data goes, with a warning in
  :attr:`DecodedAudio.warnings`; a header with no decodable data at all is an error.
* The duration limit is checked from the header before any sample is decoded, and decoding is
  streamed block by block (downmix + resample per block), so peak memory is about the size of
  the 48 kHz output, never the whole source file.
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
import re
import stat
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Literal

import numpy as np

from anomalizer_desktop.core.errors import AudioReadError

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS: frozenset[str] = frozenset(
    {".wav", ".wave", ".aif", ".aiff", ".aifc", ".flac", ".ogg", ".oga", ".opus", ".mp3"}
)
MAX_SECONDS = 20 * 60
MIN_SAMPLE_RATE = 1_000
MAX_SAMPLE_RATE = 768_000
MAX_CHANNELS = 64
_BLOCK_FRAMES = 1 << 17
_SALVAGE_FRAMES = 1 << 12

# Names that are temporary, partial or metadata files even when their suffix looks like audio.
_JUNK_PATTERNS = (
    "*.tmp", "*.temp", "*.part", "*.partial", "*.crdownload", "*.download", "*.swp",
    "~$*", "*~", ".#*", "*.sb-*",
)
_SKIPPED_DIRS = frozenset({"__macosx", "$recycle.bin", "system volume information"})
_TRUNCATION = re.compile(r"(?m)^\s*(?:data|SSND)\s*:\s*(\d+)\s*\(should be (\d+)\)")

ChannelMode = Literal["mono", "keep"]


@dataclass(frozen=True)
class AudioInfo:
    """What the header says about a file, plus its size and modification time."""

    path: Path
    size: int
    mtime: float
    duration_s: float
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str


@dataclass(frozen=True)
class DecodedAudio:
    """Decoded float32 samples at ``sample_rate``: shape (frames,) for mono, else (frames, ch).

    ``warnings`` lists problems that did not stop decoding (truncation, non-finite samples).
    """

    samples: np.ndarray
    sample_rate: int
    info: AudioInfo
    warnings: tuple[str, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.sample_rate


def _fail(path: Path, reason: str) -> AudioReadError:
    return AudioReadError(f"{path.name}: {reason}")


def format_duration(seconds: float) -> str:
    """Human duration: "50 ms", "4.2 s", "12 min 05 s", "20 min", "1 h 02 min"."""
    if seconds < 60:
        if round(seconds * 1000) < 1000:
            return f"{round(seconds * 1000)} ms"
        return f"{int(seconds)} s" if seconds == int(seconds) else f"{seconds:.1f} s"
    total = int(round(seconds))
    if total < 3600:
        minutes, secs = divmod(total, 60)
        return f"{minutes} min" if secs == 0 else f"{minutes} min {secs:02d} s"
    hours, rest = divmod(total, 3600)
    return f"{hours} h {rest // 60:02d} min"


# ---------------------------------------------------------------- finding files


def is_audio_path(path: Path | str) -> bool:
    """True for a name with an audio suffix that is not hidden, AppleDouble, temp or partial."""
    name = os.path.basename(os.fspath(path)).lower()
    if not name or name.startswith("."):  # hidden, AppleDouble "._x", emacs lock ".#x"
        return False
    if any(fnmatch.fnmatchcase(name, pattern) for pattern in _JUNK_PATTERNS):
        return False
    return os.path.splitext(name)[1] in AUDIO_EXTENSIONS


def _skip_dir(name: str) -> bool:
    return name.startswith(".") or name.lower() in _SKIPPED_DIRS


def iter_audio_files(root: Path | str) -> Iterator[Path]:
    """Yield audio files under ``root`` recursively, in sorted (depth-first, by name) order.

    Hidden and system folders are skipped; symlinked folders are followed once (a symlink cycle
    ends); an unreadable subfolder is logged and skipped. A file ``root`` yields itself if it is
    audio. A missing or unlistable ``root`` raises :class:`AudioReadError`.
    """
    root = Path(root)
    try:
        st = root.stat()
    except OSError as exc:
        raise AudioReadError(f"folder not found: {root}") from exc
    if not stat.S_ISDIR(st.st_mode):
        if stat.S_ISREG(st.st_mode) and is_audio_path(root):
            yield root
        return
    try:
        first = _sorted_entries(root)
    except OSError as exc:
        raise AudioReadError(f"cannot list folder {root}: {exc.strerror or exc}") from exc
    seen: set[tuple[int, int]] = {(st.st_dev, st.st_ino)}
    stack: list[Iterator[os.DirEntry[str]]] = [iter(first)]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
            continue
        try:
            is_dir = entry.is_dir()  # follows symlinks
            is_file = not is_dir and entry.is_file()
        except OSError:
            continue
        if is_file:
            if is_audio_path(entry.name):
                yield Path(entry.path)
            continue
        if not is_dir or _skip_dir(entry.name):
            continue
        try:
            dst = entry.stat()
            key = (dst.st_dev, dst.st_ino)
            if key in seen:
                log.debug("skipping %s: folder already visited (symlink loop?)", entry.path)
                continue
            seen.add(key)
            stack.append(iter(_sorted_entries(Path(entry.path))))
        except OSError as exc:
            log.warning("skipping unreadable folder %s: %s", entry.path, exc.strerror or exc)


def _sorted_entries(folder: Path) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as it:
        return sorted(it, key=lambda e: e.name)


# ---------------------------------------------------------------- header and hash


@contextmanager
def _os_errors(path: Path) -> Iterator[None]:
    """Turn the OS's reasons for not reading ``path`` into :class:`AudioReadError`."""
    try:
        yield
    except FileNotFoundError as exc:
        raise _fail(path, "file not found (moved, deleted or a broken link)") from exc
    except PermissionError as exc:
        raise _fail(path, "permission denied") from exc
    except IsADirectoryError as exc:
        raise _fail(path, "is a folder, not an audio file") from exc
    except OSError as exc:
        raise _fail(path, f"cannot read file: {exc.strerror or exc}") from exc


def _regular_file_stat(path: Path) -> os.stat_result:
    st = path.stat()
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(path)
    if not stat.S_ISREG(st.st_mode):  # FIFOs, devices, sockets: opening could block forever
        raise _fail(path, "not a regular file")
    return st


def _check_regular_file(path: Path) -> os.stat_result:
    """Stat and open ``path`` read-only so the OS's reason is reported, not libsndfile's."""
    with _os_errors(path):
        st = _regular_file_stat(path)
        if st.st_size == 0:
            raise _fail(path, "empty file (0 bytes)")
        with open(path, "rb") as fh:
            fh.read(1)
    return st


def _sf_reason(exc: Exception) -> str:
    reason = (getattr(exc, "error_string", "") or str(exc)).strip()
    reason = re.sub(r"^Error\s*:\s*", "", reason)
    return reason.rstrip(".") or "unknown format"


def probe(path: Path | str) -> AudioInfo:
    """Read only the header. Raises :class:`AudioReadError` for anything unusable."""
    import soundfile as sf

    path = Path(path)
    st = _check_regular_file(path)
    try:
        meta = sf.info(os.fspath(path))
    except (sf.SoundFileError, RuntimeError, OSError, ValueError) as exc:
        raise _fail(path, f"not a readable audio file: {_sf_reason(exc)}") from exc
    sample_rate, channels, frames = int(meta.samplerate), int(meta.channels), int(meta.frames)
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise _fail(path, f"implausible sample rate {sample_rate} Hz (corrupt header?)")
    if not 1 <= channels <= MAX_CHANNELS:
        raise _fail(path, f"unsupported channel count {channels} (corrupt header?)")
    if frames <= 0:
        raise _fail(path, "no audio data (0 frames): empty or truncated file")
    return AudioInfo(path=path, size=int(st.st_size), mtime=float(st.st_mtime),
                     duration_s=frames / sample_rate, sample_rate=sample_rate, channels=channels,
                     frames=frames, format=str(meta.format), subtype=str(meta.subtype))


def file_hash(path: Path | str, chunk: int = 1 << 20) -> str:
    """Hex BLAKE2b (16-byte digest) of the whole file content, read in ``chunk``-byte pieces."""
    path = Path(path)
    digest = hashlib.blake2b(digest_size=16)
    with _os_errors(path):
        _regular_file_stat(path)
        with open(path, "rb") as fh:
            while block := fh.read(chunk):
                digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------- samples


def to_mono(samples: np.ndarray) -> np.ndarray:
    """(frames, ch) -> (frames,) float32 mean of the channels; 1-D input passes through."""
    x = np.asarray(samples)
    if x.ndim == 1:
        return np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"expected (frames,) or (frames, channels), got shape {x.shape}")
    if x.shape[1] == 1:
        return np.ascontiguousarray(x[:, 0], dtype=np.float32)
    return np.ascontiguousarray(x.mean(axis=1, dtype=np.float32), dtype=np.float32)


def resample(samples: np.ndarray, from_sr: int, to_sr: int) -> np.ndarray:
    """Resample (frames,) or (frames, ch) audio with soxr 'HQ'; float32 out."""
    if from_sr <= 0 or to_sr <= 0:
        raise ValueError(f"sample rates must be positive, got {from_sr} -> {to_sr}")
    if from_sr == to_sr or np.shape(samples)[0] == 0:
        return np.array(samples, dtype=np.float32, order="C", copy=True)
    x = np.ascontiguousarray(samples, dtype=np.float32)
    import soxr

    return np.ascontiguousarray(soxr.resample(x, from_sr, to_sr, quality="HQ"), dtype=np.float32)


def read_audio(
    path: Path | str,
    sample_rate: int | None = 48000,
    max_seconds: float = MAX_SECONDS,
    channel_mode: ChannelMode = "mono",
) -> DecodedAudio:
    """Decode a file to float32 at ``sample_rate`` (None = the file's own rate, no resampling):
    mono (frames,) or, with ``channel_mode="keep"``, (frames, channels).
    Raises :class:`AudioReadError`."""
    if channel_mode not in ("mono", "keep") or (sample_rate is not None and sample_rate <= 0):
        raise ValueError(f"bad arguments: channel_mode={channel_mode!r}, sample_rate={sample_rate}")
    info = probe(path)
    path = info.path
    if sample_rate is None:
        sample_rate = info.sample_rate
    if info.duration_s > max_seconds:
        limits = f"{format_duration(info.duration_s)} (limit {format_duration(max_seconds)})"
        raise _fail(path, f"too long for a loop: {limits}")
    try:
        decoded = _decode(info, sample_rate, channel_mode)
    except AudioReadError:
        raise
    except MemoryError as exc:
        raise _fail(path, "not enough memory to decode this file") from exc
    except Exception as exc:  # libsndfile/soxr errors in the middle of the data
        raise _fail(path, f"decoding failed: {_sf_reason(exc)}") from exc
    frames_read = decoded.frames_read
    if frames_read == 0:
        reason = decoded.stopped_by or "no audio data could be decoded"
        raise _fail(path, f"decoding failed: {reason} (damaged or truncated file)")
    if decoded.samples.shape[0] == 0:
        raise _fail(path, f"too short to analyse ({frames_read} samples)")
    warnings: list[str] = []
    read_s = format_duration(frames_read / info.sample_rate)
    if decoded.stopped_by:
        warnings.append(f"damaged file: decoding stopped after {read_s} ({decoded.stopped_by})")
    elif frames_read < decoded.promised:
        warnings.append(
            f"truncated file: {read_s} of audio data, header promises "
            f"{format_duration(decoded.promised / info.sample_rate)}"
        )
    if decoded.non_finite:
        warnings.append(f"{decoded.non_finite} non-finite samples (NaN/inf) replaced by silence")
    for message in warnings:
        log.warning("%s: %s", path, message)
    return DecodedAudio(samples=decoded.samples, sample_rate=sample_rate, info=info,
                        warnings=tuple(warnings))


@dataclass
class _Decoded:
    samples: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    frames_read: int = 0
    non_finite: int = 0
    promised: int = 0
    stopped_by: str = ""


def _decode(info: AudioInfo, sample_rate: int, channel_mode: ChannelMode) -> _Decoded:
    """Stream-decode: downmix and resample each block as it is read."""
    out_channels = 1 if channel_mode == "mono" else info.channels
    stream = None
    if info.sample_rate != sample_rate:
        import soxr

        stream = soxr.ResampleStream(
            info.sample_rate, sample_rate, out_channels, dtype="float32", quality="HQ"
        )
    result = _Decoded(promised=info.frames)
    parts: list[np.ndarray] = []
    for block in _read_blocks(info, result):
        finite = np.isfinite(block)
        if not finite.all():
            result.non_finite += int(block.size - np.count_nonzero(finite))
            np.nan_to_num(block, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        if out_channels == 1:
            block = to_mono(block)[:, None]
        parts.append(block if stream is None else stream.resample_chunk(block))
    if stream is not None:
        parts.append(stream.resample_chunk(np.zeros((0, out_channels), np.float32), last=True))
    samples = np.concatenate(parts, axis=0) if parts else np.zeros((0, out_channels))
    result.samples = np.ascontiguousarray(
        samples[:, 0] if channel_mode == "mono" else samples, dtype=np.float32
    )
    return result


def _read_blocks(info: AudioInfo, result: _Decoded) -> Iterator[np.ndarray]:
    """Yield float32 (frames, channels) blocks, counting them in ``result``.

    A read error part-way through (a damaged FLAC frame, a cut-off file) keeps what was decoded:
    libsndfile's errors are sticky, so the file is reopened after the good part and read on in
    small blocks up to the damage; the first error is kept in ``result.stopped_by``."""
    import soundfile as sf

    try:
        handle: Any = sf.SoundFile(os.fspath(info.path), mode="r")
    except (sf.SoundFileError, RuntimeError, OSError) as exc:
        raise _fail(info.path, f"not a readable audio file: {_sf_reason(exc)}") from exc
    match = _TRUNCATION.search(handle.extra_info or "")
    size = _BLOCK_FRAMES
    try:
        while True:
            try:
                block = handle.read(size, dtype="float32", always_2d=True)
            except (sf.SoundFileError, RuntimeError) as exc:
                result.stopped_by = result.stopped_by or _sf_reason(exc)
                handle.close()
                handle = None
                if size == _SALVAGE_FRAMES:
                    break
                handle, size = _reopen(info.path, result.frames_read), _SALVAGE_FRAMES
                if handle is None:
                    break
                continue
            if block.shape[0]:
                result.frames_read += block.shape[0]
                yield block
            if block.shape[0] < size:
                break
    finally:
        if handle is not None:
            handle.close()
    frames_read = result.frames_read
    if match and frames_read and int(match.group(1)) > int(match.group(2)) > 0:
        # libsndfile shortened the data chunk to what the file holds; estimate what was meant.
        bytes_per_frame = int(match.group(2)) / frames_read
        if bytes_per_frame >= 1:
            bytes_per_frame = round(bytes_per_frame)
        result.promised = max(result.promised, int(int(match.group(1)) / bytes_per_frame))


def _reopen(path: Path, frame: int) -> Any:
    """A fresh handle positioned at ``frame``, or None if that fails too."""
    import soundfile as sf

    try:
        handle = sf.SoundFile(os.fspath(path), mode="r")
    except Exception:  # noqa: BLE001 - any failure ends the salvage attempt
        return None
    try:
        handle.seek(frame)
    except Exception:  # noqa: BLE001
        handle.close()
        return None
    return handle
