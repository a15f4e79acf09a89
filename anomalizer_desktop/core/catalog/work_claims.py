"""Concurrent scans of one catalog share the work instead of each doing all of it.

A stage of a scan (the signal checks, the facets, the embeddings with one encoder) has a list of
contents to process. Before processing a chunk, a scan *claims* it in the ``work_claims`` table
(one write transaction, so two scans never claim the same content); what another live scan has
claimed is skipped, and once nothing is left to claim the scan waits until the others'
claims are done, so it still returns with the whole stage finished.

A claim is released when its content is done (``done_at`` is set, and the row is kept a while so
a waiting scan sees that it was done even when it left no result, e.g. a file that cannot be
decoded). The claims of a scan that stopped without releasing them (killed, crashed, power cut)
are taken over: on this machine as soon as its process is gone, from another machine after
``STALE_S`` seconds.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator, Sequence

from .db import chunked

STALE_S = 600.0  # a claim from another machine older than this is taken over
KEEP_DONE_S = 600.0  # done claims are forgotten after this long
POLL_S = 0.2  # how often a scan waiting for another one looks again
WAITING = "waiting for another scan of this catalog"  # the progress text while waiting

_HOST = socket.gethostname()


def new_owner() -> str:
    """``host:pid:random``: unique per scan, and says which process to ask whether it lives."""
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_alive(owner: str, now: float, claimed_at: float) -> bool:
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit():
        return now - claimed_at < STALE_S
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # another user's live process
    return True


class WorkShare:
    """One scan's claims on one ``stage`` (e.g. ``"embed:clap-fused"``) of a catalog."""

    def __init__(self, catalog, stage: str, owner: str | None = None) -> None:
        self.catalog = catalog
        self.stage = stage
        self.owner = owner or new_owner()
        self.started = time.time()

    def take(self, keys: Sequence[str], n: int) -> list[str]:
        """Claim up to ``n`` of ``keys`` (in order) that no live scan holds; returns them."""
        now = time.time()
        mine: list[str] = []
        with self.catalog.transaction() as conn:
            conn.execute("DELETE FROM work_claims WHERE done_at IS NOT NULL AND done_at < ?",
                         (now - KEEP_DONE_S,))
            for part in chunked(list(keys), max(n, 64)):
                held = self._claims(conn, part)
                for key in part:
                    claim = held.get(key)
                    if claim is None or self._claimable(claim, now):
                        mine.append(key)
                        if len(mine) >= n:
                            break
                if len(mine) >= n:
                    break
            conn.executemany(
                "INSERT OR REPLACE INTO work_claims (stage, key, owner, claimed_at, done_at) "
                "VALUES (?, ?, ?, ?, NULL)", [(self.stage, k, self.owner, now) for k in mine])
        return mine

    def done(self, keys: Sequence[str]) -> None:
        """``keys`` are processed (their results, if any, are in the catalog)."""
        now = time.time()
        with self.catalog.transaction() as conn:
            conn.executemany("UPDATE work_claims SET done_at = ? WHERE stage = ? AND key = ? "
                             "AND owner = ?", [(now, self.stage, k, self.owner) for k in keys])

    def not_done(self, keys: Sequence[str]) -> list[str]:
        """Those of ``keys`` no other scan has finished since this one began."""
        out: list[str] = []
        with self.catalog.transaction() as conn:
            for part in chunked(list(keys)):
                held = self._claims(conn, part)
                out += [k for k in part if k not in held or held[k][2] is None
                        or held[k][2] < self.started]
        return out

    def release(self) -> None:
        """Give back every claim not done (a cancelled or failed scan)."""
        with self.catalog.transaction() as conn:
            conn.execute("DELETE FROM work_claims WHERE stage = ? AND owner = ? AND "
                         "done_at IS NULL", (self.stage, self.owner))

    def _claims(self, conn, keys: Sequence[str]) -> dict[str, tuple[str, float, float | None]]:
        marks = ",".join("?" * len(keys))
        rows = conn.execute(
            f"SELECT key, owner, claimed_at, done_at FROM work_claims WHERE stage = ? AND "
            f"key IN ({marks})", (self.stage, *keys)).fetchall()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}

    def _claimable(self, claim: tuple[str, float, float | None], now: float) -> bool:
        owner, claimed_at, done_at = claim
        if owner == self.owner:
            return False
        if done_at is not None:
            return done_at < self.started  # done before this scan began: its result is missing
        return not owner_alive(owner, now, claimed_at)


def shared_chunks(catalog, stage: str, todo: Sequence[str], size: int,
                  cancelled: Callable[[], bool] = lambda: False) -> Iterator[list[str] | None]:
    """Yield the chunks of ``todo`` this scan claimed, ``size`` at a time, and ``None`` while it
    waits for other scans to finish the rest (the caller reports progress and checks for
    cancelling). The caller processes a chunk before asking for the next one; a chunk is
    marked done when the next is asked for. Stops once all of ``todo`` is done by someone;
    claims not done are given back when the caller stops early."""
    share = WorkShare(catalog, stage)
    remaining = list(todo)
    try:
        while remaining and not cancelled():
            mine = share.take(remaining, size)
            if mine:
                yield mine
                share.done(mine)
                taken = set(mine)
                remaining = [k for k in remaining if k not in taken]
                continue
            remaining = share.not_done(remaining)  # the others' finished work drops out
            if remaining:
                yield None
                time.sleep(POLL_S)
    finally:
        share.release()
