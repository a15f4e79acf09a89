"""Connecting to Ray (a local one started for the scan, or a running cluster) and sizing the
encoder's actor pool to what the cluster has."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ..errors import AnomalizerError

log = logging.getLogger(__name__)

RAY_MISSING = "the ray engine needs Ray: pip install 'anomalizer-desktop[cluster]'"
THREADS_PER_ACTOR = 2  # bench_threads: 2 torch threads 1.36x faster than 1 on a 2-core machine
# What an encoder actor holds (the model, its activations, a batch of clips): reserving it keeps
# Ray from packing more actors on a node than it can hold, and from fusing the CPU tasks into
# the actors (they would then take turns with the model instead of running beside it).
ACTOR_MEMORY = {"clap-fused": 2 << 30, "clap-music": 3 << 30, "spectral": 1 << 30}
DATA_SETTINGS = {  # Ray Data settings for the scan's datasets (given back afterwards)
    "enable_progress_bars": False,  # the scan reports its own Progress
    "print_on_execution_start": False,
    "raise_original_map_exception": True,  # an AnomalizerError in a task stays one
}


def import_ray():
    """``ray`` with Ray Data, or the error that says how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401 - the scan's pipeline is a Ray Data pipeline
    except ImportError as exc:
        raise AnomalizerError(RAY_MISSING) from exc
    return ray


@dataclass(frozen=True)
class ActorPlan:
    """How many encoder actors, on what, with how many clips a call."""

    actors: int
    gpus: int  # per actor: 1 on a cluster with GPUs, else 0
    threads: int  # torch CPU threads per actor
    batch_size: int

    def describe(self) -> str:
        where = "1 GPU" if self.gpus else f"{self.threads} CPU threads"
        return f"{self.actors} encoder actor{'s' if self.actors > 1 else ''} ({where} each)"


def plan_actors(resources: dict, encoder, threads: int | None = None) -> ActorPlan:
    """One actor per GPU when the cluster has GPUs (the CLAP encoders only; the spectral one
    runs on CPUs), batched as the encoder batches on a GPU; else CPU actors of ``threads``
    torch threads each, one per ``threads + 1`` CPUs so the decode and check tasks keep a
    CPU for every actor (on 2 CPUs: one actor)."""
    from ..embedding.clap import GPU_BATCH_SIZE

    gpus = int(resources.get("GPU", 0))
    if gpus and encoder.name != "spectral":
        return ActorPlan(gpus, 1, 1, GPU_BATCH_SIZE)
    threads = max(1, int(threads or THREADS_PER_ACTOR))
    cpus = int(resources.get("CPU", 1))
    return ActorPlan(max(1, cpus // (threads + 1)), 0, threads, max(1, int(encoder.batch_size)))


class RaySession:
    """``with RaySession(address):`` Ray is up inside. ``address`` None starts a local Ray on
    this machine's CPUs (and stops it after); ``"auto"`` or ``HOST:PORT`` joins a running
    cluster (and leaves it running). A Ray that is already up in this process (a test, a
    notebook) is used as it is."""

    def __init__(self, address: str | None = None) -> None:
        self.address = address
        self.active = False  # inside the ``with``
        self._started = False
        self._saved: dict = {}
        self._saved_order = False

    def __enter__(self) -> RaySession:
        ray = import_ray()
        if not ray.is_initialized():
            options = {} if self.address else {"include_dashboard": False}
            try:
                ray.init(address=self.address, log_to_driver=False,
                         logging_level=logging.WARNING, **options)
            except ConnectionError as exc:
                raise AnomalizerError(
                    f"no Ray cluster at {self.address} ({exc}); start one with `ray start "
                    "--head`, or leave out --address for a Ray on this machine") from exc
            self._started = True
        _quiet_console(logging.getLogger("ray.data"))
        context = ray.data.DataContext.get_current()
        self._saved = {name: getattr(context, name) for name in DATA_SETTINGS}
        self._saved_order = context.execution_options.preserve_order
        for name, value in DATA_SETTINGS.items():
            setattr(context, name, value)
        context.execution_options.preserve_order = True  # rows land in the listing's order
        self.active = True
        return self

    def __exit__(self, *exc) -> None:
        ray = import_ray()
        context = ray.data.DataContext.get_current()
        for name, value in self._saved.items():
            setattr(context, name, value)
        context.execution_options.preserve_order = self._saved_order
        self.active = False
        if self._started:
            ray.shutdown()
            self._started = False


def _quiet_console(logger: logging.Logger) -> None:
    """Ray Data tells every dataset's plan and progress on stderr (the scan's own progress
    says it); keep its errors there, and everything in its log file in the Ray session."""
    for handler in logger.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(handler,
                                                                         logging.FileHandler):
            handler.setLevel(max(handler.level, logging.ERROR))
