"""View ▸ Theme: follow the desktop's light/dark scheme, or always light, or always dark.

The choice is stored in QSettings ("theme") and applied live: the application's palette and
stylesheet, the plots' colours and everything coloured by meaning (flags, findings, the
playhead). While following the desktop, a change of the desktop's scheme re-themes the window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication
from PySide6.QtWidgets import QApplication

from . import theme, window_findings
from .palettes import DEFAULT_CHOICE, THEME_CHOICES, Palette

if TYPE_CHECKING:
    from .main_window import MainWindow

SETTING = "theme"
MENU_TEXT = {"system": "Follow the &desktop", "light": "&Light", "dark": "&Dark"}


def saved_choice(settings) -> str:
    value = str(settings.value(SETTING, DEFAULT_CHOICE))
    return value if value in THEME_CHOICES else DEFAULT_CHOICE


class ThemeSwitcher(QObject):
    """Owns the View ▸ Theme actions; ``changed(palette)`` after each re-theme."""

    changed = Signal(object)

    def __init__(self, w: MainWindow) -> None:
        super().__init__(w)
        self.w = w
        self.choice = saved_choice(w.settings)
        self.palette: Palette = theme.current()
        group = QActionGroup(self)
        group.setExclusive(True)
        self.actions: dict[str, QAction] = {}
        menu = w.menus["view"]
        menu.addSeparator()
        submenu = menu.addMenu("&Theme")
        for choice in THEME_CHOICES:
            action = QAction(MENU_TEXT[choice], w)
            action.setCheckable(True)
            action.setChecked(choice == self.choice)
            action.triggered.connect(lambda _=False, c=choice: self.choose(c))
            group.addAction(action)
            submenu.addAction(action)
            self.actions[choice] = action
        self.actions["system"].setStatusTip("Light or dark as the desktop is (dark when the "
                                            "desktop does not say)")
        QGuiApplication.styleHints().colorSchemeChanged.connect(self._on_scheme_changed)

    def choose(self, choice: str) -> None:
        """Use ``choice`` ("system" | "light" | "dark") from now on, and remember it."""
        self.choice = choice if choice in THEME_CHOICES else DEFAULT_CHOICE
        self.actions[self.choice].setChecked(True)
        self.w.settings.setValue(SETTING, self.choice)
        self.apply()

    def apply(self) -> None:
        p = theme.palette_for(self.choice)
        app = QApplication.instance()
        if app is not None:
            theme.apply_theme(app, p)
        self.palette = p
        recolour(self.w, p)
        self.changed.emit(p)

    @Slot(Qt.ColorScheme)
    def _on_scheme_changed(self, _scheme) -> None:
        if self.choice == "system":
            self.apply()


def install(w: MainWindow) -> ThemeSwitcher:
    """Add View ▸ Theme to ``w`` and apply the saved choice."""
    w.theme = ThemeSwitcher(w)
    w.theme.apply()
    return w.theme


def recolour(w: MainWindow, p: Palette) -> None:
    """Re-colour what the palette and stylesheet do not reach: plots, list items, findings."""
    for view in (w.waveform, w.local_curve, w.histogram, w.scatter, w.takes_panel):
        view.apply_palette(p)
    w.table.viewport().update()  # the table model reads the theme's colours when painted
    if w.audition.current_path:
        window_findings.show_findings(w, w.audition.current_path)
