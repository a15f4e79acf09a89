"""Encoders: the LAION-CLAP audio tower (HTS-AT, with or without fusion) and the offline one.

``make_encoder`` picks one by name; ``encoder_for_id`` rebuilds the encoder a model was trained
with. Heavy imports (torch, transformers, librosa) happen only when an encoder is built.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from ..errors import EncoderMismatchError, WeightsUnavailableError
from .base import SAMPLE_RATE, Encoder

log = logging.getLogger(__name__)

CLAP_VARIANTS = ("clap-fused", "clap-music")
ENCODER_NAMES = (*CLAP_VARIANTS, "spectral")
DEFAULT_ENCODER = "clap-fused"

__all__ = ["ENCODER_NAMES", "SAMPLE_RATE", "Encoder", "encoder_for_id", "make_encoder"]


def make_encoder(
    name: str = "auto",
    weights: Path | None = None,
    allow_download: bool = False,
    device: str = "auto",
    notice: Callable[[str], None] | None = None,
    download_progress: Callable[[int, int], None] | None = None,
    shared: bool = False,
) -> Encoder:
    """Build the encoder called ``name``.

    ``auto`` means the paper's encoder (HTS-AT + FFM) when its weights are on this machine, and
    otherwise the offline spectral encoder; ``notice`` is told which one and why. Asking for a
    CLAP encoder by name when its weights are missing raises ``WeightsUnavailableError``.
    ``shared`` returns the process's already built CLAP encoder for the same weights and device
    when there is one (``shared.py``); the spectral encoder is cheap and always built afresh.
    """
    name = (name or "auto").lower()
    if name == "spectral":
        return _spectral()
    if name == "auto":
        try:
            encoder = _clap(DEFAULT_ENCODER, weights, allow_download, device, download_progress,
                            shared)
        except WeightsUnavailableError as exc:
            message = f"{exc} Using it for now."
            log.info("%s", message)
            if notice:
                notice(message)
            return _spectral()
        if notice:
            notice(f"encoder: {encoder.description}")
        return encoder
    if name in CLAP_VARIANTS:
        return _clap(name, weights, allow_download, device, download_progress, shared)
    raise ValueError(f"unknown encoder {name!r}; choose one of: auto, {', '.join(ENCODER_NAMES)}")


def encoder_for_id(encoder_id: str, weights: Path | None = None, device: str = "auto",
                   shared: bool = False) -> Encoder:
    """The encoder whose ``id`` is ``encoder_id`` (what a saved model was trained on);
    ``shared`` as for :func:`make_encoder`."""
    name = encoder_id.split(":", 1)[0]
    if name not in ENCODER_NAMES:
        raise EncoderMismatchError(f"the model was made with an unknown encoder {encoder_id!r}")
    try:
        encoder = make_encoder(name, weights=weights, device=device, shared=shared)
    except WeightsUnavailableError as exc:
        raise WeightsUnavailableError(
            f"the model was trained on {name} embeddings, but {exc}"
        ) from exc
    if encoder.id != encoder_id:
        raise EncoderMismatchError(
            f"the model was trained with encoder {encoder_id}, but this machine has {encoder.id} "
            "(other weights or preprocessing); retrain the model here, or import the weights it "
            "was trained with"
        )
    return encoder


def _spectral() -> Encoder:
    from .spectral import SpectralEncoder

    return SpectralEncoder()


def _clap(variant, weights, allow_download, device, download_progress, shared=False) -> Encoder:
    from .clap import ClapEncoder
    from .weights import resolve_weights

    source = resolve_weights(
        variant, explicit=weights, allow_download=allow_download, progress=download_progress
    )
    if shared:
        from .shared import shared_clap_encoder

        return shared_clap_encoder(variant, source, device)
    return ClapEncoder(variant, source, device=device)
