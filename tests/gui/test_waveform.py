"""Waveform view: peak envelope keeps peaks, clips to the view, playhead follows, click seeks."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt

from anomalizer_desktop.core.audio.playback import NullPlayer
from anomalizer_desktop.gui.views.waveform import PeakEnvelope, WaveformView

SR = 48_000


def tone_with_click(seconds: float = 4.0, click_at: float = 2.5) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    y = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    y[int(click_at * SR)] = 0.99  # one-sample click
    return y


def test_envelope_keeps_single_sample_peak_at_any_zoom():
    env = PeakEnvelope(tone_with_click(), SR)
    for n_bins in (50, 800, 4000):
        x, y = env.envelope(0.0, 4.0, n_bins)
        assert len(x) == len(y) <= 2 * n_bins
        assert y.max() == pytest.approx(0.99)
        assert x[np.argmax(y)] == pytest.approx(2.5, abs=4.0 / n_bins + 0.01)
        assert y.min() == pytest.approx(-0.3, abs=1e-3)


def test_envelope_clips_to_range_and_uses_samples_when_zoomed_in():
    env = PeakEnvelope(tone_with_click(), SR)
    x, y = env.envelope(1.0, 1.5, 500)
    assert x.min() >= 1.0 - 1e-3 and x.max() <= 1.5 + 1e-3
    assert y.max() < 0.5  # the click at 2.5 s is outside the view
    x, y = env.envelope(1.0, 1.0 + 100 / SR, 500)  # 100 frames < 2 per bin: raw samples
    assert len(x) <= 102 and np.allclose(np.diff(x), 1 / SR)
    x, y = env.envelope(5.0, 6.0, 100)  # past the end
    assert len(x) == 0


def test_envelope_stereo_takes_peaks_of_both_channels():
    left = np.zeros(SR, np.float32)
    right = np.zeros(SR, np.float32)
    right[1000] = -0.8
    env = PeakEnvelope(np.column_stack([left, right]), SR)
    _, y = env.envelope(0.0, 1.0, 100)
    assert y.min() == pytest.approx(-0.8)


def test_view_curve_follows_zoom(qtbot):
    view = WaveformView()
    qtbot.addWidget(view)
    view.resize(800, 200)
    view.show()
    view.set_audio(tone_with_click(), SR)
    x, y = view.curve_data()
    assert x.min() < 0.1 and x.max() > 3.9
    assert len(x) <= 2 * 2000  # about one bin per pixel, not 192,000 points
    assert y.max() == pytest.approx(0.99)
    view.plot.setXRange(0.5, 1.0, padding=0)
    qtbot.waitUntil(lambda: view.curve_data()[0].max() <= 1.01, timeout=2000)
    x, _ = view.curve_data()
    assert x.min() >= 0.49


def test_playhead_polls_player(qtbot):
    clock = [100.0]
    player = NullPlayer(clock=lambda: clock[0])
    samples = tone_with_click()
    player.load(samples, SR)
    view = WaveformView()
    qtbot.addWidget(view)
    view.set_audio(samples, SR)
    view.set_player(player)
    player.play(0.0)
    clock[0] += 1.25
    qtbot.waitUntil(lambda: abs(view.playhead.value() - 1.25) < 1e-6, timeout=1000)
    assert view.playhead_timer.isActive()
    assert view.playhead_timer.interval() <= 40


def test_click_requests_seek(qtbot):
    view = WaveformView()
    qtbot.addWidget(view)
    view.resize(800, 200)
    view.show()
    qtbot.waitExposed(view)
    view.set_audio(tone_with_click(), SR)
    vb = view.plot.getViewBox()
    scene_pt = vb.mapViewToScene(pg_point(3.0, 0.0))
    widget_pt = view.plot.mapFromScene(scene_pt)
    with qtbot.waitSignal(view.seekRequested, timeout=2000) as blocker:
        qtbot.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton,
                         pos=QPoint(int(widget_pt.x()), int(widget_pt.y())))
    assert blocker.args[0] == pytest.approx(3.0, abs=0.05)
    assert view.playhead.value() == pytest.approx(3.0, abs=0.05)


def pg_point(x: float, y: float):
    from PySide6.QtCore import QPointF

    return QPointF(x, y)


def test_regions_and_clear(qtbot):
    view = WaveformView()
    qtbot.addWidget(view)
    view.set_audio(tone_with_click(), SR)
    view.set_regions([(2.49, 2.51, "#ff5252", "click"), (0.0, 0.2, "#ffab40", "")])
    import pyqtgraph as pg

    regions = [i for i in view.plot.items() if isinstance(i, pg.LinearRegionItem)]
    assert sorted(r.getRegion()[0] for r in regions) == pytest.approx([0.0, 2.49])
    view.set_audio(tone_with_click(), SR)  # new audio drops old findings
    assert not [i for i in view.plot.items() if isinstance(i, pg.LinearRegionItem)]
    view.clear("no file")
    assert len(view.curve_data()[0]) == 0
    assert view.duration_s == 0.0
