"""`anomalizer similar` and `anomalizer duplicates`: the browser's lookups, headless."""

from __future__ import annotations

import csv
import json
import sys

from .output import open_output


def cmd_similar(args, token, bar) -> int:
    from ..core.browse import similar
    from .commands import build_encoder, open_catalog, say

    encoder = build_encoder(args, bar)
    bar.close()
    with open_catalog(args) as catalog:
        rows = similar(args.file, catalog, encoder, library=args.library, k=args.k)
    records = [{"rank": r.rank, "path": str(r.path), "distance": round(r.distance, 6)}
               for r in rows]
    _write(records, ("rank", "path", "distance"), args,
           lambda r: f"{r['rank']:4d}  {r['distance']:8.4f}  {r['path']}")
    say(f"{len(rows)} nearest loops to {args.file} ({encoder.name} embeddings)")
    return 0


def cmd_duplicates(args, token, bar) -> int:
    from ..core.browse import duplicates
    from .commands import drive, open_catalog, say

    with open_catalog(args) as catalog:
        rows = drive(duplicates(args.paths, catalog, token), bar)
    records = [{"group": r.group, "path": str(r.path), "match": r.match} for r in rows]
    _write(records, ("group", "path", "match"), args,
           lambda r: f"{r['group']:4d}  {r['match']:5s}  {r['path']}")
    groups = len({r.group for r in rows})
    say(f"{groups} groups of duplicates, {len(rows)} files (nothing was moved or deleted)")
    return 0


def _write(records: list[dict], columns: tuple[str, ...], args, line) -> None:
    target = args.csv or args.json
    if not target:
        for record in records:
            print(line(record))
        return
    stream = open_output(target)
    try:
        if args.csv:
            writer = csv.DictWriter(stream, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(records)
        else:
            json.dump(records, stream, indent=2)
            stream.write("\n")
    finally:
        if stream is not sys.stdout:
            stream.close()
