"""Before there is data each plot shows a short centred message, not empty axes; the plot (and
its axes) comes back with data."""

from __future__ import annotations

import numpy as np

from anomalizer_desktop.gui.views.histogram import ScoreHistogramView
from anomalizer_desktop.gui.views.local_curve import STRIP_HEIGHT, LocalCurveView
from anomalizer_desktop.gui.views.scatter import ScatterMapView
from anomalizer_desktop.gui.views.waveform import WaveformView


def showing_message(view) -> bool:
    return view.frame.plot.isHidden() and not view.frame.placeholder.isHidden()


def test_waveform_says_what_to_do_until_a_loop_is_loaded(qtbot):
    view = WaveformView()
    qtbot.addWidget(view)
    view.show()
    assert showing_message(view) and "Select a loop" in view.message
    view.set_audio(np.zeros(48_000, np.float32), 48_000)
    assert not showing_message(view) and view.message == ""
    assert view.plot.getAxis("bottom").isVisible()
    view.clear("Cannot play: the file is damaged")
    assert showing_message(view) and view.message == "Cannot play: the file is damaged"


def test_local_curve_shows_why_there_is_no_curve(qtbot):
    view = LocalCurveView()
    qtbot.addWidget(view)
    view.show()
    assert showing_message(view) and "Select a loop" in view.message
    view.set_message("Localising…", "/a.wav")
    assert showing_message(view) and view.message == "Localising…"
    view.set_curve("/a.wav", np.linspace(0, 2, 9), np.linspace(0.8, 1.6, 9), 1.5)
    assert not showing_message(view) and view.message == ""
    frame = view.frame  # the strip keeps its height with a message or a curve
    assert frame.minimumHeight() == frame.maximumHeight() == STRIP_HEIGHT


def test_map_shows_a_message_until_there_are_points(qtbot):
    view = ScatterMapView()
    qtbot.addWidget(view)
    view.show()
    assert showing_message(view) and view.message.startswith("No map yet")
    assert view.info.isHidden() and view.flag_key.isHidden()
    rng = np.random.default_rng(0)
    view.set_points(rng.normal(size=(20, 2)), rng.random(20), np.arange(20) < 3, np.arange(20),
                    0.5, title="Model latent space (PCA)")
    assert not showing_message(view)
    assert view.caption() == "20 files · colour = how unusual · ◯ 3 flagged"
    view.clear("No map yet: the map appears once the library is scored")
    assert showing_message(view) and view.caption() == ""


def test_scores_histogram_shows_a_message_until_there_are_scores(qtbot):
    view = ScoreHistogramView()
    qtbot.addWidget(view)
    view.show()
    assert showing_message(view)
    view.set_evidence(np.linspace(0, 3, 40))
    assert not showing_message(view)
    view.set_evidence(np.zeros(0))
    assert showing_message(view)
