"""Scatter map with 100,000 points: set_points and render time, against baselines.

    .venv/bin/python bench/bench_gui_scatter.py [--points 100000] [--repeat 3]

Runs offscreen unless ``--xcb`` (then the X display in $DISPLAY). Measured on the real
:class:`ScatterMapView` (dark theme, 800 x 600):

- **set_points**: the call that replaces every point (colour grouping, flag rings, labels).
- **first render**: ``widget.grab()`` right after set_points: a full paint into a pixmap,
  including pyqtgraph's first pass over the new data.
- **repaint**: a second grab with nothing changed (what panning/hover redraws cost).
- **hover pick**: the nearest-point search run on every mouse move (among every point).
- **zoom**: a range 4x narrower, drawn again (decimated maps pick the visible cells again) and
  rendered; and how many points are drawn, whole and zoomed.

Baselines in the same run: the same view with 10,000 points, and the straightforward pyqtgraph
way: one ``ScatterPlotItem`` given a per-point brush list for the same 100,000 points.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_points(n: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (12, 2))
    xy = centres[rng.integers(0, 12, n)] + rng.normal(0, 1, (n, 2))
    scores = rng.gamma(2.0, 1.0, n)
    threshold = float(np.percentile(scores, 95))
    return xy, scores, scores > threshold, np.arange(1, n + 1), threshold


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def bench_view(app, view, n: int, repeat: int) -> dict[str, float]:
    from PySide6.QtCore import QPointF

    set_t, first_t, again_t, pick_t, zoom_t = [], [], [], [], []
    drawn = zoom_drawn = 0
    for i in range(repeat):
        xy, scores, flagged, ids, thr = make_points(n, seed=i)
        view.clear()
        app.processEvents()
        set_t.append(timed(lambda: view.set_points(xy, scores, flagged, ids, thr,
                                                   explained_variance=(0.4, 0.2), title="bench")))
        first_t.append(timed(view.grab))
        again_t.append(timed(view.grab))
        centre = QPointF(float(xy[0, 0]), float(xy[0, 1]))
        pick_t.append(timed(lambda: [view.pick(centre) for _ in range(20)]) / 20)
        assert view.point_count() == n
        drawn = view.drawn_count()
        # zoom into a quarter of the width: the decimated map draws that range again
        (x0, x1), (y0, y1) = view.plot.getViewBox().viewRange()
        cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 8, (y1 - y0) / 8

        def zoom() -> None:
            view.plot.setRange(xRange=(cx - w, cx + w), yRange=(cy - h, cy + h), padding=0)
            view._redraw.stop()  # noqa: SLF001 - what its timer runs, timed here
            view._draw_points()  # noqa: SLF001
            view.grab()

        zoom_t.append(timed(zoom))
        zoom_drawn = view.drawn_count()
    out = {k: statistics.median(v) for k, v in
           (("set", set_t), ("first", first_t), ("again", again_t), ("pick", pick_t),
            ("zoom", zoom_t))}
    return {**out, "drawn": drawn, "zoom_drawn": zoom_drawn}


def bench_naive(app, n: int, repeat: int) -> dict[str, float]:
    """One ScatterPlotItem with a brush per point (pyqtgraph's documented per-spot styling)."""
    import pyqtgraph as pg

    from anomalizer_desktop.gui import theme
    from anomalizer_desktop.gui.views.scatter import score_to_unit

    stops = theme.current().score_stops
    cmap = pg.ColorMap([p for p, _ in stops], [c for _, c in stops])
    plot = pg.PlotWidget()
    plot.resize(800, 600)
    plot.show()
    item = pg.ScatterPlotItem(size=6, pen=None, pxMode=True)
    plot.addItem(item)
    app.processEvents()
    set_t, first_t, again_t = [], [], []
    for i in range(repeat):
        xy, scores, _flagged, _ids, thr = make_points(n, seed=i)
        item.clear()
        app.processEvents()

        def set_data() -> None:
            colours = cmap.map(score_to_unit(scores, thr), mode="qcolor")
            brushes = [pg.mkBrush(c) for c in colours]
            item.setData(x=xy[:, 0], y=xy[:, 1], brush=brushes)
            plot.autoRange()

        set_t.append(timed(set_data))
        first_t.append(timed(plot.grab))
        again_t.append(timed(plot.grab))
    plot.close()
    return {"set": statistics.median(set_t), "first": statistics.median(first_t),
            "again": statistics.median(again_t)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--xcb", action="store_true", help="use the real X display in $DISPLAY")
    args = parser.parse_args()
    if not args.xcb:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"

    from PySide6.QtWidgets import QApplication

    from anomalizer_desktop.gui.theme import apply_theme
    from anomalizer_desktop.gui.views.scatter import CELL_PX, DECIMATE_OVER, ScatterMapView

    app = QApplication.instance() or QApplication([])
    apply_theme(app)
    view = ScatterMapView()
    view.resize(800, 600)
    view.show()
    app.processEvents()
    print(f"platform={QApplication.platformName()} size=800x600 repeat={args.repeat} (median shown)")

    small = bench_view(app, view, args.small, args.repeat)
    big = bench_view(app, view, args.points, args.repeat)
    view.close()
    naive = bench_naive(app, args.points, args.repeat)

    ms = 1000.0
    n, k = args.points, args.small
    print(f"{'':34s}{k:>10,} pts{n:>12,} pts{'  naive ' + f'{n:,}':>16s}")
    for key, label in (("set", "set_points"), ("first", "first render (grab)"),
                       ("again", "repaint (grab again)")):
        print(f"{label:34s}{small[key] * ms:10.1f} ms{big[key] * ms:10.1f} ms{naive[key] * ms:12.1f} ms")
    print(f"{'hover pick (nearest point)':34s}{small['pick'] * ms:10.2f} ms{big['pick'] * ms:10.2f} ms")
    print(f"{'zoom x4 -> redrawn + rendered':34s}{small['zoom'] * ms:10.1f} ms{big['zoom'] * ms:10.1f} ms")
    print(f"{'points drawn (whole map)':34s}{small['drawn']:10,d}   {big['drawn']:10,d}   "
          f"(decimated past {DECIMATE_OVER:,}: one per {CELL_PX:g}-px cell, the most unusual)")
    print(f"{'points drawn (zoomed x4)':34s}{small['zoom_drawn']:10,d}   {big['zoom_drawn']:10,d}")
    total_big = big["set"] + big["first"]
    total_small = small["set"] + small["first"]
    total_naive = naive["set"] + naive["first"]
    print(f"set_points + first render: {total_big * ms:.0f} ms for {n:,} points; "
          f"ratio vs {k:,} points {total_big / total_small:.1f}x (points x{n / k:.0f}); "
          f"ratio vs naive per-point brushes {total_big / total_naive:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
