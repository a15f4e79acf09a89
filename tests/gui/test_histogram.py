"""Score histogram + sensitivity: threshold = percentile of the reference, live re-flagging."""

from __future__ import annotations

import numpy as np
import pytest

from anomalizer_desktop.core.detect.base import quantile_threshold
from anomalizer_desktop.gui.models.loop_table import LoopRow, LoopTableModel
from anomalizer_desktop.gui.views.histogram import (
    ScoreHistogramView,
    percentile_of,
    threshold_at,
)


def test_threshold_and_percentile_are_inverse():
    ref = np.arange(1, 100, dtype=float)  # 99 scores at the Weibull positions k / 100
    assert threshold_at(ref, 95) == pytest.approx(95.0)
    assert percentile_of(ref, 90.0) == pytest.approx(90.0)
    assert np.isnan(threshold_at(np.array([np.nan]), 95))


def make(qtbot):
    view = ScoreHistogramView()
    qtbot.addWidget(view)
    rng = np.random.default_rng(0)
    reference = rng.normal(1.0, 0.2, 500)  # "training" scores
    scores = np.concatenate([rng.normal(1.0, 0.2, 300), [3.0, 4.0, 5.0, np.nan]])
    view.set_scores(scores, reference=reference, percentile=95.0)
    return view, scores, reference


def test_histogram_data_and_threshold_line(qtbot):
    view, scores, reference = make(qtbot)
    x, y = view.histogram_data()
    assert len(x) == len(y) + 1  # step mode: edges and counts
    assert y.sum() == np.isfinite(scores).sum()
    assert view.threshold == pytest.approx(quantile_threshold(reference, 95))
    assert view.line.value() == pytest.approx(view.threshold)
    assert view.isEnabled()
    assert "flagged" in view.summary.text()


def test_spin_and_slider_emit_threshold(qtbot):
    view, _, reference = make(qtbot)
    with qtbot.waitSignal(view.thresholdChanged, timeout=1000) as blocker:
        view.spin.setValue(80.0)
    p, value = blocker.args
    assert p == pytest.approx(80.0)
    assert value == pytest.approx(quantile_threshold(reference, 80))
    with qtbot.waitSignal(view.thresholdChanged, timeout=1000) as blocker:
        view.slider.setValue(990)
    assert blocker.args[0] == pytest.approx(99.0)
    assert view.spin.value() == pytest.approx(99.0)


def test_dragging_the_line_sets_the_percentile(qtbot):
    view, _, reference = make(qtbot)
    target = float(quantile_threshold(reference, 70))
    with qtbot.waitSignal(view.thresholdChanged, timeout=1000) as blocker:
        view.line.setValue(target)
        view.line.sigPositionChangeFinished.emit(view.line)
    assert blocker.args[0] == pytest.approx(70.0, abs=0.5)
    assert view.spin.value() == pytest.approx(blocker.args[0], abs=0.05)


def test_sensitivity_change_reflags_rows(qtbot):
    view, scores, _ = make(qtbot)
    model = LoopTableModel()
    rows = [LoopRow(i, f"/l/{i}.wav", f"{i}.wav", "l", score=float(s) if np.isfinite(s) else None)
            for i, s in enumerate(scores)]
    model.set_rows(rows)
    model.apply_threshold(view.threshold)
    before = model.flagged_count()
    view.thresholdChanged.connect(lambda p, v: model.apply_threshold(v))
    with qtbot.waitSignal(view.thresholdChanged, timeout=1000):
        view.set_percentile(60.0)
    after = model.flagged_count()
    assert after > before >= 3
    assert after == int(np.sum(np.nan_to_num(scores, nan=-np.inf) > view.threshold))


def test_empty_scores_disable_control(qtbot):
    view = ScoreHistogramView()
    qtbot.addWidget(view)
    view.set_scores(np.array([]))
    assert not view.isEnabled()
    assert view.summary.text() == "No scores yet"
