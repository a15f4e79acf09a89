"""Where the waveform's finding labels go: rows along the top, never overlapping.

Labels are laid out in pixels for the current zoom, left to right: each goes into the first row
where it fits after the previous label; one that fits in no row joins the label ending soonest,
which then reads "click +2" (its tooltip lists all of them). A label that would run past the
right edge is moved left so it stays whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

GAP_PX = 6.0
MAX_ROWS = 3


@dataclass
class PlacedLabel:
    x_px: float  # left edge, pixels from the view's left edge
    row: int  # 0 = the top row
    text: str
    members: list[int] = field(default_factory=list)  # the labels it stands for, its own first


def rows_for_height(view_height_px: float, line_height_px: float) -> int:
    """How many label rows fit in the top half of a view this tall (at least one)."""
    if line_height_px <= 0:
        return 1
    return max(1, min(MAX_ROWS, int(0.5 * view_height_px // line_height_px)))


def lay_out(starts_px: Sequence[float], texts: Sequence[str], width_of: Callable[[str], float],
            view_width_px: float, rows: int, gap_px: float = GAP_PX) -> list[PlacedLabel]:
    """Place one label per (start, text); within a row no two placed labels overlap."""
    rows = max(1, int(rows))
    order = sorted(range(len(texts)), key=lambda i: (starts_px[i], i))
    lines: list[list[PlacedLabel]] = [[] for _ in range(rows)]

    def end(label: PlacedLabel) -> float:
        return label.x_px + width_of(label.text)

    def row_end(r: int) -> float:
        return end(lines[r][-1]) if lines[r] else float("-inf")

    for i in order:
        x = _inside(starts_px[i], width_of(texts[i]), view_width_px)
        row = next((r for r in range(rows) if x >= row_end(r) + gap_px), None)
        if row is not None:
            lines[row].append(PlacedLabel(x, row, texts[i], [i]))
            continue
        row = min(range(rows), key=row_end)  # the row that frees soonest takes it in
        members = [i]
        while True:
            host = lines[row].pop()
            host.members.extend(members)
            host.text = f"{texts[host.members[0]]} +{len(host.members) - 1}"
            grown = width_of(host.text)
            left = row_end(row) + gap_px if lines[row] else 0.0
            host.x_px = max(left, _inside(host.x_px, grown, view_width_px))
            if host.x_px + grown <= view_width_px or not lines[row]:
                lines[row].append(host)
                break
            members = host.members  # no room left of it: it joins the label before it
    return sorted((label for line in lines for label in line), key=lambda p: (p.row, p.x_px))


def _inside(x: float, width: float, view_width_px: float) -> float:
    return max(0.0, min(x, view_width_px - width))
