"""Signal-check findings of the selected loop: coloured waveform regions and a row of buttons.

Each finding kind has one colour, the same on the waveform and on its button. A finding that
covers (nearly) the whole take (hum, DC offset, stereo phase) is a button only: shading the
whole waveform would hide the time-localised ones. Many findings of one kind (a take clipped at
every downbeat) share one button that goes to the most severe of them. Clicking a button asks to
seek there (``findingActivated``); the window plays from a little before it so the defect is
heard in context.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from ...core.qc import TITLES, Finding, group_findings
from .waveform import Region

KIND_COLOURS: dict[str, str] = {
    "clipping": "#ff5252", "dc_offset": "#b388ff", "silence_head": "#90a4ae",
    "silence_tail": "#90a4ae", "click": "#ffab40", "dropout": "#40c4ff",
    "noise_burst": "#ff80ab", "hum": "#69f0ae", "loop_seam": "#ffd740",
    "off_grid": "#eeff41", "stereo_phase": "#18ffff",
}
WHOLE_FILE = 0.9  # a finding spanning this share of the take is about the whole take
GROUP_FROM = 4  # this many findings of one kind share one button ("clipping ×23")
MAX_BUTTONS = 8  # more buttons than this: one per kind


def colour_of(kind: str) -> str:
    return KIND_COLOURS.get(kind, "#ffffff")


def is_whole_file(finding: Finding, duration_s: float) -> bool:
    return duration_s > 0 and (finding.end_s - finding.start_s) >= WHOLE_FILE * duration_s


def finding_regions(findings: Sequence[Finding], duration_s: float) -> list[Region]:
    """Waveform regions of the time-localised findings; the first of each kind is labelled."""
    regions: list[Region] = []
    labelled: set[str] = set()
    for f in sorted(findings, key=lambda f: f.start_s):
        if is_whole_file(f, duration_s):
            continue
        label = "" if f.kind in labelled else TITLES.get(f.kind, f.kind)
        labelled.add(f.kind)
        tip = f.label() + (f"\n{f.detail}" if f.detail else "")
        regions.append((f.start_s, f.end_s, colour_of(f.kind), label, tip))
    return regions


class FindingsBar(QWidget):
    """One button per finding of the selected loop, in time order; a click asks to seek."""

    findingActivated = Signal(object)  # Finding

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(4, 0, 4, 0)
        self._layout.setSpacing(4)
        self.status = QLabel("")
        self.status.setObjectName("findingsStatus")
        self._layout.addWidget(self.status)
        self._layout.addStretch(1)
        self.buttons: list[QToolButton] = []
        self.findings: list[Finding] = []
        self.targets: list[Finding] = []  # where each button seeks to, in time order
        self.set_findings([], "")

    def set_findings(self, findings: Sequence[Finding], status: str = "") -> None:
        """Show ``findings`` (the ones the current check settings show); ``status`` replaces
        the default text ("No signal-check findings") when there are none."""
        for b in self.buttons:
            self._layout.removeWidget(b)
            b.deleteLater()
        self.buttons = []
        self.targets = []
        self.findings = sorted(findings, key=lambda f: (f.start_s, -f.severity))
        if not self.findings:
            self.status.setText(status or "No signal-check findings")
            return
        self.status.setText("Findings:")
        for i, (f, group) in enumerate(button_targets(self.findings)):
            button = QToolButton()
            button.setText(f.label() if len(group) == 1
                           else f"{TITLES.get(f.kind, f.kind)} ×{len(group)}")
            button.setObjectName("findingButton")
            c = colour_of(f.kind)
            button.setStyleSheet(f"QToolButton {{ color: {c}; border: 1px solid {c}; "
                                 "border-radius: 3px; padding: 1px 6px; }")
            if len(group) == 1:
                tip = f"{f.detail or f.label()}\nseverity {f.severity:.2f} ({f.level})"
            else:
                tip = "\n".join(g.label() for g in group[:20]) + (
                    f"\n… {len(group) - 20} more" if len(group) > 20 else "")
                tip += f"\nthe button plays the most severe: {f.label()}"
            button.setToolTip(tip + "\nclick to hear it")
            button.clicked.connect(lambda _=False, f=f: self.findingActivated.emit(f))
            self._layout.insertWidget(1 + i, button)
            self.buttons.append(button)
            self.targets.append(f)

    def next_target(self, position_s: float, step: int = 1) -> Finding | None:
        """The finding after (``step`` 1) or before (-1) ``position_s``, wrapping around."""
        if not self.targets:
            return None
        starts = [f.start_s for f in self.targets]
        if step > 0:
            later = [i for i, t in enumerate(starts) if t > position_s + 1e-3]
            return self.targets[later[0] if later else 0]
        earlier = [i for i, t in enumerate(starts) if t < position_s - 1e-3]
        return self.targets[earlier[-1] if earlier else -1]


def button_targets(findings: Sequence[Finding]) -> list[tuple[Finding, list[Finding]]]:
    """One button per finding, or per kind when there are many (:func:`group_findings`)."""
    return group_findings(findings, GROUP_FROM, MAX_BUTTONS)
