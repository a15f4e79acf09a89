"""One file as the loop table shows it (:class:`LoopRow`) and the table's columns: how each
shows, sorts and aligns a row. Qt-free apart from the alignment flags; the model is in
:mod:`.loop_table`."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt

from ...core.qc import CHECKS, Finding


@dataclass(slots=True)
class LoopRow:
    """One file as the table shows it. Mutable: scores and flags are filled in as jobs finish."""

    file_id: int
    path: str
    name: str
    folder: str
    duration_s: float | None = None
    score: float | None = None
    threshold: float | None = None
    flagged: bool | None = None
    fine: bool = False
    error: str | None = None
    reasons: str = ""  # the shown findings as one line (set by the model from ``findings``)
    findings: tuple[Finding, ...] = ()  # every stored signal-check finding of the file
    shown: tuple[Finding, ...] = ()  # those the model's check policy shows, most severe first
    search_key: str = field(default="", repr=False)  # lower-case "name\nfolder", set by the model


def reasons_text(findings) -> str:
    """Signal-QC findings as one line, most severe first: "click @ 1.234 s; hum 50 Hz -22 dB"."""
    return "; ".join(f.label() for f in sorted(findings or (), key=lambda f: -f.severity))


def _reasons_sort(row: LoopRow) -> tuple[int, float] | None:
    """Group by the kind of the most severe shown finding (check order), most severe first."""
    if not row.shown:
        return None
    top = row.shown[0]
    return (CHECKS.index(top.kind) if top.kind in CHECKS else len(CHECKS), -top.severity)


@dataclass(frozen=True)
class Column:
    """How one column shows, sorts and aligns a row."""

    key: str
    header: str
    text: Callable[[LoopRow], str]
    sort_key: Callable[[LoopRow], Any]  # None sorts last in both directions
    align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    tooltip: str = ""


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return ""
    minutes, sec = divmod(seconds, 60.0)
    return f"{int(minutes)}:{sec:04.1f}"


def format_score(score: float | None) -> str:
    if score is None or not math.isfinite(score):
        return ""
    return f"{score:.4g}"


def _flag_text(row: LoopRow) -> str:
    if row.error:
        return "error"
    if row.fine:
        return "fine"
    return "flag" if row.flagged else ""


def _flag_sort(row: LoopRow) -> int | None:
    if row.flagged is None and not row.error:
        return None
    return 3 if row.flagged and not row.fine else (1 if row.error else (0 if row.fine else 2))


_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_CENTER = Qt.AlignmentFlag.AlignCenter

COLUMNS: tuple[Column, ...] = (
    Column("flag", "Flag", _flag_text, _flag_sort, _CENTER,
           "flag: score above the threshold, or a signal-check reason; "
           "fine: you marked it as fine"),
    Column("score", "Score", lambda r: format_score(r.score), lambda r: r.score, _RIGHT,
           "anomaly score: higher = more unusual for this library"),
    Column("name", "Name", lambda r: r.name, lambda r: r.name.lower()),
    Column("folder", "Folder", lambda r: r.folder, lambda r: r.folder.lower()),
    Column("duration", "Duration", lambda r: format_duration(r.duration_s),
           lambda r: r.duration_s, _RIGHT),
    Column("reasons", "Reasons", lambda r: r.reasons, _reasons_sort,
           tooltip="signal checks (click, clipping, hum, …) that flag a file whatever its score; "
                   "sorting groups files by the kind of their most severe finding"),
)
COLUMN_INDEX = {c.key: i for i, c in enumerate(COLUMNS)}
