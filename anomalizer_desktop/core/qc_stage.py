"""Signal QC inside the jobs: run the checks during a scan, keep findings in the catalog, and
combine them with the learned score into one flag with reasons."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Generator, Sequence

from .audio.io import read_audio
from .catalog import Catalog, FileRecord
from .errors import AnomalizerError
from .progress import CancelToken, EtaClock, Progress
from .qc import CHECKS, CHECKS_VERSION, DEFAULT_MIN_SEVERITY, Finding, QcCalibration, QcConfig, run_checks

log = logging.getLogger(__name__)

STORE_FROM = 0.2  # findings this severe or more are kept; the user's severity filters on display
BATCH = 64  # files per catalog write


@dataclass(frozen=True)
class FlagPolicy:
    """How findings join the learned score: which checks count, from what severity, and the
    library's calibration (kinds that are normal in this library are downgraded)."""

    min_severity: float = DEFAULT_MIN_SEVERITY
    disabled: frozenset[str] = frozenset()
    calibration: QcCalibration | None = None
    use_checks: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.disabled) - set(CHECKS)
        if unknown:
            raise AnomalizerError(
                f"unknown check(s): {', '.join(sorted(unknown))}; known: {', '.join(CHECKS)}")
        object.__setattr__(self, "disabled", frozenset(self.disabled))

    def reasons(self, findings: Sequence[Finding] | None) -> list[Finding]:
        """The findings a user should see: enabled kinds at or above the severity."""
        if not self.use_checks or not findings:
            return []
        shown = self.calibration.apply(findings) if self.calibration else list(findings)
        return [f for f in shown if f.kind not in self.disabled and f.severity >= self.min_severity]


@dataclass(frozen=True)
class Verdict:
    flagged: bool | None
    learned_flagged: bool | None
    reasons: tuple[Finding, ...] = field(default_factory=tuple)


def verdict(score: float | None, threshold: float, fine: bool, reasons: Sequence[Finding]) -> Verdict:
    """flagged = learned score above the threshold OR any shown finding; "fine" clears both."""
    learned = None if score is None else bool(score > threshold)
    if fine:
        return Verdict(False if score is not None or reasons else None, learned, tuple(reasons))
    if score is None and not reasons:
        return Verdict(None, None, ())
    return Verdict(bool(learned) or bool(reasons), learned, tuple(reasons))


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
    pending: list[tuple[str, list[Finding]]] = []
    for i, content in enumerate(todo, 1):
        record = by_hash[content]
        try:
            audio = read_audio(record.path, sample_rate=None, channel_mode="keep")
            pending.append((content, run_checks(audio.samples, audio.sample_rate, config)))
        except AnomalizerError as exc:
            log.info("signal checks skipped for %s: %s", record.path, exc)
        if len(pending) >= BATCH or i == len(todo) or token.cancelled:
            _store(catalog, pending)
        if i % 8 == 0 or i == len(todo):
            yield clock.progress("checks", i, record.path.name)
        token.raise_if_cancelled()
    return len(todo)


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


def fit_calibration(catalog: Catalog, hashes: Sequence[str]) -> QcCalibration:
    """Which kinds of finding are normal in this library (from its training files)."""
    return QcCalibration.fit(list(stored_findings_of(catalog, hashes).values()))


def check_audio(path, config: QcConfig | None = None) -> tuple[list[Finding], object]:
    """Findings for one file plus its native decode (the watcher's fast path)."""
    audio = read_audio(path, sample_rate=None, channel_mode="keep")
    return run_checks(audio.samples, audio.sample_rate, config or QcConfig(min_severity=STORE_FROM)), audio
