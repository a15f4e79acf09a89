"""One calibrated anomaly evidence per file, judged against the user's own library.

Components: the learned score and every signal check. Each component's statistic (the log of
the learned score; a check's strongest finding on the logit-severity scale, none = no evidence)
gets a null distribution from the library (:class:`~.tail.TailNull`): library files count with
their out-of-fold learned scores, and each file is judged against the *other* files (leave one
out), so the library never grades itself. A file's per-component probabilities combine as

    T = min_k p_k                  (the strongest single piece of evidence: the file's story)
    P = sum_k min(T, rate_k)       (how likely a normal file of this library is to reach T)

``rate_k`` is the share of the library's files with any evidence in component k (1 for the
learned score). ``P`` is a Bonferroni bound that knows sparsity: a check that hardly ever fires
costs the budget no more than how often it fires, while two components that both fire on every
loop each cost their full share. A file is flagged when ``P <= budget`` (about 1 in 20 normal
loops by default) or it has an unmistakable defect (:mod:`.floor`) of a kind that is not common
in the library. The sort value is ``evidence = -log10 P``: sorting and flagging agree.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..qc.findings import CHECKS, Finding
from .floor import unmistakable
from .policy import FlagPolicy
from .tail import TailNull, TailPrior

log = logging.getLogger(__name__)

LEARNED = "learned"
COMPONENTS: tuple[str, ...] = (LEARNED, *CHECKS)
COMMON_SEVERITY = 0.5            # "common in your library": this severity ...
COMMON_FRACTION = 0.5            # ... on at least this share of the library
MIN_COMMON_FILES = 10
FLOOR_P = 1e-6                   # what an unmistakable defect counts as (sorts on top)
SEVERITY_EPS = 1e-4

# Priors: the learned score's tail on the log scale, the checks' on the logit-severity scale,
# and how often a check reaches the floor on clean music. CHECK_SCALE chosen on the "dev" part
# of bench/flag_corpus (bench_flags.py, offline encoder): 1.0 flagged 5.6 % of clean loops
# there (bass 6.7 %), 2.0 flags 4.1 % (every instrument <= 5 %) for a drop in click recall of
# 0.78 -> 0.72 and the same AUROCs (within 0.01): clean music has heavier check tails than a
# library of 80 loops shows.
LEARNED_PRIOR = TailPrior(scale=0.35, weight=1.0)
CHECK_SCALE = 2.0
CHECK_RATE: Mapping[str, float] = {k: 0.01 for k in CHECKS}


def logit(severity: np.ndarray | float) -> np.ndarray:
    s = np.clip(np.asarray(severity, dtype=np.float64), SEVERITY_EPS, 1.0 - SEVERITY_EPS)
    return np.log(s / (1.0 - s))


def severity_matrix(findings_per_file: Sequence[Sequence[Finding] | None]) -> np.ndarray:
    """(files, checks) strongest severity of each check's findings (0 = none)."""
    col = {k: i for i, k in enumerate(CHECKS)}
    out = np.zeros((len(findings_per_file), len(CHECKS)))
    for r, found in enumerate(findings_per_file):
        for f in found or ():
            c = col.get(f.kind)
            if c is not None and f.severity > out[r, c]:
                out[r, c] = f.severity
    return out


def learned_statistic(scores: np.ndarray) -> np.ndarray:
    """The learned component's statistic: log of the (positive) score; NaN stays NaN."""
    s = np.asarray(scores, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(s), np.log(np.maximum(s, 1e-300)), np.nan)


@dataclass(frozen=True)
class Assessment:
    """Evidence of many files at once (arrays aligned with the input rows)."""

    components: tuple[str, ...]
    pvalues: np.ndarray          # (files, components)
    p: np.ndarray                # combined: chance a normal file of the library is this unusual
    evidence: np.ndarray         # -log10 p (the sort value)
    flagged: np.ndarray          # bool: p <= budget, or an unmistakable defect
    top: np.ndarray              # index into components of the strongest evidence (-1: none)
    floor: np.ndarray            # bool: flagged by an unmistakable defect


class Calibrated:
    """The library's nulls under one policy (which checks, from what severity) and the cut."""

    def __init__(self, library: LibraryEvidence, policy: FlagPolicy) -> None:
        self.library = library
        self.policy = policy
        self.components = (LEARNED, *policy.enabled_checks)
        self.nulls: dict[str, TailNull] = {}
        lib = library
        if np.isfinite(lib.learned_null()).sum() >= 2:
            self.nulls[LEARNED] = TailNull(learned_statistic(lib.learned_null()), LEARNED_PRIOR)
        floor = float(logit(policy.min_severity))
        for kind in policy.enabled_checks:
            sev = lib.severity[:, CHECKS.index(kind)]
            u = np.where(sev >= policy.min_severity, logit(sev), -np.inf)
            self.nulls[kind] = TailNull(u, TailPrior(CHECK_SCALE, floor=floor,
                                                     rate=CHECK_RATE[kind]))
        self.rates = np.array([self.nulls[c].rate if c in self.nulls else 0.0
                               for c in self.components])

    def cut(self, budget: float | None = None) -> float:
        """The T below which a file is flagged: solves sum_k min(t, rate_k) = budget."""
        budget = self.policy.budget if budget is None else float(budget)
        rates = np.sort(self.rates[self.rates > 0])
        if rates.size == 0:
            return 0.0
        # piecewise linear in t: below the j-th smallest rate, (m - j) components grow with t
        spent = 0.0
        for j, r in enumerate(rates):
            active = rates.size - j
            t = (budget - spent) / active
            if t <= r:
                return float(t)
            spent += r
        return 1.0

    def combined(self, T: np.ndarray) -> np.ndarray:
        """P from T (see the module docstring), in [0, 1]."""
        T = np.asarray(T, dtype=np.float64)
        return np.minimum(1.0, np.minimum(T[:, None], self.rates[None, :]).sum(axis=1))

    def assess(self, learned: np.ndarray, severity: np.ndarray, member: np.ndarray,
               findings: Sequence[Sequence[Finding] | None] | None = None,
               fine: np.ndarray | None = None) -> Assessment:
        """Evidence for files with learned scores ``learned`` (NaN: none), ``severity``
        (files x CHECKS, from :func:`severity_matrix`) and ``member`` (library row or -1)."""
        n = len(learned)
        member = np.asarray(member, dtype=np.int64)
        is_member = member >= 0
        pv = np.ones((n, len(self.components)))
        lib = self.library
        for j, comp in enumerate(self.components):
            null = self.nulls.get(comp)
            if null is None:
                continue
            if comp == LEARNED:
                u = learned_statistic(learned)
                stored = lib.learned_member[np.maximum(member, 0)] if lib.n else np.full(n, np.nan)
                own = is_member & np.isfinite(stored)
                u = np.where(own, learned_statistic(stored), u)
                known = lib.learned_member_row[np.maximum(member, 0)] if lib.n else np.full(n, -1)
            else:
                sev = severity[:, CHECKS.index(comp)]
                u = np.where(sev >= self.policy.min_severity, logit(sev), -np.inf)
                known = np.where(is_member, member, -1)
                own = is_member & np.isclose(u, null.values[np.maximum(member, 0)]
                                             if null.n else u, equal_nan=True)
            p = null.pvalue(u)
            loo_rows = own & (known >= 0)
            if np.any(loo_rows):
                p[loo_rows] = null.loo[known[loo_rows]]
            pv[:, j] = p
        T = pv.min(axis=1) if pv.shape[1] else np.ones(n)
        top = np.where(T < 1.0, np.argmin(pv, axis=1), -1) if pv.shape[1] else np.full(n, -1)
        P = self.combined(T)
        floor = np.zeros(n, bool)
        if findings is not None and self.policy.use_checks:
            common = lib.common_kinds()
            for r, found in enumerate(findings):
                if found and any(f.kind not in common and self.policy.counts(f.kind, f.severity)
                                 for f in unmistakable(found)):
                    floor[r] = True
        P = np.where(floor, np.minimum(P, FLOOR_P), P)
        flagged = (P <= self.policy.budget) | floor
        if fine is not None:
            flagged &= ~np.asarray(fine, dtype=bool)
        with np.errstate(divide="ignore"):
            evidence = -np.log10(np.maximum(P, 1e-300))
        return Assessment(self.components, pv, P, evidence, flagged, top, floor)


@dataclass
class LibraryEvidence:
    """What the evidence needs to know about a library, per member file (content hash):
    the out-of-fold learned score and each check's strongest severity. ``learned_extra``: more
    learned null values not tied to a member (held-out scores of a model from before
    cross-fitting). ``learned_source``: where the learned null comes from."""

    hashes: list[str]
    learned_member: np.ndarray        # (n,) learned scores of members (NaN: not in the null)
    severity: np.ndarray              # (n, len(CHECKS))
    learned_extra: np.ndarray = field(default_factory=lambda: np.zeros(0))
    learned_source: str = "out-of-fold"
    checks_version: int = 0
    _index: dict[str, int] = field(default_factory=dict, repr=False)
    _calibrated: dict[tuple, Calibrated] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.learned_member = np.asarray(self.learned_member, dtype=np.float64).ravel()
        self.severity = np.asarray(self.severity, dtype=np.float64).reshape(-1, len(CHECKS))
        self.learned_extra = np.asarray(self.learned_extra, dtype=np.float64).ravel()
        self._index = {h: i for i, h in enumerate(self.hashes)}
        # row of each member within the learned null (-1: not part of it)
        finite = np.isfinite(self.learned_member)
        self.learned_member_row = np.where(finite, np.cumsum(finite) - 1, -1)

    @property
    def n(self) -> int:
        return len(self.hashes)

    def learned_null(self) -> np.ndarray:
        """The learned scores the learned component is judged against (members first)."""
        member = self.learned_member[np.isfinite(self.learned_member)]
        return np.concatenate([member, self.learned_extra[np.isfinite(self.learned_extra)]])

    def member(self, content_hash: str | None) -> int:
        """Row of a library member, -1 for a file that is not part of the library."""
        return self._index.get(content_hash, -1) if content_hash else -1

    def calibrated(self, policy: FlagPolicy) -> Calibrated:
        key = policy.calibration_key()
        cal = self._calibrated.get(key)
        if cal is None:
            cal = self._calibrated[key] = Calibrated(self, policy)
        elif cal.policy != policy:  # same nulls, another budget: share them
            clone = object.__new__(Calibrated)
            clone.__dict__.update(cal.__dict__)
            clone.policy = policy
            return clone
        return cal

    def common_kinds(self) -> frozenset[str]:
        """Checks that fire on most of this library: normal here, shown as such."""
        if self.n < MIN_COMMON_FILES:
            return frozenset()
        share = np.mean(self.severity >= COMMON_SEVERITY, axis=0)
        return frozenset(k for k, s in zip(CHECKS, share) if s >= COMMON_FRACTION)

    def fire_rates(self, severity: float = COMMON_SEVERITY) -> dict[str, float]:
        """Share of the library with a finding of each kind at ``severity`` or more."""
        if self.n == 0:
            return {k: 0.0 for k in CHECKS}
        return {k: float(s) for k, s in zip(CHECKS, np.mean(self.severity >= severity, axis=0))}

    @classmethod
    def from_files(cls, hashes: Sequence[str], learned: np.ndarray | None,
                   findings: Sequence[Sequence[Finding] | None], **kwargs) -> LibraryEvidence:
        n = len(hashes)
        learned = np.full(n, np.nan) if learned is None else np.asarray(learned, np.float64)
        return cls(list(hashes), learned, severity_matrix(findings), **kwargs)


def p_words(p: float) -> str:
    """A combined probability as a producer reads it: "1 in 400"."""
    if not math.isfinite(p) or p >= 0.5:
        return "typical"
    return f"1 in {1.0 / max(p, 1e-9):,.0f}"
