"""A scan's per-file work as a Ray Data pipeline: hashing, then one pipeline of CPU tasks
(decode, signal checks, facets, the encoder's decode) feeding a pool of encoder actors.

This process (the driver) lists the files, decides what is new, and alone writes the catalog
as results stream back (``iter_batches``), one transaction a batch; workers never open it.
What is already in the catalog (unchanged files, contents with findings, facets and an
embedding) is never sent, so a rescan costs what the in-process one does.
"""

from __future__ import annotations

import logging
import math
import os
import pickle
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Generator

from ..catalog import Catalog, FileRecord
from ..catalog.work_claims import WAITING
from ..embedding.base import Encoder
from ..errors import AnomalizerError
from ..progress import CancelToken, EtaClock, Progress
from .claims import StageClaims
from .session import ACTOR_MEMORY, ActorPlan, RaySession, import_ray, plan_actors
from .tasks import EncodeClips, EncoderSpec, analyse_files, hash_files

log = logging.getLogger(__name__)

HASH_BATCH = 16  # files per hashing task (a stat, a header and a hash each: milliseconds)
ANALYSE_BATCH = 4  # files per decode/check task (~0.2 s each for a 6-s loop)
MAX_BLOCKS = 1000  # input blocks of a dataset (more only add scheduling)
KINDS = ("checks", "facets", "embed")  # what a content may lack (a column of the pipeline)


class RayEngine:
    """``with RayEngine(address) as engine: scan(..., engine=engine)`` runs the scan's hashing,
    checks, facets and embeddings on Ray (see :class:`.session.RaySession` for ``address``).
    ``threads``: torch threads per CPU encoder actor (default 2)."""

    def __init__(self, address: str | None = None, threads: int | None = None) -> None:
        self.session = RaySession(address)
        self.threads = threads
        self._streams: list[Iterator[dict]] = []

    def __enter__(self) -> RayEngine:
        import_ray()  # a missing Ray is said at once; Ray starts when there is work for it
        return self

    def __exit__(self, *exc) -> None:
        for stream in self._streams:  # a scan that failed or was cancelled left them open
            stream.close()
        self._streams.clear()
        if self.session.active:
            self.session.__exit__(*exc)

    def _ray(self):
        """``ray``, connected (on first use: a rescan with nothing new never starts Ray)."""
        if not self.session.active:
            self.session.__enter__()
        return import_ray()

    def _batches(self, ds) -> Iterator[dict]:
        """``ds``'s output blocks as they are done, closed before Ray goes down."""
        stream = _output_blocks(ds)
        self._streams.append(stream)
        return stream

    # --- cataloguing: check_files' rows ---------------------------------------------------------
    def file_rows(self, items: Sequence[tuple]) -> Iterator[dict | None]:
        """The rows of ``(path, previous, library_id)`` items, in order: a file with the size
        and mtime the catalog has is decided here with one ``stat`` (None: unchanged), the
        others are hashed on the cluster."""
        changed = [i for i, (path, previous, _) in enumerate(items)
                   if not _unchanged(path, previous)]
        hashed = self._hashed([items[i] for i in changed])
        todo = set(changed)
        for i in range(len(items)):
            yield next(hashed) if i in todo else None

    def _hashed(self, items: list[tuple]) -> Iterator[dict]:
        if not items:
            return
        ray = self._ray()
        ds = ray.data.from_items([{"item": pickle.dumps(item)} for item in items],
                                 override_num_blocks=_blocks(len(items), HASH_BATCH))
        ds = ds.map_batches(hash_files, batch_size=HASH_BATCH, batch_format="numpy")
        for batch in self._batches(ds):
            for row in batch["row"]:
                yield pickle.loads(row)

    # --- checks, facets, embeddings -------------------------------------------------------------
    def analyse(self, files: Sequence[FileRecord], catalog: Catalog, encoder: Encoder | None,
                token: CancelToken, checks: bool = True, facets: bool = True,
                ) -> Generator[Progress, None, int]:
        """What :func:`~..jobs.analyse_here` does, on the cluster: every distinct content of
        ``files`` gets the findings, facets and ``encoder`` embedding it lacks. Returns how
        many were embedded. Cancelling stops after the batch being written."""
        from ..facets import FACETS_VERSION
        from ..qc import CHECKS_VERSION

        by_hash: dict[str, FileRecord] = {}
        for record in files:
            if record.hash and not record.error and not record.missing:
                by_hash.setdefault(record.hash, record)
        hashes = list(by_hash)
        writer = _Writer(catalog, encoder, CHECKS_VERSION, FACETS_VERSION)
        todo: dict[str, list[str]] = {}  # work-claims stage -> contents that lack its result
        if checks:
            todo[writer.stages["checks"]] = catalog.hashes_missing_findings(
                hashes, CHECKS_VERSION)
        if facets:
            todo[writer.stages["facets"]] = catalog.hashes_missing_facets(
                hashes, FACETS_VERSION)
        if encoder is not None:
            todo[writer.stages["embed"]] = catalog.hashes_missing_embeddings(hashes, encoder.id)
        embedded = 0
        if any(todo.values()):
            embedded = yield from self._run(todo, by_hash, writer, token)
        if checks:
            yield Progress("checked", len(files), len(files), "signal checks done",
                           extra={"files": list(files)})
        return embedded

    def _run(self, todo: dict[str, list[str]], by_hash: dict[str, FileRecord],
             writer: _Writer, token: CancelToken) -> Generator[Progress, None, int]:
        encoder = writer.encoder
        embeds = bool(todo.get(writer.stages.get("embed")))
        plan = None
        if embeds:
            plan = plan_actors(self._ray().cluster_resources(), encoder, self.threads)
        total = len(set().union(*todo.values()))
        clock = EtaClock(total)
        stage = "embed" if embeds else "checks"
        yield clock.progress(stage, 0, f"{total} files on Ray"
                                       + (f" with {plan.describe()}" if plan else ""))
        done = embedded = 0
        claims = StageClaims(writer.catalog, todo)
        with closing(claims.rounds()) as rounds:
            for mine in rounds:
                if mine is None:
                    yield clock.progress(stage, done, WAITING)
                    token.raise_if_cancelled()
                    continue
                wanted = {kind: set(mine.get(writer.stages.get(kind), ())) for kind in KINDS}
                items = [{"hash": h, "path": str(record.path),
                          **{kind: h in keys for kind, keys in wanted.items()}}
                         for h, record in by_hash.items()
                         if any(h in keys for keys in wanted.values())]
                with closing(self._pipeline(items, encoder, plan)) as results:
                    for rows in results:  # cancelling closes the pipeline: Ray stops it
                        embedded += writer.write(rows, wanted)
                        for kind, name in writer.stages.items():
                            claims.done(name, [h for h, _, _ in rows if h in wanted[kind]])
                        done += len(rows)
                        yield clock.progress(stage, done, by_hash[rows[-1][0]].path.name)
                        token.raise_if_cancelled()
        log.info("ray: %d contents analysed, %d embedded%s", done, embedded,
                 f" by {plan.describe()}" if plan else "")
        return embedded

    def _pipeline(self, items: list[dict], encoder: Encoder | None,
                  plan: ActorPlan | None) -> Iterator[list[tuple[str, bool, dict]]]:
        ray = self._ray()
        ds = ray.data.from_items(items, override_num_blocks=_blocks(len(items), ANALYSE_BATCH))
        ds = ds.map_batches(analyse_files, batch_size=ANALYSE_BATCH, batch_format="numpy")
        if plan is not None and any(item["embed"] for item in items):
            spec = EncoderSpec.of(encoder, device="cuda" if plan.gpus else "cpu",
                                  threads=plan.threads)
            ds = ds.map_batches(
                EncodeClips, fn_constructor_args=(spec,), batch_size=plan.batch_size,
                batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=plan.actors),
                num_cpus=1, num_gpus=plan.gpus, memory=ACTOR_MEMORY.get(encoder.name, 1 << 30))
        for batch in self._batches(ds):
            yield [(h, bool(embed), pickle.loads(r))
                   for h, embed, r in zip(batch["hash"], batch["embed"], batch["result"])]


class _Writer:
    """Writes a batch of results into the catalog as the in-process stages would have."""

    def __init__(self, catalog: Catalog, encoder: Encoder | None, checks_version: int,
                 facets_version: int) -> None:
        self.catalog = catalog
        self.encoder = encoder
        self.checks_version = checks_version
        self.facets_version = facets_version
        self.stages = {"checks": f"checks:v{checks_version}",
                       "facets": f"facets:v{facets_version}"}  # kind -> work-claims stage
        if encoder is not None:
            self.stages["embed"] = f"embed:{encoder.id}"

    def write(self, rows: list[tuple[str, bool, dict]], wanted: dict[str, set]) -> int:
        """Store ``(hash, embed, result)`` rows in one transaction; returns how many
        embeddings. A content the encoder could not decode gets the reason on its rows."""
        from ..jobs import record_error

        facet_rows, vectors = [], []
        with self.catalog.transaction():
            for content, embed, result in rows:
                if content in wanted["checks"] and result["findings"] is not None:
                    self.catalog.put_findings(content, self.checks_version, result["findings"])
                if content in wanted["facets"] and result["facets"] is not None:
                    facet_rows.append((content, result["facets"]))
                if not embed:
                    continue
                if result.get("vector") is not None:
                    vectors.append((content, result["vector"]))
                else:
                    for record in self.catalog.files_with_hash(content):
                        record_error(self.catalog, record, result["error"])
            self.catalog.put_facets(self.facets_version, facet_rows)
            if vectors:
                self.catalog.put_embeddings(self.encoder.id, vectors)
        return len(vectors)


def _unchanged(path: Path, previous: tuple | None) -> bool:
    """The test :func:`~..scanning.file_row` starts with: same size and mtime as catalogued."""
    if previous is None:
        return False
    try:
        st = os.stat(path)
    except OSError:
        return False
    return previous[0] == st.st_size and previous[1] == st.st_mtime


def _blocks(n: int, batch: int) -> int:
    return max(1, min(MAX_BLOCKS, math.ceil(n / batch)))


def _output_blocks(ds) -> Iterator[dict]:
    """``ds``'s output blocks as they are done; an :class:`AnomalizerError` raised on a
    worker (say, an actor whose node has other weights) is raised here as itself."""
    ray = import_ray()
    try:
        yield from ds.iter_batches(batch_size=None, batch_format="numpy")
    except ray.exceptions.RayError as exc:
        cause = exc  # Ray's wrapper is an AnomalizerError too, with Ray's traceback as text
        while isinstance(cause, ray.exceptions.RayError) or (
                cause is not None and not isinstance(cause, AnomalizerError)):
            cause = getattr(cause, "cause", None) or cause.__cause__
        if cause is None:
            raise
        # Ray Data appends its retry advice to the message: the user's error is the first line
        raise type(cause)(str(cause).splitlines()[0]) from exc
