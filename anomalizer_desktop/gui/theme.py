"""Dark and light themes: Fusion style + a QPalette + a small stylesheet, pyqtgraph to match.

:func:`apply_theme` applies one :class:`~.palettes.Palette` to the application and remembers it;
views ask :func:`current` for their colours (and re-colour themselves when the window switches
theme, :mod:`.window_theme`). Labels that speak in a tone (dim hints, warnings) get it with
:func:`set_tone`, so the stylesheet re-colours them too.

Fusion draws a descending sort as an arrow pointing *up* (Qt's convention); most users read that
as "ascending". :class:`AnomalizerStyle` flips the header arrow so a column sorted from the highest
value down (the score, most anomalous first) shows an arrow pointing down.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleOptionHeader, QWidget

from .palettes import DARK, Palette, chosen_palette

_current: Palette = DARK


def current() -> Palette:
    """The palette applied last (dark before any)."""
    return _current


def system_is_light() -> bool | None:
    """The desktop's colour scheme: True light, False dark, None not known."""
    scheme = QGuiApplication.styleHints().colorScheme()
    if scheme == Qt.ColorScheme.Light:
        return True
    if scheme == Qt.ColorScheme.Dark:
        return False
    return None


def palette_for(choice: str) -> Palette:
    """The palette for a View ▸ Theme choice on this desktop."""
    return chosen_palette(choice, system_is_light())


def stylesheet(p: Palette) -> str:
    return f"""
QToolTip {{ color: {p.text}; background-color: {p.tooltip}; border: 1px solid {p.tooltip_border};
            padding: 4px; }}
QStatusBar {{ color: {p.dim_text}; }}
QLabel#playerStatus {{ color: {p.warn}; }}
QLabel#weightsStatus {{ color: {p.dim_text}; }}
QLabel[tone="dim"] {{ color: {p.dim_text}; }}
QLabel[tone="warn"] {{ color: {p.warn}; }}
QLabel[tone="flag"] {{ color: {p.flag}; }}
QLabel[tone="neighbour"] {{ color: {p.neighbour}; }}
QLabel#plotPlaceholder {{ color: {p.plot_message}; background-color: {p.plot_bg}; }}
QTableView {{ gridline-color: {p.gridline}; selection-background-color: {p.highlight}; }}
QHeaderView::section {{ background-color: {p.button}; color: {p.text}; padding: 4px 6px;
                        border: 0; border-right: 1px solid {p.header_border}; }}
QToolButton:checked {{ background-color: {p.checked}; }}
QListView::indicator {{ width: 12px; height: 12px; border: 1px solid {p.dim_text};
                       border-radius: 2px; background-color: {p.base}; }}
QListView::indicator:checked {{ border-color: {p.accent}; background-color: {p.accent}; }}
QDockWidget::title {{ background: {p.button}; padding: 4px; }}
QLineEdit {{ padding: 3px 6px; }}
"""


def qpalette(p: Palette) -> QPalette:
    pal = QPalette()
    role = QPalette.ColorRole
    colours = {
        role.Window: p.window, role.WindowText: p.text, role.Base: p.base,
        role.AlternateBase: p.alt_base, role.ToolTipBase: p.tooltip, role.ToolTipText: p.text,
        role.Text: p.text, role.Button: p.button, role.ButtonText: p.text,
        role.BrightText: p.flag, role.Highlight: p.highlight,
        role.HighlightedText: p.highlighted_text, role.Link: p.accent,
        role.PlaceholderText: p.dim_text, role.Mid: p.mid, role.Dark: p.dark,
        role.Light: p.light, role.Shadow: p.shadow,
    }
    for r, c in colours.items():
        pal.setColor(r, QColor(c))
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText):
        pal.setColor(disabled, r, QColor(p.disabled_text))
    return pal


def set_tone(label: QWidget, tone: str) -> None:
    """Colour ``label`` as "dim", "warn", "flag" or "neighbour" text ("" = plain), following the
    theme."""
    if label.property("tone") == tone:
        return
    label.setProperty("tone", tone)
    label.style().unpolish(label)
    label.style().polish(label)
    label.update()


def rgba(colour: tuple[int, int, int, int]) -> QColor:
    return QColor(*colour)


_SortIndicator = QStyleOptionHeader.SortIndicator


def shown_sort_arrow(indicator: _SortIndicator) -> _SortIndicator:
    """The arrow drawn for a header's sort indicator: down for descending, up for ascending.

    QHeaderView sets ``SortUp`` for a descending sort and ``SortDown`` for an ascending one.
    """
    if indicator == _SortIndicator.SortUp:
        return _SortIndicator.SortDown
    if indicator == _SortIndicator.SortDown:
        return _SortIndicator.SortUp
    return indicator


class AnomalizerStyle(QProxyStyle):
    """Fusion with header sort arrows that point the way values decrease (down = descending)."""

    def __init__(self) -> None:
        super().__init__("Fusion")

    def drawPrimitive(self, element, option, painter, widget=None) -> None:  # noqa: N802 - Qt name
        if (element == QStyle.PrimitiveElement.PE_IndicatorHeaderArrow
                and isinstance(option, QStyleOptionHeader)):
            flipped = QStyleOptionHeader(option)
            flipped.sortIndicator = shown_sort_arrow(option.sortIndicator)
            super().drawPrimitive(element, flipped, painter, widget)
            return
        super().drawPrimitive(element, option, painter, widget)


def apply_theme(app: QApplication, palette: Palette | None = None) -> Palette:
    """Apply ``palette`` (default: the desktop's scheme) to ``app`` and pyqtgraph's defaults."""
    global _current
    p = palette or palette_for("system")
    if not isinstance(app.style(), AnomalizerStyle):
        app.setStyle(AnomalizerStyle())
    _current = p
    configure_pyqtgraph(p)
    app.setPalette(qpalette(p))
    app.setStyleSheet(stylesheet(p))
    return p


def configure_pyqtgraph(p: Palette | None = None) -> None:
    """pyqtgraph defaults for new plots (existing ones: :func:`.views.plot_style.style_plot`)."""
    p = p or _current
    pg.setConfigOptions(background=p.plot_bg, foreground=p.plot_fg, antialias=False,
                        useOpenGL=False, exitCleanup=False)

