"""Signal-check settings: which checks count as evidence, from what strength, kept in QSettings
(with the flag budget, which the Scores tab sets).

The dialog applies every change at once (the table re-judges the findings it already has;
nothing is rescanned), shows how many files of the library have findings of each kind, and says
which kinds are common in this library (a finding of such a kind is shown but is no evidence).
The CLI's counterparts are ``--no-checks``, ``--disable-check KIND``, ``--severity`` and
``--flag-one-in``.
"""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtCore import QSettings, Qt, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from ..core.evidence import DEFAULT_BUDGET, FlagPolicy
from ..core.evidence.policy import DEFAULT_MIN_SEVERITY, MAX_BUDGET, MIN_BUDGET
from ..core.qc import CHECKS, DESCRIPTIONS, TITLES
from ..core.qc_stage import STORE_FROM

# (label, minimum severity): "low" counts everything the scan stored.
SEVERITIES: tuple[tuple[str, float], ...] = (
    ("Low — every finding (default)", STORE_FROM), ("Medium", 0.5), ("High only", 0.8))
KEY_ENABLED, KEY_SEVERITY, KEY_DISABLED = "checks/enabled", "checks/strength", "checks/disabled"
KEY_BUDGET = "flags/budget"


def _number(settings: QSettings, key: str, default: float) -> float:
    try:
        return float(settings.value(key, default))
    except (TypeError, ValueError):
        return default


def load_policy(settings: QSettings, library=None) -> FlagPolicy:
    """The user's flag policy from ``settings`` (unknown kinds from older versions dropped)."""
    enabled = str(settings.value(KEY_ENABLED, "true")).lower() not in ("false", "0")
    severity = _number(settings, KEY_SEVERITY, DEFAULT_MIN_SEVERITY)
    budget = min(MAX_BUDGET, max(MIN_BUDGET, _number(settings, KEY_BUDGET, DEFAULT_BUDGET)))
    disabled = settings.value(KEY_DISABLED, []) or []
    if isinstance(disabled, str):
        disabled = [disabled]
    return FlagPolicy(budget=budget, min_severity=min(1.0, max(0.0, severity)),
                      disabled=frozenset(k for k in disabled if k in CHECKS),
                      calibration=library, use_checks=enabled)


def save_policy(settings: QSettings, policy: FlagPolicy) -> None:
    settings.setValue(KEY_ENABLED, bool(policy.use_checks))
    settings.setValue(KEY_SEVERITY, float(policy.min_severity))
    settings.setValue(KEY_DISABLED, sorted(policy.disabled))
    settings.setValue(KEY_BUDGET, float(policy.budget))


class ChecksDialog(QDialog):
    """Per-check on/off, the severity that flags, and live per-kind counts.

    ``policyChanged(FlagPolicy)`` fires on every change; ``counts_fn(policy)`` returns
    ``{kind: files}`` for a policy (the window's table answers it).
    """

    policyChanged = Signal(object)

    def __init__(self, policy: FlagPolicy, counts_fn, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Signal checks")
        self.setMinimumWidth(640)
        self._calibration = policy.calibration
        self._budget = policy.budget
        self._counts_fn = counts_fn
        self.notes: dict[str, QLabel] = {}

        self.enabled = QCheckBox("Signal-check findings count as evidence")
        self.enabled.setToolTip("Off: only the learned score decides; findings are still listed")
        self.severity = QComboBox()
        for label, value in SEVERITIES:
            self.severity.addItem(label, value)
        self.severity.setToolTip("Weaker findings are no evidence at all; stronger ones count "
                                 "by how unusual they are for your library")
        form = QFormLayout()
        form.addRow(self.enabled)
        form.addRow("Count findings from", self.severity)

        box = QGroupBox("Checks")
        grid = QGridLayout(box)
        self.boxes: dict[str, QCheckBox] = {}
        self.count_labels: dict[str, QLabel] = {}
        normal = common_kinds(self._calibration)
        for row, kind in enumerate(CHECKS):
            check = QCheckBox(TITLES[kind])
            check.setToolTip(DESCRIPTIONS[kind])
            count = QLabel("")
            count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            note = QLabel("common in your library" if kind in normal else "")
            note.setObjectName("calibrationNote")
            note.setToolTip("This kind fires on most of the library the model was trained on, so "
                            "it is the library's style: such findings are shown, not counted")
            about = QLabel(DESCRIPTIONS[kind])
            about.setObjectName("checkDescription")
            about.setWordWrap(True)
            grid.addWidget(check, row, 0)
            grid.addWidget(about, row, 1)
            grid.addWidget(note, row, 2)
            grid.addWidget(count, row, 3)
            self.boxes[kind], self.count_labels[kind], self.notes[kind] = check, count, note
        grid.setColumnStretch(1, 1)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close
                                   | QDialogButtonBox.StandardButton.RestoreDefaults)
        buttons.rejected.connect(self.close)
        buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults).clicked.connect(
            self.restore_defaults)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(box)
        layout.addWidget(buttons)

        self.set_policy(policy)
        self.enabled.toggled.connect(self._changed)
        self.severity.currentIndexChanged.connect(self._changed)
        for check in self.boxes.values():
            check.toggled.connect(self._changed)

    def policy(self) -> FlagPolicy:
        disabled = frozenset(k for k, b in self.boxes.items() if not b.isChecked())
        return FlagPolicy(budget=self._budget, min_severity=float(self.severity.currentData()),
                          disabled=disabled, calibration=self._calibration,
                          use_checks=self.enabled.isChecked())

    def set_policy(self, policy: FlagPolicy) -> None:
        """Show ``policy`` without emitting ``policyChanged``."""
        widgets = [self.enabled, self.severity, *self.boxes.values()]
        for w in widgets:
            w.blockSignals(True)
        try:
            self._calibration = policy.calibration
            self._budget = policy.budget
            self._refresh_notes()
            self.enabled.setChecked(policy.use_checks)
            values = [v for _, v in SEVERITIES]
            nearest = min(range(len(values)), key=lambda i: abs(values[i] - policy.min_severity))
            self.severity.setCurrentIndex(nearest)
            for kind, check in self.boxes.items():
                check.setChecked(kind not in policy.disabled)
        finally:
            for w in widgets:
                w.blockSignals(False)
        self._sync()

    @Slot()
    def restore_defaults(self) -> None:
        self.set_policy(FlagPolicy(budget=self._budget, calibration=self._calibration))
        self._changed()

    @Slot()
    def _changed(self, *args) -> None:
        self._sync()
        self.policyChanged.emit(self.policy())

    def _sync(self) -> None:
        on = self.enabled.isChecked()
        self.severity.setEnabled(on)
        for check in self.boxes.values():
            check.setEnabled(on)
        self.refresh_counts()

    def _refresh_notes(self) -> None:
        normal = common_kinds(self._calibration)
        for kind, note in self.notes.items():
            note.setText("common in your library" if kind in normal else "")

    def refresh_counts(self) -> None:
        """Files per kind at the chosen severity (counted also for switched-off checks)."""
        everything = replace(self.policy(), disabled=frozenset(), use_checks=True)
        counts = self._counts_fn(everything) if self._counts_fn else {}
        for kind, label in self.count_labels.items():
            n = counts.get(kind, 0)
            label.setText(f"{n:,} file{'s' if n != 1 else ''}" if n else "—")
            label.setEnabled(self.boxes[kind].isChecked() and self.enabled.isChecked())


def common_kinds(library) -> frozenset[str]:
    """Kinds that fire on most of the model's library (none without a library)."""
    return library.common_kinds() if library is not None else frozenset()
