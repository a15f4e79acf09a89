"""Scanning on a Ray cluster (``anomalizer scan --engine ray``): the same catalog rows as the
in-process scan, with the per-file work spread over the cluster's CPUs and GPUs.

Ray is an optional extra (``pip install 'anomalizer-desktop[cluster]'``); nothing here imports
it until a scan asks for the ray engine.
"""

from __future__ import annotations

from contextlib import nullcontext

from ..errors import AnomalizerError

ENGINES = ("local", "ray")


def engine_for(name: str = "local", address: str | None = None, threads: int | None = None):
    """A context manager giving the ``engine`` argument of :func:`~..jobs.scan`: None for the
    in-process engine, a connected :class:`.engine.RayEngine` for ``"ray"``."""
    if name == "ray":
        from .engine import RayEngine

        return RayEngine(address, threads=threads)
    if name != "local":
        raise ValueError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
    if address:
        raise AnomalizerError("a cluster address is for the ray engine: add --engine ray")
    return nullcontext()
