"""2-D map of the library: colour = anomaly score, flagged points ringed, hover names, click selects;
the loops of a "more like this" list ringed in their own colour while the list shows.

The caption is one line that elides (its tooltip has the whole legend), with a key for the rings
and squares in their colours; before there is a map, a message stands in for the empty axes.

Fast with 100,000 points: points are split into a few colour groups, each one ScatterPlotItem fed
with plain arrays (no per-point brushes, no SpotItem objects). Hover and click picking is a
vectorised nearest-point search in pixel space done here, not pyqtgraph's per-spot machinery.
Past ``DECIMATE_OVER`` points (a million-loop catalogue) the map draws where points would
overlap one point per cell of half a point's size, the most unusual of the cell (so no
outlier disappears under the crowd), and draws again for the new range when zoomed or panned;
hover and click still pick among every point.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QTimer, Signal, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .. import theme
from ..elided_label import ElidedLabel
from ..palettes import Palette
from .placeholder import PlotOrMessage
from .plot_style import style_plot

N_COLOURS = 24
PICK_RADIUS_PX = 8.0
POINT_SIZE = 6
DECIMATE_OVER = 50_000  # more points than this: one drawn per cell where they would overlap
CELL_PX = POINT_SIZE / 2
REDRAW_MS = 60  # after a zoom or pan, the decimated map is drawn again this much later
# Colours (the theme's): unscored grey, flagged = the flag's red ring, the selected loop = the
# neutral "you are here" ring (the playhead's colour), "more like this" = squares of their own.
# Cool below the threshold, warm above it: the colour alone tells which side a point is on.
THRESHOLD_POS = 0.6  # where the threshold sits on the colour scale
LEGEND = ("colour = how unusual for this library (warm = rarer than the flag budget)\n"
          "small ring = flagged · large ring = the selected loop · squares = more like this")
SPACES = {"latent": "Model latent space", "embedding": "Raw embedding space"}


def score_to_unit(scores: np.ndarray, threshold: float | None) -> np.ndarray:
    """Map scores to [0, 1]: below the threshold -> [0, 0.6), above -> [0.6, 1]. NaN stays NaN."""
    s = np.asarray(scores, dtype=np.float64)
    finite = s[np.isfinite(s)]
    if finite.size == 0:
        return np.full(s.shape, np.nan)
    lo = float(np.percentile(finite, 1))
    hi = float(np.percentile(finite, 99.5))
    thr = float(threshold) if threshold is not None and np.isfinite(threshold) else float(np.median(finite))
    lo = min(lo, thr - 1e-12)
    hi = max(hi, thr + 1e-12)
    below = THRESHOLD_POS * (s - lo) / (thr - lo)
    above = THRESHOLD_POS + (1 - THRESHOLD_POS) * (s - thr) / (hi - thr)
    with np.errstate(invalid="ignore"):
        out = np.where(s <= thr, below, above)
    return np.clip(out, 0.0, 1.0)


class ScatterMapView(QWidget):
    """The library map. ``set_points`` draws; ``pointClicked(file_id)`` reports a click."""

    pointClicked = Signal(int)
    pointHovered = Signal(int)  # -1 when the cursor leaves all points
    spaceChanged = Signal(str)  # "latent" | "embedding"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        p = theme.current()
        self.plot = pg.PlotWidget()
        self.plot.setMenuEnabled(False)
        self.plot.showGrid(x=True, y=True, alpha=0.1)
        self.plot.setAspectLocked(False)
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
        self._groups: list[pg.ScatterPlotItem] = []
        for i in range(N_COLOURS + 1):
            item = pg.ScatterPlotItem(size=POINT_SIZE, pen=None, pxMode=True, useCache=True,
                                      hoverable=False)
            item.setZValue(i)  # higher scores drawn on top
            self.plot.addItem(item)
            self._groups.append(item)
        self.flag_item = pg.ScatterPlotItem(size=POINT_SIZE + 6, brush=None, pxMode=True,
                                            symbol="o")
        self.flag_item.setZValue(N_COLOURS + 2)
        self.select_item = pg.ScatterPlotItem(size=POINT_SIZE + 12, brush=None, pxMode=True,
                                              symbol="o")
        self.select_item.setZValue(N_COLOURS + 3)
        self.neighbour_item = pg.ScatterPlotItem(size=POINT_SIZE + 8, brush=None, pxMode=True,
                                                 symbol="s")
        self.neighbour_item.setZValue(N_COLOURS + 2.5)
        self.hover_label = pg.TextItem("", anchor=(0, 1))
        self.hover_label.setZValue(N_COLOURS + 4)
        self.hover_label.hide()
        for item in (self.flag_item, self.neighbour_item, self.select_item):
            self.plot.addItem(item)
        self.plot.addItem(self.hover_label, ignoreBounds=True)
        self.frame = PlotOrMessage(self.plot)

        self.space_box = QComboBox()
        for key, text in SPACES.items():
            self.space_box.addItem(text, key)
        self.space_box.setToolTip("Project the model's latent space or the raw encoder embeddings")
        self.space_box.currentIndexChanged.connect(self._on_space_changed)
        self.info = ElidedLabel("", min_width=60)
        self.flag_key = QLabel("")
        self.flag_key.setToolTip("Ringed: flagged (the table's flag)")
        theme.set_tone(self.flag_key, "flag")
        self.neighbour_key = QLabel("")
        theme.set_tone(self.neighbour_key, "neighbour")
        self.neighbour_key.hide()
        top = QHBoxLayout()
        top.setContentsMargins(4, 0, 4, 0)
        top.addWidget(self.info, 1)
        top.addWidget(self.flag_key)
        top.addWidget(self.neighbour_key)
        top.addWidget(self.space_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.frame, 1)
        self.apply_palette(p)

        self._xy = np.zeros((0, 2))
        self._ids = np.zeros(0, dtype=np.int64)
        self._group = np.zeros(0, dtype=np.int64)
        self._flagged = np.zeros(0, dtype=bool)
        self._drawn = 0
        self._n_flagged = 0
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(REDRAW_MS)
        self._redraw.timeout.connect(self._draw_points)
        self.plot.getViewBox().sigRangeChanged.connect(self._on_range_changed)
        self._scores = np.zeros(0)
        self._id_order = np.zeros(0, dtype=np.int64)  # argsort of _ids (file id -> point)
        self._name_of: Callable[[int], str] | None = None
        self._hovered = -1
        self._neighbours: list[int] = []
        self._neighbour_note = ""
        self._info_text = ""
        scene = self.plot.scene()
        scene.sigMouseMoved.connect(self._on_mouse_moved)
        scene.sigMouseClicked.connect(self._on_mouse_clicked)
        self.clear("No map yet: scan and train to see the library in 2-D")

    # --- public API -------------------------------------------------------------------------
    def set_points(
        self,
        xy: np.ndarray,
        scores: np.ndarray,
        flagged: np.ndarray,
        ids: np.ndarray,
        threshold: float | None,
        explained_variance: tuple[float, ...] | None = None,
        title: str = "",
        name_of: Callable[[int], str] | None = None,
    ) -> None:
        """Draw N points. ``scores`` may hold NaN (unscored, grey); ``ids`` are file ids."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        n = xy.shape[0]
        scores = np.asarray(scores, dtype=np.float64).reshape(n)
        flagged = np.asarray(flagged, dtype=bool).reshape(n)
        self._xy, self._scores = xy, scores
        self._ids = np.asarray(ids, dtype=np.int64).reshape(n)
        self._id_order = np.argsort(self._ids, kind="stable")
        self._name_of = name_of
        unit = score_to_unit(scores, threshold)
        self._group = np.where(np.isfinite(unit), 1 + np.rint(unit * (N_COLOURS - 1)),
                               0).astype(np.int64)
        self._flagged = flagged
        self._redraw.stop()
        self._draw_points(full=True)
        self.select_item.setData(x=[], y=[])
        self.hover_label.hide()
        self._hovered = -1
        labels = ("component 1", "component 2")
        if explained_variance is not None and len(explained_variance) >= 2:
            labels = tuple(f"PC{i + 1} ({100 * v:.1f} % of variance)"
                           for i, v in enumerate(explained_variance[:2]))
        self.plot.setLabel("bottom", labels[0])
        self.plot.setLabel("left", labels[1])
        n_flagged = self._n_flagged = int(flagged.sum())
        # the space chooser names the space; say it here only when the map fell back to another
        other = title and not title.startswith(SPACES.get(self.space, ""))
        self._info_text = (f"{title.split(' (')[0]} · " if other else "") + (
            f"{n:,} files · colour = how unusual")
        self._tooltip = f"{title + ': ' if title else ''}{n:,} files\n{LEGEND}"
        self.info.setToolTip(self._tooltip)
        self.flag_key.setText(f"◯ {n_flagged:,} flagged" if n else "")
        self.flag_key.setVisible(n > 0)
        if n:
            self.frame.show_plot()
        self._draw_neighbours()
        if not self.decimated:
            self.plot.enableAutoRange()
            if n:
                self.plot.autoRange()
        else:  # the drawn points are the visible ones: the range comes from all of them
            self.plot.disableAutoRange()
            finite = xy[np.isfinite(xy).all(axis=1)]
            if finite.size:
                (x0, y0), (x1, y1) = finite.min(axis=0), finite.max(axis=0)
                self.plot.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0.02)
            self._draw_points()
            self._redraw.stop()  # drawn for this range already

    @property
    def decimated(self) -> bool:
        """Whether the map draws one point per cell (more than ``DECIMATE_OVER`` points)."""
        return self._xy.shape[0] > DECIMATE_OVER

    def drawn_count(self) -> int:
        """Points drawn now (fewer than :meth:`point_count` when decimated)."""
        return self._drawn

    def _draw_points(self, full: bool = False) -> None:
        """Feed the colour groups and the flag rings: every point, or when decimated one per
        cell of the visible range (the most unusual; flagged rings likewise)."""
        xy, group, flagged = self._xy, self._group, self._flagged
        if self.decimated and not full:
            keep = self._visible_cells(group)
            rings = keep[flagged[keep]] if keep.size else keep
        elif self.decimated:  # the range is not set yet: nothing drawn until it is
            keep = rings = np.zeros(0, dtype=np.int64)
        else:
            keep, rings = np.arange(xy.shape[0]), np.flatnonzero(flagged)
        order = keep[np.argsort(group[keep], kind="stable")]
        bounds = np.searchsorted(group[order], np.arange(len(self._groups) + 1))
        for g, item in enumerate(self._groups):
            members = order[bounds[g]:bounds[g + 1]]
            item.setData(x=xy[members, 0], y=xy[members, 1])
        self.flag_item.setData(x=xy[rings, 0], y=xy[rings, 1])
        self._drawn = int(keep.size)
        if self.decimated and hasattr(self, "_tooltip"):
            self.info.setToolTip(f"{self._tooltip}\n{self._drawn:,} of {xy.shape[0]:,} points "
                                 "drawn: one per spot where they would overlap (the most "
                                 "unusual); zoom in to see more")

    def _visible_cells(self, group: np.ndarray) -> np.ndarray:
        """Indices of the points to draw: in view, the highest colour group of each cell."""
        vb = self.plot.getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        width, height = max(vb.width(), 100.0), max(vb.height(), 100.0)
        xy = self._xy
        inside = np.flatnonzero((xy[:, 0] >= x0) & (xy[:, 0] <= x1)
                                & (xy[:, 1] >= y0) & (xy[:, 1] <= y1))
        if inside.size == 0:
            return inside
        nx = max(1, int(width / CELL_PX))
        ny = max(1, int(height / CELL_PX))
        cx = np.clip(((xy[inside, 0] - x0) / max(x1 - x0, 1e-300) * nx).astype(np.int64), 0, nx - 1)
        cy = np.clip(((xy[inside, 1] - y0) / max(y1 - y0, 1e-300) * ny).astype(np.int64), 0, ny - 1)
        cell = cx * ny + cy
        order = np.lexsort((-group[inside], cell))  # by cell, most unusual first within it
        first = np.ones(order.size, dtype=bool)
        first[1:] = cell[order][1:] != cell[order][:-1]
        return inside[order[first]]

    @Slot()
    def _on_range_changed(self, *_args) -> None:
        if self.decimated:
            self._redraw.start()

    def clear(self, message: str = "") -> None:
        """No map: ``message`` in place of the plot."""
        self.set_points(np.zeros((0, 2)), np.zeros(0), np.zeros(0, bool), np.zeros(0), None)
        self._info_text = ""
        self.info.setText("")
        self.info.setToolTip("")
        self.info.hide()
        self.frame.show_message(message)

    @property
    def message(self) -> str:
        """The text shown instead of the map ("" while the map shows)."""
        return "" if self.frame.showing_plot else self.frame.placeholder.text()

    def caption(self) -> str:
        """The caption and its keys as one line of text."""
        parts = [self.info.text()] + [k.text() for k in (self.flag_key, self.neighbour_key)
                                      if not k.isHidden()]
        return " · ".join(x for x in parts if x)

    def apply_palette(self, p: Palette) -> None:
        self._palette = p
        style_plot(self.plot, p)
        cmap = pg.ColorMap([x for x, _ in p.score_stops], [c for _, c in p.score_stops])
        colours = [pg.mkColor(p.muted)] + [cmap.map(i / (N_COLOURS - 1), mode="qcolor")
                                           for i in range(N_COLOURS)]
        for item, colour in zip(self._groups, colours):
            item.setBrush(pg.mkBrush(colour))
        self.flag_item.setPen(pg.mkPen(p.flag, width=1.5))
        self.select_item.setPen(pg.mkPen(p.playhead, width=2.5))
        self.neighbour_item.setPen(pg.mkPen(p.neighbour, width=2.0))
        self.hover_label.setColor(p.hover_text)
        self.hover_label.fill = pg.mkBrush(*p.hover_fill)
        self.hover_label.update()

    def set_neighbours(self, file_ids: Sequence[int], note: str = "") -> None:
        """Ring these files (a "more like this" list; empty clears), kept across redraws.
        ``note`` names the list in the caption ("more like Bass_01.wav")."""
        self._neighbours = [int(f) for f in file_ids]
        self._neighbour_note = note if self._neighbours else ""
        self._draw_neighbours()

    def neighbour_ids(self) -> list[int]:
        """The ringed neighbours that are on the map, in the order given."""
        return [f for f in self._neighbours if self._point_of(f) is not None]

    def _draw_neighbours(self) -> None:
        rows = [i for i in map(self._point_of, self._neighbours) if i is not None]
        self.neighbour_item.setData(x=self._xy[rows, 0] if rows else [],
                                    y=self._xy[rows, 1] if rows else [])
        shown = bool(rows and self._neighbour_note)
        self.neighbour_key.setText(f"▢ {len(rows)} similar" if shown else "")
        self.neighbour_key.setToolTip(f"Squares: {self._neighbour_note}" if shown else "")
        self.neighbour_key.setVisible(shown)
        self.info.setText(self._info_text)
        self.info.setVisible(bool(self._info_text))

    def set_space(self, key: str) -> None:
        """Show which space is projected (does not emit spaceChanged)."""
        i = self.space_box.findData(key)
        if i >= 0:
            self.space_box.blockSignals(True)
            self.space_box.setCurrentIndex(i)
            self.space_box.blockSignals(False)

    @property
    def space(self) -> str:
        return str(self.space_box.currentData())

    def select(self, file_id: int | None) -> None:
        """Ring the point of ``file_id`` (None or unknown clears the ring)."""
        i = self._point_of(file_id) if file_id is not None else None
        if i is None:
            self.select_item.setData(x=[], y=[])
        else:
            self.select_item.setData(x=[self._xy[i, 0]], y=[self._xy[i, 1]])

    def _point_of(self, file_id: int) -> int | None:
        """The index of ``file_id``'s point (None: not on the map)."""
        ids, order = self._ids, self._id_order
        k = int(np.searchsorted(ids, int(file_id), sorter=order)) if ids.size else 0
        return int(order[k]) if k < ids.size and ids[order[k]] == int(file_id) else None

    def flagged_count(self) -> int:
        """Ringed (flagged) points: the table's flag."""
        return self._n_flagged

    def point_count(self) -> int:
        """Points on the map (drawn or not: see :meth:`drawn_count`)."""
        return int(self._xy.shape[0])

    def position_of(self, file_id: int) -> tuple[float, float] | None:
        i = self._point_of(file_id)
        return None if i is None else (float(self._xy[i, 0]), float(self._xy[i, 1]))

    def pick(self, view_pos: QPointF, radius_px: float = PICK_RADIUS_PX) -> int | None:
        """Index of the point nearest to ``view_pos`` within ``radius_px`` pixels (ties: highest score)."""
        if self._xy.shape[0] == 0:
            return None
        px_w, px_h = self.plot.getViewBox().viewPixelSize()
        if not px_w or not px_h:
            return None
        dx = (self._xy[:, 0] - view_pos.x()) / px_w
        dy = (self._xy[:, 1] - view_pos.y()) / px_h
        d2 = dx * dx + dy * dy
        i = int(np.argmin(d2))
        if d2[i] > radius_px * radius_px:
            return None
        close = np.flatnonzero(d2 <= max(d2[i], 4.0))
        if close.size > 1:
            s = np.nan_to_num(self._scores[close], nan=-np.inf)
            i = int(close[np.argmax(s)])
        return i

    # --- mouse ------------------------------------------------------------------------------
    def _scene_to_view(self, scene_pos: QPointF) -> QPointF | None:
        vb = self.plot.getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        return vb.mapSceneToView(scene_pos)

    @Slot(object)
    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        pos = self._scene_to_view(scene_pos)
        i = self.pick(pos) if pos is not None else None
        i = -1 if i is None else i
        if i == self._hovered:
            return
        self._hovered = i
        if i < 0:
            self.hover_label.hide()
            self.pointHovered.emit(-1)
            return
        fid = int(self._ids[i])
        self.hover_label.setText(self.describe(i))
        self.hover_label.setPos(self._xy[i, 0], self._xy[i, 1])
        self.hover_label.show()
        self.pointHovered.emit(fid)

    def describe(self, i: int) -> str:
        fid = int(self._ids[i])
        name = self._name_of(fid) if self._name_of else f"file {fid}"
        score = self._scores[i]
        return f"{name}\nscore {score:.4g}" if np.isfinite(score) else f"{name}\nnot scored"

    @Slot(object)
    def _on_mouse_clicked(self, event) -> None:
        if event.button() != pg.QtCore.Qt.MouseButton.LeftButton:
            return
        pos = self._scene_to_view(event.scenePos())
        i = self.pick(pos) if pos is not None else None
        if i is None:
            return
        event.accept()
        fid = int(self._ids[i])
        self.select(fid)
        self.pointClicked.emit(fid)

    @Slot(int)
    def _on_space_changed(self, _index: int) -> None:
        self.spaceChanged.emit(self.space)


def group_sizes(view: ScatterMapView) -> Sequence[int]:
    """Points per colour group (unscored first); for tests and diagnostics."""
    return [len(item.data) for item in view._groups]  # noqa: SLF001
