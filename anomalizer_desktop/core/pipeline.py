"""Decode ahead of the encoder: one background thread decodes the next batch while the model runs.

Decoding (libsndfile + soxr) releases the GIL, so on a 2-core machine decoding and inference
overlap instead of taking turns.
"""

from __future__ import annotations

import logging
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from .audio.io import read_audio
from .embedding.base import SAMPLE_RATE, Encoder
from .errors import AnomalizerError
from .progress import CancelToken

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbedBatch:
    keys: list[str]  # the caller's keys (content hashes) of the clips that were embedded
    vectors: np.ndarray  # (len(keys), dim) float32
    errors: list[tuple[str, str]]  # (key, reason) for clips that could not be decoded
    durations: dict[str, float]  # key -> decoded duration in seconds


def embed_paths(
    items: Sequence[tuple[str, Path]],
    encoder: Encoder,
    token: CancelToken | None = None,
    prefetch: int = 2,
) -> Iterator[EmbedBatch]:
    """Yield embeddings of ``items`` (key, path) in batches of ``encoder.batch_size``.

    Unreadable files are reported in ``EmbedBatch.errors``, never raised. Stops between batches
    when ``token`` is cancelled (the caller decides what cancelling means).
    """
    token = token or CancelToken()
    size = max(1, int(encoder.batch_size))
    chunks = [list(items[i : i + size]) for i in range(0, len(items), size)]
    pending: deque[Future] = deque()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="decode") as pool:
        next_chunk = 0
        try:
            while next_chunk < len(chunks) or pending:
                while next_chunk < len(chunks) and len(pending) < prefetch:
                    pending.append(pool.submit(decode_for_encoder, chunks[next_chunk]))
                    next_chunk += 1
                if token.cancelled:
                    return
                decoded, errors = pending.popleft().result()
                if decoded:
                    vectors = encoder.encode([samples for _, samples in decoded])
                    keys = [key for key, _ in decoded]
                    durations = {key: len(s) / SAMPLE_RATE for key, s in decoded}
                else:
                    vectors = np.zeros((0, encoder.dim), np.float32)
                    keys, durations = [], {}
                yield EmbedBatch(keys, np.asarray(vectors, np.float32), errors, durations)
        finally:
            for future in pending:
                future.cancel()


def decode_for_encoder(chunk: list[tuple[str, Path]]):
    """``(key, path)`` items decoded as every encoder takes them (mono, 48 kHz): the decoded
    ``(key, samples)`` and the ``(key, reason)`` of those that could not be."""
    decoded: list[tuple[str, np.ndarray]] = []
    errors: list[tuple[str, str]] = []
    for key, path in chunk:
        try:
            decoded.append((key, read_audio(path, SAMPLE_RATE).samples))
        except AnomalizerError as exc:
            errors.append((key, str(exc)))
        except MemoryError:
            errors.append((key, "not enough memory to decode this file"))
    return decoded, errors
