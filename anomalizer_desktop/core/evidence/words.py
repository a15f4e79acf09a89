"""Evidence in a producer's words: "click at 1.23 s, stronger than every one of your 412 loops"."""

from __future__ import annotations

import math

from ..qc.findings import Finding


def where(finding: Finding) -> str:
    """The finding's own label with "at" for "@" ("click at 1.234 s")."""
    return finding.label().replace(" @ ", " at ")


def rarity(beaten_by: int, n: int, comparative: str = "stronger",
           equal: str = "as strong as") -> str:
    """How a value compares with a library of ``n`` loops, ``beaten_by`` of which reach it:
    "stronger than every one of your 412 loops", "... than all but 2 of ...", "as strong as in
    1 in 41 of your loops"."""
    if n <= 0:
        return "no library to compare with"
    if beaten_by <= 0:
        return (f"{comparative} than your only loop" if n == 1
                else f"{comparative} than every one of your {n:,} loops")
    if beaten_by <= 3 and n >= 20:
        return f"{comparative} than all but {beaten_by} of your {n:,} loops"
    return f"{equal} in 1 in {max(1, round(n / beaten_by)):,} of your loops"


def odds(p: float) -> str:
    """A probability as "1 in 400" ("typical" from 1 in 2)."""
    if not math.isfinite(p) or p >= 0.5:
        return "typical"
    return f"1 in {1.0 / max(p, 1e-9):,.0f}"
