"""Scatter map: colour groups, flag ring, hover label, click -> pointClicked(file_id), 100k points."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from anomalizer_desktop.gui.views.scatter import (
    THRESHOLD_POS,
    ScatterMapView,
    group_sizes,
    score_to_unit,
)


def sample(n: int = 50, seed: int = 0):
    rng = np.random.default_rng(seed)
    xy = rng.normal(size=(n, 2))
    scores = rng.gamma(2.0, 1.0, n)
    scores[3] = np.nan  # not scored yet
    threshold = float(np.nanpercentile(scores, 90))
    flagged = np.nan_to_num(scores, nan=-1) > threshold
    ids = np.arange(1000, 1000 + n)
    return xy, scores, flagged, ids, threshold


def make_view(qtbot, n: int = 50):
    view = ScatterMapView()
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()
    qtbot.waitExposed(view)
    xy, scores, flagged, ids, thr = sample(n)
    view.set_points(xy, scores, flagged, ids, thr, explained_variance=(0.42, 0.13),
                    title="Deep SVDD latent space", name_of=lambda fid: f"loop_{fid}.wav")
    return view, (xy, scores, flagged, ids, thr)


def test_score_to_unit_puts_threshold_at_the_colour_break():
    s = np.array([0.0, 1.0, 2.0, 3.0, 10.0, np.nan])
    u = score_to_unit(s, threshold=2.0)
    assert u[2] == pytest.approx(THRESHOLD_POS)
    assert np.all(u[:2] < THRESHOLD_POS) and np.all(u[3:5] > THRESHOLD_POS)
    assert np.isnan(u[5])


def test_points_groups_flags_and_labels(qtbot):
    view, (xy, scores, flagged, ids, thr) = make_view(qtbot)
    assert view.point_count() == 50
    sizes = group_sizes(view)
    assert sizes[0] == 1  # the unscored point is grey
    assert len(view.flag_item.data) == int(flagged.sum()) > 0
    assert "42.0 %" in view.plot.getAxis("bottom").labelText
    assert "50 files" in view.info.text()


def test_click_on_point_emits_file_id_and_rings_it(qtbot):
    view, (xy, scores, flagged, ids, thr) = make_view(qtbot)
    target = 7
    vb = view.plot.getViewBox()
    scene_pt = vb.mapViewToScene(QPointF(*xy[target]))
    widget_pt = view.plot.mapFromScene(scene_pt)
    picked = view.pick(QPointF(*xy[target]))
    assert picked is not None
    expected = int(ids[picked])  # the target, or a higher-scored point drawn on top of it
    with qtbot.waitSignal(view.pointClicked, timeout=2000) as blocker:
        qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(int(widget_pt.x()), int(widget_pt.y())))
    assert blocker.args == [expected]
    sx, sy = view.select_item.getData()
    assert (sx[0], sy[0]) == pytest.approx(tuple(xy[ids == expected][0]))


def test_click_on_empty_space_emits_nothing(qtbot):
    view, (xy, *_rest) = make_view(qtbot)
    far = QPointF(xy[:, 0].max() + 100, xy[:, 1].max() + 100)
    assert view.pick(far) is None
    fired = []
    view.pointClicked.connect(fired.append)
    qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(2, 2))
    assert fired == []


def test_hover_shows_file_name(qtbot):
    view, (xy, scores, flagged, ids, thr) = make_view(qtbot)
    i = int(np.nanargmax(scores))
    vb = view.plot.getViewBox()
    with qtbot.waitSignal(view.pointHovered, timeout=2000) as blocker:
        view._on_mouse_moved(vb.mapViewToScene(QPointF(*xy[i])))
    picked = view.pick(QPointF(*xy[i]))
    assert blocker.args == [int(ids[picked])]
    assert view.hover_label.isVisible()
    assert f"loop_{ids[picked]}.wav" in view.hover_label.toPlainText()
    view._on_mouse_moved(vb.mapViewToScene(QPointF(1e6, 1e6)))
    assert not view.hover_label.isVisible()


def test_space_switch_emits(qtbot):
    view, _ = make_view(qtbot)
    with qtbot.waitSignal(view.spaceChanged, timeout=1000) as blocker:
        view.space_box.setCurrentIndex(view.space_box.findData("embedding"))
    assert blocker.args == ["embedding"]
    view.set_space("latent")
    assert view.space == "latent"


def test_a_big_map_draws_one_point_per_cell_the_most_unusual_and_redraws_when_zoomed(qtbot):
    n = 200_000
    rng = np.random.default_rng(1)
    xy = rng.normal(size=(n, 2))
    scores = rng.gamma(2.0, 1.0, n)
    thr = float(np.percentile(scores, 95))
    odd = int(np.argmax(scores))
    xy[odd] = (0.01, 0.02)  # the most unusual loop sits in the crowd at the centre
    view = ScatterMapView()
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    qtbot.waitExposed(view)
    view.set_points(xy, scores, scores > thr, np.arange(n), thr, (0.3, 0.2), "bench")
    assert view.decimated and view.point_count() == n
    drawn = view.drawn_count()
    assert 1_000 < drawn < n // 4
    assert sum(group_sizes(view)) == drawn
    top = view._groups[-1].data  # noqa: SLF001 - the warmest colour group
    assert any(abs(p["x"] - 0.01) < 1e-9 and abs(p["y"] - 0.02) < 1e-9 for p in top)
    assert len(view.flag_item.data) < int((scores > thr).sum())  # rings decimated too
    assert "points drawn" in view.info.toolTip()

    view.plot.setRange(xRange=(-0.2, 0.2), yRange=(-0.2, 0.2), padding=0)
    qtbot.waitUntil(lambda: not view._redraw.isActive(), timeout=2000)  # noqa: SLF001
    inside = int(((np.abs(xy) <= 0.2).all(axis=1)).sum())
    zoomed = [(p["x"], p["y"]) for g in view._groups for p in g.data]  # noqa: SLF001
    assert all(abs(x) <= 0.2 and abs(y) <= 0.2 for x, y in zoomed)
    assert len(zoomed) == view.drawn_count() and len(zoomed) > 0.5 * inside
    # picking looks at every point, drawn or not
    i = view.pick(QPointF(float(xy[5, 0]), float(xy[5, 1])), radius_px=0.5)
    assert i is not None and np.allclose(xy[i], xy[5], atol=0.01)


def test_a_small_map_draws_every_point(qtbot):
    view, (xy, *_rest) = make_view(qtbot, n=500)
    assert not view.decimated and view.drawn_count() == view.point_count() == 500


@pytest.mark.slow
def test_100k_points_set_and_render(qtbot):
    n = 100_000
    rng = np.random.default_rng(1)
    xy = rng.normal(size=(n, 2))
    scores = rng.gamma(2.0, 1.0, n)
    thr = float(np.percentile(scores, 95))
    view = ScatterMapView()
    qtbot.addWidget(view)
    view.resize(900, 700)
    view.show()
    qtbot.waitExposed(view)
    t0 = time.perf_counter()
    view.set_points(xy, scores, scores > thr, np.arange(n), thr, (0.3, 0.2), "bench")
    qtbot.wait(1)
    set_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    view.plot.grab()  # renders the whole scene
    paint_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for k in range(20):
        view.pick(QPointF(*xy[k]))
    pick_ms = (time.perf_counter() - t0) / 20 * 1000
    print(f"\n100k scatter: set_points {set_s:.3f}s, first paint {paint_s:.3f}s, pick {pick_ms:.1f} ms")
    assert view.point_count() == n  # timings: bench/bench_gui_scatter.py
