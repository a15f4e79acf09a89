"""The "how unusual, where" strip under the waveform: the learned score over sliding windows.

Draws :attr:`LocalCurve.relative` (1 = typical for this take) per window centre, with the take's
most unusual window marked. The x axis is linked to the waveform, so zooming one zooms both;
clicking the strip seeks like clicking the waveform. ``set_message`` shows why there is no
curve (no model yet, localising…, an error) in place of the plot, so there are no empty axes.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .. import theme
from ..palettes import Palette
from .placeholder import PlotOrMessage
from .plot_style import style_plot
from .waveform import clicked_time, time_plot

STRIP_HEIGHT = 72
HINT = "Select a loop to see where it is unusual"


class LocalCurveView(QWidget):
    seekRequested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        p = theme.current()
        self.plot = time_plot()
        self.plot.getAxis("left").setTicks([[(1.0, "1×")]])
        self.plot.getAxis("bottom").setStyle(showValues=False)
        self.plot.setToolTip("How unusual each short window of this take is for the model, "
                             "relative to the take itself (1× = typical for this take)")
        self.curve = pg.PlotDataItem(pen=pg.mkPen(p.curve, width=2), fillLevel=1.0,
                                     brush=pg.mkBrush(*p.curve_fill))
        self.plot.addItem(self.curve)
        self.typical = pg.InfiniteLine(pos=1.0, angle=0, movable=False,
                                       pen=self._typical_pen(p))
        self.plot.addItem(self.typical)
        self.peak = pg.ScatterPlotItem(size=8, brush=pg.mkBrush(p.curve), pen=None)
        self.plot.addItem(self.peak)
        self.frame = PlotOrMessage(self.plot)
        self.frame.setFixedHeight(STRIP_HEIGHT)
        self.path: str | None = None
        self.curve_data: tuple[np.ndarray, np.ndarray] | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.frame)
        self.plot.scene().sigMouseClicked.connect(self._on_clicked)
        self.set_message(HINT)

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
        self.frame.show_plot()

    def set_message(self, text: str, path: str | None = None) -> None:
        """No curve; say why in place of the plot (empty text: just blank)."""
        self.path = path
        self.curve_data = None
        self.curve.setData([], [])
        self.peak.setData([], [])
        self.plot.setYRange(0.5, 1.5, padding=0)
        self.frame.show_message(text)

    @property
    def message(self) -> str:
        """The text shown instead of the plot ("" while the curve shows)."""
        return "" if self.frame.showing_plot else self.frame.placeholder.text()

    def apply_palette(self, p: Palette) -> None:
        style_plot(self.plot, p)
        self.curve.setPen(pg.mkPen(p.curve, width=2))
        self.curve.setBrush(pg.mkBrush(*p.curve_fill))
        self.peak.setBrush(pg.mkBrush(p.curve))
        self.typical.setPen(self._typical_pen(p))

    @staticmethod
    def _typical_pen(p: Palette):
        return pg.mkPen(p.plot_message, style=pg.QtCore.Qt.PenStyle.DashLine)

    @Slot(object)
    def _on_clicked(self, event) -> None:
        t = clicked_time(self.plot, event) if self.curve_data is not None else None
        if t is not None:
            event.accept()
            self.seekRequested.emit(t)
