"""Decoding, probing, hashing and folder walking on good and bad audio files made in tmp_path."""

from __future__ import annotations

import hashlib
import logging
import os
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from anomalizer_desktop.core.audio import io as aio
from anomalizer_desktop.core.audio.io import (
    AUDIO_EXTENSIONS,
    MAX_SECONDS,
    AudioInfo,
    DecodedAudio,
    file_hash,
    format_duration,
    is_audio_path,
    iter_audio_files,
    probe,
    read_audio,
    resample,
    to_mono,
)
from anomalizer_desktop.core.errors import AudioReadError

SR = 48_000


def sine(sr: int, seconds: float, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(sr * seconds))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float64)


def peak_hz(x: np.ndarray, sr: int) -> float:
    x = np.asarray(x, dtype=np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.fft.rfftfreq(len(x), 1 / sr)[np.argmax(spectrum)])


def digest(path: Path) -> tuple[str, float]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime


def read_checked(path: Path, **kwargs: object) -> DecodedAudio:
    """read_audio, asserting the file is byte-for-byte and mtime unchanged afterwards."""
    before = digest(path)
    try:
        return read_audio(path, **kwargs)  # type: ignore[arg-type]
    finally:
        assert digest(path) == before, f"{path} was modified by reading it"


def expect_error(path: Path, pattern: str, **kwargs: object) -> AudioReadError:
    before = digest(path) if path.is_file() and not path.is_symlink() else None
    with pytest.raises(AudioReadError, match=pattern) as exc_info:
        read_audio(path, **kwargs)  # type: ignore[arg-type]
    if before is not None:
        assert digest(path) == before
    message = str(exc_info.value)
    assert "\n" not in message and message.startswith(path.name + ": ")
    return exc_info.value


def check_sine(decoded: DecodedAudio, seconds: float, amp: float = 0.5, tol: float = 0.02,
               length_tol: int = 2) -> None:
    x = decoded.samples
    assert decoded.sample_rate == SR and x.dtype == np.float32 and x.ndim == 1
    assert x.flags.c_contiguous
    from_header = decoded.info.frames * SR / decoded.info.sample_rate
    assert abs(len(x) - from_header) <= 1, (len(x), from_header)
    slack = length_tol + SR / decoded.info.sample_rate  # one source frame of rounding
    assert abs(len(x) - seconds * SR) <= slack, (len(x), seconds * SR)
    middle = x[len(x) // 4 : 3 * len(x) // 4]
    assert abs(float(np.max(np.abs(middle))) - amp) < tol
    assert abs(float(np.sqrt(np.mean(middle.astype(np.float64) ** 2))) - amp / np.sqrt(2)) < tol
    assert abs(peak_hz(x, SR) - 440.0) < 3.0


# ------------------------------------------------------------------ decoding good files


@pytest.mark.parametrize(
    "subtype, tol",
    [("PCM_U8", 0.02), ("PCM_16", 1e-3), ("PCM_24", 1e-4), ("PCM_32", 1e-4),
     ("FLOAT", 1e-4), ("DOUBLE", 1e-4)],
)
def test_wav_sample_formats(tmp_path: Path, subtype: str, tol: float) -> None:
    path = tmp_path / f"sine_{subtype}.wav"
    sf.write(path, sine(SR, 1.0), SR, subtype=subtype)
    decoded = read_checked(path)
    check_sine(decoded, 1.0, tol=tol + 0.003)
    assert decoded.info.subtype == subtype and decoded.info.format == "WAV"
    assert decoded.warnings == ()


@pytest.mark.parametrize("rate", [8_000, 11_025, 22_050, 44_100, 96_000, 192_000])
def test_sample_rates_resampled_to_48k(tmp_path: Path, rate: int) -> None:
    path = tmp_path / f"sine_{rate}.wav"
    sf.write(path, sine(rate, 0.5), rate, subtype="PCM_24")
    decoded = read_checked(path)
    assert decoded.info.sample_rate == rate
    check_sine(decoded, 0.5, length_tol=1)


@pytest.mark.parametrize(
    "fmt, subtype, ext, length_tol",
    [("AIFF", "PCM_16", "aiff", 1), ("AIFF", "PCM_24", "aif", 1), ("FLAC", "PCM_24", "flac", 1),
     ("OGG", "VORBIS", "ogg", 1), ("OGG", "OPUS", "opus", 1),
     ("MP3", "MPEG_LAYER_III", "mp3", 1)],  # libsndfile's mpg123 decoding is gapless
)
def test_container_formats(tmp_path: Path, fmt: str, subtype: str, ext: str,
                           length_tol: int) -> None:
    if subtype not in sf.available_subtypes(fmt):
        pytest.skip(f"this libsndfile cannot write {fmt}/{subtype}")
    path = tmp_path / f"loop.{ext}"
    rate = SR if subtype == "OPUS" else 44_100  # Opus only encodes at 8..48 kHz
    sf.write(path, sine(rate, 1.0), rate, format=fmt, subtype=subtype)
    assert is_audio_path(path)
    decoded = read_checked(path)
    lossy = fmt in ("OGG", "MP3")
    # Lossy codecs change the waveform's peaks; the RMS and pitch stay put.
    check_sine(decoded, 1.0, amp=0.5, tol=0.15 if lossy else 2e-3, length_tol=length_tol)


def test_short_clip(tmp_path: Path) -> None:
    path = tmp_path / "blip.wav"
    sf.write(path, sine(44_100, 0.05), 44_100, subtype="PCM_16")
    decoded = read_checked(path)
    assert abs(len(decoded.samples) - 2400) <= 1
    assert decoded.info.frames == 2205 and abs(decoded.info.duration_s - 0.05) < 1e-9


def test_six_channels_mono_and_keep(tmp_path: Path) -> None:
    path = tmp_path / "surround.wav"
    gains = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    data = sine(44_100, 0.5, amp=1.0)[:, None] * gains[None, :]
    sf.write(path, data, 44_100, subtype="FLOAT")
    mono = read_checked(path)
    check_sine(mono, 0.5, amp=float(gains.mean()), tol=2e-3, length_tol=1)
    kept = read_checked(path, channel_mode="keep")
    assert kept.samples.shape == (len(mono.samples), 6) and kept.samples.dtype == np.float32
    assert kept.samples.flags.c_contiguous
    peaks = np.abs(kept.samples[4000:-4000]).max(axis=0)
    np.testing.assert_allclose(peaks, gains, atol=2e-3)
    np.testing.assert_allclose(kept.samples.mean(axis=1), mono.samples, atol=1e-5)


def test_stereo_keep_without_resampling(tmp_path: Path) -> None:
    path = tmp_path / "stereo.flac"
    data = np.stack([sine(SR, 0.3), -sine(SR, 0.3)], axis=1)
    sf.write(path, data, SR, subtype="PCM_24")
    kept = read_checked(path, channel_mode="keep")
    np.testing.assert_allclose(kept.samples, data, atol=1e-6)
    assert np.abs(read_checked(path).samples).max() < 1e-6  # antiphase cancels in mono


def test_streamed_decode_equals_one_shot_resample(tmp_path: Path) -> None:
    """Decoding is done in blocks; the result must equal resampling the whole file at once."""
    path = tmp_path / "long.wav"
    rng = np.random.default_rng(0)
    data = (0.3 * rng.standard_normal((aio._BLOCK_FRAMES * 3 + 123, 2))).astype(np.float32)
    sf.write(path, data, 44_100, subtype="FLOAT")
    decoded = read_checked(path)
    expected = resample(to_mono(data), 44_100, SR)
    assert decoded.samples.shape == expected.shape
    np.testing.assert_allclose(decoded.samples, expected, atol=1e-6)


def test_other_target_rate(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    sf.write(path, sine(SR, 1.0), SR)
    decoded = read_checked(path, sample_rate=16_000)
    assert decoded.sample_rate == 16_000 and len(decoded.samples) == 16_000
    assert abs(peak_hz(decoded.samples, 16_000) - 440) < 3


def test_ten_minute_file(tmp_path: Path) -> None:
    path = tmp_path / "ten minutes.wav"
    rate, seconds = 8_000, 600
    with sf.SoundFile(path, "w", rate, 1, subtype="PCM_16") as fh:
        block = sine(rate, 10.0)
        for _ in range(seconds // 10):
            fh.write(block)
    decoded = read_checked(path)
    assert len(decoded.samples) == seconds * SR
    assert abs(decoded.info.duration_s - seconds) < 1e-9
    tail = decoded.samples[-SR:]
    assert abs(float(np.sqrt(np.mean(tail[1000:-1000].astype(np.float64) ** 2))) - 0.3536) < 0.01


def test_unicode_and_spaces_in_path(tmp_path: Path) -> None:
    folder = tmp_path / "Pads & Söunds ✓" / "日本 loops"
    folder.mkdir(parents=True)
    path = folder / "lo op (take 2) é.wav"
    sf.write(path, sine(SR, 0.5), SR)
    check_sine(read_checked(path), 0.5)
    assert probe(str(path)).path == path
    assert list(iter_audio_files(tmp_path)) == [path]
    assert len(file_hash(path)) == 32


# ------------------------------------------------------------------ bad input


def test_zero_bytes(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.touch()
    expect_error(path, r"empty file \(0 bytes\)")
    with pytest.raises(AudioReadError, match="empty file"):
        probe(path)


def test_text_file_named_wav(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("these are my notes, not audio\n" * 10)
    err = expect_error(path, r"not a readable audio file: \w+")
    assert err.__cause__ is not None  # chained to libsndfile's error


@pytest.mark.parametrize("name, content, says", [
    ("corrupt.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 20,
     "damaged MP3 data: no MPEG audio frame decodes"),
    ("noise.wav", bytes(np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8)),
     "no known audio format in its data"),
    ("readme.flac", b"# notes\n" * 50, "the file holds text, not audio"),
    ("really.wav", b"fLaC" + bytes(2000), "named .wav but the data is FLAC"),
])
def test_codec_errors_say_what_is_in_the_file(tmp_path: Path, name: str, content: bytes,
                                              says: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    err = expect_error(path, "not a readable audio file: ")
    assert says in str(err)
    assert "does not exist" not in str(err) and "pipe" not in str(err)


def test_corrupt_header(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.wav"
    sf.write(path, sine(SR, 0.2), SR, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    data[8:36] = os.urandom(28)  # WAVE tag and fmt chunk destroyed
    path.write_bytes(bytes(data))
    expect_error(path, r"not a readable audio file|implausible sample rate|unsupported channel")


@pytest.mark.parametrize("rate", [0, 3_000_000_000])
def test_absurd_sample_rate(tmp_path: Path, rate: int) -> None:
    path = tmp_path / "rate.wav"
    sf.write(path, sine(SR, 0.2), SR, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    assert struct.unpack_from("<I", data, 24)[0] == SR  # fmt chunk sample-rate field
    struct.pack_into("<I", data, 24, rate)
    path.write_bytes(bytes(data))
    expect_error(path, r"not a readable audio file|implausible sample rate")


def test_header_without_data(tmp_path: Path) -> None:
    path = tmp_path / "header_only.wav"
    sf.write(path, sine(SR, 0.2), SR, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[:44])
    expect_error(path, r"no audio data")


def test_truncated_file_decodes_what_is_there(tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "cut.wav"
    sf.write(path, sine(SR, 1.0), SR, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: 44 + 2 * 12_000 + 1])  # 0.25 s of data and half a sample
    with caplog.at_level(logging.WARNING, logger="anomalizer_desktop.core.audio.io"):
        decoded = read_checked(path)
    assert len(decoded.samples) == 12_000
    assert len(decoded.warnings) == 1 and "truncated" in decoded.warnings[0]
    assert "1 s" in decoded.warnings[0]  # what the header promised
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # the row says it, once
    (problem,) = decoded.problems
    assert problem.kind == "damaged_file" and problem.start_s == pytest.approx(0.25)
    assert abs(np.abs(decoded.samples[1000:-1000]).max() - 0.5) < 1e-3


def test_truncated_aiff(tmp_path: Path) -> None:
    path = tmp_path / "cut.aiff"
    sf.write(path, sine(SR, 1.0), SR, subtype="PCM_16")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    decoded = read_checked(path)
    assert 0.45 * SR < len(decoded.samples) < 0.55 * SR
    assert decoded.warnings and "header promises 1" in decoded.warnings[0]


@pytest.mark.parametrize("damage", ["cut", "garbage"])
def test_damaged_flac_keeps_the_good_part(tmp_path: Path, damage: str) -> None:
    path = tmp_path / f"{damage}.flac"
    original = sine(SR, 2.0)
    sf.write(path, original, SR, subtype="PCM_16")
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    if damage == "cut":
        data = data[:middle]
    else:
        data[middle : middle + 200] = np.random.default_rng(1).integers(0, 256, 200).tobytes()
    path.write_bytes(bytes(data))
    decoded = read_checked(path)
    n = len(decoded.samples)
    assert 0.5 * SR < n < 1.2 * SR  # up to the damage, in 4096-frame steps
    assert len(decoded.warnings) == 1 and decoded.warnings[0].startswith("damaged file")
    np.testing.assert_allclose(decoded.samples, original[:n], atol=1e-4)


def test_flac_cut_inside_first_frame(tmp_path: Path) -> None:
    path = tmp_path / "stub.flac"
    sf.write(path, sine(SR, 2.0), SR, subtype="PCM_16")
    path.write_bytes(path.read_bytes()[:1500])
    expect_error(path, r"decoding failed: .+ \(damaged or truncated file\)$|not a readable")


def test_nan_and_inf_samples_become_silence(tmp_path: Path) -> None:
    path = tmp_path / "nan.wav"
    data = sine(SR, 0.5).astype(np.float32)
    data[1000:1100] = np.nan
    data[5000] = np.inf
    data[6000] = -np.inf
    sf.write(path, data, SR, subtype="FLOAT")
    decoded = read_checked(path)
    assert np.isfinite(decoded.samples).all()
    assert np.all(decoded.samples[1000:1100] == 0) and decoded.samples[5000] == 0
    assert any("102 non-finite samples" in w for w in decoded.warnings)
    (problem,) = decoded.problems
    assert problem.kind == "non_finite"
    assert (problem.start_s, problem.end_s) == (pytest.approx(1000 / SR), pytest.approx(6000 / SR))
    np.testing.assert_allclose(decoded.samples[2000:4000], data[2000:4000], atol=1e-6)


def test_too_long_is_rejected_before_decoding(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "dj mix.wav"
    rate = 1_000  # 62 minutes of 8-bit silence is only 3.7 MB
    with sf.SoundFile(path, "w", rate, 1, subtype="PCM_U8") as fh:
        fh.write(np.zeros(62 * 60 * rate, dtype=np.float32))

    def must_not_decode(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was decoded before the duration check")

    monkeypatch.setattr(aio, "_decode", must_not_decode)
    assert probe(path).duration_s == 3720
    expect_error(path, r"too long for a loop: 1 h 02 min \(limit 20 min\)$")
    assert MAX_SECONDS == 1200


def test_max_seconds_argument(tmp_path: Path) -> None:
    path = tmp_path / "three.wav"
    sf.write(path, sine(SR, 3.0), SR)
    expect_error(path, r"too long for a loop: 3 s \(limit 2 s\)", max_seconds=2)
    assert len(read_checked(path, max_seconds=3).samples) == 3 * SR


def test_missing_file_and_dangling_link(tmp_path: Path) -> None:
    expect_error(tmp_path / "gone.wav", r"file not found")
    link = tmp_path / "dangling.wav"
    link.symlink_to(tmp_path / "nowhere.wav")
    expect_error(link, r"file not found")
    with pytest.raises(AudioReadError, match="file not found"):
        file_hash(link)


@pytest.mark.timeout(20)
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "pipe.wav"
    os.mkfifo(path)
    expect_error(path, r"not a regular file")
    with pytest.raises(AudioReadError, match="not a regular file"):
        file_hash(path)


def test_folder_named_like_audio(tmp_path: Path) -> None:
    path = tmp_path / "folder.wav"
    path.mkdir()
    expect_error(path, r"is a folder")


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "locked.wav"
    sf.write(path, sine(SR, 0.2), SR)
    if os.geteuid() != 0:
        path.chmod(0)
        try:
            expect_error(path, r"permission denied")
        finally:
            path.chmod(0o644)
    # Root ignores file modes, so also simulate the OS refusing the open.
    real_open = open

    def refusing_open(file: object, *args: object, **kwargs: object) -> object:
        if Path(str(file)) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(aio, "open", refusing_open, raising=False)
    err = expect_error(path, r"permission denied$")
    assert isinstance(err.__cause__, PermissionError)
    with pytest.raises(AudioReadError, match="permission denied"):
        file_hash(path)


def test_bad_arguments_are_programming_errors(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    sf.write(path, sine(SR, 0.1), SR)
    with pytest.raises(ValueError):
        read_audio(path, channel_mode="surround")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        read_audio(path, sample_rate=0)


# ------------------------------------------------------------------ probe and hash


def test_probe_reads_the_header(tmp_path: Path) -> None:
    path = tmp_path / "p.flac"
    sf.write(path, np.zeros((22_050, 2)), 44_100, subtype="PCM_16")
    info = probe(path)
    assert isinstance(info, AudioInfo)
    assert (info.sample_rate, info.channels, info.frames) == (44_100, 2, 22_050)
    assert info.duration_s == 0.5 and info.format == "FLAC" and info.subtype == "PCM_16"
    st = path.stat()
    assert info.size == st.st_size and info.mtime == st.st_mtime and info.path == path


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
def test_file_hash_matches_blake2b(tmp_path: Path, chunk: int) -> None:
    path = tmp_path / "h.wav"
    sf.write(path, sine(SR, 0.05), SR)
    content = path.read_bytes()
    expected = hashlib.blake2b(content, digest_size=16).hexdigest()
    assert file_hash(path, chunk=chunk) == expected
    path.write_bytes(content[:-1] + bytes([content[-1] ^ 1]))
    assert file_hash(path) != expected


# ------------------------------------------------------------------ finding files


@pytest.mark.parametrize(
    "name, expected",
    [("kick.wav", True), ("KICK.WAV", True), ("pad.Aiff", True), ("x.aif", True),
     ("x.aifc", True), ("x.flac", True), ("x.ogg", True), ("x.oga", True), ("x.opus", True),
     ("x.mp3", True), ("x.wave", True), ("x.txt", False), ("wav", False), ("x.wav.tmp", False),
     (".hidden.wav", False), ("._kick.wav", False), ("kick.wav~", False), ("~$kick.wav", False),
     (".#kick.wav", False), ("kick.part", False), ("kick.wav.part", False),
     ("kick.wav.crdownload", False), ("kick.wav.partial", False), ("kick.tmp", False),
     ("kick.wav.sb-2f1a3c-AbCdEf", False), ("kick.sb-1234.wav", False), ("", False)],
)
def test_is_audio_path(name: str, expected: bool) -> None:
    assert is_audio_path(name) is expected
    assert is_audio_path(Path("/some/dir") / name if name else "") is expected


def test_audio_extensions_are_lowercase_with_dot() -> None:
    assert all(ext.startswith(".") and ext == ext.lower() for ext in AUDIO_EXTENSIONS)
    assert {".wav", ".aiff", ".flac", ".ogg", ".mp3"} <= AUDIO_EXTENSIONS


def make_tree(root: Path) -> list[Path]:
    """A library with junk around the real files; returns the expected walk order."""
    files = ["b.wav", "a.flac", "sub/z.mp3", "sub/deeper/k.aiff", "sub/A.ogg", "Z/late.wav"]
    junk = [".hidden.wav", "._b.wav", "notes.txt", "b.wav.tmp", "sub/x.wav~", ".git/c.wav",
            "sub/.cache/d.wav", "__MACOSX/sub/._z.mp3", "sub/render.wav.sb-1a2b-XyZ"]
    for rel in files + junk:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"RIFF")
    return [root / "Z/late.wav", root / "a.flac", root / "b.wav", root / "sub/A.ogg",
            root / "sub/deeper/k.aiff", root / "sub/z.mp3"]


def test_iter_audio_files_skips_junk_in_sorted_order(tmp_path: Path) -> None:
    expected = make_tree(tmp_path)
    assert list(iter_audio_files(tmp_path)) == expected
    assert list(iter_audio_files(str(tmp_path))) == expected  # same order every time


def test_iter_audio_files_symlink_loop_terminates(tmp_path: Path) -> None:
    expected = make_tree(tmp_path)
    (tmp_path / "sub/deeper/loop").symlink_to(tmp_path)  # cycle back to the root
    (tmp_path / "sub/self").symlink_to(tmp_path / "sub")
    (tmp_path / "dangling.wav").symlink_to(tmp_path / "missing.wav")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "missing.txt")
    found = list(iter_audio_files(tmp_path))
    # a broken link with an audio name is listed, so the scan can say what is wrong with it
    assert found == expected[:3] + [tmp_path / "dangling.wav"] + expected[3:]


def test_iter_audio_files_follows_links_inside_the_library_only(tmp_path: Path) -> None:
    lib, other = tmp_path / "lib", tmp_path / "other"
    (other / "drums").mkdir(parents=True)
    (other / "drums/k.wav").write_bytes(b"x")
    (lib / "own").mkdir(parents=True)
    (lib / "own/s.wav").write_bytes(b"x")
    (lib / "linked").symlink_to(other)
    (lib / "shortcut").symlink_to(lib / "own")  # inside the library: followed (once)
    (lib / "root").symlink_to("/")
    skipped: list = []
    found = list(iter_audio_files(lib, skipped=skipped))
    assert found == [lib / "own/s.wav"]  # "shortcut" leads to a folder already walked
    assert [(s.path.name, s.target) for s in skipped] == [
        ("linked", Path(os.path.realpath(other))), ("root", Path("/"))]
    assert list(iter_audio_files(lib / "linked")) == [lib / "linked/drums/k.wav"]  # as a root
    assert list(iter_audio_files(lib, library_roots=[other])) == [
        lib / "linked/drums/k.wav", lib / "own/s.wav"]  # another library root


def test_iter_audio_files_follows_outside_links_when_asked(tmp_path: Path) -> None:
    lib, other = tmp_path / "lib", tmp_path / "other"
    (other / "drums").mkdir(parents=True)
    (other / "drums/k.wav").write_bytes(b"x")
    lib.mkdir()
    (lib / "linked").symlink_to(other)
    assert list(iter_audio_files(lib, follow_links=True)) == [lib / "linked/drums/k.wav"]


def test_iter_audio_files_can_be_stopped_between_folders(tmp_path: Path) -> None:
    make_tree(tmp_path)
    visited: list[Path] = []

    class Stop(Exception):
        pass

    def on_folder(folder: Path) -> None:
        visited.append(folder)
        if len(visited) == 3:
            raise Stop

    with pytest.raises(Stop):
        list(iter_audio_files(tmp_path, on_folder=on_folder))
    assert visited[0] == tmp_path and len(visited) == 3


def test_iter_audio_files_unreadable_subfolder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               caplog: pytest.LogCaptureFixture) -> None:
    expected = make_tree(tmp_path)
    real_scandir = os.scandir

    def scandir(path: object):  # type: ignore[no-untyped-def]
        if Path(str(path)) == tmp_path / "sub":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(aio.os, "scandir", scandir)
    with caplog.at_level(logging.WARNING):
        found = list(iter_audio_files(tmp_path))
    assert found == [p for p in expected if "sub" not in p.parts]
    assert "unreadable folder" in caplog.text and "Permission denied" in caplog.text


def test_iter_audio_files_single_file_and_missing_root(tmp_path: Path) -> None:
    make_tree(tmp_path)
    assert list(iter_audio_files(tmp_path / "b.wav")) == [tmp_path / "b.wav"]
    assert list(iter_audio_files(tmp_path / "notes.txt")) == []
    with pytest.raises(AudioReadError, match="folder not found"):
        list(iter_audio_files(tmp_path / "nope"))


def test_hidden_root_is_still_scanned(tmp_path: Path) -> None:
    root = tmp_path / ".samples"
    root.mkdir()
    (root / "k.wav").write_bytes(b"x")
    assert list(iter_audio_files(root)) == [root / "k.wav"]


# ------------------------------------------------------------------ helpers


@pytest.mark.parametrize("from_sr, to_sr", [(44_100, 48_000), (48_000, 16_000), (8_000, 48_000),
                                            (192_000, 48_000)])
def test_resample_keeps_frequency(from_sr: int, to_sr: int) -> None:
    x = sine(from_sr, 1.0, freq=1000.0)
    y = resample(x, from_sr, to_sr)
    assert y.dtype == np.float32 and y.ndim == 1 and y.flags.c_contiguous
    assert abs(len(y) - to_sr) <= 1
    assert abs(peak_hz(y, to_sr) - 1000.0) < 2.0
    assert abs(np.abs(y[to_sr // 4 : -to_sr // 4]).max() - 0.5) < 5e-3


def test_resample_two_dimensional_and_identity() -> None:
    x = np.stack([sine(44_100, 0.5), sine(44_100, 0.5, freq=880)], axis=1)
    y = resample(x, 44_100, SR)
    assert y.shape == (24_000, 2) and y.dtype == np.float32
    assert abs(peak_hz(y[:, 1], SR) - 880) < 3
    same = resample(x, SR, SR)
    assert same.dtype == np.float32 and np.allclose(same, x, atol=1e-7)
    assert not np.shares_memory(same, x)
    with pytest.raises(ValueError):
        resample(x, 0, SR)


def test_to_mono() -> None:
    x = np.array([[1.0, 0.0], [0.5, 0.5], [-1.0, 1.0]])
    np.testing.assert_allclose(to_mono(x), [0.5, 0.5, 0.0])
    assert to_mono(x).dtype == np.float32
    one = np.arange(4.0)
    np.testing.assert_array_equal(to_mono(one), one)
    np.testing.assert_array_equal(to_mono(one[:, None]), one)
    assert to_mono(np.zeros((5, 3), dtype=np.float32)[::2]).flags.c_contiguous
    with pytest.raises(ValueError):
        to_mono(np.zeros((2, 2, 2)))


@pytest.mark.parametrize(
    "seconds, text",
    [(0.05, "50 ms"), (0.9999, "1.0 s"), (3, "3 s"), (4.25, "4.2 s"), (1200, "20 min"),
     (725, "12 min 05 s"),
     (3720, "1 h 02 min"), (7200, "2 h 00 min")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
