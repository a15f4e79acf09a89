"""Score histogram with the threshold line and the sensitivity control.

The threshold is a percentile of the *reference* scores (the model's held-out scores, or its
training scores for a small library, as the detector sets its own threshold; else the library's
own scores). Moving the spin box, the slider or the
line itself emits ``thresholdChanged(percentile, value)``; the window re-flags rows with it, no
retraining. Emission is coalesced (~60 ms) so dragging stays smooth on 100,000 rows.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ...core.detect.base import (DEFAULT_THRESHOLD_PERCENTILE, percentile_of_threshold,
                                 quantile_threshold)

MIN_PERCENTILE = 50.0
MAX_PERCENTILE = 99.9
DEFAULT_PERCENTILE = DEFAULT_THRESHOLD_PERCENTILE
EMIT_DELAY_MS = 60


def threshold_at(reference: np.ndarray, percentile: float, held_out: bool = True) -> float:
    """The threshold at ``percentile`` of the finite reference scores (NaN without any), the
    way the detectors compute it (:func:`quantile_threshold`)."""
    return quantile_threshold(reference, percentile, held_out)


def percentile_of(reference: np.ndarray, value: float, held_out: bool = True) -> float:
    """Inverse of :func:`threshold_at` (in %)."""
    p = percentile_of_threshold(reference, value, held_out)
    return DEFAULT_PERCENTILE if not np.isfinite(p) else p


class ScoreHistogramView(QWidget):
    """Histogram of library scores, threshold line, and the sensitivity (percentile) control."""

    thresholdChanged = Signal(float, float)  # percentile, threshold value

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", "anomaly score")
        self.plot.setLabel("left", "files")
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.bars = pg.PlotDataItem(stepMode="center", fillLevel=0, brush=pg.mkBrush(79, 195, 247, 110),
                                    pen=pg.mkPen("#4fc3f7"))
        self.plot.addItem(self.bars)
        self.line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("#ff5252", width=2),
                                    hoverPen=pg.mkPen("#ff8a80", width=3),
                                    label="threshold", labelOpts={"position": 0.9, "color": "#ff8a80"})
        self.line.hide()
        self.plot.addItem(self.line)
        self.line.sigPositionChangeFinished.connect(self._on_line_moved)

        self.spin = QDoubleSpinBox()
        self.spin.setRange(MIN_PERCENTILE, MAX_PERCENTILE)
        self.spin.setDecimals(1)
        self.spin.setSingleStep(0.5)
        self.spin.setSuffix(" th percentile")
        self.spin.setToolTip("Sensitivity: flag files scoring above this percentile of the "
                             "scores of loops held out from training (about this share of "
                             "new normal loops stays below it). Lower = more flags.")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(int(MIN_PERCENTILE * 10), int(MAX_PERCENTILE * 10))
        self.slider.setToolTip(self.spin.toolTip())
        self.summary = QLabel("")
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Sensitivity"))
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.spin)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addLayout(controls)
        layout.addWidget(self.summary)

        self._scores = np.zeros(0)
        self._reference = np.zeros(0)
        self._held_out = True  # reference scores are held-out ones (else training scores)
        self._percentile = DEFAULT_PERCENTILE
        self._threshold = float("nan")
        self._emit_timer = QTimer(self)
        self._emit_timer.setSingleShot(True)
        self._emit_timer.setInterval(EMIT_DELAY_MS)
        self._emit_timer.timeout.connect(self._emit_threshold)
        self._set_controls(self._percentile)
        self.spin.valueChanged.connect(self._on_spin)
        self.slider.valueChanged.connect(self._on_slider)
        self.setEnabled(False)

    # --- public API -------------------------------------------------------------------------
    @property
    def percentile(self) -> float:
        return self._percentile

    @property
    def threshold(self) -> float:
        return self._threshold

    def set_scores(self, scores: np.ndarray, reference: np.ndarray | None = None,
                   percentile: float | None = None, held_out: bool = True) -> None:
        """Show ``scores``; the threshold is a percentile of ``reference`` (default: scores).
        ``held_out``: the reference scores come from loops the model did not train on."""
        s = np.asarray(scores, dtype=np.float64)
        self._scores = s[np.isfinite(s)]
        ref = self._scores if reference is None else np.asarray(reference, dtype=np.float64)
        self._reference = ref[np.isfinite(ref)]
        self._held_out = bool(held_out) and reference is not None
        if percentile is not None:
            self._percentile = float(np.clip(percentile, MIN_PERCENTILE, MAX_PERCENTILE))
        self.setEnabled(self._reference.size > 0)
        if self._scores.size:
            n_bins = int(np.clip(np.sqrt(self._scores.size) * 2, 10, 120))
            counts, edges = np.histogram(self._scores, bins=n_bins)
            self.bars.setData(edges, counts)
        else:
            self.bars.setData([], [])
        self._set_controls(self._percentile)
        self._update_threshold(emit=False)
        self.plot.autoRange()

    def set_percentile(self, percentile: float, emit: bool = True) -> None:
        self._percentile = float(np.clip(percentile, MIN_PERCENTILE, MAX_PERCENTILE))
        self._set_controls(self._percentile)
        self._update_threshold(emit=emit)

    def flagged_count(self) -> int:
        if not np.isfinite(self._threshold):
            return 0
        return int(np.count_nonzero(self._scores > self._threshold))

    def histogram_data(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.bars.getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (x, y)

    # --- internals --------------------------------------------------------------------------
    def _set_controls(self, percentile: float) -> None:
        for w in (self.spin, self.slider):
            w.blockSignals(True)
        self.spin.setValue(percentile)
        self.slider.setValue(int(round(percentile * 10)))
        for w in (self.spin, self.slider):
            w.blockSignals(False)

    def _update_threshold(self, emit: bool) -> None:
        self._threshold = threshold_at(self._reference, self._percentile, self._held_out)
        if np.isfinite(self._threshold):
            self.line.blockSignals(True)
            self.line.setValue(self._threshold)
            self.line.blockSignals(False)
            self.line.show()
            n = self.flagged_count()
            share = 100.0 * n / max(1, self._scores.size)
            self.summary.setText(f"Threshold {self._threshold:.4g} ({self._percentile:.1f} th percentile): "
                                 f"{n:,} of {self._scores.size:,} files above it ({share:.1f} %) are flagged")
        else:
            self.line.hide()
            self.summary.setText("No scores yet")
        if emit:
            self._emit_timer.start()

    @Slot()
    def _emit_threshold(self) -> None:
        if np.isfinite(self._threshold):
            self.thresholdChanged.emit(self._percentile, self._threshold)

    @Slot(float)
    def _on_spin(self, value: float) -> None:
        self.set_percentile(value)

    @Slot(int)
    def _on_slider(self, value: int) -> None:
        self.set_percentile(value / 10.0)

    @Slot(object)
    def _on_line_moved(self, line) -> None:
        if self._reference.size == 0:
            return
        self.set_percentile(percentile_of(self._reference, float(self.line.value()),
                                          self._held_out))
