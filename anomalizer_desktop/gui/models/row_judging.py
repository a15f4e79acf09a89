"""Judging table rows (Qt-free): a :class:`Judge`'s verdicts copied into :class:`LoopRow` s.

The table model judges the rows it holds whenever the settings change. The library job judges
the rows it reports in its worker thread with the window's settings (:func:`judge_for`), so a
window handed those rows only re-judges them when its judge is not the same (the user changed
a setting in the meantime): at 5,000 rows judging costs ~100 ms, too long for the GUI thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ...core.evidence import FlagPolicy, Judge, Judgement, LibraryEvidence
from .loop_row import LoopRow

_NO_LIBRARY: list[LibraryEvidence] = []


def no_library() -> LibraryEvidence:
    """The evidence of an empty library: before a model exists, findings are judged by the
    checks' priors alone (an unmistakable defect still flags)."""
    if not _NO_LIBRARY:
        _NO_LIBRARY.append(LibraryEvidence.from_files([], None, []))
    return _NO_LIBRARY[0]


def judge_for(library: LibraryEvidence | None, policy: FlagPolicy) -> Judge:
    """The judge a window with the user's ``policy`` has for ``library`` (None: no model yet)."""
    return Judge(library if library is not None else no_library(),
                 replace(policy, calibration=library))


def same_judge(a: Judge | None, b: Judge | None) -> bool:
    """Whether two judges give every row the same verdict: one library, equal settings."""
    return a is not None and b is not None and a.library is b.library and a.policy == b.policy


def judge_rows(judge: Judge, rows: Sequence[LoopRow]) -> list[bool]:
    """Judge ``rows`` in place; per row, whether anything shown changed."""
    if not rows:
        return []
    verdicts = judge.judge(
        [r.hash for r in rows], [r.learned for r in rows],
        [r.findings if (r.findings or r.learned is not None or r.hash) else None for r in rows],
        [r.fine for r in rows])
    threshold = judge.threshold
    return [apply_verdict(row, v, threshold) for row, v in zip(rows, verdicts)]


def apply_verdict(row: LoopRow, v: Judgement, threshold: float) -> bool:
    """Copy a verdict into a row; True if anything shown changed."""
    error_only = bool(row.error) and row.learned is None
    flagged = None if error_only else v.flagged
    words = tuple(w for w in v.words if not w.endswith("for your library"))
    text = "; ".join(words)
    new = (v.evidence, flagged, v.reasons, text, v.p, v.learned_p, v.learned_flagged, v.floor)
    old = (row.score, row.flagged, row.shown, row.reasons, row.p, row.learned_p,
           row.learned_flagged, row.floor)
    row.threshold = threshold
    if new == old:
        return False
    (row.score, row.flagged, row.shown, row.reasons, row.p, row.learned_p,
     row.learned_flagged, row.floor) = new
    return True


def prepare_rows(rows: Sequence[LoopRow]) -> None:
    """What the filter box matches against (lower-case name and folder)."""
    for r in rows:
        r.search_key = f"{r.name}\n{r.folder}".lower()
