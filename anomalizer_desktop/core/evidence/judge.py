"""The one flag: a model's library evidence plus the user's policy, applied to files.

    judge = Judge(library, policy)
    verdicts = judge.judge(hashes, learned_scores, findings_per_file, fine)

Every place that shows, counts or colours a flag (the table, the Scores tab, ``score``, ``watch``,
``localise``, the new-takes dock) goes through here, so they all tell one story.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..qc.findings import FILE_KINDS, TITLES, Finding
from .floor import unmistakable
from .library import LEARNED, Calibrated, LibraryEvidence, learned_statistic, logit, severity_matrix
from .policy import FlagPolicy
from .words import odds, rarity, where

SHOW_P = 0.2   # a check's findings are shown as reasons when this unusual for the library


@dataclass(frozen=True)
class Judgement:
    """One file's calibrated evidence.

    ``evidence``: -log10 of ``p``, the chance that a normal loop of this library looks this
    unusual (the sort value; None: nothing to judge). ``flagged``: evidence over the budget, or
    an unmistakable defect (None: nothing to judge). ``learned_p``/``learned_flagged``: the
    learned score alone. ``reasons``: the findings that make the file unusual here, strongest
    first; ``words``: one sentence per piece of evidence.
    """

    evidence: float | None
    p: float | None
    flagged: bool | None
    learned_p: float | None = None
    learned_flagged: bool | None = None
    reasons: tuple[Finding, ...] = ()
    words: tuple[str, ...] = ()
    top: str | None = None
    floor: bool = False


NOTHING = Judgement(None, None, None)


class Judge:
    """Calibrated flags for one library (its :class:`LibraryEvidence`) under one policy."""

    def __init__(self, library: LibraryEvidence, policy: FlagPolicy | None = None) -> None:
        self.library = library
        self.policy = policy or FlagPolicy()
        self.calibrated: Calibrated = library.calibrated(self.policy)

    @property
    def threshold(self) -> float:
        """The evidence a file needs to be flagged: -log10 of the budget."""
        return -math.log10(self.policy.budget)

    def with_policy(self, policy: FlagPolicy) -> Judge:
        return Judge(self.library, policy)

    def judge(self, hashes: Sequence[str | None], learned: Sequence[float | None] | np.ndarray,
              findings: Sequence[Sequence[Finding] | None],
              fine: Sequence[bool] | np.ndarray | None = None) -> list[Judgement]:
        """Judgements for files given by content hash (None: unknown), learned score (None or
        NaN: not embedded) and stored findings (None: not checked)."""
        n = len(hashes)
        if n == 0:
            return []
        lib, cal, policy = self.library, self.calibrated, self.policy
        scores = np.array([np.nan if v is None else float(v) for v in learned], dtype=np.float64)
        member = np.array([lib.member(h) for h in hashes], dtype=np.int64)
        counted = [[f for f in (fs or ()) if policy.counts(f.kind, f.severity)] for fs in findings]
        severity = severity_matrix(counted)
        fine_arr = np.zeros(n, bool) if fine is None else np.asarray(fine, dtype=bool)
        a = cal.assess(scores, severity, member, counted, fine_arr)
        common = lib.common_kinds()
        li = a.components.index(LEARNED)
        learned_words = self._learned_words(a, scores, member, counted)
        # plain Python values for the per-row loop (numpy scalars cost ~1 us per operation)
        finite_l, lp_l = np.isfinite(scores).tolist(), a.pvalues[:, li].tolist()
        ev_l, p_l, flag_l = a.evidence.tolist(), a.p.tolist(), a.flagged.tolist()
        top_l, fine_l = a.top.tolist(), fine_arr.tolist()
        out = []
        for r in range(n):
            finite = finite_l[r]
            if not finite and findings[r] is None:
                out.append(NOTHING)
                continue
            if not counted[r] and (not finite or lp_l[r] > SHOW_P or r in learned_words):
                # the usual row: nothing to explain, or only the learned score (fast paths,
                # the same verdict as _one)
                lp = lp_l[r] if finite else None
                flagged = flag_l[r]
                words: tuple[str, ...] = ()
                if r in learned_words:
                    words = learned_words[r]
                    if flagged:
                        words = (f"{odds(p_l[r])} for your library", *words)
                out.append(Judgement(
                    ev_l[r], p_l[r], flagged, lp,
                    None if lp is None else (lp <= policy.budget and not fine_l[r]),
                    words=words, top=a.components[top_l[r]] if top_l[r] >= 0 else None))
                continue
            out.append(self._one(r, a, scores[r], severity[r], int(member[r]), counted[r],
                                 bool(fine_arr[r]), common))
        return out

    def _learned_words(self, a, scores: np.ndarray, member: np.ndarray,
                       counted: list[list[Finding]]) -> dict[int, tuple[str]]:
        """The learned score's sentence for every row it is the only reason of, computed for
        all of them at once (row -> (sentence,)); what :meth:`_one` says for such a row."""
        null = self.calibrated.nulls.get(LEARNED)
        if null is None:
            return {}
        pv = a.pvalues[:, a.components.index(LEARNED)]
        rows = np.flatnonzero(np.isfinite(scores) & (pv <= SHOW_P))
        rows = np.array([r for r in rows if not counted[r]], dtype=np.int64)
        if rows.size == 0:
            return {}
        own = (member[rows] >= 0).astype(np.int64)
        beaten = np.maximum(0, null.count_at_least(learned_statistic(scores[rows])) - own)
        n = null.n - own
        return {int(r): ("sounds unlike the rest: " + rarity(
                    int(b), int(k), "further from normal", "as far out as"),)
                for r, b, k in zip(rows, beaten, n)}

    def judge_one(self, content_hash: str | None, learned: float | None,
                  findings: Sequence[Finding] | None, fine: bool = False) -> Judgement:
        return self.judge([content_hash], [learned], [findings], [fine])[0]

    # -- one row ----------------------------------------------------------------------------
    def _one(self, r: int, a, score: float, sev: np.ndarray, member: int,
             counted: list[Finding], fine: bool, common: frozenset[str]) -> Judgement:
        cal, lib, policy = self.calibrated, self.library, self.policy
        pv = a.pvalues[r]
        comps = a.components
        learned_p = float(pv[comps.index(LEARNED)]) if np.isfinite(score) else None
        floor_kinds = {f.kind for f in unmistakable(counted)} if a.floor[r] else set()
        shown: list[tuple[float, Finding | None, str]] = []
        for j, comp in enumerate(comps):
            p = float(pv[j])
            if comp == LEARNED:
                if learned_p is not None and p <= SHOW_P:
                    null = cal.nulls[LEARNED]
                    u = float(learned_statistic(np.array([score]))[0])
                    beaten = int(null.count_at_least(u)) - (1 if member >= 0 else 0)
                    shown.append((p, None, "sounds unlike the rest: " + rarity(
                        max(0, beaten), null.n - (1 if member >= 0 else 0),
                        "further from normal", "as far out as")))
                continue
            mine = [f for f in counted if f.kind == comp]
            if not mine:
                continue
            strongest = max(mine, key=lambda f: f.severity)
            more = f" (+{len(mine) - 1} more)" if len(mine) > 1 else ""
            if comp in floor_kinds:
                shown.append((0.0, strongest, f"{where(strongest)}{more}: a defect in any library"))
            elif comp in common:
                shown.append((1.0, strongest, f"{where(strongest)}{more}: common in your library"))
            elif p <= SHOW_P:
                null = cal.nulls[comp]
                u = float(logit(strongest.severity))
                beaten = int(null.count_at_least(u)) - (1 if member >= 0 else 0)
                n = lib.n - (1 if member >= 0 else 0)
                shown.append((p, strongest, f"{where(strongest)}{more}, "
                              + rarity(max(0, beaten), n)))
        for kind in FILE_KINDS:  # facts about the file itself: their own words
            mine = [f for f in counted if f.kind == kind]
            if mine and kind in floor_kinds:
                shown.append((0.0, mine[0], mine[0].detail or TITLES[kind]))
        shown.sort(key=lambda t: t[0])
        reasons = tuple(f for p, f, _ in shown if f is not None and p <= SHOW_P)
        reasons = tuple(f2 for f in reasons for f2 in sorted(
            (g for g in counted if g.kind == f.kind), key=lambda g: -g.severity))
        words = tuple(w for _, _, w in shown)
        top = comps[int(a.top[r])] if a.top[r] >= 0 else None
        flagged = bool(a.flagged[r])
        learned_flagged = None if learned_p is None else bool(
            learned_p <= policy.budget and not fine)
        p = float(a.p[r])
        if flagged and words:
            words = (f"{odds(p)} for your library", *words) if not a.floor[r] else words
        return Judgement(float(a.evidence[r]), p, flagged, learned_p, learned_flagged,
                         reasons, words, top, bool(a.floor[r]))


