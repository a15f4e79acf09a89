"""More like this: the action on the selected loop and drops of any audio file open the Similar
list (nearest first, BPM and key), its loops are ringed on the map, choosing one selects and
auditions it; an undecodable file or a library with no embeddings says so in words."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QMessageBox

from anomalizer_desktop.core.audio.playback import NullPlayer
from anomalizer_desktop.core.catalog import Catalog
from anomalizer_desktop.gui.analysis import AnalysisResult, MapData, pca_2d, stored_rows
from anomalizer_desktop.gui.main_window import MainWindow
from anomalizer_desktop.gui.models.loop_table import FileIdRole

from .browse_data import SR, scan_library, write_library


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    base = tmp_path_factory.mktemp("similar")
    root = base / "Library"
    paths = write_library(root)
    with Catalog(base / "c.sqlite") as catalog:
        encoder = scan_library(root, catalog)
    return base, root, paths, encoder.id


def open_window(qtbot, library, tmp_path, with_map=True):
    base, root, _paths, encoder_id = library
    catalog = Catalog(base / "c.sqlite")
    w = MainWindow(NullPlayer("test: no audio"), catalog=catalog, model_path=tmp_path / "m.pt")
    qtbot.addWidget(w)
    w.settings.setValue("encoder", "spectral")
    w.resize(1280, 720)
    w.show()
    qtbot.waitExposed(w)
    w.refresh_libraries()
    # What the library job reports: the rows, the encoder, and (after scoring) the map.
    rows = stored_rows(catalog.files(under=root), catalog, tmp_path / "m.pt")
    data = None
    if with_map:
        records, X = catalog.embedding_matrix([r.file_id for r in rows], encoder_id)
        xy, var = pca_2d(X)
        data = MapData(np.array([r.id for r in records]), None, None, xy, var)
    w._set_encoder_status(encoder_id, [])  # noqa: SLF001
    w._show_result(AnalysisResult(rows, None, encoder_id=encoder_id, map=data))  # noqa: SLF001
    return w, catalog


def select_path(w, path):
    for r in range(w.proxy.rowCount()):
        index = w.proxy.index(r, 0)
        if w.model.row_for_id(index.data(FileIdRole)) is not None and \
                w.model.row_at(w.model.row_for_id(index.data(FileIdRole))).path == str(path):
            w.table.setCurrentIndex(index)
            return index
    raise AssertionError(f"{path} not in the table")


def wait_for_list(qtbot, w):
    qtbot.waitUntil(lambda: w.similar.runner is None and not w.similar_panel.isHidden(),
                    timeout=20_000)


def distances(panel) -> list[float]:
    tree = panel.tree
    return [float(tree.topLevelItem(i).text(2)) for i in range(tree.topLevelItemCount())]


def drop_on(widget, path) -> None:
    """Drag ``path`` in from outside the app and drop it on ``widget``."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    enter = QDragEnterEvent(QPoint(20, 20), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    assert enter.isAccepted()
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, event)


def test_more_like_this_lists_neighbours_nearest_first_and_rings_them(qtbot, library, tmp_path):
    _base, _root, paths, _ = library
    w, catalog = open_window(qtbot, library, tmp_path)
    try:
        assert w.similar_panel.isHidden()
        select_path(w, paths["Bass_120bpm_Dm_a"])
        assert w.actions_by_name["similar"].shortcut().toString() == "Ctrl+L"
        w.actions_by_name["similar"].trigger()
        wait_for_list(qtbot, w)
        panel = w.similar_panel
        got = [p.rsplit("/", 1)[1] for p in panel.paths()]
        # the lossless copy first (the same audio), then the -6 dB copy, the query left out
        assert got[:2] == ["Bass_120bpm_Dm_a_copy.flac", "Bass_120bpm_Dm_a_quiet.wav"]
        assert "Bass_120bpm_Dm_a.wav" not in got and len(got) == 5
        d = distances(panel)
        assert d == sorted(d) and d[0] == pytest.approx(0.0, abs=1e-6)
        first = panel.tree.topLevelItem(0)
        assert (first.text(0), first.text(3), first.text(4)) == ("1", "120.0", "D minor")
        assert "Bass_120bpm_Dm_a.wav" in panel.title.text()

        # the map rings exactly the listed loops, in list order, in their own colour
        ids = [w.model.row_for_path(p).file_id for p in panel.paths()]
        assert w.scatter.neighbour_ids() == ids
        assert len(w.scatter.neighbour_item.data) == len(ids)
        assert not w.scatter.neighbour_key.isHidden()
        assert "Bass_120bpm_Dm_a.wav" in w.scatter.neighbour_key.toolTip()

        # keyboard: Down selects the first hit; it is selected in the table and auditioned
        panel.tree.setFocus()
        qtbot.keyClick(panel.tree, Qt.Key.Key_Down)
        qtbot.waitUntil(lambda: w.audition.current_path == panel.paths()[0], timeout=10_000)
        assert w.current_row().path == panel.paths()[0]
        assert panel.tree.hasFocus()  # the keyboard stays in the list
        playing = w.audition.is_playing
        qtbot.keyClick(panel.tree, Qt.Key.Key_Space)  # the table's play / stop key
        assert w.audition.is_playing != playing

        # closing the list clears the rings
        panel.close_button.click()
        assert panel.isHidden() and w.scatter.neighbour_ids() == []
        assert not w.actions_by_name["similar_panel"].isChecked()
        w.actions_by_name["similar_panel"].setChecked(True)
        assert w.scatter.neighbour_ids() == ids
    finally:
        w.shutdown()
        catalog.close()


def test_a_dropped_file_from_outside_the_library_is_embedded_and_searched(qtbot, library,
                                                                          tmp_path):
    _base, _root, paths, _ = library
    outside = tmp_path / "elsewhere" / "my_take.wav"
    outside.parent.mkdir()
    x, _ = sf.read(paths["Bass_120bpm_Dm_a"], dtype="float32")
    sf.write(outside, x * 0.7, SR, subtype="FLOAT")  # not in the catalog: needs the encoder
    w, catalog = open_window(qtbot, library, tmp_path)
    try:
        drop_on(w.similar_panel, outside)
        wait_for_list(qtbot, w)
        got = [p.rsplit("/", 1)[1] for p in w.similar_panel.paths()]
        assert got[0].startswith("Bass_120bpm_Dm_a") and len(got) == 6
        assert sorted(distances(w.similar_panel)) == distances(w.similar_panel)
        assert "my_take.wav" in w.similar_panel.title.text()
        # not in the table: choosing a hit still auditions it; the query itself is not listed
        assert str(outside) not in w.similar_panel.paths()
    finally:
        w.shutdown()
        catalog.close()


def test_an_undecodable_dropped_file_shows_its_error_not_a_traceback(qtbot, library, tmp_path,
                                                                     monkeypatch):
    from anomalizer_desktop.core.audio.io import read_audio
    from anomalizer_desktop.core.errors import AudioReadError

    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(64))
    with pytest.raises(AudioReadError) as info:
        read_audio(broken, 48_000)
    dialogs = []
    monkeypatch.setattr(QMessageBox, "show", lambda self: dialogs.append(self.text()))
    w, catalog = open_window(qtbot, library, tmp_path, with_map=False)
    try:
        drop_on(w, broken)  # on the window, not the panel
        wait_for_list(qtbot, w)
        text = w.similar_panel.status.text()
        assert text == str(info.value)
        assert "Traceback" not in text and w.similar_panel.paths() == []
        assert dialogs == []  # a known error: no "unexpected error" dialog
        assert w.scatter.neighbour_ids() == []
    finally:
        w.shutdown()
        catalog.close()


def test_a_library_without_embeddings_says_scan_it_first(qtbot, tmp_path):
    from anomalizer_desktop.core.jobs import scan
    from anomalizer_desktop.core.progress import run_job

    root = tmp_path / "lib"
    paths = write_library(root, duplicates=False, noise=False)
    catalog = Catalog(tmp_path / "c.sqlite")
    run_job(scan([root], catalog, None, checks=False), lambda p: None)  # listed, not embedded
    w = MainWindow(NullPlayer("test: no audio"), catalog=catalog, model_path=tmp_path / "m.pt")
    qtbot.addWidget(w)
    w.settings.setValue("encoder", "spectral")
    try:
        w.refresh_libraries()
        w.similar.search(str(paths["Bass_120bpm_Dm_a"]))
        wait_for_list(qtbot, w)
        assert "scan this library first" in w.similar_panel.status.text()
        assert w.similar_panel.paths() == []
    finally:
        w.shutdown()
        catalog.close()


def test_more_like_this_without_a_selection_asks_for_one(qtbot, library, tmp_path):
    w, catalog = open_window(qtbot, library, tmp_path, with_map=False)
    try:
        w.table.clearSelection()
        w.table.setCurrentIndex(w.proxy.index(-1, -1))
        w.actions_by_name["similar"].trigger()
        assert "Select a loop first" in w.statusBar().currentMessage()
        assert w.similar.runner is None
    finally:
        w.shutdown()
        catalog.close()
