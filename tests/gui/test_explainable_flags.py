"""Explainable flags in the window: finding regions, click-to-seek, the localisation strip,
the finding-kind filter and the signal-check settings (real catalog, checks, encoder, model)."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from anomalizer_desktop.gui import window_findings
from anomalizer_desktop.gui.main_window import MainWindow
from anomalizer_desktop.gui.models.loop_filter import ANY_KIND
from anomalizer_desktop.gui.models.loop_table import RowRole
from anomalizer_desktop.gui.views.findings_bar import colour_of, finding_regions

from .test_main_window import RecordingPlayer, wait_idle

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from anomalizer_desktop.core.demo import write_demo_library

    return write_demo_library(tmp_path_factory.mktemp("demo") / "pack", n_normal=20, seed=1)


@pytest.fixture
def window(qtbot, demo):
    player = RecordingPlayer()
    w = MainWindow(player)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    w.settings.setValue("encoder", "spectral")
    w.add_library(str(demo.root))
    wait_idle(qtbot, w)
    yield w, player
    w.shutdown()


def glitch_path(demo) -> str:
    return str(next(p for p, why in demo.oddities.items() if "click" in why))


def select(qtbot, w, path: str) -> None:
    row = w.model.row_for_path(path)
    assert w.select_file(row.file_id, play=False)
    qtbot.waitUntil(lambda: w.audition.current_path == path, timeout=20_000)


def test_selected_file_shows_its_findings_and_a_click_seeks_there(qtbot, window, demo):
    w, player = window
    path = glitch_path(demo)
    row = w.model.row_for_path(path)
    kinds = {f.kind for f in row.shown}
    assert {"click", "dropout"} <= kinds and row.flagged
    select(qtbot, w, path)

    # coloured regions on the waveform, one per time-localised finding, in the kind's colour
    regions = finding_regions(row.shown, w.waveform.duration_s)
    drawn = [item for item in w.waveform._region_items if hasattr(item, "getRegion")]  # noqa: SLF001
    assert len(drawn) == len(regions) >= 2
    click = next(f for f in row.shown if f.kind == "click")
    assert any(abs(r.getRegion()[0] - click.start_s) < 1e-6 for r in drawn)
    assert {r[2] for r in regions} >= {colour_of("click"), colour_of("dropout")}

    # one button per finding; clicking one plays from just before it
    labels = [b.text() for b in w.findings_bar.buttons]
    assert click.label() in labels
    player.calls.clear()
    qtbot.mouseClick(w.findings_bar.buttons[labels.index(click.label())], Qt.MouseButton.LeftButton)
    start = max(0.0, click.start_s - window_findings.PREROLL_S)
    assert ("play", pytest.approx(start)) in player.calls
    assert w.waveform.playhead.value() == pytest.approx(click.start_s)

    # N / Shift+N step through the findings from the keyboard, wrapping around
    targets = w.findings_bar.targets
    i = targets.index(click)
    w.table.setFocus()
    qtbot.keyClick(w.table, Qt.Key.Key_N)
    assert w.waveform.playhead.value() == pytest.approx(targets[(i + 1) % len(targets)].start_s)
    qtbot.keyClick(w.table, Qt.Key.Key_N, Qt.KeyboardModifier.ShiftModifier)
    assert w.waveform.playhead.value() == pytest.approx(click.start_s)


def test_localisation_strip_draws_the_learned_score_over_time(qtbot, window, demo):
    w, _ = window
    path = glitch_path(demo)
    select(qtbot, w, path)
    qtbot.waitUntil(lambda: w.local_curve.curve_data is not None and w.local_curve.path == path,
                    timeout=60_000)
    x, y = w.local_curve.curve_data
    assert len(x) >= 2 and np.all(np.diff(x) > 0) and np.isfinite(y).all()
    assert x[0] > 0 and x[-1] < w.waveform.duration_s
    assert np.median(y) == pytest.approx(1.0)  # relative to the take's typical window
    # the strip follows the waveform's zoom
    w.waveform.plot.setXRange(0.5, 1.5, padding=0)
    (a, b), _ = w.local_curve.plot.getViewBox().viewRange()
    assert (a, b) == pytest.approx((0.5, 1.5), abs=0.05)
    # selecting another file asks again; coming back is served from the cache at once
    other = next(r.path for r in w.model.rows if r.path != path and not r.error)
    select(qtbot, w, other)
    qtbot.waitUntil(lambda: w.local_curve.path == other and w.local_curve.curve_data is not None,
                    timeout=60_000)
    select(qtbot, w, path)
    qtbot.waitUntil(lambda: w.local_curve.path == path and w.local_curve.curve_data is not None,
                    timeout=5_000)


def test_kind_filter_lists_kinds_with_counts_and_filters(qtbot, window, demo):
    w, _ = window
    combo = w.kind_filter
    items = {combo.itemData(i): combo.itemText(i) for i in range(combo.count())}
    assert None in items and ANY_KIND in items and "click" in items
    combo.setCurrentIndex(combo.findData("click"))
    shown = [w.proxy.index(r, 0).data(RowRole) for r in range(w.proxy.rowCount())]
    assert shown and all(any(f.kind == "click" for f in r.shown) for r in shown)
    assert glitch_path(demo) in [r.path for r in shown]
    assert f"({len(shown)})" in combo.currentText()
    assert "shown" in w.counts.text()
    combo.setCurrentIndex(combo.findData(None))
    assert w.proxy.rowCount() == w.model.rowCount()


def test_check_settings_switch_checks_off_live_and_persist(qtbot, window, demo):
    w, _ = window
    path = glitch_path(demo)
    row = w.model.row_for_path(path)
    select(qtbot, w, path)
    assert len(w.findings_bar.buttons) == len(row.shown) >= 2
    by_checks = w.model.flagged_by_checks_only()
    dialog = window_findings.open_checks_dialog(w)
    qtbot.waitExposed(dialog)
    n_click = w.model.kind_counts()["click"]
    assert dialog.count_labels["click"].text() == f"{n_click} file{'s' if n_click > 1 else ''}"

    dialog.boxes["click"].setChecked(False)
    assert "click" not in {f.kind for f in row.shown} and "dropout" in {f.kind for f in row.shown}
    assert w.settings.value("checks/disabled") == ["click"]
    dialog.enabled.setChecked(False)  # only the learned score flags now
    assert row.shown == () and w.model.flagged_by_checks_only() == 0
    assert w.findings_bar.buttons == [] and "off" in w.findings_bar.status.text()
    assert not [i for i in w.waveform._region_items if hasattr(i, "getRegion")]  # noqa: SLF001
    flagged_learned = w.model.flagged_count()

    # a new window (a restart) comes back with the same settings
    w2 = MainWindow(RecordingPlayer(), catalog=w.catalog)
    qtbot.addWidget(w2)
    try:
        assert not w2.user_policy.use_checks and w2.user_policy.disabled == {"click"}
    finally:
        w2.shutdown()

    dialog.restore_defaults()
    assert w.user_policy.use_checks and not w.user_policy.disabled
    assert "click" in {f.kind for f in row.shown}
    assert w.model.flagged_by_checks_only() == by_checks
    assert w.model.flagged_count() >= flagged_learned
    dialog.close()
    qtbot.waitUntil(lambda: w.checks_dialog is None, timeout=2000)


def test_findings_reach_the_table_before_the_embeddings(tmp_path, demo):
    from anomalizer_desktop.core.catalog import Catalog
    from anomalizer_desktop.gui.analysis import analyse

    stages, checked_rows = [], None
    with Catalog(tmp_path / "c.sqlite3") as catalog:
        job = analyse([demo.root], catalog, tmp_path / "m.anomalizer", "spectral", "pca",
                      list_first=True)
        while True:
            try:
                p = next(job)
            except StopIteration:
                break
            stages.append(p.stage)
            if p.stage == "checked" and checked_rows is None:
                checked_rows = p.extra["rows"]  # the first scan's (train/score scan again)
    assert stages.index("checked") < stages.index("embed")
    glitch = next(r for r in checked_rows if r.path == glitch_path(demo))
    assert {f.kind for f in glitch.findings} >= {"click", "dropout"}
    # judged in the worker (the window takes the rows as they are): flagged before any
    # embedding exists, by the digital silence inside the take
    assert glitch.flagged and glitch.floor and glitch.learned is None
