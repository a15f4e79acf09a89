"""How unusual one statistic is for a library: exceedance probabilities with a fitted tail.

A :class:`TailNull` holds one component's statistic for every file of a library (the learned
score, or one signal check's strength; ``-inf`` where a file shows no evidence at all, e.g. no
finding of that kind) and answers "how likely is a file of this library to reach ``u`` or more":

* in the body, the conformal estimate ``(1 + #{library values >= u}) / (n + 1)``: the new file is
  counted as one more draw from the library, the finite-sample correction that makes the
  probability of a new normal file landing below a cut at most the cut;
* beyond the ``TAIL_SIZE``-th largest value (the *anchor*), where counting runs out, an
  exponential tail ``p_anchor * exp(-(u - anchor) / scale)``, its scale the mean excess of the
  values above the anchor, shrunk towards a prior scale with a small pseudo-count. So a click
  ten times stronger than anything in the library gets a far smaller probability than one just
  above the strongest, instead of both hitting the counting floor of ``1 / (n + 1)``;
* a *sparse* component (fewer than ``TAIL_SIZE`` files with any evidence, the usual case for a
  check on clean music) has its anchor at the component's floor (the weakest value that
  counts). The chance of any evidence at all is then a rate shrunk towards the prior's: with F
  of n files above the floor, ``(F + w * rate) / (n + w)`` (a library of 80 clean loops with no
  click does not prove clicks impossible, nor that 1 in 81 loops clicks), times the exponential.

:meth:`TailNull.loo` gives each library file's probability against the *other* files (leave one
out), so a library never grades a file by itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

TAIL_SIZE = 10


@dataclass(frozen=True)
class TailPrior:
    """What a component looks like before a library speaks: an exponential tail ``scale`` (in
    the statistic's units) worth ``weight`` observed excesses; the ``floor`` below which a
    value is no evidence (``-inf``: every value counts); for a component with a floor, the
    share of normal files that reach it (``rate``) worth ``rate_weight`` files."""

    scale: float
    weight: float = 2.0
    floor: float = float("-inf")
    rate: float = 0.01
    rate_weight: float = 20.0


@dataclass(frozen=True)
class _Fit:
    anchor: float       # values above it are in the fitted tail
    anchor_p: float     # probability of reaching the anchor
    scale: float        # exponential scale of the tail
    dense: bool         # anchor at the TAIL_SIZE-th value (else at the floor)


class TailNull:
    """The null distribution of one statistic in one library (see the module docstring)."""

    def __init__(self, values: np.ndarray, prior: TailPrior) -> None:
        v = np.asarray(values, dtype=np.float64).ravel()
        self.prior = prior
        self.values = np.where(np.isnan(v), -np.inf, v)  # in library order (for loo)
        self.n = int(self.values.size)
        self._asc = np.sort(self.values[self._live(self.values)])
        self.fit = _fit(self._asc, self.n, prior)

    def _live(self, u: np.ndarray) -> np.ndarray:
        """Values that count as evidence at all."""
        if np.isfinite(self.prior.floor):
            return u >= self.prior.floor
        return np.isfinite(u)

    @property
    def n_evidence(self) -> int:
        """Library files with a value that counts (at or above the floor)."""
        return int(self._asc.size)

    @property
    def rate(self) -> float:
        """Probability that a file of this library shows any evidence here (the largest
        p-value below 1); 1 for a component without a floor (every file has a value)."""
        if not np.isfinite(self.prior.floor):
            return 1.0
        return float(self.pvalue(np.array([self.prior.floor]))[0])

    def count_at_least(self, u: np.ndarray | float) -> np.ndarray:
        """How many library files reach ``u`` or more."""
        u = np.asarray(u, dtype=np.float64)
        return self._asc.size - np.searchsorted(self._asc, u, side="left")

    def pvalue(self, u: np.ndarray | float) -> np.ndarray:
        """Probability that a file of this library reaches ``u`` or more (1 for no evidence)."""
        u = np.atleast_1d(np.asarray(u, dtype=np.float64))
        return _pvalue(u, self._asc, self.n, self.prior, self.fit, self._live(u))

    @cached_property
    def loo(self) -> np.ndarray:
        """Each library file's :meth:`pvalue` against the other ``n - 1`` files."""
        out = np.ones(self.n)
        live = self._live(self.values)
        counts = self.count_at_least(self.values)
        # A file below the anchor of a dense fit does not shape the tail: leaving it out only
        # changes the counts (its own included) and n.
        body = live & self.fit.dense & (self.values < self.fit.anchor) \
            & (self._asc.size > TAIL_SIZE)
        out[body] = np.minimum(1.0, counts[body] / max(1, self.n))
        for i in np.flatnonzero(live & ~body):
            asc = np.delete(self._asc, int(np.searchsorted(self._asc, self.values[i])))
            fit = _fit(asc, self.n - 1, self.prior)
            u = self.values[i: i + 1]
            out[i] = float(_pvalue(u, asc, self.n - 1, self.prior, fit, np.ones(1, bool))[0])
        return out


def _fit(asc: np.ndarray, n: int, prior: TailPrior) -> _Fit:
    """The tail of the values that count (sorted ascending) among ``n`` library files."""
    f = int(asc.size)
    if f >= TAIL_SIZE:
        anchor = float(asc[f - TAIL_SIZE])
        reach = f - int(np.searchsorted(asc, anchor, side="left"))
        anchor_p, dense = (1.0 + reach) / (n + 1.0), True
    elif np.isfinite(prior.floor):
        anchor = prior.floor
        anchor_p, dense = (f + prior.rate_weight * prior.rate) / (n + prior.rate_weight), False
    else:  # a component every file has a value of, in a tiny library
        anchor = float(asc[0]) if f else 0.0
        anchor_p, dense = 1.0, False
    excess = asc[asc > anchor] - anchor
    scale = (float(excess.sum()) + prior.weight * prior.scale) / (excess.size + prior.weight)
    return _Fit(anchor, float(min(1.0, anchor_p)), max(scale, 1e-6), dense)


def _pvalue(u: np.ndarray, asc: np.ndarray, n: int, prior: TailPrior, fit: _Fit,
            live: np.ndarray) -> np.ndarray:
    out = np.ones(u.shape)
    live = live & ~np.isnan(u)
    tail = live & (u > fit.anchor)
    out[tail] = fit.anchor_p * np.exp(-(u[tail] - fit.anchor) / fit.scale)
    body = live & ~tail
    if np.any(body):
        if fit.dense:
            counts = asc.size - np.searchsorted(asc, u[body], side="left")
            out[body] = np.minimum(1.0, (1.0 + counts) / (n + 1.0))
        else:
            out[body] = fit.anchor_p
    return out
