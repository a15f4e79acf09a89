"""Run the signal checks on one file's audio, and adapt them to a library.

    findings = run_checks(decoded.samples, decoded.sample_rate)          # original rate!
    calib = QcCalibration.fit([run_checks(...) for each training file])
    shown = calib.apply(run_checks(new_audio, sr))

Give the checks the audio as decoded from the file (float32, original sample rate, channels
kept): a resampler smears a 1-sample click and its overshoot looks like clipping.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from . import level, loop, stereo, tonal, transients
from .context import Analysis
from .findings import CHECKS, CHECKS_VERSION, Finding, sort_findings

log = logging.getLogger(__name__)

CheckFn = Callable[[Analysis, float], list[Finding]]
_CHECK_FUNCTIONS: dict[str, CheckFn] = {
    "silent": level.check_silent,
    "clipping": level.check_clipping,
    "dc_offset": level.check_dc_offset,
    "silence_head": level.check_silence_head,
    "silence_tail": level.check_silence_tail,
    "click": transients.check_click,
    "dropout": transients.check_dropout,
    "noise_burst": transients.check_noise_burst,
    "hum": tonal.check_hum,
    "loop_seam": loop.check_loop_seam,
    "off_grid": loop.check_off_grid,
    "stereo_phase": stereo.check_stereo_phase,
}
assert tuple(_CHECK_FUNCTIONS) == CHECKS

DEFAULT_MIN_SEVERITY = 0.5


@dataclass(frozen=True)
class QcConfig:
    """Which checks run, the severity a finding needs to be reported, per-check sensitivity.

    ``sensitivity`` maps a check name to a factor (default 1.0): 2.0 reports problems half as
    big, 0.5 only ones twice as big. It may be given as a dict; it is stored as sorted pairs
    so the config stays hashable. ``max_per_check`` caps findings of one kind per file
    (the most severe are kept).
    """

    enabled: frozenset[str] = frozenset(CHECKS)
    min_severity: float = DEFAULT_MIN_SEVERITY
    sensitivity: tuple[tuple[str, float], ...] | Mapping[str, float] = ()
    max_per_check: int = 20

    def __post_init__(self) -> None:
        unknown = set(self.enabled) - set(CHECKS)
        items = dict(self.sensitivity).items() if self.sensitivity else ()
        unknown |= {k for k, _ in items} - set(CHECKS)
        if unknown:
            raise ValueError(f"unknown QC check(s): {', '.join(sorted(unknown))}")
        object.__setattr__(self, "enabled", frozenset(self.enabled))
        object.__setattr__(self, "sensitivity", tuple(sorted((k, float(v)) for k, v in items)))

    def sensitivity_of(self, check: str) -> float:
        return dict(self.sensitivity).get(check, 1.0)  # type: ignore[arg-type]

    def without(self, *checks: str) -> QcConfig:
        return QcConfig(self.enabled - set(checks), self.min_severity, self.sensitivity,
                        self.max_per_check)


def run_checks(samples: np.ndarray, sample_rate: int, config: QcConfig | None = None
               ) -> list[Finding]:
    """All enabled checks on one file: findings at or above ``config.min_severity``, in time
    order. ``samples``: (frames,) or (frames, channels), float, at the file's own rate."""
    config = config or QcConfig()
    ctx = Analysis(samples, sample_rate)
    if ctx.n == 0:
        return []
    if "silent" in config.enabled:
        silent = level.check_silent(ctx)
        if silent:  # the other checks would only describe the silence
            return silent
    out: list[Finding] = []
    for name in CHECKS:
        if name == "silent":
            continue
        if name not in config.enabled:
            continue
        t0 = time.perf_counter()
        try:
            found = _CHECK_FUNCTIONS[name](ctx, config.sensitivity_of(name))
        except Exception:   # a bug in one check must not lose the others' findings
            log.exception("QC check %s failed", name)
            continue
        found = [f for f in found if f.severity >= config.min_severity]
        found.sort(key=lambda f: -f.severity)
        out += found[: config.max_per_check]
        log.debug("QC %s: %d finding(s) in %.1f ms", name, len(found),
                  1e3 * (time.perf_counter() - t0))
    return sort_findings(out)


@dataclass(frozen=True)
class QcCalibration:
    """What is normal for one library: checks that fire on most of its training files.

    A finding of such a kind is downgraded (severity halved, so below the default flag level)
    unless it is stronger than that kind's ``ceiling`` (the 95th percentile of the per-file
    maximum severity in the training library).
    """

    n_files: int = 0
    fire_rate: tuple[tuple[str, float], ...] = ()
    ceiling: tuple[tuple[str, float], ...] = ()
    normal: frozenset[str] = field(default_factory=frozenset)
    min_severity: float = DEFAULT_MIN_SEVERITY
    checks_version: int = CHECKS_VERSION

    @classmethod
    def fit(cls, findings_per_file: Sequence[Sequence[Finding]],
            min_severity: float = DEFAULT_MIN_SEVERITY, common_fraction: float = 0.5,
            min_files: int = 10) -> QcCalibration:
        """Learn from the findings of every training file (run with min_severity <= the
        value given here). A kind is normal when at least ``common_fraction`` of the files
        have it at ``min_severity`` or above; nothing is normal with fewer than
        ``min_files`` files."""
        n = len(findings_per_file)
        rates, ceilings, normal = [], [], set()
        for kind in CHECKS:
            top = np.array([max((f.severity for f in fs if f.kind == kind), default=0.0)
                            for fs in findings_per_file]) if n else np.zeros(0)
            rate = float(np.mean(top >= min_severity)) if n else 0.0
            rates.append((kind, round(rate, 4)))
            ceilings.append((kind, round(float(np.percentile(top, 95)) if n else 0.0, 4)))
            if n >= min_files and rate >= common_fraction:
                normal.add(kind)
        if normal:
            log.info("QC calibration: normal in this library: %s", ", ".join(sorted(normal)))
        return cls(n, tuple(sorted(rates)), tuple(sorted(ceilings)), frozenset(normal),
                   float(min_severity))

    def apply(self, findings: Sequence[Finding]) -> list[Finding]:
        """Downgrade findings of kinds that are normal in this library."""
        ceiling = dict(self.ceiling)
        out = []
        for f in findings:
            if f.kind in self.normal and f.severity <= ceiling.get(f.kind, 1.0):
                f = f.with_severity(f.severity * 0.5, "common in this library")
            out.append(f)
        return out

    def to_dict(self) -> dict:
        return {"n_files": self.n_files, "fire_rate": dict(self.fire_rate),
                "ceiling": dict(self.ceiling), "normal": sorted(self.normal),
                "min_severity": self.min_severity, "checks_version": self.checks_version}

    @classmethod
    def from_dict(cls, data: Mapping) -> QcCalibration:
        return cls(int(data.get("n_files", 0)),
                   tuple(sorted((str(k), float(v)) for k, v in dict(data.get("fire_rate", {})).items())),
                   tuple(sorted((str(k), float(v)) for k, v in dict(data.get("ceiling", {})).items())),
                   frozenset(str(k) for k in data.get("normal", ())),
                   float(data.get("min_severity", DEFAULT_MIN_SEVERITY)),
                   int(data.get("checks_version", CHECKS_VERSION)))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> QcCalibration:
        return cls.from_dict(json.loads(text))
