"""The window fits 1280x720 and 1366x768 screens in use: with a library analysed, a loop loaded,
the Similar list open and long texts everywhere, its minimum size stays within the screen and it
never resizes itself; the Reasons column is on screen and takes the spare width."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QSize

from anomalizer_desktop.core.audio.playback import NullPlayer
from anomalizer_desktop.core.catalog import Catalog
from anomalizer_desktop.core.qc import Finding
from anomalizer_desktop.gui import table_columns, window_state
from anomalizer_desktop.gui.analysis import AnalysisResult, MapData, pca_2d, stored_rows
from anomalizer_desktop.gui.main_window import MainWindow
from anomalizer_desktop.gui.models.loop_table import COLUMN_INDEX

from .browse_data import scan_library, write_library

SCREENS = [(1280, 720), (1366, 768)]
LONG = "Very_long_export_name_from_a_DAW_bounce_folder_" * 6 + ".wav"


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    base = tmp_path_factory.mktemp("fits")
    root = base / "Library"
    write_library(root)
    with Catalog(base / "c.sqlite") as catalog:
        encoder = scan_library(root, catalog)
    return base, root, encoder.id


@pytest.fixture
def open_window(qtbot, library, tmp_path):
    made = []

    def open_at(size: tuple[int, int] | None) -> MainWindow:
        base, root, encoder_id = library
        catalog = Catalog(base / "c.sqlite")
        w = MainWindow(NullPlayer("audio output disabled (ANOMALIZER_NO_AUDIO)"),
                       catalog=catalog, model_path=tmp_path / "m.pt")
        made.append((w, catalog))
        qtbot.addWidget(w)
        w.settings.setValue("encoder", "spectral")
        if size is not None:  # None: as restored from the settings
            w.resize(*size)
        w.show()
        qtbot.waitExposed(w)
        w.refresh_libraries()
        rows = stored_rows(catalog.files(under=root), catalog, tmp_path / "m.pt")
        records, X = catalog.embedding_matrix([r.file_id for r in rows], encoder_id)
        xy, var = pca_2d(X)
        data = MapData(np.array([r.id for r in records]), None, None, xy, var)
        w._set_encoder_status(encoder_id, [])  # noqa: SLF001 - what the analysis reports
        w._show_result(AnalysisResult(rows, None, encoder_id=encoder_id, map=data))  # noqa: SLF001
        return w

    yield open_at
    for w, catalog in made:
        w.shutdown()
        catalog.close()


def assert_fits(w: MainWindow, size: tuple[int, int]) -> None:
    width, height = size
    assert w.size() == QSize(width, height)  # it never resized itself
    hint = w.minimumSizeHint()
    assert hint.width() <= width and hint.height() <= height, hint
    assert w.centralWidget().minimumSizeHint().width() <= width


def load_first_loop(qtbot, w: MainWindow) -> None:
    w.table.setCurrentIndex(w.proxy.index(0, 0))
    qtbot.waitUntil(lambda: w.audition.current_path is not None
                    and w.waveform.duration_s > 0, timeout=20_000)


@pytest.mark.parametrize("size", SCREENS, ids=[f"{w}x{h}" for w, h in SCREENS])
def test_window_fits_the_screen_with_a_loop_loaded_and_the_similar_list_open(
        qtbot, open_window, size):
    w = open_window(size)
    assert_fits(w, size)
    load_first_loop(qtbot, w)
    assert_fits(w, size)
    w.actions_by_name["similar"].trigger()
    qtbot.waitUntil(lambda: w.similar.runner is None and not w.similar_panel.isHidden(),
                    timeout=20_000)
    qtbot.wait(50)
    assert_fits(w, size)
    # the docks share one column of tabs, narrower than the table
    assert w.tabifiedDockWidgets(w.library_dock) == [w.takes_dock]
    assert w.library_dock.width() < w.table.width() / 2
    for tab in (w.histogram, w.scatter):
        w.tabs.setCurrentWidget(tab)
        qtbot.wait(20)
        assert_fits(w, size)
    for choice in ("light", "system"):  # a live theme switch does not resize it either
        w.theme.choose(choice)
        qtbot.wait(20)
        assert_fits(w, size)


@pytest.mark.parametrize("size", SCREENS, ids=[f"{w}x{h}" for w, h in SCREENS])
def test_reasons_is_on_screen_and_takes_the_spare_width(qtbot, open_window, size):
    w = open_window(size)
    reasons = COLUMN_INDEX["reasons"]
    assert not w.table.isColumnHidden(reasons)  # the library has findings
    viewport = w.table.viewport().width()
    left = w.table.columnViewportPosition(reasons)
    assert 0 <= left and left + table_columns.REASONS_MIN_WIDTH <= viewport
    assert w.table.columnWidth(reasons) >= table_columns.REASONS_MIN_WIDTH
    name_width = w.table.columnWidth(COLUMN_INDEX["name"])
    # a wider window widens Reasons, not Name
    w.resize(size[0] + 600, size[1])
    qtbot.waitUntil(lambda: w.table.viewport().width() > viewport + 300, timeout=2000)
    others = sum(w.table.columnWidth(i) for i in range(w.model.columnCount())
                 if i != reasons and not w.table.isColumnHidden(i))
    assert w.table.columnWidth(COLUMN_INDEX["name"]) == name_width
    assert w.table.columnWidth(reasons) == w.table.viewport().width() - others


def test_long_texts_elide_instead_of_widening_the_window(qtbot, open_window):
    size = SCREENS[0]
    w = open_window(size)
    load_first_loop(qtbot, w)
    w.player_bar.track_label.set_text(LONG)
    w.player_bar.show_error(f"cannot decode {LONG}: the file is damaged")
    w._set_encoder_status("spectral:v1 " + "x" * 300, [])  # noqa: SLF001
    w.job_status.start("Analysing libraries…")
    w.job_status.label.setText(f"Embedding 1 / 9 · {LONG}")
    w.similar_panel.show()
    w.similar_panel.title.setText(f"More like {LONG}")
    w.takes_panel.add_folder(str(w.libraries()[0]) + "/" + "deep/" * 40 + "missing")
    many = [Finding(kind, 0.9, 0.1 * i, 0.1 * i + 0.01)
            for i, kind in enumerate(["click", "dropout", "noise_burst", "off_grid",
                                      "loop_seam", "clipping", "click", "dropout"])]
    w.findings_bar.set_findings(many)
    qtbot.wait(50)
    assert_fits(w, size)
    bar = w.findings_bar
    assert len(bar.buttons) == 8
    shown = bar.shown_buttons()
    assert len(shown) < 8 and not bar.more.isHidden()  # the rest wait behind "+N more"
    assert bar.more.text() == f"+{8 - len(shown)} more"
    assert len(bar.more.menu().actions()) == 8 - len(shown)
    assert w.player_bar.track_label.shown_text().count("…") == 1  # elided, not cut


@pytest.mark.parametrize("size", SCREENS, ids=[f"{w}x{h}" for w, h in SCREENS])
def test_the_saved_window_state_comes_back_at_the_same_size(qtbot, open_window, size):
    w = open_window(size)
    w.main_split.setSizes([size[0] - 500, 300])
    w.save_state()
    right = w.main_split.sizes()[1]
    again = open_window(None)  # Qt restores the geometry, fitted to this (offscreen) screen
    assert again.size().width() <= size[0]
    again.resize(*size)
    qtbot.wait(50)
    assert_fits(again, size)
    assert again.tabifiedDockWidgets(again.library_dock) == [again.takes_dock]
    assert again.main_split.sizes()[1] == pytest.approx(right, abs=2)  # the table got the rest


def test_the_first_window_fits_a_small_screen():
    assert window_state.default_size(QSize(1280, 720)) == QSize(1280, 720)
    assert window_state.default_size(QSize(1366, 740)) == QSize(1280, 740)
    assert window_state.default_size(QSize(2560, 1440)) == QSize(1280, 800)
    assert window_state.default_size(None) == QSize(1280, 800)
