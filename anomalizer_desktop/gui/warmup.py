"""Warm up the heavy libraries in a worker right after start-up.

Importing torch (and its optimiser machinery) and librosa's first JIT compilations hold the GIL
for up to ~0.7 s at a time. Done in the first job, that shows as stutters while the user works;
done once at start-up, while the window appears, the first real scan runs without them.

Those imports leave ~500,000 long-lived Python objects. Every full garbage collection walks all of
them (~0.3 s with the GIL held, whichever thread triggers it: a visible stall of the window).
``gc.freeze()`` after each import moves them to the permanent generation, so later collections
only look at objects created since.

When CLAP weights are installed, the library job will build the HTS-AT encoder, and importing
``transformers`` and its CLAP model held the GIL for up to 102 and 166 ms at a time (measured
with a 5-ms ticking thread on this 2-core machine), so those are imported here too. Without
weights they are not: the offline encoder does not need them. Building the HTS-AT model is
Python-heavy too: the first scan's encoder stage stalled the window for 112-157 ms
(``bench_gui_stall --encoder clap-fused --why``). So the warm-up builds the window's encoder
itself, as the process's shared one (``core/embedding/shared.py``): the library, training,
watch and similar-sound jobs then reuse it instead of building their own.
"""

from __future__ import annotations

import gc
import importlib
import logging

from PySide6.QtCore import QObject

from .workers import JobRunner, call_job, start_job

log = logging.getLogger(__name__)

MODULES = ("torch", "torch.optim", "torch._dynamo", "sklearn.decomposition", "librosa")
CLAP_MODULES = ("transformers", "transformers.models.clap.modeling_clap",
                "transformers.audio_utils")


def clap_variant(encoder_name: str) -> str | None:
    """The CLAP variant the window's encoder setting asks for (None: the offline encoder)."""
    from ..core.embedding import CLAP_VARIANTS, DEFAULT_ENCODER

    name = (encoder_name or "auto").lower()
    if name == "auto":
        return DEFAULT_ENCODER
    return name if name in CLAP_VARIANTS else None


def modules_to_warm(encoder_name: str = "auto") -> tuple[str, ...]:
    """The heavy modules the first library job will import on this machine."""
    from ..core.embedding.weights import resolve_weights
    from ..core.errors import WeightsUnavailableError

    variant = clap_variant(encoder_name)
    if variant is None:
        return MODULES
    try:
        resolve_weights(variant, allow_download=False)
    except WeightsUnavailableError:
        return MODULES
    except Exception as exc:  # noqa: BLE001 - warming is best effort
        log.debug("warm-up: no CLAP weights check (%s)", exc)
        return MODULES
    return MODULES + CLAP_MODULES


def warm_up(encoder_name: str = "auto") -> list[str]:
    """Import the heavy modules, build the window's CLAP encoder (``encoder_name``, the
    "encoder" setting) when its weights are installed, and run the offline encoder once;
    returns what was warmed."""
    from ..core.embedding import make_encoder

    done = []
    for name in modules_to_warm(encoder_name):
        try:
            importlib.import_module(name)
            done.append(name)
            gc.freeze()
        except Exception as exc:  # noqa: BLE001 - warming is best effort
            log.debug("warm-up: %s not imported (%s)", name, exc)
    if CLAP_MODULES[-1] in done:
        try:
            encoder = make_encoder(clap_variant(encoder_name), shared=True)
            done.append(f"{encoder.name} encoder")
        except Exception as exc:  # noqa: BLE001 - the job will report it
            log.debug("warm-up: CLAP encoder not built (%s)", exc)
    try:
        from ..core.jobs import warm_up_scoring

        warm_up_scoring(make_encoder("spectral"))
        done.append("signal checks and spectral-encoder")
    except Exception as exc:  # noqa: BLE001
        log.debug("warm-up: spectral encoder failed (%s)", exc)
    gc.freeze()
    return done


def start_warm_up(parent: QObject, encoder_name: str = "auto") -> JobRunner:
    runner = JobRunner(call_job(warm_up, encoder_name), name="warm-up")
    start_job(runner, parent)
    return runner
