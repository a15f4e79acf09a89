"""What the user decides about flags: the budget, which checks count, from what strength."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import AnomalizerError
from ..qc.findings import CHECKS

DEFAULT_BUDGET = 0.05          # flag about 1 in 20 clean loops of the library
MIN_BUDGET, MAX_BUDGET = 0.001, 0.5
DEFAULT_MIN_SEVERITY = 0.2     # every stored finding counts as (graded) evidence


@dataclass(frozen=True)
class FlagPolicy:
    """The user's flag settings (the library's calibration is separate: ``LibraryEvidence``).

    ``budget``: the share of this library's normal loops that may be flagged (0.05 = 1 in 20).
    ``min_severity``: weaker findings are no evidence at all. ``disabled``: checks ignored.
    ``use_checks``: False = the learned score alone decides. ``calibration``: the library's
    evidence (``LibraryEvidence``) when known, for display ("common in your library"); it does
    not take part in comparisons.
    """

    budget: float = DEFAULT_BUDGET
    min_severity: float = DEFAULT_MIN_SEVERITY
    disabled: frozenset[str] = frozenset()
    use_checks: bool = True
    calibration: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        unknown = set(self.disabled) - set(CHECKS)
        if unknown:
            raise AnomalizerError(
                f"unknown check(s): {', '.join(sorted(unknown))}; known: {', '.join(CHECKS)}")
        if not MIN_BUDGET <= float(self.budget) <= MAX_BUDGET:
            raise AnomalizerError(
                f"the flag budget must be between {MIN_BUDGET:g} and {MAX_BUDGET:g} "
                f"(1 in {1 / MIN_BUDGET:.0f} to 1 in {1 / MAX_BUDGET:.0f} loops), not {self.budget}")
        object.__setattr__(self, "disabled", frozenset(self.disabled))
        object.__setattr__(self, "budget", float(self.budget))
        object.__setattr__(self, "min_severity", float(min(0.99, max(0.01, self.min_severity))))

    @property
    def enabled_checks(self) -> tuple[str, ...]:
        """The checks whose findings count, in check order."""
        if not self.use_checks:
            return ()
        return tuple(k for k in CHECKS if k not in self.disabled)

    def counts(self, kind: str, severity: float) -> bool:
        """Whether a finding of ``kind`` at ``severity`` is evidence under this policy."""
        return self.use_checks and kind not in self.disabled and severity >= self.min_severity

    def reasons(self, findings: Sequence | None) -> list:
        """The findings that count under this policy, strongest first."""
        return sorted((f for f in findings or () if self.counts(f.kind, f.severity)),
                      key=lambda f: -f.severity)

    def common_kinds(self) -> frozenset[str]:
        """Kinds that fire on most of the library (from ``calibration``; empty when unknown)."""
        return self.calibration.common_kinds() if self.calibration is not None else frozenset()

    def calibration_key(self) -> tuple:
        """What the library's null distributions depend on (not the budget)."""
        return (self.enabled_checks, round(self.min_severity, 4))


def budget_words(budget: float) -> str:
    """0.05 -> "1 in 20"."""
    return f"1 in {1.0 / budget:,.0f}" if budget > 0 else "none"
