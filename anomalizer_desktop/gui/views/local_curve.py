"""The "how unusual, where" strip under the waveform: the learned score over sliding windows.

Draws :attr:`LocalCurve.relative` (1 = typical for this take) per window centre, with the take's
most unusual window marked. The x axis is linked to the waveform, so zooming one zooms both;
clicking the strip seeks like clicking the waveform. ``set_message`` shows why there is no
curve (no model yet, localising…, an error).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .waveform import clicked_time, time_plot

STRIP_HEIGHT = 72


class LocalCurveView(QWidget):
    seekRequested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = time_plot()
        self.plot.getAxis("left").setTicks([[(1.0, "1×")]])
        self.plot.getAxis("bottom").setStyle(showValues=False)
        self.plot.setFixedHeight(STRIP_HEIGHT)
        self.plot.setToolTip("How unusual each short window of this take is for the model, "
                             "relative to the take itself (1× = typical for this take)")
        self.curve = pg.PlotDataItem(pen=pg.mkPen("#ff8a65", width=2), fillLevel=1.0,
                                     brush=pg.mkBrush(255, 138, 101, 60))
        self.plot.addItem(self.curve)
        self.typical = pg.InfiniteLine(pos=1.0, angle=0, movable=False,
                                       pen=pg.mkPen("#9aa4ad", style=pg.QtCore.Qt.PenStyle.DashLine))
        self.plot.addItem(self.typical)
        self.peak = pg.ScatterPlotItem(size=8, brush=pg.mkBrush("#ff8a65"), pen=None)
        self.plot.addItem(self.peak)
        self.message = pg.TextItem("", color="#9aa4ad", anchor=(0.5, 0.5))
        self.plot.addItem(self.message, ignoreBounds=True)
        self.path: str | None = None
        self.curve_data: tuple[np.ndarray, np.ndarray] | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        self.plot.scene().sigMouseClicked.connect(self._on_clicked)
        self.set_message("")

    def link_x(self, plot: pg.PlotWidget) -> None:
        """Share the x range with ``plot`` (the waveform)."""
        self.plot.setXLink(plot)

    def set_curve(self, path: str, times_s: np.ndarray, relative: np.ndarray,
                  peak_s: float | None) -> None:
        self.path = path
        x, y = np.asarray(times_s, float), np.asarray(relative, float)
        self.curve_data = (x, y)
        finite = np.isfinite(y)
        self.curve.setData(x[finite], y[finite])
        top = float(np.nanmax(y)) if finite.any() else 1.0
        self.plot.setYRange(min(0.5, float(np.nanmin(y)) if finite.any() else 0.5),
                            max(1.5, top * 1.05), padding=0)
        if peak_s is not None and finite.any():
            self.peak.setData([peak_s], [top])
            self.plot.setToolTip(f"Most unusual around {peak_s:.2f} s ({top:.2f}× this take's "
                                 "typical window); 1× = typical for this take. Windows are a "
                                 "quarter of the take (0.5-2 s).")
        else:
            self.peak.setData([], [])
        self.message.setText("")

    def set_message(self, text: str, path: str | None = None) -> None:
        """No curve; say why (empty text: just blank)."""
        self.path = path
        self.curve_data = None
        self.curve.setData([], [])
        self.peak.setData([], [])
        self.plot.setYRange(0.5, 1.5, padding=0)
        self.message.setText(text)
        (x0, x1), _ = self.plot.getViewBox().viewRange()
        self.message.setPos((x0 + x1) / 2.0, 1.0)

    @Slot(object)
    def _on_clicked(self, event) -> None:
        t = clicked_time(self.plot, event) if self.curve_data is not None else None
        if t is not None:
            event.accept()
            self.seekRequested.emit(t)
