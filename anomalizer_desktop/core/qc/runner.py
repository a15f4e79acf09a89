"""Run the signal checks on one file's audio.

    findings = run_checks(decoded.samples, decoded.sample_rate)          # original rate!

How unusual a finding is for a library (and which kinds are common there) is
:mod:`anomalizer_desktop.core.evidence`.

Give the checks the audio as decoded from the file (float32, original sample rate, channels
kept): a resampler smears a 1-sample click and its overshoot looks like clipping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from . import level, loop, stereo, tonal, transients
from .context import Analysis
from .findings import CHECKS, Finding, sort_findings

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

