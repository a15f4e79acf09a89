"""A Ray scan's share of the work when other scans of the catalog run at the same time.

The in-process stages claim a chunk at a time (:func:`~..catalog.work_claims.shared_chunks`);
a Ray scan sends all of its work to the cluster at once, so it claims every content of its
stages (checks, facets, embeddings) that no live scan holds, marks them done as their results
are written, and then waits for what the others hold, taking over the claims of one that
stopped without finishing (the same :class:`~..catalog.work_claims.WorkShare` rules).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from ..catalog.work_claims import POLL_S, WorkShare

TAKE_AT_ONCE = 500  # keys per claiming transaction (SQLite's limit on query parameters)


class StageClaims:
    """One scan's claims on several stages of one catalog (stage name -> contents to do)."""

    def __init__(self, catalog, todo: dict[str, Sequence[str]]) -> None:
        self.shares = {stage: WorkShare(catalog, stage) for stage in todo}
        self.remaining = {stage: list(keys) for stage, keys in todo.items()}

    def rounds(self) -> Iterator[dict[str, list[str]] | None]:
        """Yield the contents this scan claimed per stage (the caller processes them before
        asking again), and None while it waits for the others. Claims not done are given
        back when the caller stops early."""
        try:
            while any(self.remaining.values()):
                mine = {stage: self._take(stage) for stage in self.shares}
                if any(mine.values()):
                    yield mine
                    for stage, keys in mine.items():
                        taken = set(keys)
                        self.remaining[stage] = [k for k in self.remaining[stage]
                                                 if k not in taken]
                    continue
                self.remaining = {stage: self.shares[stage].not_done(keys)
                                  for stage, keys in self.remaining.items()}
                if any(self.remaining.values()):
                    yield None
                    time.sleep(POLL_S)
        finally:
            for share in self.shares.values():
                share.release()

    def done(self, stage: str, keys: Sequence[str]) -> None:
        """``keys`` of ``stage`` are written to the catalog."""
        if keys and stage in self.shares:
            self.shares[stage].done(keys)

    def _take(self, stage: str) -> list[str]:
        keys = self.remaining[stage]
        mine: list[str] = []
        for start in range(0, len(keys), TAKE_AT_ONCE):
            part = keys[start : start + TAKE_AT_ONCE]
            mine += self.shares[stage].take(part, len(part))
        return mine
