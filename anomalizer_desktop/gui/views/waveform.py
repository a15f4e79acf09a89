"""Waveform of the selected loop: peak envelope, playhead, click to seek, finding regions.

Before there is audio the view shows a short message, not empty axes. Finding labels sit in
rows along the top (:mod:`.region_labels`), laid out again for every zoom so they never overlap.
The playhead is the theme's neutral colour with a marker on top, unlike any finding's colour.

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
from PySide6.QtGui import QColor, QFontMetricsF
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .. import theme
from ..palettes import Palette
from .placeholder import PlotOrMessage
from .plot_style import style_plot
from .region_labels import lay_out, rows_for_height

BLOCK = 256
PLAYHEAD_INTERVAL_MS = 30
LABEL_MARGIN_PX = 1  # around a label's text
Y_TOP = 1.05  # the waveform's y range is [-Y_TOP, Y_TOP]

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
        p = theme.current()
        self.plot = time_plot()
        self.plot.setYRange(-Y_TOP, Y_TOP, padding=0)
        self.plot.setLabel("bottom", "time", units="s")
        self.plot.showGrid(x=True, y=False, alpha=0.15)
        self.curve = pg.PlotDataItem(pen=pg.mkPen(p.accent, width=1))
        self.curve.setClipToView(False)  # we clip ourselves
        self.plot.addItem(self.curve)
        self.playhead = pg.InfiniteLine(pos=0.0, angle=90, movable=False,
                                        pen=pg.mkPen(p.playhead, width=2))
        self.playhead.addMarker("v", position=1.0, size=11)
        self.playhead.setZValue(10)
        self.playhead.hide()
        self.plot.addItem(self.playhead)
        self.frame = PlotOrMessage(self.plot)
        self._regions: list[Region] = []
        self._region_items: list[pg.GraphicsObject] = []
        self._labels: list[pg.TextItem] = []  # reused between layouts
        self._env: PeakEnvelope | None = None
        self._player = None
        self._palette = p

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.frame)

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
        self.frame.show_plot()
        self.set_regions([])
        duration = max(self._env.duration_s, 1e-3)
        vb = self.plot.getViewBox()
        vb.setLimits(xMin=0.0, xMax=duration, minXRange=min(duration, 0.002))
        self.plot.setXRange(0.0, duration, padding=0)
        self.playhead.setValue(0.0)
        self.playhead.show()
        self.redraw()

    def clear(self, message: str = "") -> None:
        """No audio: the plot makes way for ``message``."""
        self._env = None
        self.curve.setData([], [])
        self.set_regions([])
        self.playhead.hide()
        self.plot.getViewBox().setLimits(xMin=None, xMax=None, minXRange=None)
        self.plot.setXRange(0.0, 1.0, padding=0)
        self.frame.show_message(message)

    @property
    def message(self) -> str:
        """The text shown instead of the plot ("" while the plot shows)."""
        return "" if self.frame.showing_plot else self.frame.placeholder.text()

    @property
    def duration_s(self) -> float:
        return self._env.duration_s if self._env else 0.0

    def set_regions(self, regions: Sequence[Region]) -> None:
        """Shade time ranges (e.g. signal-check findings); labelled ones get a label on top."""
        for item in self._region_items:
            self.plot.removeItem(item)
        self._region_items = []
        self._regions = list(regions)
        for r in self._regions:
            start_s, end_s, colour = r[0], r[1], r[2]
            c = QColor(colour)
            fill = QColor(c)
            fill.setAlpha(60)
            region = pg.LinearRegionItem(values=(start_s, max(end_s, start_s + 1e-3)),
                                         movable=False, brush=fill, pen=pg.mkPen(c))
            region.setZValue(-5)
            region.setToolTip(_tip(r))
            self.plot.addItem(region)
            self._region_items.append(region)
        self.layout_labels()

    def shown_labels(self) -> list[tuple[str, float, float]]:
        """(text, x seconds, y) of the labels on show, for tests and diagnostics."""
        return [(t.toPlainText(), t.pos().x(), t.pos().y()) for t in self._labels if t.isVisible()]

    def label_rects(self) -> list[tuple[float, float, float, float]]:
        """Scene rectangles (x, y, w, h) of the labels on show."""
        return [t.sceneBoundingRect().getRect() for t in self._labels if t.isVisible()]

    def apply_palette(self, p: Palette) -> None:
        """Re-colour for a theme (the owner re-sends regions: their colours are per kind)."""
        self._palette = p
        style_plot(self.plot, p)
        self.curve.setPen(pg.mkPen(p.accent, width=1))
        self.playhead.setPen(pg.mkPen(p.playhead, width=2))
        for text in self._labels:
            text.fill = pg.mkBrush(_label_fill(p))
            text.update()

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
        self.layout_labels()

    def layout_labels(self) -> None:
        """Place the labels of the regions in view in rows along the top (see
        :mod:`.region_labels`)."""
        vb = self.plot.getViewBox()
        (t0, t1), _ = vb.viewRange()
        view_w, view_h = float(vb.width()), float(vb.height())
        labelled = [r for r in self._regions if r[3] and r[1] >= t0 and r[0] <= t1]
        placed = []
        if labelled and view_w > 0 and t1 > t0:
            metrics = QFontMetricsF(self.plot.font())
            pad = 2 * LABEL_MARGIN_PX + 2

            def width_of(text: str) -> float:
                return metrics.horizontalAdvance(text) + pad

            line_h = metrics.height() + pad
            px_per_s = view_w / (t1 - t0)
            starts = [(max(r[0], t0) - t0) * px_per_s for r in labelled]
            placed = lay_out(starts, [r[3] for r in labelled], width_of, view_w,
                             rows_for_height(view_h, line_h))
        while len(self._labels) < len(placed):
            self._labels.append(self._new_label())
        s_per_px = (t1 - t0) / view_w if view_w > 0 else 0.0
        y_per_px = 2 * Y_TOP / view_h if view_h > 0 else 0.0
        for item, label in zip(self._labels, placed):
            first = labelled[label.members[0]]
            item.setText(label.text, color=QColor(first[2]))
            item.setPos(t0 + label.x_px * s_per_px, Y_TOP - label.row * line_h * y_per_px)
            tips = [_tip(labelled[i]) for i in label.members]
            item.setToolTip("\n".join(tips))
            item.show()
        for item in self._labels[len(placed):]:
            item.hide()

    def _new_label(self) -> pg.TextItem:
        item = pg.TextItem("", anchor=(0, 0), fill=pg.mkBrush(_label_fill(self._palette)))
        item.textItem.document().setDocumentMargin(LABEL_MARGIN_PX)
        item.setZValue(5)  # under the playhead
        self.plot.addItem(item, ignoreBounds=True)
        return item

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


def _label_fill(p: Palette) -> QColor:
    c = QColor(p.plot_bg)
    c.setAlpha(200)
    return c


def _tip(region: Region) -> str:
    start_s, end_s, _colour, label, *rest = region
    return rest[0] if rest else f"{label}: {start_s:.3f}-{end_s:.3f} s"
