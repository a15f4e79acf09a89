"""Find, probe, hash and decode audio files (read-only), resampled to the analysis rate.

Every failure surfaces as :class:`AudioReadError` whose message reads
``"<file name>: <reason>"``, one line a user can act on, chained to the cause.

Decisions:
* Non-finite samples (NaN/inf, only possible in float files) are replaced by 0 and reported in
  :attr:`DecodedAudio.problems` rather than rejecting the file: the rest of the take is still
  worth analysing, and the scan keeps each problem as a finding in the file's row.
* Truncated or damaged files (the header promises more data than the file holds, a FLAC frame
  that does not decode) are decoded as far as the data goes, with a problem in
  :attr:`DecodedAudio.problems`; a header with no decodable data at all is an error.
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
from typing import Any, Callable, Iterator, Literal, Sequence

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
class FileProblem:
    """Something wrong with the file itself that did not stop decoding.

    ``kind``: "damaged_file" (truncated, or decoding stopped at damaged data) or "non_finite"
    (NaN/inf samples, replaced by silence); ``start_s``/``end_s``: where, in the decoded audio;
    ``message``: one line for a user."""

    kind: str
    message: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class DecodedAudio:
    """Decoded float32 samples at ``sample_rate``: shape (frames,) for mono, else (frames, ch).

    ``problems`` lists what did not stop decoding (truncation, damage, non-finite samples).
    """

    samples: np.ndarray
    sample_rate: int
    info: AudioInfo
    problems: tuple[FileProblem, ...] = ()

    @property
    def duration_s(self) -> float:
        return self.samples.shape[0] / self.sample_rate

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(p.message for p in self.problems)


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


MAX_DEPTH = 64  # folders below a root; deeper is a link maze, not a sample library


@dataclass(frozen=True)
class SkippedLink:
    """A symlinked folder the walk did not enter because it leads outside the library."""

    path: Path
    target: Path


def _inside(path: str, roots: Sequence[str]) -> bool:
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def iter_audio_files(
    root: Path | str,
    follow_links: bool = False,
    library_roots: Sequence[Path | str] = (),
    on_folder: Callable[[Path], None] | None = None,
    skipped: list[SkippedLink] | None = None,
) -> Iterator[Path]:
    """Yield audio files under ``root`` recursively, in sorted (depth-first, by name) order.

    Hidden and system folders are skipped; an unreadable subfolder is logged and skipped; a
    symlink cycle ends. A symlinked folder is entered only when it leads inside ``root`` or one
    of ``library_roots`` (a link to the system temp folder or to ``/`` would otherwise walk the
    whole disk), or with ``follow_links``; the ones left out are appended to ``skipped``. Links
    to single files are yielded like files, and so are broken links with an audio name, so the
    scan can say what is wrong with them. ``on_folder`` is called before each folder is listed
    (the scan's cancel point: it may raise). A file ``root`` yields itself if it is audio. A
    missing or unlistable ``root`` raises :class:`AudioReadError`.
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
    if on_folder is not None:
        on_folder(root)
    try:
        first = _sorted_entries(root)
    except OSError as exc:
        raise AudioReadError(f"cannot list folder {root}: {exc.strerror or exc}") from exc
    allowed = [os.path.realpath(r) for r in (root, *library_roots)]
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
            broken = not is_dir and not is_file and entry.is_symlink()
        except OSError:
            continue
        if is_file or broken:
            if is_audio_path(entry.name):
                yield Path(entry.path)
            continue
        if not is_dir or _skip_dir(entry.name):
            continue
        try:
            if entry.is_symlink() and not follow_links:
                target = os.path.realpath(entry.path)
                if not _inside(target, allowed):
                    log.warning("not following %s: the folder link leads outside the library, "
                                "to %s (follow links to include it)", entry.path, target)
                    if skipped is not None:
                        skipped.append(SkippedLink(Path(entry.path), Path(target)))
                    continue
            if len(stack) > MAX_DEPTH:
                log.warning("skipping %s: more than %d folders deep", entry.path, MAX_DEPTH)
                continue
            dst = entry.stat()
            key = (dst.st_dev, dst.st_ino)
            if key in seen:
                log.debug("skipping %s: folder already visited (symlink loop?)", entry.path)
                continue
            seen.add(key)
            if on_folder is not None:
                on_folder(Path(entry.path))
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


# What the first bytes of a file say it holds, and what each suffix promises.
_SUFFIX_FORMAT = {".wav": "WAV", ".wave": "WAV", ".aif": "AIFF", ".aiff": "AIFF", ".aifc": "AIFF",
                  ".flac": "FLAC", ".ogg": "Ogg", ".oga": "Ogg", ".opus": "Ogg", ".mp3": "MP3"}
# libsndfile's words for "no decoder took it", which read as if the file were missing.
_MISLEADING = ("does not exist or is not a regular file", "format not recognised",
               "unknown format")


def sniff_format(head: bytes) -> str | None:
    """"WAV", "AIFF", "FLAC", "Ogg", "MP3", "text" or None, from a file's first bytes."""
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return "WAV"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "AIFF"
    if head[:4] == b"fLaC":
        return "FLAC"
    if head[:4] == b"OggS":
        return "Ogg"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "MP3"
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head[:256]):
        return "text"
    return None


def _unreadable(path: Path, exc: Exception) -> str:
    """Why no decoder took ``path``, from what the file holds rather than libsndfile's guess."""
    reason = _sf_reason(exc)
    vague = any(m in reason.lower() for m in _MISLEADING)
    try:
        with open(path, "rb") as fh:
            head = fh.read(512)
    except OSError:
        return f"not a readable audio file: {reason}"
    found, promised = sniff_format(head), _SUFFIX_FORMAT.get(path.suffix.lower())
    if found == "text":
        return "not a readable audio file: the file holds text, not audio"
    if found is None:
        detail = "no known audio format in its data" if vague else reason
        return f"not a readable audio file: {detail}"
    if promised and found != promised:
        return (f"not a readable audio file: named {path.suffix} but the data is {found}"
                + ("" if vague else f" ({reason})"))
    detail = {"MP3": "no MPEG audio frame decodes (corrupt or incomplete file)"}.get(
        found, "damaged header or data") if vague else reason
    return f"not a readable audio file: damaged {found} data: {detail}"


def probe(path: Path | str) -> AudioInfo:
    """Read only the header. Raises :class:`AudioReadError` for anything unusable."""
    import soundfile as sf

    path = Path(path)
    st = _check_regular_file(path)
    try:
        meta = sf.info(os.fspath(path))
    except (sf.SoundFileError, RuntimeError, OSError, ValueError) as exc:
        raise _fail(path, _unreadable(path, exc)) from exc
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
    problems: list[FileProblem] = []
    read_s = format_duration(frames_read / info.sample_rate)
    decoded_s = frames_read / info.sample_rate
    if decoded.stopped_by:
        problems.append(FileProblem(
            "damaged_file", f"damaged file: decoding stopped after {read_s} ({decoded.stopped_by})",
            decoded_s, decoded_s))
    elif frames_read < decoded.promised:
        promised_s = decoded.promised / info.sample_rate
        problems.append(FileProblem(
            "damaged_file", f"truncated file: {read_s} of audio data, header promises "
                            f"{format_duration(promised_s)}", decoded_s, decoded_s))
    if decoded.non_finite:
        first, last = decoded.non_finite_span
        problems.append(FileProblem(
            "non_finite", f"{decoded.non_finite} non-finite samples (NaN/inf) replaced by silence",
            first / info.sample_rate, last / info.sample_rate))
    for problem in problems:  # the row carries them as findings; the log only for details
        log.debug("%s: %s", path, problem.message)
    return DecodedAudio(samples=decoded.samples, sample_rate=sample_rate, info=info,
                        problems=tuple(problems))


@dataclass
class _Decoded:
    samples: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    frames_read: int = 0
    non_finite: int = 0
    non_finite_span: tuple[int, int] = (0, 0)  # first and last bad frame, at the file's rate
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
    start = 0
    for block in _read_blocks(info, result):
        finite = np.isfinite(block)
        if not finite.all():
            bad = np.flatnonzero(~finite.all(axis=1))
            first = start + int(bad[0]) if not result.non_finite else result.non_finite_span[0]
            result.non_finite_span = (first, start + int(bad[-1]))
            result.non_finite += int(block.size - np.count_nonzero(finite))
            np.nan_to_num(block, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        if out_channels == 1:
            block = to_mono(block)[:, None]
        start += block.shape[0]
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
        raise _fail(info.path, _unreadable(info.path, exc)) from exc
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
