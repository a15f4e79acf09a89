"""Tempo and key in the loop table: the BPM and Key columns (with the file name's hint when it
disagrees), their sort, the facets loaded with the rows, and the tempo/key filters."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from anomalizer_desktop.core.audio.playback import NullPlayer
from anomalizer_desktop.core.catalog import Catalog
from anomalizer_desktop.core.facets import FACETS_VERSION, Facets
from anomalizer_desktop.gui.facet_filter_bar import FacetFilterBar
from anomalizer_desktop.gui.main_window import MainWindow
from anomalizer_desktop.gui.models.loop_facets import FacetFilter, set_name_hints
from anomalizer_desktop.gui.models.loop_filter import LoopFilterProxy
from anomalizer_desktop.gui.models.loop_row import LoopRow
from anomalizer_desktop.gui.models.loop_table import COLUMN_INDEX, LoopTableModel, SortRole

from .browse_data import scan_library, write_library

D, E, F, G, A = 2, 4, 5, 7, 9


def row(i: int, name: str, bpm=None, tonic=None, mode=None) -> LoopRow:
    r = LoopRow(i, f"/lib/{name}", name, "lib", bpm=bpm, tonic=tonic, mode=mode)
    set_name_hints([r])
    return r


def make_rows() -> list[LoopRow]:
    return [
        row(1, "Bass_120bpm_Dm_01.wav", 121.0, D, "minor"),   # agrees (within 4 %)
        row(2, "Bass_120bpm_Dm_02.wav", 126.0, F, "major"),   # both disagree
        row(3, "Bass_120bpm_Dm_03.wav", 240.0, D, "minor"),   # double tempo: agrees
        row(4, "Pad_no_hint.wav", 92.5, A, "minor"),          # no hint: the estimate alone
        row(5, "Drums_128bpm.wav"),                           # no estimate at all
        row(6, "Lead_100bpm_Gm.wav", 100.0, G, "minor"),
        row(7, "Keys_Em.wav", 110.0, E, "minor"),
    ]


@pytest.fixture
def models(qtbot):
    model = LoopTableModel()
    proxy = LoopFilterProxy()
    proxy.setSourceModel(model)
    model.set_rows(make_rows())
    return model, proxy


def cell(model, file_id: int, key: str, role=Qt.ItemDataRole.DisplayRole):
    return model.index(model.row_for_id(file_id), COLUMN_INDEX[key]).data(role)


def test_bpm_and_key_columns_show_the_estimate_and_a_disagreeing_name(models):
    model, _ = models
    assert cell(model, 1, "bpm") == "121.0" and cell(model, 1, "key") == "D minor"
    assert cell(model, 2, "bpm") == "126.0 (name 120)"
    assert cell(model, 2, "key") == "F major (name Dm)"
    assert cell(model, 3, "bpm") == "240.0"  # an exact double is the same tempo
    assert cell(model, 4, "bpm") == "92.5" and cell(model, 4, "key") == "A minor"
    assert cell(model, 5, "bpm") == "" and cell(model, 5, "key") == ""
    tip = cell(model, 2, "bpm", Qt.ItemDataRole.ToolTipRole)
    assert "126.0 BPM: estimated from the audio" in tip
    assert "120 BPM: from the file name (disagrees" in tip
    tip = cell(model, 2, "key", Qt.ItemDataRole.ToolTipRole)
    assert "F major: estimated from the audio" in tip and "D minor: from the file name" in tip
    assert "agrees" in cell(model, 1, "key", Qt.ItemDataRole.ToolTipRole)
    assert "128" in cell(model, 5, "bpm", Qt.ItemDataRole.ToolTipRole)  # the name's tempo
    # sorting uses the raw numbers, not the text
    assert cell(model, 2, "bpm", SortRole) == 126.0
    assert cell(model, 2, "key", SortRole) == (F, False)


def test_sorting_by_bpm_and_key_uses_raw_values_none_last(models):
    model, _ = models
    model.sort(COLUMN_INDEX["bpm"], Qt.SortOrder.AscendingOrder)
    assert [r.file_id for r in model.rows] == [4, 6, 7, 1, 2, 3, 5]
    model.sort(COLUMN_INDEX["bpm"], Qt.SortOrder.DescendingOrder)
    assert [r.file_id for r in model.rows][-1] == 5 and model.rows[0].file_id == 3
    model.sort(COLUMN_INDEX["key"], Qt.SortOrder.AscendingOrder)
    keys = [(r.tonic, r.mode) for r in model.rows]
    assert keys[:2] == [(D, "minor"), (D, "minor")] and keys[-1] == (None, None)


def ids(proxy) -> set[int]:
    return {proxy.index(r, 0).data(Qt.ItemDataRole.UserRole + 3) for r in range(proxy.rowCount())}


def test_bpm_range_key_and_compatible_keys_filter(models):
    model, proxy = models
    proxy.set_facets(FacetFilter(100.0, 125.0))
    assert ids(proxy) == {1, 6, 7}  # no estimate (5) fails a set range
    proxy.set_facets(FacetFilter(bpm_min=200.0))
    assert ids(proxy) == {3}
    proxy.set_facets(FacetFilter(key=(D, "minor")))
    assert ids(proxy) == {1, 3}
    # D minor mixes with F major (relative), A minor and G minor (a fifth up / down)
    proxy.set_facets(FacetFilter(key=(D, "minor"), compatible=True))
    assert ids(proxy) == {1, 2, 3, 4, 6}
    proxy.set_facets(FacetFilter(90.0, 110.0, (D, "minor"), compatible=True))
    assert ids(proxy) == {4, 6}
    proxy.set_facets(FacetFilter())
    assert proxy.rowCount() == len(make_rows())  # unset: rows without estimates pass too


def test_filter_bar_boxes_and_key_selector(qtbot):
    bar = FacetFilterBar()
    qtbot.addWidget(bar)
    bar.show()
    got = []
    bar.changed.connect(got.append)
    assert bar.value() == FacetFilter() and not bar.compatible.isEnabled()
    assert bar.key_box.count() == 25  # any + 24 keys
    bar.bpm_min.lineEdit().selectAll()
    qtbot.keyClicks(bar.bpm_min, "110")
    qtbot.keyClick(bar.bpm_min, Qt.Key.Key_Return)
    assert got[-1].bpm_min == 110.0 and got[-1].bpm_max is None
    bar.key_box.setCurrentIndex(bar.key_box.findText("D minor"))
    assert got[-1].key == (D, "minor") and bar.compatible.isEnabled()
    bar.compatible.setChecked(True)
    assert got[-1].compatible and got[-1].keys() == {(D, "minor"), (F, "major"), (A, "minor"),
                                                     (G, "minor")}
    # an emptied box means "any" again
    bar.bpm_min.lineEdit().selectAll()
    qtbot.keyClick(bar.bpm_min, Qt.Key.Key_Backspace)
    qtbot.keyClick(bar.bpm_min, Qt.Key.Key_Return)
    assert bar.bpm_min.bound() is None and got[-1].bpm_min is None
    assert bar.bpm_min.text() == "any"
    bar.clear()
    assert bar.value() == FacetFilter()


def test_facets_load_from_the_catalog_with_the_rows_and_filter_in_the_window(qtbot, tmp_path):
    from anomalizer_desktop.gui.analysis import stored_rows

    root = tmp_path / "lib"
    paths = write_library(root, duplicates=False, noise=False)
    catalog = Catalog(tmp_path / "c.sqlite")
    scan_library(root, catalog)
    files = catalog.files(under=root)
    record = next(f for f in files if f.path == paths["Bass_120bpm_Dm_a"])
    stored = catalog.facets_of([record.hash], FACETS_VERSION)[record.hash]
    # what the estimators said is replaced by known values: 131 BPM in F major
    catalog.put_facets(FACETS_VERSION, [(record.hash, Facets(
        131.0, 0.9, 2, F, "major", 0.5, stored.identity, stored.fingerprint))])

    rows = stored_rows(files, catalog, tmp_path / "no-model.pt")
    a = next(r for r in rows if r.file_id == record.id)
    assert (a.bpm, a.tonic, a.mode, a.name_bpm, a.name_tonic, a.name_mode) == (
        131.0, F, "major", 120.0, D, "minor")

    w = MainWindow(NullPlayer("test: no audio"), catalog=catalog, model_path=tmp_path / "m.pt")
    qtbot.addWidget(w)
    try:
        w._set_rows(rows)  # noqa: SLF001 - as the library job's "scanned" progress does
        assert not w.table.isColumnHidden(COLUMN_INDEX["bpm"])
        index = w.model.index(w.model.row_for_id(record.id), COLUMN_INDEX["bpm"])
        assert index.data() == "131.0 (name 120)"
        key = w.model.index(w.model.row_for_id(record.id), COLUMN_INDEX["key"]).data()
        assert key == "F major (name Dm)"
        w.facet_filters.set_value(125.0, 135.0)
        assert w.proxy.rowCount() == 1 and "1 shown" in w.counts.text()
        w.facet_filters.clear()
        assert w.proxy.rowCount() == len(rows)
    finally:
        w.shutdown()
        catalog.close()
