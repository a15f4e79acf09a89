"""Scores tab: the library's evidence, the flag line at the budget and the "1 in N" control,
which re-flags the table from the evidence it has."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from anomalizer_desktop.core.evidence import FlagPolicy, LibraryEvidence
from anomalizer_desktop.gui.models.loop_table import LoopRow, LoopTableModel
from anomalizer_desktop.gui.views.histogram import (
    ScoreHistogramView,
    one_in_to_slider,
    slider_to_one_in,
)


def test_slider_is_logarithmic_in_n_and_round_trips():
    for n in (2, 20, 100, 1000):
        assert slider_to_one_in(one_in_to_slider(n)) == pytest.approx(n, rel=0.02)
    assert one_in_to_slider(20) < one_in_to_slider(100) < one_in_to_slider(1000)


def make(qtbot):
    view = ScoreHistogramView()
    qtbot.addWidget(view)
    rng = np.random.default_rng(0)
    evidence = np.concatenate([rng.exponential(0.43, 300), [2.5, 4.0, 6.0, np.nan]])
    view.set_evidence(evidence)
    return view, evidence


def test_histogram_data_and_flag_line(qtbot):
    view, evidence = make(qtbot)
    x, y = view.histogram_data()
    assert len(x) == len(y) + 1  # step mode: edges and counts
    assert y.sum() == np.isfinite(evidence).sum()
    assert view.one_in == 20 and view.threshold == pytest.approx(np.log10(20))
    assert view.line.value() == pytest.approx(view.threshold)
    assert "1 in 20 normal loops" in view.summary.text()
    view.set_flagged_count(7)  # the table's count is the one shown
    assert view.summary.text().startswith("7 of 303 files flagged")


def test_spin_slider_and_line_emit_the_budget(qtbot):
    view, _ = make(qtbot)
    with qtbot.waitSignal(view.budgetChanged, timeout=1000) as blocker:
        view.spin.setValue(100)
    assert blocker.args[0] == pytest.approx(0.01)
    with qtbot.waitSignal(view.budgetChanged, timeout=1000) as blocker:
        view.slider.setValue(one_in_to_slider(500))
    assert 1 / blocker.args[0] == pytest.approx(500, rel=0.02)
    with qtbot.waitSignal(view.budgetChanged, timeout=1000) as blocker:
        view.line.setValue(2.0)
        view.line.sigPositionChangeFinished.emit(view.line)
    assert blocker.args[0] == pytest.approx(0.01) and view.spin.value() == 100


def test_budget_change_reflags_rows_from_their_evidence(qtbot):
    view, _ = make(qtbot)
    rng = np.random.default_rng(1)
    library = LibraryEvidence.from_files([f"{i:032x}" for i in range(300)],
                                         np.exp(rng.normal(size=300) * 0.3), [[]] * 300)
    model = LoopTableModel()
    learned = np.exp(rng.normal(size=400) * 0.3)
    learned[:5] *= 4.0  # clearly odd
    model.set_rows([LoopRow(i, f"/l/{i}.wav", f"{i}.wav", "l", learned=float(v))
                    for i, v in enumerate(learned)])
    policy = FlagPolicy(calibration=library)
    model.set_policy(policy)
    before = model.flagged_count()
    view.budgetChanged.connect(lambda b: model.set_policy(replace(policy, budget=b)))
    with qtbot.waitSignal(view.budgetChanged, timeout=1000):
        view.set_one_in(4)
    after = model.flagged_count()
    assert after > before >= 5
    evidence = np.array([r.score for r in model.rows])
    assert after == int(np.sum(evidence >= view.threshold))


def test_no_evidence_shows_a_placeholder(qtbot):
    view = ScoreHistogramView()
    qtbot.addWidget(view)
    view.set_evidence(np.array([]))
    assert view.plot.isHidden() and not view.placeholder.isHidden()
    assert view.summary.text() == ""
