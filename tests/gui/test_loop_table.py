"""LoopTableModel + LoopFilterProxy: model sanity, sorting by score, filters, live re-flagging."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QPersistentModelIndex, QPoint, Qt
from PySide6.QtWidgets import QTableView

from dataclasses import replace

import numpy as np

from anomalizer_desktop.core.evidence import FlagPolicy, LibraryEvidence
from anomalizer_desktop.core.qc import Finding
from anomalizer_desktop.gui.models.loop_filter import ANY_KIND, LoopFilterProxy
from anomalizer_desktop.gui.models.loop_table import (
    COLUMN_INDEX,
    FileIdRole,
    LoopRow,
    LoopTableModel,
    SortRole,
)

SCORE = COLUMN_INDEX["score"]
DESC = Qt.SortOrder.DescendingOrder
ASC = Qt.SortOrder.AscendingOrder


# A library of 200 loops whose learned scores spread like exp(N(0, 0.3)): 1.0 is typical, 3.0
# and 7.5 are far out (flagged at the default budget), 0.5 is on the quiet side.
LIBRARY = LibraryEvidence.from_files(
    [f"{i:032x}" for i in range(200)],
    np.exp(np.random.default_rng(0).normal(size=200) * 0.3), [[]] * 200)
POLICY = FlagPolicy(calibration=LIBRARY)


def make_rows() -> list[LoopRow]:
    spec = [
        (1, "Kick Loop 01.wav", "drums", 0.5),
        (2, "bass_groove.wav", "bass", 3.0),
        (3, "Pad Wash.flac", "synth/pads", None),  # not scored yet
        (4, "broken.wav", "drums", None),
        (5, "Bass Riff 2.aiff", "bass", 1.0),
        (6, "glitch.wav", "fx", 7.5),
    ]
    return [LoopRow(fid, f"/lib/{folder}/{name}", name, folder, duration_s=4.0 + fid,
                    learned=learned, error="cannot decode" if fid == 4 else None)
            for fid, name, folder, learned in spec]


@pytest.fixture
def models(qtbot):
    model = LoopTableModel()
    proxy = LoopFilterProxy()
    proxy.setSourceModel(model)
    model.set_policy(POLICY)
    model.set_rows(make_rows())
    return model, proxy


def ids(proxy) -> list[int]:
    return [proxy.index(r, 0).data(FileIdRole) for r in range(proxy.rowCount())]


def test_qtmodeltester_model_and_proxy(qtmodeltester, models):
    model, proxy = models
    qtmodeltester.check(model, force_py=True)
    proxy.set_text("bass")
    qtmodeltester.check(proxy, force_py=True)


def test_sort_by_score_most_anomalous_first_none_last(models):
    model, proxy = models
    proxy.sort(SCORE, DESC)
    assert ids(proxy) == [6, 2, 5, 1, 3, 4]
    proxy.sort(SCORE, ASC)
    assert ids(proxy)[:4] == [1, 5, 2, 6]
    assert set(ids(proxy)[4:]) == {3, 4}  # unscored rows stay at the bottom both ways
    assert model.sort_state == (SCORE, ASC)


def test_sort_keeps_selection(models, qtbot):
    model, proxy = models
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.sortByColumn(SCORE, DESC)
    row_of_5 = ids(proxy).index(5)
    view.selectRow(row_of_5)
    keep = QPersistentModelIndex(proxy.index(row_of_5, 0))
    view.sortByColumn(COLUMN_INDEX["name"], ASC)
    assert keep.isValid() and keep.data(FileIdRole) == 5
    selected = view.selectionModel().selectedRows()
    assert [i.data(FileIdRole) for i in selected] == [5]


def test_display_and_roles(models):
    model, _ = models
    r = model.row_for_id(6)
    assert model.index(r, SCORE).data().startswith("1 in ")
    assert model.index(model.row_for_id(2), SCORE).data().startswith("1 in ")
    assert model.index(r, SCORE).data(SortRole) > model.judge.threshold
    assert model.index(r, COLUMN_INDEX["learned"]).data() == "7.5"
    assert model.index(model.row_for_id(5), SCORE).data() == "typical"
    assert model.index(r, COLUMN_INDEX["flag"]).data() == "flag"
    assert model.index(r, 0).data(Qt.ItemDataRole.BackgroundRole) is not None
    assert model.index(r, COLUMN_INDEX["duration"]).data() == "0:10.0"
    err = model.row_for_id(4)
    assert "cannot decode" in model.index(err, COLUMN_INDEX["name"]).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(err, COLUMN_INDEX["name"]).data(Qt.ItemDataRole.ForegroundRole) is not None
    ok = model.row_for_id(1)
    assert model.index(ok, 0).data(Qt.ItemDataRole.BackgroundRole) is None


def test_text_filter_is_case_insensitive_on_name_and_folder(models):
    _, proxy = models
    proxy.set_text("BASS")
    assert sorted(ids(proxy)) == [2, 5]
    proxy.set_text("pads")  # folder only
    assert ids(proxy) == [3]
    proxy.set_text("drums kick")  # every word must match
    assert ids(proxy) == [1]
    proxy.set_text("")
    assert len(ids(proxy)) == 6


def test_flagged_only_and_fine(models):
    model, proxy = models
    proxy.set_flagged_only(True)
    assert sorted(ids(proxy)) == [2, 6]
    model.set_fine(6, True)
    proxy.refilter()
    assert ids(proxy) == [2]
    proxy.set_text("glitch")
    assert ids(proxy) == []


def test_filter_survives_source_sort(models):
    model, proxy = models
    proxy.set_text("bass")
    proxy.sort(SCORE, DESC)
    assert ids(proxy) == [2, 5]
    proxy.sort(SCORE, ASC)
    assert ids(proxy) == [5, 2]


def test_set_learned_emits_only_changed_rows(models, qtbot):
    model, _ = models
    seen = []
    model.dataChanged.connect(lambda a, b: seen.append((a.row(), b.row(), a.column(), b.column())))
    n = model.set_learned({3: 2.5, 1: 0.5, 999: 1.0})
    assert n == 1  # row 1 unchanged, 999 unknown
    r3 = model.row_for_id(3)
    assert seen == [(r3, r3, 0, model.columnCount() - 1)]
    assert model.rows[r3].flagged is True


def test_budget_reflags_live_from_the_evidence(models):
    model, proxy = models
    proxy.set_flagged_only(True)
    model.set_learned({5: 1.25})  # a little unusual: flagged only by a loose budget
    assert model.set_policy(replace(POLICY, budget=0.5)) >= 1  # more flags, no re-judging
    proxy.refilter()
    loose = set(ids(proxy))
    assert loose == {2, 5, 6}
    model.set_policy(replace(POLICY, budget=0.001))
    proxy.refilter()
    assert 6 in ids(proxy) and set(ids(proxy)) <= {2, 6}
    assert model.flagged_count() == len(ids(proxy))
    evidence = {r.file_id: r.score for r in model.rows}
    assert all(evidence[i] >= model.judge.threshold for i in ids(proxy))


def test_set_rows_keeps_sort(models):
    model, proxy = models
    proxy.sort(SCORE, DESC)
    model.set_rows(list(reversed(make_rows())))
    assert ids(proxy)[:2] == [6, 2]


def _big_rows(n: int) -> list[LoopRow]:
    import numpy as np

    rng = np.random.default_rng(0)
    scores = np.exp(rng.normal(size=n) * 0.35)
    return [
        LoopRow(i, f"/lib/pack{i % 97}/loop_{i:06d}.wav", f"loop_{i:06d}.wav", f"pack{i % 97}",
                duration_s=4.0, learned=float(scores[i]) if i % 10 else None)
        for i in range(n)
    ]


@pytest.mark.slow
def test_100k_rows_load_sort_filter_times(qtbot):
    rows = _big_rows(100_000)
    model = LoopTableModel()
    proxy = LoopFilterProxy()
    proxy.setSourceModel(model)
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.resize(900, 600)
    view.show()

    model.set_policy(POLICY)
    t0 = time.perf_counter()
    model.set_rows(rows)
    proxy.sort(SCORE, DESC)
    view.viewport().repaint()
    load_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    proxy.set_text("pack13")
    filter_s = time.perf_counter() - t0
    n_filtered = proxy.rowCount()

    t0 = time.perf_counter()
    proxy.set_text("")
    proxy.set_flagged_only(True)
    flagged_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    model.set_policy(replace(POLICY, budget=0.01))
    proxy.refilter()
    reflag_s = time.perf_counter() - t0

    print(f"\n100k rows: load+sort+paint {load_s:.3f}s, text filter {filter_s:.3f}s, "
          f"flagged-only {flagged_s:.3f}s, re-flag {reflag_s:.3f}s")
    assert n_filtered == len([r for r in rows if r.folder == "pack13"])
    top = proxy.index(0, SCORE).data(SortRole)
    assert top == max(r.score for r in rows if r.score is not None)
    assert load_s < 3.0 and filter_s < 2.0 and flagged_s < 2.0 and reflag_s < 2.0


def test_drag_out_gives_file_urls(models):
    model, proxy = models
    proxy.sort(SCORE, DESC)
    idx = [proxy.index(0, 0), proxy.index(0, 2), proxy.index(1, 0)]
    mime = proxy.mimeData(idx)
    paths = [u.toLocalFile() for u in mime.urls()]
    assert sorted(paths) == sorted(["/lib/fx/glitch.wav", "/lib/bass/bass_groove.wav"])
    assert "text/uri-list" in proxy.mimeTypes()


def test_repeated_sort_is_a_no_op_until_data_changes(models, qtbot):
    model, proxy = models
    proxy.sort(SCORE, DESC)
    with qtbot.assertNotEmitted(model.layoutChanged):
        proxy.sort(SCORE, DESC)  # QTableView.sortByColumn asks twice; the second costs nothing
    # A score changes: the same sort request must re-sort.
    model.set_learned({1: 9.0})
    with qtbot.waitSignal(model.layoutChanged, timeout=1000):
        proxy.sort(SCORE, DESC)
    assert ids(proxy)[0] == 1


def test_score_header_says_most_anomalous_first_and_sorts_descending_first(models):
    model, proxy = models
    proxy.sort(SCORE, DESC)
    tip = model.headerData(SCORE, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert "most anomalous first" in tip
    proxy.sort(SCORE, ASC)
    tip = model.headerData(SCORE, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert "least anomalous first" in tip
    initial = Qt.ItemDataRole.InitialSortOrderRole
    assert model.headerData(SCORE, Qt.Orientation.Horizontal, initial) == DESC
    assert model.headerData(COLUMN_INDEX["name"], Qt.Orientation.Horizontal, initial) == ASC


def test_first_click_on_score_header_sorts_most_anomalous_first(models, qtbot):
    model, proxy = models
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(proxy)
    view.setSortingEnabled(True)
    view.sortByColumn(COLUMN_INDEX["name"], ASC)
    view.resize(600, 300)
    view.show()
    header = view.horizontalHeader()
    x = header.sectionViewportPosition(SCORE) + header.sectionSize(SCORE) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(x, header.height() // 2))
    assert header.sortIndicatorSection() == SCORE
    assert header.sortIndicatorOrder() == DESC
    assert ids(proxy)[:2] == [6, 2]


def test_a_strong_finding_new_to_the_library_flags_even_at_1_in_200(models):
    model, proxy = models
    model.set_policy(replace(POLICY, budget=0.005))
    model.set_findings(1, [Finding("click", 0.9, 1.234, 1.234)])  # learned 0.5: typical
    row = model.rows[model.row_for_id(1)]
    assert row.flagged is True and row.shown[0].kind == "click"
    assert row.reasons.startswith("click at 1.234 s, stronger than every one of your 200 loops")
    tip = model.index(model.row_for_id(1), COLUMN_INDEX["flag"]).data(Qt.ItemDataRole.ToolTipRole)
    assert "normal loops of this library look this unusual" in tip and "click at 1.234 s" in tip


def test_flagged_by_checks_only_counts_rows_the_learned_score_would_not_flag(models):
    model, _ = models
    assert model.flagged_by_checks_only() == 0
    model.set_findings(1, [Finding("hum", 0.7, 0.0, 5.0, -20.0, "50 Hz")])
    assert model.rows[model.row_for_id(1)].reasons.startswith("hum 50 Hz -20 dB, stronger")
    assert model.flagged_count() == 3  # 2 and 6 by the learned score, 1 by its finding
    assert model.flagged_by_checks_only() == 1


def test_check_policy_rejudges_reasons_and_flags_without_rescanning(models):
    model, proxy = models
    click = Finding("click", 0.9, 1.234, 1.234)
    faint_hum = Finding("hum", 0.3, 0.0, 5.0, -40.0, "50 Hz")
    medium = replace(POLICY, min_severity=0.5)
    model.set_policy(medium)
    model.set_findings(1, [click, faint_hum])
    model.set_findings(5, [faint_hum])
    row1, row5 = model.rows[model.row_for_id(1)], model.rows[model.row_for_id(5)]
    assert row1.flagged is True and [f.kind for f in row1.shown] == ["click"]  # hum too faint
    assert row5.flagged is False and row5.reasons == ""
    assert model.kind_counts() == {"click": 1}
    assert model.kind_counts(FlagPolicy(min_severity=0.2)) == {"click": 1, "hum": 2}

    assert model.set_policy(POLICY) >= 1  # low (default): a hum no library loop has counts
    assert row5.flagged is True and row5.reasons.startswith("hum 50 Hz -40 dB")
    assert [f.kind for f in row1.shown] == ["click", "hum"]  # strongest evidence first
    model.set_policy(replace(POLICY, disabled=frozenset({"click"})))
    assert row1.flagged is True and [f.kind for f in row1.shown] == ["hum"]
    model.set_policy(replace(POLICY, use_checks=False))
    assert not row1.flagged and not row5.flagged and model.kind_counts() == {}
    assert model.flagged_count() == 2  # 2 and 6, by the learned score only


def test_filter_and_sort_by_finding_kind(models):
    model, proxy = models
    model.set_findings(1, [Finding("hum", 0.9, 0.0, 5.0, -20.0, "50 Hz")])
    model.set_findings(5, [Finding("click", 0.6, 2.0, 2.0)])
    model.set_findings(6, [Finding("click", 0.95, 0.5, 0.5), Finding("hum", 0.7, 0.0, 7.0)])
    proxy.set_kind("click")
    assert sorted(ids(proxy)) == [5, 6]
    proxy.set_kind("hum")
    assert sorted(ids(proxy)) == [1, 6]
    proxy.set_kind(ANY_KIND)
    assert sorted(ids(proxy)) == [1, 5, 6]
    proxy.set_text("bass")
    assert ids(proxy) == [5]
    proxy.set_text("")
    proxy.set_kind(None)
    assert proxy.rowCount() == 6
    # sorting the Reasons column groups files by the kind of their most severe finding
    # (check order: click before hum), most severe first; files without findings last
    proxy.sort(COLUMN_INDEX["reasons"], ASC)
    assert ids(proxy)[:3] == [6, 5, 1]


def test_unusual_words_stay_short_for_the_column():
    from anomalizer_desktop.gui.models.loop_row import LoopRow, format_evidence

    def words(p, floor=False):
        return format_evidence(LoopRow(1, "/a.wav", "a.wav", "", score=-np.log10(p), p=p,
                                       floor=floor))

    assert [words(p) for p in (0.6, 1 / 20, 1 / 2000, 1 / 40_000, 1 / 999_000, 1 / 999_800, 1e-9)] == [
        "typical", "1 in 20", "1 in 2,000", "1 in 40k", "1 in 999k", "1 in 1M+", "1 in 1M+"]
    assert words(1e-12, floor=True) == "defect"
