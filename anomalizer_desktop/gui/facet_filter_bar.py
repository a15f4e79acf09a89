"""The tempo and key filters above the loop table: a BPM range (two boxes, empty = any), a key
(any or one of 24) and "compatible keys" (the keys that mix with the chosen one)."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QWidget,
)

from ..core.facets import key_name
from .models.loop_facets import ALL_KEYS, FacetFilter

BPM_MAX = 300.0
ANY = "any"


class BpmBox(QDoubleSpinBox):
    """A tempo bound: 20-300 BPM, or empty / "any" (the box's minimum, 0) for no bound."""

    def __init__(self, tip: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(0.0, BPM_MAX)
        self.setDecimals(1)
        self.setSingleStep(1.0)
        self.setSpecialValueText(ANY)
        self.setKeyboardTracking(False)  # filter when the number is complete, not per digit
        self.setToolTip(tip)
        self.setAccelerated(True)
        self.setCorrectionMode(QDoubleSpinBox.CorrectionMode.CorrectToNearestValue)

    def validate(self, text: str, pos: int):  # noqa: D401 - Qt override
        if not text.strip() or ANY.startswith(text.strip().lower()):
            return QValidator.State.Acceptable, text, pos
        return super().validate(text, pos)

    def valueFromText(self, text: str) -> float:  # noqa: N802 - Qt name
        if not text.strip() or ANY.startswith(text.strip().lower()):
            return self.minimum()
        return super().valueFromText(text)

    def bound(self) -> float | None:
        return None if self.value() <= self.minimum() else float(self.value())


class FacetFilterBar(QWidget):
    """Emits ``changed(FacetFilter)`` whenever a tempo bound, the key or "compatible" changes."""

    changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bpm_min = BpmBox("Slowest tempo shown (BPM, estimated from the audio); "
                              "empty = any. Loops with no tempo estimate are hidden while set.")
        self.bpm_max = BpmBox("Fastest tempo shown (BPM); empty = any")
        self.key_box = QComboBox()
        self.key_box.addItem("Any key", None)
        for tonic, mode in ALL_KEYS:
            self.key_box.addItem(key_name(tonic, mode), f"{tonic}:{mode}")
        self.key_box.setToolTip("Only loops in this key (estimated from the audio); loops with "
                                "no key estimate are hidden while a key is chosen")
        self.key_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.compatible = QCheckBox("Compatible keys")
        self.compatible.setToolTip("Also the keys that mix with it: its relative major/minor and "
                                   "its neighbours a fifth up and down (Camelot ±1)")
        self.compatible.setEnabled(False)

        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Tempo"))
        layout.addWidget(self.bpm_min)
        layout.addWidget(QLabel("–"))
        layout.addWidget(self.bpm_max)
        layout.addWidget(QLabel("BPM"))
        layout.addSpacing(12)
        layout.addWidget(QLabel("Key"))
        layout.addWidget(self.key_box)
        layout.addWidget(self.compatible)
        layout.addStretch(1)

        self.bpm_min.valueChanged.connect(self._on_changed)
        self.bpm_max.valueChanged.connect(self._on_changed)
        self.key_box.currentIndexChanged.connect(self._on_changed)
        self.compatible.toggled.connect(self._on_changed)

    def value(self) -> FacetFilter:
        data = self.key_box.currentData()
        key = None
        if data:
            tonic, mode = str(data).split(":")
            key = (int(tonic), mode)
        lo, hi = self.bpm_min.bound(), self.bpm_max.bound()
        if lo is not None and hi is not None and lo > hi:
            lo, hi = hi, lo  # a range typed backwards still means that range
        return FacetFilter(lo, hi, key, self.compatible.isChecked())

    def set_value(self, bpm_min: float | None = None, bpm_max: float | None = None,
                  key: tuple[int, str] | None = None, compatible: bool = False) -> None:
        """Set every part at once (one ``changed``)."""
        widgets = (self.bpm_min, self.bpm_max, self.key_box, self.compatible)
        for w in widgets:
            w.blockSignals(True)
        try:
            self.bpm_min.setValue(bpm_min or 0.0)
            self.bpm_max.setValue(bpm_max or 0.0)
            index = self.key_box.findData(f"{key[0] % 12}:{key[1]}") if key else 0
            self.key_box.setCurrentIndex(max(0, index))
            self.compatible.setChecked(compatible)
        finally:
            for w in widgets:
                w.blockSignals(False)
        self._on_changed()

    def clear(self) -> None:
        if self.value().is_set or self.compatible.isChecked():
            self.set_value()

    @Slot()
    def _on_changed(self, *args) -> None:
        self.compatible.setEnabled(self.key_box.currentIndex() > 0)
        self.changed.emit(self.value())
