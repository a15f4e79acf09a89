"""What the Ray workers run: the core's own per-file functions, a batch in, a batch out.

Nothing here imports ray or opens the catalog. A batch is a dict of numpy columns (Ray Data's
``numpy`` batch format); values that are not plain strings travel as bytes (a pickled row or
result, a clip as little-endian float32), because Ray Data turns object columns of arrays into
tensor columns of its own. The pickles only pass between processes of one scan, which run the
same code; nothing pickled is ever stored.
"""

from __future__ import annotations

import logging
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import AnomalizerError, EncoderMismatchError

log = logging.getLogger(__name__)

CLIP_DTYPE = np.dtype("<f4")


def hash_files(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``item`` (a pickled ``(path, previous, library_id)``) -> ``row``: the pickled catalog
    row :func:`~anomalizer_desktop.core.scanning.file_row` makes of it (stat, header, hash)."""
    from ..scanning import file_row

    rows = [pickle.dumps(file_row(*pickle.loads(item))) for item in batch["item"]]
    return {"row": np.array(rows, dtype=object)}


def analyse_files(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One decode at the file's own rate for the signal checks and the facets a content needs,
    and the encoder's decode (mono, 48 kHz) when it needs an embedding.

    In: ``hash``, ``path`` and the flags ``checks``, ``facets``, ``embed``. Out: ``hash``,
    ``result`` (a pickled dict: ``findings`` as catalog records or None when not checked,
    ``facets`` or None, ``error``: why the encoder could not have the audio) and ``clip``
    (b"" when there is none)."""
    results, clips = [], []
    for content, path, checks, facets, embed in zip(batch["hash"], batch["path"],
                                                    batch["checks"], batch["facets"],
                                                    batch["embed"]):
        result = {"findings": None, "facets": None, "error": None}
        if checks or facets:
            _check_and_describe(Path(path), bool(checks), bool(facets), result)
        clip = b""
        if embed:
            from ..pipeline import decode_for_encoder

            decoded, errors = decode_for_encoder([(content, Path(path))])
            if decoded:
                clip = np.ascontiguousarray(decoded[0][1], CLIP_DTYPE).tobytes()
            else:
                result["error"] = errors[0][1]
        results.append(pickle.dumps(result))
        clips.append(clip)
    return {"hash": batch["hash"], "embed": batch["embed"],
            "result": np.array(results, dtype=object), "clip": np.array(clips, dtype=object)}


def _check_and_describe(path: Path, checks: bool, facets: bool, result: dict) -> None:
    """What the scan's check and facet stages would store for ``path`` (``qc_stage``,
    ``facets_stage``), from one decode; a file they cannot decode gets neither, as there."""
    from ..audio.io import read_audio
    from ..facets import describe
    from ..qc_stage import check_audio

    try:
        if checks:
            found, audio = check_audio(path)
            result["findings"] = [f.to_record() for f in found]
        else:
            audio = read_audio(path, sample_rate=None, channel_mode="keep")
        if facets:
            result["facets"] = describe(audio.samples, audio.sample_rate)
    except AnomalizerError as exc:
        log.info("signal checks and facets skipped for %s: %s", path, exc)
    except MemoryError:
        log.info("signal checks and facets skipped for %s: not enough memory", path)


@dataclass(frozen=True)
class EncoderSpec:
    """What an actor needs to build the scan's encoder itself (a live model is not shipped):
    its name, the weights folder every node reads, the ``id`` it must come out with, and the
    device and CPU threads it runs with."""

    name: str
    id: str
    weights: str | None = None
    device: str = "cpu"
    threads: int = 2

    @classmethod
    def of(cls, encoder, device: str = "cpu", threads: int = 2) -> EncoderSpec:
        weights = getattr(encoder, "weights", None)
        return cls(encoder.name, encoder.id, str(weights.path) if weights else None,
                   device, threads)

    def build(self):
        from ..config import THREADS_ENV
        from ..embedding import make_encoder

        os.environ[THREADS_ENV] = str(self.threads)  # this process is the actor's alone
        weights = Path(self.weights) if self.weights else None
        encoder = make_encoder(self.name, weights=weights, device=self.device)
        if encoder.id != self.id:
            need = (f"the same weights at {self.weights}" if self.weights
                    else "the same version of anomalizer-desktop")
            raise EncoderMismatchError(f"a Ray worker built encoder {encoder.id}, but the scan "
                                       f"embeds with {self.id}: every node needs {need}")
        return encoder


class EncodeClips:
    """The Ray actor: builds the encoder once, then embeds the ``clip`` of every row that has
    one, in the order given (one ``encode`` call per batch, as the in-process scan makes).
    Out: ``hash``, ``embed`` and ``result`` with ``vector`` added (the clip is dropped)."""

    def __init__(self, spec: EncoderSpec) -> None:
        self.encoder = None
        self.failure: AnomalizerError | None = None
        try:
            self.encoder = spec.build()
        except AnomalizerError as exc:  # raised with the first batch: Ray passes that on as
            self.failure = exc  # itself, an actor that fails to start only as its text

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        if self.failure is not None:
            raise self.failure
        results = [pickle.loads(r) for r in batch["result"]]
        rows = [i for i, clip in enumerate(batch["clip"]) if len(clip)]
        if rows:
            clips = [np.frombuffer(batch["clip"][i], CLIP_DTYPE).copy() for i in rows]
            vectors = np.asarray(self.encoder.encode(clips), np.float32)
            for i, vector in zip(rows, vectors):
                results[i]["vector"] = vector
        return {"hash": batch["hash"], "embed": batch["embed"],
                "result": np.array([pickle.dumps(r) for r in results], dtype=object)}
