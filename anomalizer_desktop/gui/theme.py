"""A readable dark theme: Fusion style + a dark QPalette + a small stylesheet, pyqtgraph to match.

Fusion draws a descending sort as an arrow pointing *up* (Qt's convention); most users read that
as "ascending". :class:`AnomalizerStyle` flips the header arrow so a column sorted from the highest
value down (the score, most anomalous first) shows an arrow pointing down.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleOptionHeader

WINDOW = "#1f2226"
BASE = "#16181b"
ALT_BASE = "#1c1f23"
TEXT = "#e3e6ea"
DIM_TEXT = "#8b949e"
BUTTON = "#2a2e34"
HIGHLIGHT = "#2f6fb3"
ACCENT = "#4fc3f7"
WARN = "#ffb74d"
PLOT_BG = "#121417"

STYLESHEET = f"""
QToolTip {{ color: {TEXT}; background-color: #2b3036; border: 1px solid #3d434b; padding: 4px; }}
QStatusBar {{ color: {DIM_TEXT}; }}
QLabel#playerStatus {{ color: {WARN}; }}
QLabel#weightsStatus {{ color: {DIM_TEXT}; }}
QTableView {{ gridline-color: #2a2e34; selection-background-color: {HIGHLIGHT}; }}
QHeaderView::section {{ background-color: {BUTTON}; color: {TEXT}; padding: 4px 6px;
                        border: 0; border-right: 1px solid #1b1e22; }}
QToolButton:checked {{ background-color: #35506e; }}
QDockWidget::title {{ background: {BUTTON}; padding: 4px; }}
QLineEdit {{ padding: 3px 6px; }}
"""


def dark_palette() -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    colours = {
        role.Window: WINDOW, role.WindowText: TEXT, role.Base: BASE, role.AlternateBase: ALT_BASE,
        role.ToolTipBase: "#2b3036", role.ToolTipText: TEXT, role.Text: TEXT, role.Button: BUTTON,
        role.ButtonText: TEXT, role.BrightText: "#ff5252", role.Highlight: HIGHLIGHT,
        role.HighlightedText: "#ffffff", role.Link: ACCENT, role.PlaceholderText: DIM_TEXT,
        role.Mid: "#3a3f46", role.Dark: "#121417", role.Light: "#3a3f46", role.Shadow: "#0b0c0e",
    }
    for r, c in colours.items():
        p.setColor(r, QColor(c))
    disabled = QPalette.ColorGroup.Disabled
    for r in (role.WindowText, role.Text, role.ButtonText):
        p.setColor(disabled, r, QColor("#5f6670"))
    return p


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


def apply_theme(app: QApplication) -> None:
    """Apply the dark theme to ``app`` and configure pyqtgraph's colours to match."""
    app.setStyle(AnomalizerStyle())
    app.setPalette(dark_palette())
    app.setStyleSheet(STYLESHEET)
    configure_pyqtgraph()


def configure_pyqtgraph() -> None:
    """pyqtgraph defaults for all plots; call before creating plot widgets."""
    pg.setConfigOptions(background=PLOT_BG, foreground=DIM_TEXT, antialias=False,
                        useOpenGL=False, exitCleanup=False)
