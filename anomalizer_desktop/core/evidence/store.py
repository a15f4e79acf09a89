"""The library's evidence inside the model file, and for models made before it existed.

Tensors (prefix ``library.``): ``hashes`` (n x 16 bytes, the content hashes), ``learned`` (the
out-of-fold learned scores), ``severity`` (n x checks), ``learned_extra``. The model's ``extra``
JSON holds ``library``: the check names of the severity columns, the checks version and where the
learned null comes from.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..qc.findings import CHECKS, CHECKS_VERSION, Finding
from .library import LibraryEvidence

log = logging.getLogger(__name__)

PREFIX = "library."
HASH_BYTES = 16
OLD_MODEL_SOURCE = "held-out scores of a model from an earlier version"


def to_tensors(library: LibraryEvidence) -> tuple[dict[str, np.ndarray], dict]:
    n = library.n
    raw = b"".join(bytes.fromhex(h) for h in library.hashes)
    hashes = np.frombuffer(raw, dtype=np.uint8).reshape(n, HASH_BYTES) if n else \
        np.zeros((0, HASH_BYTES), np.uint8)
    tensors = {
        f"{PREFIX}hashes": hashes.copy(),
        f"{PREFIX}learned": library.learned_member.astype(np.float64),
        f"{PREFIX}severity": library.severity.astype(np.float64).reshape(n, len(CHECKS)),
        f"{PREFIX}learned_extra": library.learned_extra.astype(np.float64),
    }
    meta = {"checks": list(CHECKS), "checks_version": int(library.checks_version),
            "learned_source": library.learned_source}
    return tensors, meta


def from_tensors(tensors: dict[str, np.ndarray], meta: dict) -> LibraryEvidence:
    hashes = np.asarray(tensors[f"{PREFIX}hashes"], dtype=np.uint8)
    names = [bytes(row).hex() for row in hashes.reshape(-1, HASH_BYTES)]
    stored = np.asarray(tensors[f"{PREFIX}severity"], dtype=np.float64).reshape(len(names), -1)
    severity = np.zeros((len(names), len(CHECKS)))
    for c, kind in enumerate(meta.get("checks", [])):
        if kind in CHECKS and c < stored.shape[1]:
            severity[:, CHECKS.index(kind)] = stored[:, c]
    return LibraryEvidence(names, np.asarray(tensors[f"{PREFIX}learned"], dtype=np.float64),
                           severity, np.asarray(tensors.get(f"{PREFIX}learned_extra",
                                                            np.zeros(0)), dtype=np.float64),
                           str(meta.get("learned_source", "out-of-fold")),
                           int(meta.get("checks_version", 0)))


def read_library(path: Path, info_extra: dict) -> LibraryEvidence | None:
    """The library evidence stored in a model file (None: a model from before it existed)."""
    from safetensors import safe_open

    meta = (info_extra or {}).get("library")
    if meta is None:
        return None
    with safe_open(str(path), framework="np") as f:
        keys = [k for k in f.keys() if k.startswith(PREFIX)]
        tensors = {k: f.get_tensor(k) for k in keys}
    return from_tensors(tensors, meta)


def recalibrated(detector, hashes: Sequence[str] = (),
                 findings: Sequence[Sequence[Finding] | None] = ()) -> LibraryEvidence:
    """Evidence for a model saved before calibration existed: its held-out (or training) scores
    as the learned null, and the library files' findings from the catalog (``hashes`` with
    ``findings``) for the checks."""
    reference = np.asarray(getattr(detector, "reference_scores_", np.zeros(0)), np.float64)
    library = LibraryEvidence.from_files(list(hashes), None, list(findings) or [None] * len(hashes),
                                         learned_extra=reference, learned_source=OLD_MODEL_SOURCE,
                                         checks_version=CHECKS_VERSION)
    log.info("model from an earlier version: recalibrated on %d held-out scores and %d library "
             "files", reference.size, library.n)
    return library


def with_current_findings(library: LibraryEvidence,
                          findings: dict[str, Sequence[Finding]]) -> LibraryEvidence:
    """The library with check strengths from the current checks (``findings`` by hash, from
    the catalog) where its stored ones come from an older version of the checks."""
    if library.checks_version == CHECKS_VERSION:
        return library
    from .library import severity_matrix

    severity = library.severity.copy()
    fresh = [i for i, h in enumerate(library.hashes) if h in findings]
    if fresh:
        severity[fresh] = severity_matrix([findings[library.hashes[i]] for i in fresh])
    log.info("library evidence from checks version %d: %d of %d files refreshed from the catalog",
             library.checks_version, len(fresh), library.n)
    return LibraryEvidence(list(library.hashes), library.learned_member, severity,
                           library.learned_extra, library.learned_source, CHECKS_VERSION)
