"""The findings bar and waveform regions of the selected loop (no model needed)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from anomalizer_desktop.core.qc import Finding
from anomalizer_desktop.gui.localisation import window_for
from anomalizer_desktop.gui.views.findings_bar import (
    MAX_BUTTONS,
    FindingsBar,
    button_targets,
    colour_of,
    finding_regions,
)
from anomalizer_desktop.gui.views.waveform import WaveformView

CLICK = Finding("click", 0.9, 1.234, 1.234)
HUM = Finding("hum", 0.7, 0.0, 4.0, -20.0, "50 Hz")
DROPOUT = Finding("dropout", 0.8, 2.1, 2.18)


def clipping(n: int) -> list[Finding]:
    return [Finding("clipping", 0.5 + i / 100, i * 0.2, i * 0.2 + 0.05, 30.0) for i in range(n)]


def test_regions_skip_whole_file_findings_and_label_each_kind_once():
    regions = finding_regions([HUM, CLICK, Finding("click", 0.6, 3.0, 3.0), DROPOUT], 4.0)
    assert [r[0] for r in regions] == [1.234, 2.1, 3.0]  # hum covers the take: button only
    assert [r[3] for r in regions] == ["click", "dropout", ""]
    assert regions[0][2] == colour_of("click") != colour_of("dropout")
    assert "click @ 1.234 s" in regions[0][4]


def test_many_findings_of_one_kind_share_a_button_that_goes_to_the_worst():
    targets = button_targets([CLICK, *clipping(23)])
    assert len(targets) == 2
    worst = max(clipping(23), key=lambda f: f.severity)
    assert (worst, 23) in [(t, len(g)) for t, g in targets]
    assert [t.start_s for t, _ in targets] == sorted(t.start_s for t, _ in targets)
    # too many single findings of many kinds: one button per kind
    many = [Finding(k, 0.6, t, t) for t in (0.5, 1.5, 2.5) for k in
            ("click", "dropout", "noise_burst", "off_grid")]
    assert len(button_targets(many)) == 4 <= MAX_BUTTONS


def test_bar_buttons_emit_the_finding_to_seek_to(qtbot):
    bar = FindingsBar()
    qtbot.addWidget(bar)
    bar.set_findings([], "Not checked yet")
    assert bar.buttons == [] and bar.status.text() == "Not checked yet"
    bar.set_findings([HUM, DROPOUT, CLICK, *clipping(5)])
    assert [b.text() for b in bar.buttons][:2] == ["hum 50 Hz -20 dB", "clipping ×5"]
    assert "click @ 1.234 s" in [b.text() for b in bar.buttons]
    with qtbot.waitSignal(bar.findingActivated) as blocker:
        qtbot.mouseClick(bar.buttons[-1], Qt.MouseButton.LeftButton)
    assert blocker.args[0] == DROPOUT
    bar.set_findings([])
    assert bar.buttons == [] and bar.status.text() == "No signal-check findings"


def test_waveform_scrolls_a_finding_into_view_keeping_the_zoom(qtbot):
    view = WaveformView()
    qtbot.addWidget(view)
    view.set_audio(np.zeros(48_000 * 8, np.float32), 48_000)
    view.plot.setXRange(0.0, 1.0, padding=0)
    view.ensure_visible(6.0, 6.1)
    (a, b), _ = view.plot.getViewBox().viewRange()
    assert a <= 6.0 and b >= 6.1 and (b - a) == pytest.approx(1.0, abs=0.02)


def test_localisation_windows_scale_with_the_take():
    assert window_for(2.4) == (0.6, 0.15)
    assert window_for(1.0) == (0.5, 0.125)
    assert window_for(30.0) == (2.0, 0.5)
