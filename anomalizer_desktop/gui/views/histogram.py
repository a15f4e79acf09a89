"""How unusual the library's files are, with the flag line and the sensitivity control.

The x axis is the calibrated evidence (``core.evidence``): 1 = "1 in 10 normal loops of this
library look this unusual", 2 = 1 in 100, 3 = 1 in 1,000. The flag line sits at the budget, and
the sensitivity control speaks in that unit: "flag about 1 in N normal loops". Moving the spin
box, the slider or the line emits ``budgetChanged(budget)``; the window re-flags rows from the
evidence they have, no retraining. Emission is coalesced (~60 ms) so dragging stays smooth.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSlider, QSpinBox, QVBoxLayout, QWidget

from ...core.evidence import DEFAULT_BUDGET
from .. import theme
from ..palettes import Palette
from .placeholder import PlotOrMessage
from .plot_style import style_plot

MIN_ONE_IN, MAX_ONE_IN = 2, 1000
DEFAULT_ONE_IN = int(round(1.0 / DEFAULT_BUDGET))
EMIT_DELAY_MS = 60
SLIDER_STEPS = 300  # the slider is logarithmic in N
SHOWN_MAX = 6.0     # evidence above this (unmistakable defects) is drawn at the right edge


def one_in_to_slider(one_in: int) -> int:
    span = math.log(MAX_ONE_IN / MIN_ONE_IN)
    return int(round(SLIDER_STEPS * math.log(one_in / MIN_ONE_IN) / span))


def slider_to_one_in(value: int) -> int:
    span = math.log(MAX_ONE_IN / MIN_ONE_IN)
    return int(round(MIN_ONE_IN * math.exp(span * value / SLIDER_STEPS)))


def clamp_one_in(value: float) -> int:
    return int(min(MAX_ONE_IN, max(MIN_ONE_IN, round(value))))


class ScoreHistogramView(QWidget):
    """Histogram of the library's evidence, the flag line and the "1 in N" control."""

    budgetChanged = Signal(float)  # the share of normal loops that may be flagged

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        p = theme.current()
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", "how unusual (1 = 1 in 10 normal loops, 2 = 1 in 100, …)")
        self.plot.setLabel("left", "files")
        self.plot.setMouseEnabled(x=True, y=False)
        self.plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.bars = pg.PlotDataItem(stepMode="center", fillLevel=0)
        self.plot.addItem(self.bars)
        self.line = pg.InfiniteLine(angle=90, movable=True, label="flag",
                                    labelOpts={"position": 0.9})
        self.line.hide()
        self.plot.addItem(self.line)
        self.line.sigPositionChangeFinished.connect(self._on_line_moved)
        self.frame = PlotOrMessage(self.plot)
        self.frame.show_message("No scores yet: they appear once the library is analysed")
        self.placeholder = self.frame.placeholder
        self.apply_palette(p)

        self.spin = QSpinBox()
        self.spin.setRange(MIN_ONE_IN, MAX_ONE_IN)
        self.spin.setPrefix("1 in ")
        self.spin.setSuffix(" normal loops")
        self.spin.setToolTip("Sensitivity: about this share of the normal loops of your library "
                             "is flagged (the rest of the flags are loops rarer than that). "
                             "Smaller N = more flags.")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, SLIDER_STEPS)
        self.slider.setInvertedAppearance(False)
        self.slider.setToolTip(self.spin.toolTip())
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(QLabel("Flag about"))
        controls.addWidget(self.spin)
        controls.addWidget(self.slider, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.frame, 1)
        layout.addLayout(controls)
        layout.addWidget(self.summary)

        self._evidence = np.zeros(0)
        self._flagged: int | None = None
        self._one_in = DEFAULT_ONE_IN
        self._emit_timer = QTimer(self)
        self._emit_timer.setSingleShot(True)
        self._emit_timer.setInterval(EMIT_DELAY_MS)
        self._emit_timer.timeout.connect(self._emit)
        self._set_controls(self._one_in)
        self.spin.valueChanged.connect(self._on_spin)
        self.slider.valueChanged.connect(self._on_slider)
        self._show_data(False)

    # --- public API -------------------------------------------------------------------------
    @property
    def budget(self) -> float:
        return 1.0 / self._one_in

    @property
    def one_in(self) -> int:
        return self._one_in

    @property
    def threshold(self) -> float:
        """The evidence a flag needs at the current budget."""
        return math.log10(self._one_in)

    def set_evidence(self, evidence: np.ndarray, flagged: int | None = None) -> None:
        """Show the library's evidence; ``flagged``: the table's count of flagged files (the
        one count every view shows)."""
        e = np.asarray(evidence, dtype=np.float64)
        self._evidence = e[np.isfinite(e)]
        self._flagged = flagged
        if self._evidence.size:
            shown = np.minimum(self._evidence, SHOWN_MAX)
            n_bins = int(np.clip(np.sqrt(shown.size) * 2, 10, 120))
            counts, edges = np.histogram(shown, bins=n_bins, range=(0.0, max(SHOWN_MAX / 2,
                                                                             float(shown.max()))))
            self.bars.setData(edges, counts)
        else:
            self.bars.setData([], [])
        self._show_data(self._evidence.size > 0)
        self._update_line(emit=False)
        if self._evidence.size:
            self.plot.autoRange()

    def set_flagged_count(self, flagged: int) -> None:
        self._flagged = int(flagged)
        self._update_summary()

    def set_one_in(self, one_in: float, emit: bool = True) -> None:
        self._one_in = clamp_one_in(one_in)
        self._set_controls(self._one_in)
        self._update_line(emit=emit)

    def histogram_data(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.bars.getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (x, y)

    # --- internals --------------------------------------------------------------------------
    def apply_palette(self, p: Palette) -> None:
        style_plot(self.plot, p)
        fill = QColor(p.accent)
        fill.setAlpha(110)
        self.bars.setBrush(pg.mkBrush(fill))
        self.bars.setPen(pg.mkPen(p.accent))
        self.line.setPen(pg.mkPen(p.flag, width=2))
        self.line.setHoverPen(pg.mkPen(p.flag_hover, width=3))
        self.line.label.setColor(p.flag)

    def _show_data(self, has_data: bool) -> None:
        if has_data:
            self.frame.show_plot()
        else:
            self.frame.setCurrentWidget(self.placeholder)

    def _set_controls(self, one_in: int) -> None:
        for w in (self.spin, self.slider):
            w.blockSignals(True)
        self.spin.setValue(one_in)
        self.slider.setValue(one_in_to_slider(one_in))
        for w in (self.spin, self.slider):
            w.blockSignals(False)

    def _update_line(self, emit: bool) -> None:
        if self._evidence.size:
            self.line.blockSignals(True)
            self.line.setValue(self.threshold)
            self.line.blockSignals(False)
            self.line.show()
        else:
            self.line.hide()
        self._update_summary()
        if emit:
            self._emit_timer.start()

    def _update_summary(self) -> None:
        if not self._evidence.size:
            self.summary.setText("")
            return
        n = self._flagged if self._flagged is not None else int(
            np.count_nonzero(self._evidence >= self.threshold))
        total = self._evidence.size
        self.summary.setText(f"{n:,} of {total:,} files flagged ({100.0 * n / total:.1f} %): "
                             f"rarer than 1 in {self._one_in:,} normal loops of this library, "
                             "or an unmistakable defect")

    @Slot()
    def _emit(self) -> None:
        self.budgetChanged.emit(self.budget)

    @Slot(int)
    def _on_spin(self, value: int) -> None:
        self.set_one_in(value)

    @Slot(int)
    def _on_slider(self, value: int) -> None:
        self.set_one_in(slider_to_one_in(value))

    @Slot(object)
    def _on_line_moved(self, line) -> None:
        value = float(self.line.value())
        self.set_one_in(10.0 ** max(0.0, min(3.0, value)))
