"""Signal-check findings of the selected loop: coloured waveform regions and a row of buttons.

Each finding kind has one colour (the theme's), the same on the waveform and on its button;
none is the playhead's neutral colour. A finding that
covers (nearly) the whole take (hum, DC offset, stereo phase) is a button only: shading the
whole waveform would hide the time-localised ones. Many findings of one kind (a take clipped at
every downbeat) share one button that goes to the most severe of them. Clicking a button asks to
seek there (``findingActivated``); the window plays from a little before it so the defect is
heard in context. Buttons that do not fit the bar's width wait behind a "+N more" menu, so the
bar never widens the window.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QSize, Signal
from PySide6.QtWidgets import QHBoxLayout, QMenu, QToolButton, QWidget

from ...core.qc import TITLES, Finding, group_findings
from .. import theme
from ..elided_label import ElidedLabel
from .waveform import Region

WHOLE_FILE = 0.9  # a finding spanning this share of the take is about the whole take
GROUP_FROM = 4  # this many findings of one kind share one button ("clipping ×23")
MAX_BUTTONS = 8  # more buttons than this: one per kind


def colour_of(kind: str) -> str:
    """The colour of a finding kind in the current theme."""
    p = theme.current()
    return p.kinds.get(kind, p.text)


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
        self.status = ElidedLabel("", min_width=60)
        self.status.setObjectName("findingsStatus")
        self.more = QToolButton()  # the buttons that do not fit, as a menu
        self.more.setObjectName("findingsMore")
        self.more.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.more.setMenu(QMenu(self.more))
        self.more.hide()
        self._more_probe = QToolButton()
        self._more_probe.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self._more_probe.setMenu(QMenu(self._more_probe))
        self._layout.addWidget(self.status)
        self._layout.addWidget(self.more)
        self._layout.addStretch(1)
        self.buttons: list[QToolButton] = []
        self.findings: list[Finding] = []
        self.targets: list[Finding] = []  # where each button seeks to, in time order
        self.set_findings([], " ")  # blank until a loop is selected

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
            self.status.setToolTip(self.status.text().strip())
            self._fit_buttons()
            return
        self.status.setText("Findings:")
        self.status.setToolTip("")
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
        self._fit_buttons()

    def shown_buttons(self) -> list[QToolButton]:
        return [b for b in self.buttons if not b.isHidden()]

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt name
        """The status and the "more" button: the finding buttons fit in what is left."""
        margins = self._layout.contentsMargins()
        width = (self.status.minimumSizeHint().width() + self._more_width()
                 + self._layout.spacing() + margins.left() + margins.right())
        height = max([self.status.minimumSizeHint().height()]
                     + [b.sizeHint().height() for b in self.buttons])
        return QSize(width, height)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt name
        super().resizeEvent(event)
        self._fit_buttons()

    def _more_width(self) -> int:
        """The "more" button's width at its widest ("+8 more"), measured on a twin that is
        never shown (setting the real one's text here would re-lay out the bar)."""
        self._more_probe.setText(f"+{len(self.buttons)} more")
        return self._more_probe.sizeHint().width()

    def _fit_buttons(self) -> None:
        """Show the buttons that fit in time order; the rest go to the "+N more" menu."""
        spacing = self._layout.spacing()
        margins = self._layout.contentsMargins()
        used = margins.left() + margins.right() + self.status.sizeHint().width()
        room = self.width()
        n_shown = 0
        for i, button in enumerate(self.buttons):
            need = spacing + button.sizeHint().width()
            rest = spacing + self._more_width() if i < len(self.buttons) - 1 else 0
            if used + need + rest > room:
                break
            used += need
            n_shown += 1
        menu = self.more.menu()
        menu.clear()
        for i, button in enumerate(self.buttons):
            button.setVisible(i < n_shown)
            if i >= n_shown:
                target = self.targets[i]
                action = menu.addAction(button.text())
                action.setToolTip(button.toolTip())
                action.triggered.connect(
                    lambda _=False, f=target: self.findingActivated.emit(f))
        hidden = len(self.buttons) - n_shown
        self.more.setText(f"+{hidden} more")
        self.more.setToolTip("More findings of this loop: choose one to hear it")
        self.more.setVisible(hidden > 0)

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
