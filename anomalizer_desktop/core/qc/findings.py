"""What a signal check reports: a :class:`Finding` (kind, severity, where, how much).

Severity is a number in [0, 1]: 0.5 is "at the check's threshold" (the default flagging level),
>= 0.8 is "high". Checks map their own statistic onto it with :func:`severity_from_ratio`, so
the numbers are comparable across checks and rank files smoothly (benchmarks use them as
scores).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

# Every check, in the order they run. A finding's ``kind`` is the name of the check that made it.
CHECKS: tuple[str, ...] = (
    "silent", "clipping", "dc_offset", "silence_head", "silence_tail", "click", "dropout",
    "noise_burst", "hum", "loop_seam", "off_grid", "stereo_phase",
)
# What decoding found wrong with the file itself (truncated or damaged data, NaN/inf samples):
# findings like the checks' ones, but of the file, not of the music, and not a check to turn off.
FILE_KINDS: tuple[str, ...] = ("damaged_file", "non_finite")
ALL_KINDS: tuple[str, ...] = FILE_KINDS + CHECKS
# Bump when a check changes what it reports, so cached findings are recomputed.
CHECKS_VERSION = 10

TITLES: dict[str, str] = {
    "silent": "silent file", "clipping": "clipping", "dc_offset": "DC offset", "silence_head": "silence at head",
    "silence_tail": "silence at tail", "click": "click", "dropout": "dropout",
    "noise_burst": "noise burst", "hum": "hum", "loop_seam": "loop seam discontinuity",
    "off_grid": "off-grid onset", "stereo_phase": "stereo phase (mono sum cancels)",
    "damaged_file": "damaged file", "non_finite": "NaN/inf samples",
}
# What each check listens for, in one sentence (settings, tooltips, help).
DESCRIPTIONS: dict[str, str] = {
    "silent": "nothing audible from start to end: an empty bounce or a muted track",
    "clipping": "runs of samples stuck at (or just under) the loudest level: a bounce that clipped",
    "dc_offset": "the waveform sits off zero: a DC offset from an interface or a plug-in",
    "silence_head": "silence before the first sound: the take starts late",
    "silence_tail": "silence after the last sound: the loop is cut long",
    "click": "a single-sample jump the music around it does not explain: an edit or a glitch",
    "dropout": "audio that drops to (near) silence for a few milliseconds mid-take",
    "noise_burst": "a short burst of broadband noise (static, a crackle, a bad cable)",
    "hum": "a steady 50/60 Hz tone with its harmonics: mains hum or a ground loop",
    "loop_seam": "the end does not join the start: the loop clicks when it repeats",
    "off_grid": "onsets off the loop's own tempo grid while the rest sits on it",
    "stereo_phase": "left and right cancel when summed to mono (one channel phase-inverted)",
    "damaged_file": "the file holds less audio than its header promises, or breaks off in "
                    "damaged data: an interrupted export or copy",
    "non_finite": "samples that are not numbers (NaN/inf) in a float file, played as silence",
}
LEVELS: tuple[tuple[str, float], ...] = (("high", 0.8), ("medium", 0.5), ("low", 0.0))


def severity_level(severity: float) -> str:
    """"high" (>= 0.8), "medium" (>= 0.5) or "low"."""
    return next(name for name, floor in LEVELS if severity >= floor)


def severity_from_ratio(ratio: float, steepness: float = 2.0) -> float:
    """Map statistic/threshold to [0, 1): 0.5 at 1, rising like a logistic in log(ratio)."""
    if not ratio > 0.0:
        return 0.0
    if math.isinf(ratio):
        return 1.0
    r = ratio ** steepness
    return float(r / (1.0 + r))


def _t(x: float) -> str:
    return f"{x:.3f}"


@dataclass(frozen=True)
class Finding:
    """One problem in one file.

    ``start_s``/``end_s``: where (seconds from the file start; equal for an instant).
    ``value``: the measured amount in the kind's natural unit (samples clipped, DC offset,
    hum level in dB re the signal, silence duration in s, deviation in ms, L/R correlation).
    ``tag``: a short qualifier shown in the label ("at full scale", "50 Hz", "L").
    ``detail``: one explanatory sentence (tooltips, reports).
    """

    kind: str
    severity: float
    start_s: float
    end_s: float
    value: float | None = None
    tag: str = ""
    detail: str = ""

    @property
    def level(self) -> str:
        return severity_level(self.severity)

    @property
    def time_s(self) -> float:
        """Where to seek to show this finding."""
        return self.start_s

    def label(self) -> str:
        """A short human label: "click @ 1.234 s", "hum 50 Hz -22 dB", ..."""
        k, a, b, v = self.kind, self.start_s, self.end_s, self.value
        title = TITLES.get(k, k)
        if k == "click":
            return f"click @ {_t(a)} s"
        if k in ("dropout", "noise_burst"):
            return f"{title} {_t(a)}-{_t(b)} s"
        if k == "clipping":
            n = int(v) if v is not None else 0
            return f"clipping ({n} samples {self.tag or 'at full scale'}) {a:.2f}-{b:.2f} s"
        if k == "dc_offset":
            return f"DC offset {v:+.3f}" if v is not None else title
        if k == "hum":
            level = f" {v:.0f} dB" if v is not None else ""
            return f"hum {self.tag}{level}".replace("  ", " ")
        if k in ("silence_head", "silence_tail"):
            return f"{title} {v if v is not None else b - a:.2f} s"
        if k in FILE_KINDS:
            return self.detail.split(":")[0] if self.detail else title
        if k == "off_grid":
            off = f" ({v:+.0f} ms)" if v is not None else ""
            return f"off-grid onset @ {_t(a)} s{off}"
        return title

    def with_severity(self, severity: float, note: str = "") -> Finding:
        detail = f"{self.detail} ({note})" if note and self.detail else (note or self.detail)
        return replace(self, severity=float(min(1.0, max(0.0, severity))), detail=detail)

    def to_record(self) -> tuple[str, str, float, float, str]:
        """``(check_id, severity, start_s, end_s, detail)`` for the catalog's findings table.

        Severity is written as a decimal string; value/tag/detail go into the detail column
        as compact JSON so :meth:`from_record` restores the finding exactly.
        """
        extra = json.dumps({"value": self.value, "tag": self.tag, "detail": self.detail},
                           separators=(",", ":"))
        return (self.kind, f"{self.severity:.4f}", float(self.start_s), float(self.end_s), extra)

    @classmethod
    def from_record(cls, check_id: str, severity: str | float, start_s: float, end_s: float,
                    detail: str = "") -> Finding:
        """Inverse of :meth:`to_record`; also accepts a level name and plain-text detail."""
        try:
            sev = float(severity)
        except (TypeError, ValueError):
            sev = {"high": 0.9, "medium": 0.65, "low": 0.3}.get(str(severity).lower(), 0.5)
        value, tag, text = None, "", detail or ""
        if text.startswith("{"):
            try:
                data = json.loads(text)
                value, tag, text = data.get("value"), data.get("tag", ""), data.get("detail", "")
            except (ValueError, AttributeError):
                pass
        return cls(check_id, sev, float(start_s), float(end_s),
                   None if value is None else float(value), str(tag), str(text))


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.start_s, ALL_KINDS.index(f.kind)
                                           if f.kind in ALL_KINDS else 99, -f.severity))


def max_severity(findings: list[Finding], kinds: frozenset[str] | set[str] | None = None) -> float:
    """The largest severity among ``findings`` (of the given kinds), 0.0 when there are none."""
    return max((f.severity for f in findings if kinds is None or f.kind in kinds), default=0.0)


def group_findings(findings: Sequence[Finding], group_from: int = 4, max_items: int | None = 8
                   ) -> list[tuple[Finding, list[Finding]]]:
    """Findings for a short list (buttons in the app, lines in a terminal): ``(finding to show
    and seek to, the findings it stands for)`` in time order. Each finding stands alone, except
    that ``group_from`` or more of one kind (a take clipped on every downbeat) share one item,
    the most severe of them; one item per kind when there would still be more than
    ``max_items``."""
    by_kind: dict[str, list[Finding]] = {}
    for f in findings:
        by_kind.setdefault(f.kind, []).append(f)
    out: list[tuple[Finding, list[Finding]]] = []
    for group in by_kind.values():
        if len(group) >= group_from:
            out.append((max(group, key=lambda f: f.severity), sorted(group, key=lambda f: f.start_s)))
        else:
            out.extend((f, [f]) for f in group)
    if max_items is not None and len(out) > max_items and group_from > 1:
        return group_findings(findings, 1, max_items)
    return sorted(out, key=lambda t: (t[0].start_s, -t[0].severity))
