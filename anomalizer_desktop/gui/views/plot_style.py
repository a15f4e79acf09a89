"""Re-colour an existing pyqtgraph plot for a theme (new plots take pyqtgraph's defaults, which
:func:`..theme.configure_pyqtgraph` sets)."""

from __future__ import annotations

import pyqtgraph as pg

from ..palettes import Palette

AXES = ("left", "bottom", "right", "top")


def style_plot(plot: pg.PlotWidget, p: Palette) -> None:
    """Background, axes, tick labels and axis titles of ``plot`` in ``p``'s plot colours."""
    plot.setBackground(p.plot_bg)
    item = plot.getPlotItem()
    for name in AXES:
        axis = item.getAxis(name)
        axis.setPen(p.plot_fg)
        axis.setTextPen(p.plot_fg)
    legend = item.legend
    if legend is not None:
        legend.setLabelTextColor(p.plot_fg)
