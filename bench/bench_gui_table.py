"""Loop table with 100,000 rows: time to first paint, sort and filter, against baselines.

    .venv/bin/python bench/bench_gui_table.py [--rows 100000] [--repeat 3]

Runs offscreen (``QT_QPA_PLATFORM=offscreen``) unless a DISPLAY and ``--xcb`` are given.

- **first paint**: from ``MainWindow._set_rows(rows)`` (model reset, judging every row, kept
  sort by score, proxy mapping, counts label) to the first ``QEvent.Paint`` of the table's
  viewport, caught with an event filter. Then the app's own path: the rows judged beforehand
  (as the library job does in its worker thread; timed on its own) and ``_set_rows(rows,
  judge)``, the GUI thread's share.
- **sort / filter**: from the call (header sort, filter text, "flagged only") to the next paint.
- **baselines**, measured in the same run: building the Python row list itself, and the stock
  Qt way: a ``QStandardItemModel`` holding the same 100,000 rows as text items in a plain
  ``QTableView`` (fill + first paint), sorted through a ``QSortFilterProxyModel``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def make_rows(n: int, seed: int = 0):
    import numpy as np

    from anomalizer_desktop.core.qc import Finding
    from anomalizer_desktop.gui.models.loop_table import LoopRow

    rng = np.random.default_rng(seed)
    # 5% of the files carry signal-check findings (one in five of those two), as a scan stores them
    check_kinds = ("click", "dropout", "clipping", "hum", "noise_burst")
    scores = np.exp(rng.normal(size=n) * 0.35)  # learned scores, judged against library()
    durations = rng.uniform(1.0, 16.0, n)
    kinds = ("bass", "drums", "pad", "keys", "vox", "fx", "perc", "lead")
    rows = []
    for i in range(n):
        folder = f"pack_{i // 500:03d}_{kinds[i % 8]}"
        name = f"{kinds[(i * 7) % 8]}_loop_{i:06d}_{120 + i % 40}bpm.wav"
        score = float(scores[i])
        findings = ()
        if i % 20 == 7:
            t = float(durations[i]) / 3
            findings = tuple(Finding(check_kinds[(i // 20 + j) % 5], 0.3 + 0.1 * ((i + j) % 6),
                                     t * (j + 1), t * (j + 1) + 0.01) for j in range(1 + (i % 100 == 7)))
        rows.append(LoopRow(i + 1, f"/music/samples/{folder}/{name}", name, folder,
                            duration_s=float(durations[i]), learned=score, findings=findings))
    return rows


def library(n: int = 2000, seed: int = 1):
    """The evidence of a library the rows are judged against (as a trained model carries it)."""
    import numpy as np

    from anomalizer_desktop.core.evidence import LibraryEvidence

    rng = np.random.default_rng(seed)
    return LibraryEvidence.from_files([f"{i:032x}" for i in range(n)],
                                      np.exp(rng.normal(size=n) * 0.35), [[]] * n)


class PaintProbe:
    """Records the time of the next paint event of a widget (an event filter on it)."""

    def __init__(self, widget) -> None:
        from PySide6.QtCore import QEvent, QObject

        probe = self

        class _Filter(QObject):
            def eventFilter(self, obj, event):  # noqa: N802 - Qt name
                if event.type() == QEvent.Type.Paint and probe.painted_at is None:
                    probe.painted_at = time.perf_counter()
                return False

        self.painted_at: float | None = None
        self._filter = _Filter()
        widget.installEventFilter(self._filter)

    def arm(self) -> None:
        self.painted_at = None

    def wait(self, app, timeout_s: float = 60.0) -> float:
        deadline = time.perf_counter() + timeout_s
        while self.painted_at is None:
            app.processEvents()
            if time.perf_counter() > deadline:
                raise TimeoutError("no paint event")
        return self.painted_at


def time_to_paint(app, probe: PaintProbe, action) -> tuple[float, float]:
    """(seconds in the call itself, seconds from the call to the first paint)."""
    app.processEvents()
    probe.arm()
    t0 = time.perf_counter()
    action()
    t1 = time.perf_counter()
    painted = probe.wait(app)
    return t1 - t0, painted - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--xcb", action="store_true", help="use the real X display in $DISPLAY")
    args = parser.parse_args()
    if not args.xcb:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["ANOMALIZER_HOME"] = tempfile.mkdtemp(prefix="anomalizer-bench-home-")
    os.environ["ANOMALIZER_NO_AUDIO"] = "1"

    from PySide6.QtCore import QSettings, QSortFilterProxyModel, Qt
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QApplication, QTableView

    from anomalizer_desktop.core.audio.playback import NullPlayer
    from anomalizer_desktop.gui.main_window import MainWindow
    from anomalizer_desktop.gui.models.loop_table import COLUMN_INDEX, COLUMNS
    from anomalizer_desktop.gui.theme import apply_theme

    app = QApplication.instance() or QApplication([])
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      os.environ["ANOMALIZER_HOME"])
    apply_theme(app)
    n = args.rows
    print(f"platform={QApplication.platformName()} rows={n:,} repeat={args.repeat} (median shown)")

    build_times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        rows = make_rows(n)
        build_times.append(time.perf_counter() - t0)
    t_build = statistics.median(build_times)

    # --- the real main window ---------------------------------------------------------------
    window = MainWindow(NullPlayer("benchmark: no audio"))
    window.resize(1280, 800)
    window.show()
    from anomalizer_desktop.gui import window_findings

    window_findings.set_library(window, library())
    for _ in range(20):
        app.processEvents()
    probe = PaintProbe(window.table.viewport())

    first, calls = [], []
    for i in range(args.repeat):
        window._set_rows([])  # noqa: SLF001 - start from an empty table each time
        rows = make_rows(n, seed=i)
        call, paint = time_to_paint(app, probe, lambda: window._set_rows(rows))  # noqa: SLF001
        calls.append(call)
        first.append(paint)
    assert window.model.rowCount() == n and window.proxy.rowCount() == n
    top = window.proxy.index(0, COLUMN_INDEX["score"]).data()
    t_first = statistics.median(first)

    # What the app does: the library job judges the rows in its worker thread with the
    # window's settings; the window takes them as they are.
    from anomalizer_desktop.gui.models.row_judging import judge_rows, prepare_rows

    worker, judged_first = [], []
    for i in range(args.repeat):
        window._set_rows([])  # noqa: SLF001
        rows = make_rows(n, seed=i)
        t0 = time.perf_counter()
        prepare_rows(rows)
        judge_rows(window.model.judge, rows)
        worker.append(time.perf_counter() - t0)
        judged_first.append(time_to_paint(app, probe, lambda: window._set_rows(  # noqa: SLF001
            rows, window.model.judge))[1])
    t_worker, t_judged_first = statistics.median(worker), statistics.median(judged_first)

    def median_paint(action, reset=None) -> float:
        times = []
        for _ in range(args.repeat):
            if reset is not None:
                reset()
            times.append(time_to_paint(app, probe, action)[1])
        return statistics.median(times)

    hh = window.table.horizontalHeader()
    score_col, name_col = COLUMN_INDEX["score"], COLUMN_INDEX["name"]
    t_sort_name = median_paint(lambda: window.table.sortByColumn(name_col, Qt.SortOrder.AscendingOrder),
                               reset=lambda: window.table.sortByColumn(score_col, Qt.SortOrder.DescendingOrder))
    t_sort_score = median_paint(lambda: window.table.sortByColumn(score_col, Qt.SortOrder.DescendingOrder),
                                reset=lambda: window.table.sortByColumn(name_col, Qt.SortOrder.AscendingOrder))
    t_filter = median_paint(lambda: window.filter_edit.setText("pad loop_01"),
                            reset=lambda: window.filter_edit.setText(""))
    shown_filtered = window.proxy.rowCount()
    window.filter_edit.setText("")
    t_flagged = median_paint(lambda: window.flagged_only.setChecked(True),
                             reset=lambda: window.flagged_only.setChecked(False))
    shown_flagged = window.proxy.rowCount()
    window.flagged_only.setChecked(False)
    t_unfilter = median_paint(lambda: window.flagged_only.setChecked(False),
                              reset=lambda: window.flagged_only.setChecked(True))
    # Sensitivity change: what the histogram's (debounced) budgetChanged runs in the window.
    from anomalizer_desktop.core.evidence import FlagPolicy
    from anomalizer_desktop.gui import window_findings

    t_threshold = median_paint(lambda: window_findings.set_budget(window, 0.1),
                               reset=lambda: window_findings.set_budget(window, 0.01))
    window_findings.set_budget(window, 0.1)
    flagged_at_90 = window.model.flagged_count()
    # Signal-check settings: what the dialog's policyChanged runs in the window.

    t_policy = median_paint(
        lambda: window_findings.set_user_policy(window, FlagPolicy(min_severity=0.5)),
        reset=lambda: window_findings.set_user_policy(window, FlagPolicy()))
    with_findings = sum(1 for r in window.model.rows if r.shown)
    window_findings.set_user_policy(window, FlagPolicy())
    kind = window.kind_filter
    t_kind = median_paint(lambda: kind.setCurrentIndex(kind.findData("click")),
                          reset=lambda: kind.setCurrentIndex(0))
    shown_kind = window.proxy.rowCount()
    kind.setCurrentIndex(0)
    t_sort_reasons = median_paint(
        lambda: window.table.sortByColumn(COLUMN_INDEX["reasons"], Qt.SortOrder.AscendingOrder),
        reset=lambda: window.table.sortByColumn(score_col, Qt.SortOrder.DescendingOrder))
    window.table.sortByColumn(score_col, Qt.SortOrder.DescendingOrder)
    t_scroll = median_paint(lambda: window.table.scrollToBottom(),
                            reset=lambda: window.table.scrollToTop())
    window.table.setFocus()
    t_keydown = median_paint(lambda: _press_down(window))
    sort_indicator = (hh.sortIndicatorSection(), hh.sortIndicatorOrder())
    window.close()

    # --- baseline: QStandardItemModel + QSortFilterProxyModel in a plain QTableView ---------------
    view = QTableView()
    view.resize(1280, 800)
    view.setSortingEnabled(False)
    view.show()
    for _ in range(20):
        app.processEvents()
    base_probe = PaintProbe(view.viewport())
    std_first, std_sort = [], []
    for i in range(args.repeat):
        rows = make_rows(n, seed=i)

        def fill_and_show(rows=rows) -> None:
            model = QStandardItemModel(len(rows), len(COLUMNS))
            model.setHorizontalHeaderLabels([c.header for c in COLUMNS])
            for r, row in enumerate(rows):
                for c, col in enumerate(COLUMNS):
                    item = QStandardItem(col.text(row))
                    model.setItem(r, c, item)
            proxy = QSortFilterProxyModel(view)
            proxy.setSourceModel(model)
            view.setModel(proxy)
            view._keep = (model, proxy)  # noqa: SLF001 - keep Python wrappers alive

        std_first.append(time_to_paint(app, base_probe, fill_and_show)[1])
        proxy = view.model()
        std_sort.append(time_to_paint(app, base_probe, lambda: proxy.sort(name_col))[1])
    t_std_first, t_std_sort = statistics.median(std_first), statistics.median(std_sort)
    view.close()

    ms = 1000.0
    print(f"build {n:,} Python rows (baseline)             {t_build * ms:8.1f} ms")
    print(f"set_rows -> first paint (main window)          {t_first * ms:8.1f} ms"
          f"   (set_rows call itself {statistics.median(calls) * ms:.1f} ms)"
          f"   ratio vs building the rows {t_first / t_build:.2f}x")
    print(f"  rows judged in the worker: judging there     {t_worker * ms:8.1f} ms   "
          f"set_rows -> first paint {t_judged_first * ms:8.1f} ms (the GUI thread's share)")
    print(f"QStandardItemModel fill -> first paint         {t_std_first * ms:8.1f} ms"
          f"   ratio ours/standard {t_first / t_std_first:.3f}x")
    print(f"sort by name -> paint                          {t_sort_name * ms:8.1f} ms"
          f"   QStandardItemModel+proxy sort by name {t_std_sort * ms:.1f} ms"
          f"   ratio {t_sort_name / t_std_sort:.2f}x")
    print(f"sort by score (desc) -> paint                  {t_sort_score * ms:8.1f} ms")
    print(f"filter 'pad loop_01' -> paint                  {t_filter * ms:8.1f} ms"
          f"   ({shown_filtered:,} rows shown)")
    print(f"flagged only on -> paint                       {t_flagged * ms:8.1f} ms"
          f"   ({shown_flagged:,} rows shown)")
    print(f"flagged only off -> paint                      {t_unfilter * ms:8.1f} ms")
    print(f"sensitivity change (re-flag all) -> paint      {t_threshold * ms:8.1f} ms"
          f"   ({flagged_at_90:,} flagged at 1 in 10)")
    print(f"check settings change (re-derive all) -> paint {t_policy * ms:8.1f} ms"
          f"   ({with_findings:,} files show findings at severity low)")
    print(f"finding-kind filter 'click' -> paint           {t_kind * ms:8.1f} ms"
          f"   ({shown_kind:,} rows shown)")
    print(f"sort by reasons (finding kind) -> paint        {t_sort_reasons * ms:8.1f} ms")
    print(f"scroll to bottom -> paint                      {t_scroll * ms:8.1f} ms")
    print(f"Down key (next row) -> paint                   {t_keydown * ms:8.1f} ms")
    print(f"checks: top score shown {top}; sort indicator {sort_indicator}")
    return 0


def _press_down(window) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    QTest.keyClick(window.table, Qt.Key.Key_Down)


if __name__ == "__main__":
    sys.exit(main())
