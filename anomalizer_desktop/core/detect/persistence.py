"""The model file (``*.anomalizer``): one safetensors file, never a pickle.

Tensors: everything ``Detector.get_state`` returns (network weights prefixed ``net.``, the centre
``c``, ``scaler.mean``/``scaler.scale``, ``train_scores``, tree or PCA arrays, ...).
String metadata: ``format`` = "anomalizer-model", ``format_version``, ``detector``, ``params``
(JSON), ``encoder_id``, ``dim``, ``versions`` (JSON), ``created`` (UTC ISO 8601), ``n_train``,
``threshold``, ``extra`` (a JSON dict chosen by the caller, e.g. a file list summary) and, from
format 2, ``checksum``: SHA-256 over every tensor (name, dtype, shape, bytes) and every other
metadata field, checked at load, so a damaged file is refused instead of scoring wrongly.
The detector's tensors and threshold must be finite, when saving and when loading.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata as importlib_metadata
from pathlib import Path

import numpy as np

from ..errors import EncoderMismatchError, ModelFileError
from .base import Detector

log = logging.getLogger(__name__)

FORMAT_MARKER = "anomalizer-model"
FORMAT_VERSION = 2  # 2: the checksum
CHECKSUM_FROM_VERSION = 2
MODEL_SUFFIX = ".anomalizer"


@dataclass(frozen=True)
class ModelInfo:
    """What a model file says about itself (readable without building the detector)."""

    detector: str
    encoder_id: str
    dim: int
    threshold: float
    n_train: int
    created: str
    versions: dict
    params: dict
    extra: dict
    path: Path


def library_versions() -> dict[str, str]:
    """Versions of the libraries that shape a model (recorded in every model file)."""
    from anomalizer_desktop import __version__

    out = {"anomalizer": __version__}
    for dist, key in (("torch", "torch"), ("scikit-learn", "sklearn"), ("numpy", "numpy"),
                      ("safetensors", "safetensors")):
        try:
            out[key] = importlib_metadata.version(dist)
        except importlib_metadata.PackageNotFoundError:
            out[key] = "absent"
    return out


def save_model(detector: Detector, path: Path, encoder_id: str,
               extra: dict | None = None, library=None) -> ModelInfo:
    """Write a fitted detector to ``path`` atomically (temporary file + ``os.replace``).
    ``library``: the library's calibrated evidence (``core.evidence.LibraryEvidence``)."""
    from safetensors.numpy import save_file

    path = Path(path)
    tensors, params = detector.get_state()
    extra = dict(extra or {})
    if library is not None:
        from ..evidence.store import to_tensors

        lib_tensors, extra["library"] = to_tensors(library)
        tensors = {**tensors, **lib_tensors}
    info_n_train = int(params["fitted"].get("fit_info", {}).get("n_train",
                                                                 len(detector.train_scores_)))
    versions = library_versions()
    created = datetime.now(timezone.utc).isoformat(timespec="seconds")
    meta = {
        "format": FORMAT_MARKER,
        "format_version": str(FORMAT_VERSION),
        "detector": detector.name,
        "params": json.dumps(params),
        "encoder_id": str(encoder_id),
        "dim": str(int(detector.n_features_in_)),
        "versions": json.dumps(versions),
        "created": created,
        "n_train": str(info_n_train),
        "threshold": repr(float(detector.threshold_)),
        "extra": json.dumps(extra),
    }
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    _check_finite(arrays, meta["threshold"], f"the trained {detector.name} model",
                  "training went wrong (retrain, or try another network)")
    meta["checksum"] = checksum(arrays, meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        save_file(arrays, str(tmp), metadata=meta)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    log.info("saved %s model (%s, %d loops) to %s", detector.name, encoder_id, info_n_train, path)
    return _info_from_meta(meta, path)


def checksum(tensors: dict[str, np.ndarray], meta: dict[str, str]) -> str:
    """SHA-256 over the tensors (sorted by name: name, dtype, shape, bytes) and the metadata
    (sorted by key, ``checksum`` itself left out)."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        h.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.tobytes())
    for key in sorted(k for k in meta if k != "checksum"):
        h.update(f"{key}\0{meta[key]}\0".encode())
    return h.hexdigest()


def _detector_tensors(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The detector's own tensors (the library's evidence may hold NaN for "not scored")."""
    from ..evidence.store import PREFIX

    return {k: v for k, v in tensors.items() if not k.startswith(PREFIX)}


def _check_finite(tensors: dict[str, np.ndarray], threshold: str, what: str, advice: str) -> None:
    bad = [k for k, v in sorted(_detector_tensors(tensors).items())
           if v.dtype.kind == "f" and not np.isfinite(v).all()]
    try:
        finite_threshold = math.isfinite(float(threshold))
    except ValueError:
        finite_threshold = False
    if bad or not finite_threshold:
        parts = ([f"non-finite values (NaN/inf) in {', '.join(bad[:3])}"
                  + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")] if bad else [])
        if not finite_threshold:
            parts.append(f"a threshold of {threshold}")
        raise ModelFileError(f"{what} has {' and '.join(parts)}; {advice}")


def _read_meta(path: Path) -> dict[str, str]:
    from safetensors import safe_open

    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    try:
        with safe_open(str(path), framework="np") as f:
            meta = f.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types for any bad header
        raise ModelFileError(
            f"{path} is not an Anomalizer model file (cannot read it as safetensors: {exc})"
        ) from exc
    if meta.get("format") != FORMAT_MARKER:
        raise ModelFileError(f"{path} is a safetensors file but not an Anomalizer model")
    try:
        version = int(meta.get("format_version", ""))
    except ValueError as exc:
        raise ModelFileError(f"{path} has no valid format version; the file is damaged") from exc
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{path} was written by a newer Anomalizer (model format {version}, this version "
            f"reads up to {FORMAT_VERSION}); update Anomalizer or retrain the model"
        )
    return meta


def _info_from_meta(meta: dict[str, str], path: Path) -> ModelInfo:
    try:
        return ModelInfo(
            detector=meta["detector"],
            encoder_id=meta["encoder_id"],
            dim=int(meta["dim"]),
            threshold=float(meta["threshold"]),
            n_train=int(meta["n_train"]),
            created=meta["created"],
            versions=json.loads(meta["versions"]),
            params=json.loads(meta["params"]),
            extra=json.loads(meta.get("extra", "{}")),
            path=Path(path),
        )
    except (KeyError, ValueError) as exc:
        raise ModelFileError(f"{path}: model metadata is incomplete or damaged ({exc})") from exc


def read_model_info(path: Path) -> ModelInfo:
    """The metadata of a model file, without loading its tensors."""
    path = Path(path)
    return _info_from_meta(_read_meta(path), path)


def load_model(path: Path, expected_encoder_id: str | None = None) -> tuple[Detector, ModelInfo]:
    """Load a model file. Raises ModelFileError (missing, not a model, too new, damaged) or
    EncoderMismatchError (``expected_encoder_id`` differs from the model's encoder)."""
    from safetensors import safe_open

    from . import detector_class

    path = Path(path)
    meta = _read_meta(path)
    info = _info_from_meta(meta, path)
    if expected_encoder_id is not None and info.encoder_id != expected_encoder_id:
        raise EncoderMismatchError(
            f"the model {path.name} was trained on embeddings from encoder "
            f"'{info.encoder_id}', but the current encoder is '{expected_encoder_id}'; "
            f"retrain the model with the current encoder, or switch back to "
            f"'{info.encoder_id}' to use it"
        )
    try:
        with safe_open(str(path), framework="np") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:
        raise ModelFileError(f"{path}: the model's data cannot be read ({exc}); the file is "
                             "damaged, retrain it") from exc
    _verify(path, tensors, meta)
    try:
        cls = detector_class(info.detector)
        detector = cls.from_state(tensors, info.params)
    except ModelFileError:
        raise
    except Exception as exc:
        raise ModelFileError(f"{path}: the model could not be rebuilt ({exc}); retrain it") from exc
    if detector.n_features_in_ != info.dim:
        raise ModelFileError(f"{path}: stored dimension {info.dim} does not match its weights")
    return detector, info


def _verify(path: Path, tensors: dict[str, np.ndarray], meta: dict[str, str]) -> None:
    """Refuse a damaged model file: checksum (format 2 on), finite weights and threshold."""
    if int(meta["format_version"]) >= CHECKSUM_FROM_VERSION:
        stored = meta.get("checksum", "")
        if not stored:
            raise ModelFileError(f"{path}: the model file has no checksum; it is damaged, "
                                 "retrain it")
        if checksum(tensors, meta) != stored:
            raise ModelFileError(f"{path}: the model file is damaged (its checksum does not "
                                 "match: changed on disk or a bad copy); retrain it")
    _check_finite(tensors, meta.get("threshold", "nan"), f"{path.name}",
                  "the file is damaged, retrain it")
