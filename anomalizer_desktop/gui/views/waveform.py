"""Waveform of the selected loop: peak envelope, playhead, click to seek, finding regions.

The curve is a min/max (peak) envelope computed for the visible time range at about one bin per
pixel, so a 20-minute file draws as fast as a 2-second one and clicks stay visible at any zoom.
A coarse min/max level (one value pair per ``BLOCK`` frames) is precomputed when audio is set;
finer views read the samples directly. The playhead is *pulled* from the player by a ~30 ms timer.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer, Signal, Slot
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

BLOCK = 256
LABEL_STEP = 0.16  # vertical offset between successive region labels (waveform units)
PLAYHEAD_INTERVAL_MS = 30

# (start_s, end_s, colour, label[, tooltip]); an empty label draws no text
Region = tuple


class PeakEnvelope:
    """Min/max envelope of (frames,) or (frames, channels) audio for any time range."""

    def __init__(self, samples: np.ndarray, sample_rate: int, block: int = BLOCK) -> None:
        x = np.asarray(samples, dtype=np.float32)
        if x.ndim == 1:
            x = x[:, None]
        self.samples = x
        self.sample_rate = int(sample_rate)
        self.block = int(block)
        frames = x.shape[0]
        self.frames = frames
        if frames:
            starts = np.arange(0, frames, self.block)
            self._lo = np.minimum.reduceat(x.min(axis=1), starts)
            self._hi = np.maximum.reduceat(x.max(axis=1), starts)
        else:
            self._lo = self._hi = np.zeros(0, np.float32)

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    def envelope(self, t0: float, t1: float, n_bins: int) -> tuple[np.ndarray, np.ndarray]:
        """(x seconds, y) of the curve for [t0, t1] clipped to the audio, ~``n_bins`` columns.

        Each bin gives two points (min then max) at the bin's centre; a range with fewer frames
        than two per bin gives the samples themselves (channel mean).
        """
        n_bins = max(1, int(n_bins))
        sr = self.sample_rate
        i0 = int(np.clip(np.floor(t0 * sr), 0, self.frames))
        i1 = int(np.clip(np.ceil(t1 * sr) + 1, 0, self.frames))
        n = i1 - i0
        if n <= 0:
            return np.zeros(0), np.zeros(0)
        if n <= 2 * n_bins:
            y = self.samples[i0:i1].mean(axis=1)
            return (np.arange(i0, i1) / sr), y.astype(np.float32)
        if n / n_bins >= self.block:
            b0, b1 = i0 // self.block, -(-i1 // self.block)
            lo_src, hi_src, unit, first = self._lo[b0:b1], self._hi[b0:b1], self.block, b0 * self.block
        else:
            seg = self.samples[i0:i1]
            lo_src, hi_src, unit, first = seg.min(axis=1), seg.max(axis=1), 1, i0
        m = lo_src.shape[0]
        edges = np.unique(np.linspace(0, m, min(n_bins, m) + 1).astype(np.int64))[:-1]
        lo = np.minimum.reduceat(lo_src, edges)
        hi = np.maximum.reduceat(hi_src, edges)
        widths = np.diff(np.append(edges, m))
        centres = (first + (edges + widths / 2.0) * unit) / sr
        return np.repeat(centres, 2), np.column_stack([lo, hi]).ravel()


def time_plot() -> pg.PlotWidget:
    """A plot over time in seconds as the audio views share it: no context menu or auto-range
    button, horizontal zoom/pan only, a fixed-width left axis so stacked plots line up."""
    plot = pg.PlotWidget()
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setMouseEnabled(x=True, y=False)
    plot.getAxis("left").setWidth(36)
    return plot


def clicked_time(plot: pg.PlotWidget, event) -> float | None:
    """Seconds under a left click inside ``plot``'s view box (None for anything else)."""
    if event.button() != pg.QtCore.Qt.MouseButton.LeftButton:
        return None
    vb = plot.getViewBox()
    if not vb.sceneBoundingRect().contains(event.scenePos()):
        return None
    return max(0.0, float(vb.mapSceneToView(event.scenePos()).x()))


class WaveformView(QWidget):
    """pyqtgraph waveform with a playhead that follows the player; clicking asks to seek."""

    seekRequested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = time_plot()
        self.plot.setYRange(-1.05, 1.05, padding=0)
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.showGrid(x=True, y=False, alpha=0.15)
        self.curve = pg.PlotDataItem(pen=pg.mkPen("#4fc3f7", width=1))
        self.curve.setClipToView(False)  # we clip ourselves
        self.plot.addItem(self.curve)
        self.playhead = pg.InfiniteLine(pos=0.0, angle=90, movable=False,
                                        pen=pg.mkPen("#ffd54f", width=2))
        self.playhead.setZValue(10)
        self.playhead.hide()
        self.plot.addItem(self.playhead)
        self.message = pg.TextItem("", color="#9aa4ad", anchor=(0.5, 0.5))
        self.plot.addItem(self.message, ignoreBounds=True)
        self._region_items: list[pg.GraphicsObject] = []
        self._env: PeakEnvelope | None = None
        self._player = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(0)
        self._redraw_timer.timeout.connect(self.redraw)
        self.plot.getViewBox().sigXRangeChanged.connect(self._schedule_redraw)
        self.plot.getViewBox().sigResized.connect(self._schedule_redraw)
        self.plot.scene().sigMouseClicked.connect(self._on_scene_clicked)

        self.playhead_timer = QTimer(self)
        self.playhead_timer.setInterval(PLAYHEAD_INTERVAL_MS)
        self.playhead_timer.timeout.connect(self.update_playhead)
        self.clear("Select a loop to see its waveform")

    # --- public API -------------------------------------------------------------------------
    def set_player(self, player) -> None:
        """Follow ``player.position_s`` (pull); None stops following."""
        self._player = player
        if player is None:
            self.playhead_timer.stop()
        else:
            self.playhead_timer.start()

    def set_audio(self, samples: np.ndarray, sample_rate: int) -> None:
        """Show new audio over its whole length; clears regions."""
        self._env = PeakEnvelope(samples, sample_rate)
        self.set_regions([])
        self.message.setText("")
        duration = max(self._env.duration_s, 1e-3)
        vb = self.plot.getViewBox()
        vb.setLimits(xMin=0.0, xMax=duration, minXRange=min(duration, 0.002))
        self.plot.setXRange(0.0, duration, padding=0)
        self.playhead.setValue(0.0)
        self.playhead.show()
        self.redraw()

    def clear(self, message: str = "") -> None:
        self._env = None
        self.curve.setData([], [])
        self.set_regions([])
        self.playhead.hide()
        self.plot.getViewBox().setLimits(xMin=None, xMax=None, minXRange=None)
        self.plot.setXRange(0.0, 1.0, padding=0)
        self.message.setText(message)
        self.message.setPos(0.5, 0.0)

    @property
    def duration_s(self) -> float:
        return self._env.duration_s if self._env else 0.0

    def set_regions(self, regions: Sequence[Region]) -> None:
        """Shade time ranges (e.g. signal-check findings) with a label at the top."""
        for item in self._region_items:
            self.plot.removeItem(item)
        self._region_items = []
        n_labels = 0
        for start_s, end_s, colour, label, *rest in regions:
            c = QColor(colour)
            fill = QColor(c)
            fill.setAlpha(60)
            region = pg.LinearRegionItem(values=(start_s, max(end_s, start_s + 1e-3)),
                                         movable=False, brush=fill, pen=pg.mkPen(c))
            region.setZValue(-5)
            region.setToolTip(rest[0] if rest else f"{label}: {start_s:.3f}-{end_s:.3f} s")
            self.plot.addItem(region)
            self._region_items.append(region)
            if label:  # successive labels step down so overlapping regions stay readable
                text = pg.TextItem(label, color=c, anchor=(0, 0))
                text.setPos(start_s, 1.0 - LABEL_STEP * (n_labels % 3))
                n_labels += 1
                self.plot.addItem(text, ignoreBounds=True)
                self._region_items.append(text)

    def ensure_visible(self, start_s: float, end_s: float) -> None:
        """Scroll (keeping the zoom) so that [start_s, end_s] is in view."""
        if self._env is None:
            return
        (t0, t1), _ = self.plot.getViewBox().viewRange()
        if start_s >= t0 and end_s <= t1:
            return
        width = t1 - t0
        left = min(max(0.0, (start_s + end_s) / 2.0 - width / 2.0),
                   max(0.0, self._env.duration_s - width))
        self.plot.setXRange(left, left + width, padding=0)

    def curve_data(self) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.curve.getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (x, y)

    # --- internals --------------------------------------------------------------------------
    @Slot()
    def _schedule_redraw(self, *args) -> None:
        self._redraw_timer.start()

    @Slot()
    def redraw(self) -> None:
        if self._env is None:
            return
        vb = self.plot.getViewBox()
        (t0, t1), _ = vb.viewRange()
        width_px = max(64, int(vb.width()) or 64)
        x, y = self._env.envelope(t0, t1, width_px)
        self.curve.setData(x, y)

    @Slot()
    def update_playhead(self) -> None:
        player = self._player
        if player is None or self._env is None:
            return
        pos = float(player.position_s)
        if pos != self.playhead.value():
            self.playhead.setValue(pos)

    @Slot(object)
    def _on_scene_clicked(self, event) -> None:
        t = clicked_time(self.plot, event) if self._env is not None else None
        if t is None:
            return
        t = min(t, self._env.duration_s)
        self.playhead.setValue(t)
        event.accept()
        self.seekRequested.emit(t)
