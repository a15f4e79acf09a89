"""Signal QC: fast, explainable checks that say *what* is wrong with a take and *where*.

Public API::

    from anomalizer_desktop.core.qc import run_checks, QcConfig, Finding, CHECKS
    findings = run_checks(samples, sample_rate)        # original-rate float audio
    [f.label() for f in findings]                      # "click @ 1.234 s", "hum 50 Hz -22 dB"

Modules: findings (Finding, severities, labels), context (shared analysis of one file),
level (clipping, DC offset, silence), transients (clicks, dropouts, noise bursts), tonal (hum),
loop (seam, off-grid onsets), stereo (phase), runner (run_checks, QcConfig), file_problems
(truncated/damaged files and NaN samples as findings).
"""

from __future__ import annotations

from .findings import (ALL_KINDS, CHECKS, CHECKS_VERSION, DESCRIPTIONS, FILE_KINDS, TITLES,
                       Finding, group_findings, max_severity, severity_from_ratio, severity_level)
from .runner import DEFAULT_MIN_SEVERITY, QcConfig, run_checks

__all__ = [
    "ALL_KINDS", "CHECKS", "CHECKS_VERSION", "FILE_KINDS", "DEFAULT_MIN_SEVERITY", "DESCRIPTIONS", "TITLES", "Finding",
    "QcConfig", "group_findings", "max_severity", "run_checks", "severity_from_ratio", "severity_level",
]
