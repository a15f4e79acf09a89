"""The New takes dock: the whole story of a take on hover, and one selection shared with the table."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt

from anomalizer_desktop.core.audio.playback import NullPlayer
from anomalizer_desktop.core.qc.findings import Finding
from anomalizer_desktop.gui.analysis import listed_rows
from anomalizer_desktop.gui.main_window import MainWindow
from anomalizer_desktop.gui.models.loop_table import RowRole
from anomalizer_desktop.gui.watch_panel import Take, take_tooltip

LONG = "/home/producer/Music/Bounces/2025 album sessions/night drive/"


@pytest.fixture
def window(qtbot):
    w = MainWindow(NullPlayer("test: no audio"))
    qtbot.addWidget(w)
    w.requested = []
    w.audition.request = lambda path, play: w.requested.append((path, play))
    yield w
    w.shutdown()


def test_hovering_a_take_shows_everything_the_narrow_line_elides(window):
    findings = (
        Finding("click", 0.9, 1.25, 1.25, None, "", "one sample jumps far from its neighbours"),
        Finding("hum", 0.55, 0.0, 4.0, -22.0, "50 Hz", "a steady mains tone under the music"),
    )
    scored_at = time.mktime((2025, 3, 14, 21, 7, 5, 0, 0, -1))
    take = Take(LONG + "bass_take_03_final.wav", 3.1, 2.0, True, None,
                "click @ 1.250 s; hum 50 Hz -22 dB", findings, 0.0123, 4.5, scored_at)
    window.takes_panel.add_take(take)
    item = window.takes_panel.takes.item(0)
    tip = item.toolTip()
    lines = tip.splitlines()
    assert lines[0] == LONG + "bass_take_03_final.wav"  # the full path, first
    assert "Scored 2025-03-14 21:07:05" in lines
    assert "Flagged: click @ 1.250 s; hum 50 Hz -22 dB" in lines
    assert "About 1 in 1,259 normal loops of your library look this unusual" in lines
    assert "Evidence 3.10 (a flag needs 2.00)" in lines
    assert "Learned score 0.0123" in lines
    assert "Duration 4.50 s" in lines
    assert "Signal checks (2):" in lines
    assert ("  • click @ 1.250 s (1.250 s, high) — one sample jumps far from its neighbours"
            in lines)
    assert ("  • hum 50 Hz -22 dB (0.000-4.000 s, medium) — a steady mains tone under the music"
            in lines)
    assert item.text().startswith("⚑ bass_take_03_final.wav")  # the line itself stays short


def test_a_typical_take_and_a_failed_one_say_so_on_hover():
    typical = take_tooltip(Take("/b/pad.wav", 0.1, 2.0, False, None, duration_s=8.0))
    assert "Not flagged" in typical.splitlines()
    assert "Sounds typical for your library" in typical
    assert "Signal checks: nothing found" in typical
    failed = take_tooltip(Take("/b/broken.wav", None, float("nan"), None,
                               "cannot read the file: truncated"))
    assert failed.splitlines()[0] == "/b/broken.wav"
    assert "Could not be scored: cannot read the file: truncated" in failed
    assert "Evidence" not in failed and "a flag needs" not in failed


def _click_take(qtbot, w, row: int) -> None:
    takes = w.takes_panel.takes
    rect = takes.visualItemRect(takes.item(row))
    qtbot.mouseClick(takes.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _click_table_row(qtbot, w, path: str) -> None:
    index = next(w.proxy.index(r, 0) for r in range(w.proxy.rowCount())
                 if w.proxy.index(r, 0).data(RowRole).path == path)
    w.table.scrollTo(index)
    qtbot.mouseClick(w.table.viewport(), Qt.MouseButton.LeftButton,
                     pos=w.table.visualRect(index).center())


def _table_selection(w) -> list[str]:
    return [i.data(RowRole).path for i in w.table.selectionModel().selectedRows()]


def _show(qtbot, w, tmp_path) -> tuple[str, str, str]:
    files = [tmp_path / n for n in ("a.wav", "b.wav", "c.wav")]
    w._set_rows(listed_rows(files))  # noqa: SLF001
    a, b, c = (str(f) for f in files)
    w.show()
    qtbot.waitExposed(w)
    w.takes_dock.raise_()
    qtbot.waitUntil(w.takes_panel.takes.isVisible)
    return a, b, c


def test_clicking_a_take_plays_it_and_the_table_selects_that_file(qtbot, window, tmp_path):
    w = window
    a, _b, c = _show(qtbot, w, tmp_path)
    outside = str(tmp_path / "bounces" / "take.wav")  # a watch folder outside the libraries
    w.takes_panel.add_take(Take(c, 0.1, 2.0, False, None))
    w.takes_panel.add_take(Take(outside, 0.1, 2.0, False, None))  # newest: row 0
    _click_table_row(qtbot, w, a)
    assert _table_selection(w) == [a]
    _click_take(qtbot, w, 1)  # c, which the table lists
    assert _table_selection(w) == [c] and w.current_row().path == c
    assert w.requested[-1] == (c, True)
    assert w.takes_panel.selected_take().path == c
    _click_take(qtbot, w, 0)  # outside the libraries: no table row pretends to be playing
    assert _table_selection(w) == [] and w.current_row() is None
    assert w.requested[-1] == (outside, True)
    assert w.takes_panel.selected_take().path == outside  # the clicked take stays selected


def test_selecting_a_table_row_selects_its_take_or_none(qtbot, window, tmp_path):
    w = window
    a, b, c = _show(qtbot, w, tmp_path)
    w.takes_panel.add_take(Take(b, 0.1, 2.0, False, None))
    w.takes_panel.add_take(Take(c, 0.1, 2.0, False, None))
    w.takes_panel.add_take(Take(b, 3.0, 2.0, True, None, "click @ 0.100 s"))  # b exported again
    activated = []
    w.takes_panel.takeActivated.connect(activated.append)
    _click_table_row(qtbot, w, c)
    assert w.takes_panel.selected_take().path == c
    _click_table_row(qtbot, w, b)
    assert w.takes_panel.takes.currentRow() == 0  # the newest take of b
    assert w.takes_panel.selected_take().flagged is True
    _click_table_row(qtbot, w, a)  # no take of a: nothing selected in New takes
    assert w.takes_panel.selected_take() is None
    assert w.takes_panel.takes.selectedItems() == []
    assert activated == []  # following the table never plays a take by itself
    _click_take(qtbot, w, 2)  # the older take of b: it stays the selected one
    assert _table_selection(w) == [b]
    assert w.takes_panel.takes.currentRow() == 2
