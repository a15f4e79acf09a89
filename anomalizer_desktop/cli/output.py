"""Score rows as CSV, JSON or a terminal table."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Sequence, TextIO

from ..core.jobs import ScoredFile

COLUMNS = ("path", "score", "threshold", "flagged", "fine", "duration_s", "error")


def as_dict(row: ScoredFile) -> dict:
    return {
        "path": str(row.path),
        "score": None if row.score is None else round(row.score, 6),
        "threshold": round(row.threshold, 6),
        "flagged": row.flagged,
        "fine": row.fine,
        "duration_s": None if row.duration_s is None else round(row.duration_s, 3),
        "error": row.error,
    }


def write_csv(rows: Sequence[ScoredFile], stream: TextIO) -> None:
    writer = csv.DictWriter(stream, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        record = as_dict(row)
        record["flagged"] = "" if row.flagged is None else int(row.flagged)
        record["fine"] = int(row.fine)
        writer.writerow({k: "" if v is None else v for k, v in record.items()})


def write_json(rows: Sequence[ScoredFile], summary: dict, model: dict, stream: TextIO) -> None:
    json.dump({"model": model, "summary": summary, "files": [as_dict(r) for r in rows]},
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
        stream.write(f"{mark} {row.score:10.4g}  {row.path}\n")
    if limit is not None and len(rows) > limit:
        stream.write(f"... {len(rows) - limit} more (use --csv or --json for all rows)\n")
