"""Light and dark themes: which one a setting and the desktop's scheme choose, colours that read
on their background, and View ▸ Theme re-colouring the open window live (plots included)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from anomalizer_desktop.core.audio.playback import NullPlayer
from anomalizer_desktop.gui import theme, window_theme
from anomalizer_desktop.gui.main_window import MainWindow
from anomalizer_desktop.gui.palettes import DARK, LIGHT, PALETTES, chosen_palette


def luminance(colour: str) -> float:
    def channel(v: float) -> float:
        v /= 255.0
        return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

    c = QColor(colour)
    return 0.2126 * channel(c.red()) + 0.7152 * channel(c.green()) + 0.0722 * channel(c.blue())


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def rgb_distance(a: str, b: str) -> float:
    ca, cb = QColor(a).getRgb()[:3], QColor(b).getRgb()[:3]
    return sum((x - y) ** 2 for x, y in zip(ca, cb)) ** 0.5


def test_the_setting_and_the_desktop_choose_the_palette():
    assert chosen_palette("light", system_is_light=False) is LIGHT
    assert chosen_palette("dark", system_is_light=True) is DARK
    assert chosen_palette("system", system_is_light=True) is LIGHT
    assert chosen_palette("system", system_is_light=False) is DARK
    assert chosen_palette("system", system_is_light=None) is DARK  # the desktop does not say
    assert chosen_palette("no such theme", system_is_light=True) is LIGHT  # counts as system


def test_an_unknown_saved_choice_counts_as_system():
    settings = QSettings()
    assert window_theme.saved_choice(settings) == "system"
    settings.setValue("theme", "purple")
    assert window_theme.saved_choice(settings) == "system"
    settings.setValue("theme", "light")
    assert window_theme.saved_choice(settings) == "light"


@pytest.mark.parametrize("p", PALETTES.values(), ids=PALETTES.keys())
def test_colours_read_on_their_background_and_findings_are_not_the_playhead(p):
    assert contrast(p.text, p.base) >= 7 and contrast(p.text, p.window) >= 7
    assert contrast(p.dim_text, p.window) >= 3.5
    for name in ("accent", "warn", "flag", "fine", "playhead", "curve", "neighbour"):
        assert contrast(getattr(p, name), p.plot_bg) >= 3, name
    assert contrast(p.flag, p.base) >= 3
    for kind, colour in p.kinds.items():
        assert contrast(colour, p.plot_bg) >= 3, kind
        # not the playhead's neutral white / black: a clear hue, far from it; and a region
        # stands out from the waveform it shades
        assert QColor(colour).hsvSaturation() > 60, kind
        assert rgb_distance(colour, p.playhead) > 110, kind
        assert rgb_distance(colour, p.accent) > 60, kind
    assert set(p.kinds) == set(DARK.kinds)


@pytest.fixture
def window(qtbot):
    w = MainWindow(NullPlayer("test: no audio"))
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    yield w
    w.shutdown()
    QSettings().remove("theme")
    theme.apply_theme(QApplication.instance(), DARK)


def plot_backgrounds(w) -> dict[str, str]:
    plots = {"waveform": w.waveform.plot, "local curve": w.local_curve.plot,
             "histogram": w.histogram.plot, "map": w.scatter.plot}
    return {name: plot.backgroundBrush().color().name() for name, plot in plots.items()}


def test_view_theme_switches_live_and_is_remembered(qtbot, window):
    w = window
    assert w.theme.choice == "system"  # offscreen, the desktop does not say: dark
    assert set(plot_backgrounds(w).values()) == {DARK.plot_bg}
    titles = [a.text() for a in w.menus["view"].actions()]
    assert "&Theme" in titles

    w.theme.actions["light"].trigger()
    assert set(plot_backgrounds(w).values()) == {LIGHT.plot_bg}
    app = QApplication.instance()
    assert app.palette().color(QPalette.ColorRole.Window).name() == LIGHT.window
    assert w.waveform.curve.opts["pen"].color().name() == LIGHT.accent
    assert w.waveform.playhead.pen.color().name() == LIGHT.playhead
    axis = w.waveform.plot.getAxis("bottom")
    assert axis.textPen().color().name() == LIGHT.plot_fg
    assert w.scatter.flag_item.opts["pen"].color().name() == LIGHT.flag
    assert QSettings().value("theme") == "light"
    assert w.theme.actions["light"].isChecked() and not w.theme.actions["dark"].isChecked()

    w.theme.actions["dark"].trigger()
    assert set(plot_backgrounds(w).values()) == {DARK.plot_bg}
    assert QSettings().value("theme") == "dark"


def test_following_the_desktop_re_themes_when_its_scheme_changes(qtbot, window, monkeypatch):
    w = window
    hints = QGuiApplication.styleHints()
    monkeypatch.setattr(theme, "system_is_light", lambda: True)
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert set(plot_backgrounds(w).values()) == {LIGHT.plot_bg}
    w.theme.choose("dark")  # an explicit choice ignores the desktop
    hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
    assert set(plot_backgrounds(w).values()) == {DARK.plot_bg}


def test_a_new_window_starts_in_the_saved_theme(qtbot):
    QSettings().setValue("theme", "light")
    w = MainWindow(NullPlayer("test: no audio"))
    qtbot.addWidget(w)
    try:
        assert theme.current() is LIGHT
        assert set(plot_backgrounds(w).values()) == {LIGHT.plot_bg}
    finally:
        w.shutdown()
        QSettings().remove("theme")
        theme.apply_theme(QApplication.instance(), DARK)
