"""Window state and UI settings persisted with QSettings (geometry, docks, splitters, audition).

The library folders are not here: the catalog owns them (the CLI sees the same list).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSize

if TYPE_CHECKING:
    from .main_window import MainWindow

DEFAULT_SIZE = QSize(1280, 800)


def default_size(available: QSize | None) -> QSize:
    """The first-run window size: 1280x800, or the screen's free area if that is smaller."""
    if available is None or available.isEmpty():
        return QSize(DEFAULT_SIZE)
    return DEFAULT_SIZE.boundedTo(available)


def restore(w: MainWindow) -> None:
    s = w.settings
    geometry = s.value("window/geometry")
    if isinstance(geometry, QByteArray):
        w.restoreGeometry(geometry)
    else:
        screen = w.screen()
        w.resize(default_size(screen.availableGeometry().size() if screen else None))
    state = s.value("window/state")
    if isinstance(state, QByteArray):
        w.restoreState(state)
    for name in ("main_split", "left_split", "right_split"):
        value = s.value(f"window/{name}")
        if isinstance(value, QByteArray):
            getattr(w, name).restoreState(value)
    # Libraries live in the catalog (shared with the CLI); older versions kept them here.
    legacy = s.value("libraries")
    if legacy is not None:
        for folder in [legacy] if isinstance(legacy, str) else list(legacy or []):
            if Path(folder).is_dir():
                w.catalog.add_library(folder)
        s.remove("libraries")
    w.refresh_libraries()
    w.player_bar.autoplay_button.setChecked(s.value("autoplay", True, type=bool))
    w.player_bar.set_loop(s.value("loop", False, type=bool))
    w.player_bar.set_volume_percent(int(s.value("volume", 80)))
    w.scatter.set_space(str(s.value("map_space", "latent")))
    tray = s.value("minimise_to_tray", False, type=bool) and w.notifier.has_tray
    w.actions_by_name["tray"].setChecked(tray)
    w.notifier.minimise_to_tray = tray
    watched = s.value("watch_folders", []) or []
    w.takes_panel.set_folders([watched] if isinstance(watched, str) else list(watched))
    w._update_counts()  # noqa: SLF001


def save(w: MainWindow) -> None:
    s = w.settings
    s.setValue("window/geometry", w.saveGeometry())
    s.setValue("window/state", w.saveState())
    s.setValue("window/main_split", w.main_split.saveState())
    s.setValue("window/left_split", w.left_split.saveState())
    s.setValue("window/right_split", w.right_split.saveState())
    s.setValue("autoplay", w.player_bar.autoplay)
    s.setValue("loop", w.player_bar.loop_button.isChecked())
    s.setValue("volume", w.player_bar.volume.value())
    s.setValue("map_space", w.scatter.space)
    s.sync()
