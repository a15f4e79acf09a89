"""Signal QC inside the jobs: run the checks during a scan and keep findings in the catalog.

How findings join the learned score into one flag is :mod:`anomalizer_desktop.core.evidence`."""

from __future__ import annotations

import logging
from contextlib import closing
from typing import Generator, Sequence

from .audio.io import read_audio
from .catalog import Catalog, FileRecord
from .catalog.work_claims import WAITING, shared_chunks
from .errors import AnomalizerError
from .progress import CancelToken, EtaClock, Progress
from .qc import CHECKS_VERSION, Finding, QcConfig, run_checks
from .qc.file_problems import file_findings
from .qc.findings import sort_findings

log = logging.getLogger(__name__)

STORE_FROM = 0.2  # findings this severe or more are kept; the user's severity filters on display
CLAIM = 16  # files claimed at a time (concurrent scans of one catalog share the work)


def check_signals(
    files: Sequence[FileRecord], catalog: Catalog, token: CancelToken | None = None
) -> Generator[Progress, None, int]:
    """Run the signal checks on every distinct content among ``files`` not checked yet.

    Audio is decoded at its own sample rate with its channels: a resampler would smear a click
    and make its overshoot look like clipping. Returns the number of files checked.
    """
    token = token or CancelToken()
    by_hash: dict[str, FileRecord] = {}
    for record in files:
        if record.hash and not record.error and not record.missing:
            by_hash.setdefault(record.hash, record)
    todo = catalog.hashes_missing_findings(list(by_hash), CHECKS_VERSION)
    if not todo:
        return 0
    clock = EtaClock(len(todo))
    config = QcConfig(min_severity=STORE_FROM)
    done = 0
    with closing(shared_chunks(catalog, f"checks:v{CHECKS_VERSION}", todo, CLAIM)) as chunks:
        for chunk in chunks:
            if chunk is None:
                yield clock.progress("checks", done, WAITING)
                token.raise_if_cancelled()
                continue
            pending: list[tuple[str, list[Finding]]] = []
            for content in chunk:
                record = by_hash[content]
                try:
                    pending.append((content, check_audio(record.path, config)[0]))
                except AnomalizerError as exc:
                    log.info("signal checks skipped for %s: %s", record.path, exc)
                done += 1
                if done % 8 == 0:
                    yield clock.progress("checks", done, record.path.name)
                if token.cancelled:
                    break
            _store(catalog, pending)
            token.raise_if_cancelled()
    yield clock.progress("checks", len(todo), "signal checks done")
    return done


def _store(catalog: Catalog, pending: list[tuple[str, list[Finding]]]) -> None:
    with catalog.transaction():
        for content, findings in pending:
            catalog.put_findings(content, CHECKS_VERSION, [f.to_record() for f in findings])
    pending.clear()


def stored_findings(catalog: Catalog, content_hash: str | None) -> list[Finding] | None:
    """Findings of one content from the catalog; None when it was not checked."""
    return stored_findings_of(catalog, [content_hash]).get(content_hash) if content_hash else None


def stored_findings_of(catalog: Catalog, hashes: Sequence[str | None]) -> dict[str, list[Finding]]:
    """:func:`stored_findings` for many contents at once (checked ones only)."""
    records = catalog.findings_of([h for h in hashes if h], CHECKS_VERSION)
    return {h: [Finding.from_record(r.check_id, r.severity, r.start_s, r.end_s, r.detail)
                for r in rs] for h, rs in records.items()}


def check_audio(path, config: QcConfig | None = None) -> tuple[list[Finding], object]:
    """One file's findings, the checks' and what decoding found wrong with the file, in time
    order, plus its native decode (the scan and the watcher's fast path)."""
    config = config or QcConfig(min_severity=STORE_FROM)
    audio = read_audio(path, sample_rate=None, channel_mode="keep")
    found = run_checks(audio.samples, audio.sample_rate, config) + file_findings(audio.problems)
    return sort_findings(found), audio
