"""Audio preview behind a small Qt-free interface.

:func:`open_player` returns a :class:`SoundDevicePlayer` (PortAudio through ``sounddevice``)
when there is an output device, else a :class:`NullPlayer` whose virtual playhead still moves,
so the GUI works the same on a machine without sound. Positions are *pulled*: the GUI polls
``position_s`` (e.g. from a 30 ms timer); the audio thread never calls back into the app.

Semantics shared by both players: ``play(start_s)`` starts at ``start_s``; ``stop()`` halts and
keeps the position; at the end without ``loop`` playback stops with the position at the end.
Set ``ANOMALIZER_NO_AUDIO=1`` to force the null player (tests, headless runs).
"""

from __future__ import annotations

import logging
import math
import os
import time
from typing import Any, Callable, Protocol, runtime_checkable

import numpy as np

from anomalizer_desktop.core.errors import AnomalizerError

log = logging.getLogger(__name__)

NO_DEVICE_MESSAGE = "no audio output device: playback disabled"


class PlaybackError(AnomalizerError):
    """Audio output could not be opened or started, or nothing is loaded to play."""


@runtime_checkable
class Player(Protocol):
    available: bool
    status_message: str

    def load(self, samples: np.ndarray, sample_rate: int) -> None: ...
    def play(self, start_s: float = 0.0) -> None: ...
    def stop(self) -> None: ...
    def seek(self, position_s: float) -> None: ...
    def close(self) -> None: ...

    @property
    def position_s(self) -> float: ...
    @property
    def is_playing(self) -> bool: ...
    @property
    def duration_s(self) -> float: ...
    @property
    def loop(self) -> bool: ...
    @loop.setter
    def loop(self, value: bool) -> None: ...
    @property
    def volume(self) -> float: ...
    @volume.setter
    def volume(self, value: float) -> None: ...


def _prepare(samples: np.ndarray, sample_rate: int, max_channels: int = 2) -> np.ndarray:
    """Validate and lay out audio as a C-contiguous float32 (frames, 1 or 2) buffer."""
    if sample_rate <= 0:
        raise PlaybackError(f"invalid sample rate {sample_rate}")
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] < 1:
        raise PlaybackError(f"cannot play audio of shape {np.shape(samples)}")
    if x.shape[0] == 0:
        raise PlaybackError("nothing to play: the audio is empty")
    if x.shape[1] > max_channels:  # previews are mono or stereo; fold the rest down
        x = x.mean(axis=1, dtype=np.float32, keepdims=True)
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    return np.ascontiguousarray(x, dtype=np.float32)


def _check_volume(value: float) -> float:
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"volume must be a finite number, got {value}")
    return min(1.0, max(0.0, value))


class NullPlayer:
    """A player without sound: keeps a virtual position that advances with the clock."""

    available = False

    def __init__(
        self, reason: str = NO_DEVICE_MESSAGE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.status_message = reason
        self._clock = clock
        self._frames = 0
        self._sample_rate = 0
        self._anchor_pos = 0.0  # position at _anchor_t (or the resting position)
        self._anchor_t: float | None = None  # None while stopped
        self._loop = False
        self._volume = 1.0

    def load(self, samples: np.ndarray, sample_rate: int) -> None:
        buf = _prepare(samples, sample_rate)
        self._frames, self._sample_rate = buf.shape[0], int(sample_rate)
        self._anchor_pos, self._anchor_t = 0.0, None

    def _state(self) -> tuple[float, bool]:
        if self._anchor_t is None:
            return self._anchor_pos, False
        pos = self._anchor_pos + (self._clock() - self._anchor_t)
        duration = self.duration_s
        if pos < duration:
            return pos, True
        if self._loop and duration > 0:
            return math.fmod(pos, duration), True
        return duration, False

    def _rebase(self, pos: float, playing: bool) -> None:
        self._anchor_pos = pos
        self._anchor_t = self._clock() if playing else None

    def play(self, start_s: float = 0.0) -> None:
        if not self._frames:
            raise PlaybackError("nothing loaded to play")
        self._rebase(self._clamp(start_s), True)

    def stop(self) -> None:
        pos, _ = self._state()
        self._rebase(pos, False)

    def seek(self, position_s: float) -> None:
        _, playing = self._state()
        self._rebase(self._clamp(position_s), playing)

    def _clamp(self, position_s: float) -> float:
        return min(max(0.0, float(position_s)), self.duration_s)

    @property
    def position_s(self) -> float:
        return self._state()[0]

    @property
    def is_playing(self) -> bool:
        return self._state()[1]

    @property
    def duration_s(self) -> float:
        return self._frames / self._sample_rate if self._sample_rate else 0.0

    @property
    def loop(self) -> bool:
        return self._loop

    @loop.setter
    def loop(self, value: bool) -> None:
        pos, playing = self._state()
        self._rebase(pos, playing)
        self._loop = bool(value)

    @property
    def volume(self) -> float:
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._volume = _check_volume(value)

    def close(self) -> None:
        self.stop()


class _Transport:
    """Playback state shared between the app thread and the audio callback, without locks.

    The app thread only *replaces* attributes (atomic under the GIL); a seek is posted as a
    ``(serial, frame)`` tuple that the callback picks up at its next block, so a seek can never
    be overwritten by the callback's own position update.
    """

    def __init__(self, buf: np.ndarray) -> None:
        self.buf = buf
        self.pos = 0
        self.loop = False
        self.gain = 1.0
        self.playing = False
        self._seek_req: tuple[int, int] = (0, 0)
        self._seek_seen = 0

    def request_seek(self, frame: int) -> None:
        frame = min(max(0, int(frame)), self.buf.shape[0])
        self._seek_req = (self._seek_req[0] + 1, frame)

    @property
    def position(self) -> int:
        req = self._seek_req
        return req[1] if req[0] != self._seek_seen else self.pos

    def fill(self, out: np.ndarray) -> bool:
        """Fill ``out`` (frames, channels) from the buffer; False once the end was reached
        without loop (the rest of ``out`` is silence). Only copies: no allocation of arrays."""
        req = self._seek_req
        if req[0] != self._seek_seen:
            self._seek_seen = req[0]
            self.pos = req[1]
        buf, gain, pos = self.buf, self.gain, self.pos
        total, frames = buf.shape[0], out.shape[0]
        done = 0
        while done < frames:
            if pos >= total:
                if self.loop and total > 0:
                    pos = 0
                else:
                    out[done:] = 0.0
                    self.pos = total
                    self.playing = False
                    return False
            n = min(frames - done, total - pos)
            np.multiply(buf[pos : pos + n], gain, out=out[done : done + n])
            pos += n
            done += n
        self.pos = pos
        return True


def _import_sounddevice() -> Any:
    import sounddevice

    return sounddevice


class SoundDevicePlayer:
    """Real output through PortAudio. The stream callback only copies from a preallocated
    buffer; the app thread polls ``position_s``."""

    available = True

    def __init__(self, device: int | str | None = None, latency: str | float = "high") -> None:
        try:
            sd = _import_sounddevice()
        except (OSError, ImportError) as exc:  # PortAudio shared library missing
            raise PlaybackError(
                "PortAudio library not found: playback disabled (install libportaudio2)"
            ) from exc
        self._sd = sd
        try:
            info = sd.query_devices(device, kind="output")
        except (sd.PortAudioError, ValueError) as exc:
            raise PlaybackError(NO_DEVICE_MESSAGE) from exc
        if int(info["max_output_channels"]) < 1:
            raise PlaybackError(NO_DEVICE_MESSAGE)
        self._device = device if device is not None else int(info["index"])
        self._channels = min(2, int(info["max_output_channels"]))
        self._device_rate = int(info["default_samplerate"] or 48000)
        self._latency = latency
        self.status_message = f"audio output: {info['name']}"
        self._transport = _Transport(np.zeros((0, 1), dtype=np.float32))
        self._sample_rate = 0
        self._stream: Any = None
        self._stream_rate = 0
        self._volume = 1.0

    # -- stream management (app thread only)

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        if not self._transport.fill(outdata):
            raise self._sd.CallbackStop

    def _open_stream(self, sample_rate: int) -> None:
        if self._stream is not None and self._stream_rate == sample_rate:
            return
        self._close_stream()
        try:
            self._stream = self._sd.OutputStream(
                samplerate=sample_rate,
                channels=self._channels,
                dtype="float32",
                device=self._device,
                latency=self._latency,
                callback=self._callback,
            )
        except (self._sd.PortAudioError, ValueError) as exc:
            raise PlaybackError(f"cannot open audio output at {sample_rate} Hz: {exc}") from exc
        self._stream_rate = sample_rate

    def _halt(self) -> None:
        self._transport.playing = False
        stream = self._stream
        if stream is not None and not stream.stopped:
            try:
                stream.abort()
            except self._sd.PortAudioError as exc:
                log.warning("could not stop audio output: %s", exc)

    def _close_stream(self) -> None:
        self._halt()
        if self._stream is not None:
            try:
                self._stream.close()
            except self._sd.PortAudioError as exc:
                log.warning("could not close audio output: %s", exc)
        self._stream, self._stream_rate = None, 0

    # -- Player interface

    def load(self, samples: np.ndarray, sample_rate: int) -> None:
        buf = _prepare(samples, sample_rate, max_channels=self._channels)
        self._halt()
        try:
            self._open_stream(int(sample_rate))
        except PlaybackError:
            if int(sample_rate) == self._device_rate:
                raise
            from anomalizer_desktop.core.audio.io import resample

            log.info("output refuses %d Hz; resampling preview to %d Hz",
                     sample_rate, self._device_rate)
            buf = resample(buf, int(sample_rate), self._device_rate)
            sample_rate = self._device_rate
            self._open_stream(sample_rate)
        transport = _Transport(buf)
        transport.loop, transport.gain = self._transport.loop, self._volume
        self._transport, self._sample_rate = transport, int(sample_rate)

    def play(self, start_s: float = 0.0) -> None:
        if self._stream is None or self._transport.buf.shape[0] == 0:
            raise PlaybackError("nothing loaded to play")
        self._transport.request_seek(round(float(start_s) * self._sample_rate))
        if self.is_playing:
            return
        self._halt()  # a stream that ran to its end must be stopped before it restarts
        self._transport.playing = True
        try:
            self._stream.start()
        except self._sd.PortAudioError as exc:
            self._transport.playing = False
            raise PlaybackError(f"cannot start audio output: {exc}") from exc

    def stop(self) -> None:
        self._halt()

    def seek(self, position_s: float) -> None:
        if self._sample_rate:
            self._transport.request_seek(round(float(position_s) * self._sample_rate))

    @property
    def position_s(self) -> float:
        return self._transport.position / self._sample_rate if self._sample_rate else 0.0

    @property
    def is_playing(self) -> bool:
        stream = self._stream
        return bool(self._transport.playing and stream is not None and stream.active)

    @property
    def duration_s(self) -> float:
        frames = self._transport.buf.shape[0]
        return frames / self._sample_rate if self._sample_rate else 0.0

    @property
    def loop(self) -> bool:
        return self._transport.loop

    @loop.setter
    def loop(self, value: bool) -> None:
        self._transport.loop = bool(value)

    @property
    def volume(self) -> float:
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        self._volume = _check_volume(value)
        self._transport.gain = self._volume

    def close(self) -> None:
        self._close_stream()

    def __enter__(self) -> SoundDevicePlayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_player() -> Player:
    """The best player this machine offers; never raises (falls back to :class:`NullPlayer`)."""
    if os.environ.get("ANOMALIZER_NO_AUDIO", "").strip() not in ("", "0"):
        return NullPlayer("audio output disabled (ANOMALIZER_NO_AUDIO is set)")
    try:
        return SoundDevicePlayer()
    except PlaybackError as exc:
        log.info("audio preview unavailable: %s", exc)
        return NullPlayer(str(exc))
    except Exception as exc:  # anything else PortAudio throws must not stop the app
        log.warning("audio preview unavailable: %s", exc, exc_info=True)
        return NullPlayer(f"audio output unavailable ({exc}): playback disabled")
