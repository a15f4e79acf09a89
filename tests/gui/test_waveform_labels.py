"""Finding labels on the waveform never overlap (rows, then "click +2"), stay inside the view,
and the playhead is neither colour of any finding."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF

from anomalizer_desktop.core.qc import Finding
from anomalizer_desktop.gui import theme
from anomalizer_desktop.gui.palettes import PALETTES
from anomalizer_desktop.gui.views.findings_bar import colour_of, finding_regions
from anomalizer_desktop.gui.views.region_labels import lay_out, rows_for_height
from anomalizer_desktop.gui.views.waveform import WaveformView

SR = 48_000


def width_of(text: str) -> float:
    return 7.0 * len(text) + 4


def overlaps(placed) -> list[tuple[str, str]]:
    bad = []
    for a in placed:
        for b in placed:
            if a is not b and a.row == b.row and a.x_px <= b.x_px:
                if b.x_px < a.x_px + width_of(a.text):
                    bad.append((a.text, b.text))
    return bad


@pytest.mark.parametrize("seed", range(20))
def test_layout_never_overlaps_and_accounts_for_every_label(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    starts = list(rng.uniform(0, 600, n))
    texts = list(rng.choice(["click", "off-grid onset", "dropout", "loop seam", "clipping"], n))
    rows = int(rng.integers(1, 4))
    placed = lay_out(starts, texts, width_of, 640.0, rows)
    assert overlaps(placed) == []
    members = sorted(i for p in placed for i in p.members)
    assert members == list(range(n))  # each label shown once, alone or merged
    for p in placed:
        assert 0 <= p.row < rows
        assert 0 <= p.x_px and p.x_px + width_of(p.text) <= 640.0 + 1e-9
        if len(p.members) > 1:
            assert p.text == f"{texts[p.members[0]]} +{len(p.members) - 1}"


def test_close_labels_go_to_rows_then_merge():
    starts, texts = [100.0, 110.0, 120.0], ["click", "off-grid onset", "dropout"]
    placed = lay_out(starts, texts, width_of, 640.0, rows=3)
    assert [(p.row, p.text) for p in placed] == [(0, "click"), (1, "off-grid onset"),
                                                 (2, "dropout")]
    placed = lay_out(starts, texts, width_of, 640.0, rows=2)
    assert len(placed) == 2 and {p.text for p in placed} == {"click +1", "off-grid onset"}
    # at the right edge a label moves left to stay whole
    [edge] = lay_out([635.0], ["loop seam"], width_of, 640.0, rows=1)
    assert edge.x_px == pytest.approx(640.0 - width_of("loop seam"))
    assert rows_for_height(80, 17) == 2 and rows_for_height(400, 17) == 3
    assert rows_for_height(10, 17) == 1


def findings_close_together() -> list[Finding]:
    kinds = ["click", "off_grid", "dropout", "loop_seam", "noise_burst", "clipping"]
    return [Finding(kind, 0.8, 1.0 + 0.01 * i, 1.0 + 0.01 * i + 0.002)
            for i, kind in enumerate(kinds)]


def intersecting(rects) -> list[tuple]:
    qrects = [QRectF(*r) for r in rects]
    return [(a, b) for i, a in enumerate(qrects) for b in qrects[i + 1:]
            if a.intersected(b).width() > 0.5 and a.intersected(b).height() > 0.5]


def test_waveform_labels_do_not_overlap_at_any_zoom(qtbot):
    view = WaveformView()
    qtbot.addWidget(view)
    view.resize(700, 160)
    view.show()
    qtbot.waitExposed(view)
    view.set_audio(np.zeros(4 * SR, np.float32), SR)
    findings = findings_close_together()
    view.set_regions(finding_regions(findings, view.duration_s))
    qtbot.wait(20)
    labels = view.shown_labels()
    assert labels and intersecting(view.label_rects()) == []
    merged = [text for text, _x, _y in labels if "+" in text]
    assert merged  # six labels within 60 ms at 4 s per 650 px: some share a label
    n_whole = len(labels)
    # zoomed in on them, every label has room of its own
    view.plot.setXRange(0.99, 1.07, padding=0)
    qtbot.waitUntil(lambda: len(view.shown_labels()) > n_whole, timeout=2000)
    assert intersecting(view.label_rects()) == []
    texts = [text for text, _x, _y in view.shown_labels()]
    assert "off-grid onset" in " ".join(texts) or any("+" in t for t in texts)
    # scrolled away from them: no labels
    view.plot.setXRange(2.5, 3.5, padding=0)
    qtbot.waitUntil(lambda: view.shown_labels() == [], timeout=2000)


def test_a_merged_label_lists_every_finding_in_its_tooltip(qtbot):
    view = WaveformView()
    qtbot.addWidget(view)
    view.resize(400, 130)
    view.show()
    qtbot.waitExposed(view)
    view.set_audio(np.zeros(8 * SR, np.float32), SR)
    view.set_regions(finding_regions(findings_close_together(), view.duration_s))
    qtbot.wait(20)
    merged = [t for t in view._labels if t.isVisible() and "+" in t.toPlainText()]  # noqa: SLF001
    assert merged
    tip = merged[0].toolTip()
    assert tip.count("\n") + 1 == int(merged[0].toPlainText().rsplit("+", 1)[1]) + 1


@pytest.mark.parametrize("name", PALETTES)
def test_the_playhead_is_not_the_colour_of_any_finding(qtbot, name):
    p = PALETTES[name]
    previous = theme.current()
    theme._current = p  # noqa: SLF001 - as apply_theme leaves it, without restyling the app
    try:
        view = WaveformView()
        qtbot.addWidget(view)
        playhead = view.playhead.pen.color().name()
        assert playhead == p.playhead
        kinds = {colour_of(k) for k in p.kinds}
        assert playhead not in kinds
        assert view.playhead.markers  # the marker on top tells it from a finding's edge
    finally:
        theme._current = previous  # noqa: SLF001
