"""Score rows as CSV, JSON or a terminal table."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Sequence, TextIO

from ..core.jobs import ScoredFile
from ..core.qc import ALL_KINDS, max_severity

KIND_COLUMNS = tuple(f"qc_{kind}" for kind in ALL_KINDS)  # max severity of that kind's findings
COLUMNS = ("path", "score", "threshold", "flagged", "learned_score", "learned_flagged", "reasons",
           "fine", "duration_s", "bpm", "key", "name_bpm", "name_key", "error", *KIND_COLUMNS)


def reasons_text(row: ScoredFile) -> str:
    """The evidence in words, strongest first: "1 in 2,000 for your library; click at 1.234 s,
    stronger than every one of your 412 loops". The JSON output keeps every finding."""
    if row.words:
        return "; ".join(row.words)
    by_kind: dict[str, list] = {}
    for finding in sorted(row.reasons, key=lambda f: -f.severity):
        by_kind.setdefault(finding.kind, []).append(finding)
    parts = []
    for findings in by_kind.values():
        more = f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""
        parts.append(findings[0].label() + more)
    return "; ".join(parts)


def as_dict(row: ScoredFile) -> dict:
    """``score``: the calibrated evidence the table sorts by; ``learned_score``: the model's own
    score; ``bpm``/``key``: estimated from the audio, ``name_bpm``/``name_key``: what the file
    name says (empty when it says nothing); ``qc_<kind>``: the strongest finding of that kind
    (every stored finding)."""
    from ..core.facets import hints_from_name

    hints = hints_from_name(row.path.name)
    kinds = {}
    for kind, column in zip(ALL_KINDS, KIND_COLUMNS):
        found = [f for f in (row.findings or row.reasons) if f.kind == kind]
        kinds[column] = round(max_severity(found), 3) if found else None
    return {
        "path": str(row.path),
        "score": None if row.score is None else round(row.score, 6),
        "threshold": round(row.threshold, 6),
        "flagged": row.flagged,
        "learned_score": None if row.learned_score is None else round(row.learned_score, 6),
        "learned_flagged": row.learned_flagged,
        "reasons": reasons_text(row),
        "fine": row.fine,
        "duration_s": None if row.duration_s is None else round(row.duration_s, 3),
        "bpm": None if row.bpm is None else round(row.bpm, 2),
        "key": row.key,
        "name_bpm": hints.bpm,
        "name_key": hints.key,
        "error": row.error,
        **kinds,
    }


def as_json_dict(row: ScoredFile) -> dict:
    record = as_dict(row)
    record["findings"] = [
        {"kind": f.kind, "severity": round(f.severity, 3), "start_s": round(f.start_s, 4),
         "end_s": round(f.end_s, 4), "label": f.label()}
        for f in row.findings or row.reasons
    ]
    record["evidence"] = list(row.words)
    return record


def write_csv(rows: Sequence[ScoredFile], stream: TextIO) -> None:
    writer = csv.DictWriter(stream, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        record = as_dict(row)
        for key in ("flagged", "learned_flagged"):
            record[key] = "" if record[key] is None else int(record[key])
        record["fine"] = int(row.fine)
        writer.writerow({k: "" if v is None else v for k, v in record.items()})


def write_json(rows: Sequence[ScoredFile], summary: dict, model: dict, stream: TextIO) -> None:
    json.dump({"model": model, "summary": summary, "files": [as_json_dict(r) for r in rows]},
              stream, indent=2)
    stream.write("\n")


def open_output(target: str):
    """A writable text stream for ``target`` ('-' = stdout); the caller closes non-stdout ones."""
    if target == "-":
        return sys.stdout
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", encoding="utf-8", newline="")


def print_table(rows: Sequence[ScoredFile], stream: TextIO, limit: int | None = None) -> None:
    shown = rows if limit is None else rows[:limit]
    for row in shown:
        if row.score is None:
            stream.write(f"   error      {row.path}  ({row.error})\n")
            continue
        mark = "FLAG" if row.flagged else ("fine" if row.fine else "  ok")
        why = reasons_text(row)
        stream.write(f"{mark} {row.score:10.4g}  {row.path}" + (f"  [{why}]" if why else "") + "\n")
    if limit is not None and len(rows) > limit:
        stream.write(f"... {len(rows) - limit} more (use --csv or --json for all rows)\n")
