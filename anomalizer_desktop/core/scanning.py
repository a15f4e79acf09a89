"""The cheap half of a scan: list audio files, then catalog what is new, changed, moved or gone.

No audio is decoded here: a new or changed file costs a hash and a header read; an unchanged
one costs a ``stat``.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Callable, Generator, Iterable, Sequence

from .audio.io import SkippedLink, file_hash, iter_audio_files, probe
from .catalog import Catalog
from .errors import AudioReadError
from .progress import CancelToken, EtaClock, Progress

log = logging.getLogger(__name__)

FLUSH_EVERY = 256  # catalog rows per write transaction
STILL_WRITING = "file changed while it was being read (still being written?); it is read again on the next scan"
RECENT_S = 2.0  # a file modified this recently may still be being written ...
SETTLE_S = 0.5  # ... so it is looked at again once, this long after the first look


def list_files(roots: Sequence[Path], token: CancelToken, follow_links: bool = False,
               skipped: list[SkippedLink] | None = None) -> Generator[Progress, None, list[Path]]:
    """Every audio file under ``roots``; folder links leading outside them are appended to
    ``skipped`` instead of being walked (unless ``follow_links``). Cancellable between folders."""
    found: list[Path] = []
    seen: set[Path] = set()

    def on_folder(_folder: Path) -> None:
        token.raise_if_cancelled()

    for root in roots:
        for path in iter_audio_files(root, follow_links=follow_links, library_roots=roots,
                                     on_folder=on_folder, skipped=skipped):
            if path in seen:
                continue
            seen.add(path)
            found.append(path)
            if len(found) % 1000 == 0:
                token.raise_if_cancelled()
                yield Progress("list", len(found), None, f"listing {root}")
    yield Progress("list", len(found), len(found), f"{len(found)} audio files")
    return found


def check_files(
    roots: Sequence[Path], found: Sequence[Path], catalog: Catalog, token: CancelToken,
    file_rows: Callable[[list[tuple]], Iterable[dict | None]] | None = None,
) -> Generator[Progress, None, dict]:
    """Bring the catalog's rows for ``roots`` in line with the files on disk.

    ``file_rows`` maps ``(path, previous, library_id)`` items to their :func:`file_row` results
    in order (a Ray cluster hashes them: ``core.cluster``); by default they are made here."""
    libraries = {root: catalog.add_library(root).id for root in roots if root.is_dir()}
    known: dict[str, tuple[int, float, int]] = {}
    for root in roots:
        if root.is_dir():
            known.update(catalog.stat_index(root))
        else:
            record = catalog.get_file(root)
            if record is not None:
                known[str(root)] = (record.size, record.mtime, record.id)
    present = {str(p) for p in found}
    gone = {p for p in known if p not in present}
    gone_by_hash: dict[str, str] = {}
    for path in gone:
        record = catalog.get_file(Path(path))
        if record is not None and record.hash and not record.missing:
            gone_by_hash.setdefault(record.hash, path)

    counts = {"added": 0, "changed": 0, "unchanged": 0, "moved": 0, "missing": 0}
    clock = EtaClock(len(found))
    rows: list[dict] = []

    def flush() -> None:
        if rows:
            catalog.upsert_files(rows)
            rows.clear()

    def classify(path: Path, previous, row: dict | None) -> None:
        if row is None:
            counts["unchanged"] += 1
        elif previous is None and row.get("hash") in gone_by_hash and not row.get("error"):
            flush()
            old = gone_by_hash.pop(row["hash"])
            gone.discard(old)
            catalog.move_file(Path(old), path, row["size"], row["mtime"])
            counts["moved"] += 1
        else:
            counts["added" if previous is None else "changed"] += 1
            rows.append(row)
            if len(rows) >= FLUSH_EVERY:
                flush()

    recent: list[tuple[Path, object, dict]] = []
    items = [(path, known.get(str(path)), _library_id(path, libraries)) for path in found]
    made = file_rows(items) if file_rows else (file_row(*item) for item in items)
    for i, ((path, previous, _), row) in enumerate(zip(items, made), 1):
        if row is not None and not row["error"] and time.time() - row["mtime"] < RECENT_S:
            recent.append((path, previous, row))  # decided after one short wait for them all
        else:
            classify(path, previous, row)
        if i % 200 == 0 or i == len(found):
            yield clock.progress("check", i, path.name)
            if token.cancelled:
                flush()  # the recent ones are not written: the next scan looks at them anew
                token.raise_if_cancelled()
    for (path, previous, _), row in zip(recent, _settled([r for _, _, r in recent])):
        classify(path, previous, row)
    flush()
    if gone:
        counts["missing"] = catalog.mark_missing(Path(p) for p in gone)
    return counts


def _settled(recent: list[dict]) -> list[dict]:
    """Rows of files that were modified just before the scan, looked at again after a short
    wait: one that changed meanwhile is still being written and is not read as it is now."""
    if not recent:
        return []
    newest = max(row["mtime"] for row in recent)
    time.sleep(max(0.0, min(SETTLE_S, newest + SETTLE_S - time.time())))
    out = []
    for row in recent:
        try:
            st = os.stat(row["path"])
            same = (st.st_size, st.st_mtime) == (row["size"], row["mtime"])
        except OSError:
            same = False
        out.append(row if same else {**row, "size": -1, "mtime": -1.0, "hash": None,
                                     "error": STILL_WRITING})
    return out


def _library_id(path: Path, libraries: dict[Path, int]) -> int | None:
    for root, library_id in libraries.items():
        if path == root or root in path.parents:
            return library_id
    return None


def file_row(path: Path, previous: tuple[int, float, int] | None, library_id) -> dict | None:
    """The catalog row for ``path``, or None when it is unchanged since the last scan."""
    row = {"path": path, "library_id": library_id, "size": -1, "mtime": -1.0, "hash": None,
           "duration_s": None, "sample_rate": None, "channels": None, "format": None,
           "error": None}
    try:
        before = os.stat(path)
    except OSError as exc:
        row["error"] = _stat_failure(path, exc)
        return row
    if previous is not None and previous[0] == before.st_size and previous[1] == before.st_mtime:
        return None
    try:
        info = probe(path)
        digest = file_hash(path)
    except AudioReadError as exc:
        row.update(size=before.st_size, mtime=before.st_mtime, error=str(exc))
        return row
    except OSError as exc:
        row.update(size=before.st_size, error=f"cannot read file: {exc.strerror or exc}")
        return row
    after = os.stat(path)
    if (after.st_size, after.st_mtime) != (before.st_size, before.st_mtime):
        # Keep size/mtime at -1 so the next scan looks at it again.
        row["error"] = STILL_WRITING
        return row
    row.update(size=before.st_size, mtime=before.st_mtime, hash=digest,
               duration_s=info.duration_s, sample_rate=info.sample_rate,
               channels=info.channels, format=f"{info.format}/{info.subtype}")
    return row


def _stat_failure(path: Path, exc: OSError) -> str:
    """Why ``path`` cannot even be looked at, in words: a broken link says where it points."""
    if isinstance(exc, FileNotFoundError) and os.path.islink(path):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        return f"broken link: points to {target}, which does not exist"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot read file: {exc.strerror or exc}"
