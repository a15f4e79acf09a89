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
from . import loop_facets as facets


@dataclass(slots=True)
class LoopRow:
    """One file as the table shows it. Mutable: scores and flags are filled in as jobs finish."""

    file_id: int
    path: str
    name: str
    folder: str
    duration_s: float | None = None
    score: float | None = None  # calibrated evidence (set by the model's judge): the sort value
    threshold: float | None = None  # the evidence a flag needs (-log10 of the budget)
    flagged: bool | None = None
    fine: bool = False
    error: str | None = None
    reasons: str = ""  # the evidence in words, strongest first (set by the model)
    findings: tuple[Finding, ...] = ()  # every stored signal-check finding of the file
    shown: tuple[Finding, ...] = ()  # findings that make the file unusual here, strongest first
    hash: str | None = None  # content hash (library membership)
    learned: float | None = None  # the model's own score (out-of-fold for library loops)
    learned_p: float | None = None
    learned_flagged: bool | None = None
    floor: bool = False  # flagged by an unmistakable defect whatever the budget
    p: float | None = None  # chance a normal loop of the library is this unusual
    search_key: str = field(default="", repr=False)  # lower-case "name\nfolder", set by the model
    bpm: float | None = None  # tempo estimated from the audio (catalog facets)
    bars: int | None = None
    tonic: int | None = None  # key estimated from the audio: pitch class (0 = C) and mode
    mode: str | None = None
    name_bpm: float | None = None  # what the file name says ("Bass_124bpm_Dm_03.wav")
    name_tonic: int | None = None
    name_mode: str | None = None


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
    tooltip: str = ""  # the header's
    cell_tip: Callable[[LoopRow], str | None] | None = None  # a cell's tooltip


def format_duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return ""
    minutes, sec = divmod(seconds, 60.0)
    return f"{int(minutes)}:{sec:04.1f}"


def format_score(score: float | None) -> str:
    if score is None or not math.isfinite(score):
        return ""
    return f"{score:.4g}"


def format_evidence(row: LoopRow) -> str:
    """The sort value as a producer reads it: "1 in 2,000" (how rare among normal loops);
    short enough for a narrow column: "1 in 40k" from 10,000 on, "1 in 1M+" past a million."""
    if row.score is None or row.p is None or not math.isfinite(row.score):
        return ""
    if row.floor:
        return "defect"
    if row.p >= 0.5:
        return "typical"
    n = 1.0 / row.p
    if n < 10_000:
        return f"1 in {n:,.0f}"
    return f"1 in {n / 1000:,.0f}k" if n < 999_500 else "1 in 1M+"


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
           "flag: rarer than the flag budget allows for a normal loop of this library, or an "
           "unmistakable defect; fine: you marked it as fine"),
    Column("score", "Unusual", format_evidence, lambda r: r.score, _RIGHT,
           "how unusual for this library: \"1 in 400\" = about one normal loop in 400 looks "
           "this unusual (the learned score and every signal check, calibrated together)"),
    Column("learned", "Learned", lambda r: format_score(r.learned), lambda r: r.learned, _RIGHT,
           "the model's own anomaly score (library loops: from a model that did not train on "
           "them); higher = further from the library's normal"),
    Column("name", "Name", lambda r: r.name, lambda r: r.name.lower()),
    Column("bpm", "BPM", facets.bpm_text, facets.bpm_sort, _RIGHT,
           "tempo estimated from the audio; \"(name 120)\" when the file name says otherwise",
           facets.bpm_tooltip),
    Column("key", "Key", facets.key_text, facets.key_sort,
           tooltip="key estimated from the audio; \"(name F major)\" when the file name says "
                   "otherwise", cell_tip=facets.key_tooltip),
    Column("folder", "Folder", lambda r: r.folder, lambda r: r.folder.lower()),
    Column("duration", "Duration", lambda r: format_duration(r.duration_s),
           lambda r: r.duration_s, _RIGHT),
    Column("reasons", "Reasons", lambda r: r.reasons, _reasons_sort,
           tooltip="what makes the file unusual for this library, and how unusual; sorting "
                   "groups files by the kind of their strongest finding",
           cell_tip=lambda r: r.reasons or None),
)
COLUMN_INDEX = {c.key: i for i, c in enumerate(COLUMNS)}
