"""The loop table: a model over plain rows (:mod:`.loop_row`) and one column spec (filtering:
:mod:`.loop_filter`).

Sorting happens here, in the source model (Python's ``sorted`` on precomputed keys, ~0.1 s for
100,000 rows), not in ``QSortFilterProxyModel``, which would call back into Python millions of
times; the proxy forwards ``sort`` to this model.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from PySide6.QtCore import (
    QAbstractTableModel,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QUrl,
)
from PySide6.QtGui import QBrush, QColor

from ...core.evidence import FlagPolicy, Judge
from ...core.qc import ALL_KINDS, Finding
from .. import theme
from .loop_row import COLUMN_INDEX, COLUMNS, LoopRow
from .row_judging import judge_rows, no_library, prepare_rows, same_judge

SortRole = Qt.ItemDataRole.UserRole + 1
RowRole = Qt.ItemDataRole.UserRole + 2  # the LoopRow itself
FileIdRole = Qt.ItemDataRole.UserRole + 3

_Index = QModelIndex | QPersistentModelIndex



class LoopTableModel(QAbstractTableModel):
    """Rows of loops; sorts itself (None last), updates scores and flags cell by cell."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[LoopRow] = []
        self._row_of: dict[int, int] | None = {}
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._in_order = False  # rows are in self._sort's order (no data changed since)
        self._policy = FlagPolicy()
        self._judge = Judge(no_library(), self._policy)
        self._path_index: dict[str, LoopRow] | None = None

    # --- Qt interface -------------------------------------------------------------------------
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section].header
            if role == Qt.ItemDataRole.ToolTipRole:
                return self._header_tooltip(section)
            if role == Qt.ItemDataRole.InitialSortOrderRole:
                # First click on Score or Flag: most anomalous first.
                return (Qt.SortOrder.DescendingOrder if COLUMNS[section].key in ("score", "flag")
                        else Qt.SortOrder.AscendingOrder)
        return None

    def _header_tooltip(self, section: int) -> str | None:
        lines = [COLUMNS[section].tooltip] if COLUMNS[section].tooltip else []
        if self._sort is not None and self._sort[0] == section:
            descending = self._sort[1] == Qt.SortOrder.DescendingOrder
            key = COLUMNS[section].key
            if key == "score":
                lines.append("sorted: most anomalous first" if descending
                             else "sorted: least anomalous first")
            elif key in ("name", "folder"):
                lines.append("sorted: Z to A" if descending else "sorted: A to Z")
            elif key == "key":
                lines.append("sorted by key: B to C" if descending else "sorted by key: C to B")
            elif key == "reasons":
                lines.append("sorted by finding kind" + (", reversed" if descending else ""))
            else:
                lines.append("sorted: highest first" if descending else "sorted: lowest first")
        return "\n".join(lines) or None

    def flags(self, index: _Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(row)
        if role == SortRole:
            return column.sort_key(row)
        if role == Qt.ItemDataRole.ForegroundRole:  # the theme's colours, read when painted
            if row.error:
                return QBrush(QColor(theme.current().muted))
            if column.key == "flag":
                if row.fine:
                    return QBrush(QColor(theme.current().fine))
                if row.flagged:
                    return QBrush(QColor(theme.current().flag))
            return None
        if role == Qt.ItemDataRole.BackgroundRole:
            if row.flagged and not row.fine and not row.error:
                return QBrush(QColor(*theme.current().flag_row))
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if row.error:
                return f"Could not be analysed: {row.error}"
            if column.key in ("name", "folder"):
                return row.path
            if column.key in ("score", "flag", "learned") and row.score is not None:
                return score_tooltip(row, self._policy.budget)
            return column.cell_tip(row) if column.cell_tip is not None else None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return column.align
        if role == RowRole:
            return row
        if role == FileIdRole:
            return row.file_id
        return None

    def mimeTypes(self) -> list[str]:  # noqa: N802 - Qt name
        return ["text/uri-list"]

    def mimeData(self, indexes) -> QMimeData:  # noqa: N802 - Qt name
        """File URLs of the dragged rows, so a DAW or file manager receives the files."""
        rows = sorted({i.row() for i in indexes if i.isValid()})
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(self._rows[r].path) for r in rows])
        return mime

    def supportedDragActions(self) -> Qt.DropAction:  # noqa: N802 - Qt name
        return Qt.DropAction.CopyAction

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Stable sort by the column's sort key; rows whose key is None go last either way.

        Asking again for the order the rows are already in does nothing (``QTableView.sortByColumn``
        sorts twice when the indicator changes; with 100,000 rows each sort is visible).
        """
        if not 0 <= column < len(COLUMNS):
            return
        if self._sort == (column, order) and self._in_order:
            return
        self._sort = (column, order)
        new_order = self._sorted_order(column, order)
        self.layoutAboutToBeChanged.emit()
        self._rows = [self._rows[i] for i in new_order]
        self._row_of = None
        self._in_order = True
        persistent = self.persistentIndexList()
        if persistent:
            old_to_new = {old: new for new, old in enumerate(new_order)}
            self.changePersistentIndexList(
                persistent,
                [self.index(old_to_new[p.row()], p.column()) if p.isValid() else QModelIndex()
                 for p in persistent],
            )
        self.layoutChanged.emit()

    def _sorted_order(self, column: int, order: Qt.SortOrder) -> list[int]:
        key = COLUMNS[column].sort_key
        keys = [key(r) for r in self._rows]
        # "k == k" is False only for NaN; NaN and None both go last.
        present = [i for i, k in enumerate(keys) if k is not None and k == k]
        if len(present) == len(keys):
            missing: list[int] = []
        else:
            missing = [i for i, k in enumerate(keys) if k is None or k != k]
        # list.sort is stable also with reverse=True (equal keys keep their current order).
        present.sort(key=keys.__getitem__, reverse=order == Qt.SortOrder.DescendingOrder)
        return present + missing

    # --- Rows -----------------------------------------------------------------------------------
    @property
    def rows(self) -> Sequence[LoopRow]:
        return self._rows

    @property
    def sort_state(self) -> tuple[int, Qt.SortOrder] | None:
        return self._sort

    def set_rows(self, rows: Iterable[LoopRow], judged_by: Judge | None = None) -> None:
        """Replace every row (model reset), keeping the current sort. Rows already judged (and
        given their search keys, :func:`.row_judging.prepare_rows`) by a judge the same as this
        model's (``judged_by``) are taken as they are."""
        self.beginResetModel()
        self._rows = list(rows)
        if not same_judge(judged_by, self._judge):
            prepare_rows(self._rows)
            self._derive(range(len(self._rows)))
        if self._sort is not None:
            self._rows = [self._rows[i] for i in self._sorted_order(*self._sort)]
        self._in_order = self._sort is not None
        self._row_of = None
        self._path_index = None
        self.endResetModel()

    def resort(self) -> None:
        """Apply the current sort again (after scores arrived)."""
        if self._sort is not None:
            self._in_order = False
            self.sort(*self._sort)

    def row_for_id(self, file_id: int) -> int | None:
        return self._index_of().get(file_id)

    def row_for_path(self, path: str) -> LoopRow | None:
        """The row of ``path`` (None when the table does not list it)."""
        if self._path_index is None:
            self._path_index = {r.path: r for r in self._rows}
        return self._path_index.get(path)

    def row_at(self, row: int) -> LoopRow:
        return self._rows[row]

    @property
    def policy(self) -> FlagPolicy:
        return self._policy

    @property
    def judge(self) -> Judge:
        return self._judge

    def set_policy(self, policy: FlagPolicy, rejudge: bool = True) -> int:
        """The flag settings with the library's evidence (``policy.calibration``; none yet: a
        judge that knows only the priors). A new budget alone re-flags from the evidence the
        rows already have; anything else re-judges every row. Returns rows changed.
        ``rejudge=False``: only the judge changes (new rows follow at once, :meth:`set_rows`)."""
        library = policy.calibration if policy.calibration is not None else None
        old = self._judge
        same_library = library is old.library or (library is None and old.library.n == 0)
        self._policy = policy
        if not rejudge:
            self._judge = (old.with_policy(policy) if same_library
                           and old.policy.calibration_key() == policy.calibration_key()
                           else Judge(library if library is not None else no_library(), policy))
            return 0
        if same_library and old.policy.calibration_key() == policy.calibration_key():
            self._judge = old.with_policy(policy)
            changed = self._reflag()
        else:
            self._judge = Judge(library if library is not None else no_library(), policy)
            changed = self._derive(range(len(self._rows)))
        self._emit_rows_changed(changed, ("flag", "score", "reasons"))
        return len(changed)

    def _derive(self, indices) -> list[int]:
        """Judge rows (by index) with the current judge; the indices whose verdict changed."""
        idx = [i for i in indices]
        if not idx:
            return []
        changed = judge_rows(self._judge, [self._rows[i] for i in idx])
        return [i for i, c in zip(idx, changed) if c]

    def _reflag(self) -> list[int]:
        """Flags from the evidence the rows have, against the current budget."""
        thr, budget = self._judge.threshold, self._policy.budget
        changed = []
        for i, row in enumerate(self._rows):
            if row.score is None:
                continue
            flagged = (row.score >= thr or row.floor) and not row.fine
            learned = None if row.learned_p is None else (row.learned_p <= budget and not row.fine)
            if flagged != row.flagged or learned != row.learned_flagged or row.threshold != thr:
                row.flagged, row.learned_flagged, row.threshold = flagged, learned, thr
                changed.append(i)
        return changed

    def set_findings(self, file_id: int, findings: Sequence[Finding]) -> None:
        """New signal-check findings of one file (e.g. a take re-checked by the watcher)."""
        r = self._index_of().get(file_id)
        if r is not None:
            self._rows[r].findings = tuple(findings)
            self._emit_rows_changed(self._derive([r]), ("flag", "score", "reasons"))

    def set_learned(self, scores: dict[int, float | None]) -> int:
        """New learned scores (``file_id -> score``): those rows are judged again. Does not
        re-sort (call :meth:`resort` when a batch is done, so rows don't jump under the
        cursor). Returns how many rows changed."""
        todo = []
        for file_id, value in scores.items():
            r = self._index_of().get(file_id)
            if r is not None and self._rows[r].learned != value:
                self._rows[r].learned = value
                todo.append(r)
        changed = self._derive(todo)
        self._emit_rows_changed(changed, ("flag", "score", "learned", "reasons"))
        return len(changed)

    def kind_counts(self, policy: FlagPolicy | None = None) -> dict[str, int]:
        """How many files have a finding of each kind that counts under the current policy or
        ``policy`` (kinds in check order, zeros left out)."""
        policy = policy or self._policy
        counts = dict.fromkeys(ALL_KINDS, 0)
        for row in self._rows:
            for kind in {f.kind for f in row.findings if policy.counts(f.kind, f.severity)}:
                counts[kind] += 1
        return {k: n for k, n in counts.items() if n}

    def set_fine(self, file_id: int, fine: bool) -> None:
        r = self._index_of().get(file_id)
        if r is not None and self._rows[r].fine != fine:
            self._rows[r].fine = fine
            self._derive([r])
            self._emit_rows_changed([r], ("flag",))

    def flagged_count(self) -> int:
        return sum(1 for r in self._rows if r.flagged and not r.fine)

    def flagged_by_checks_only(self) -> int:
        """Flagged rows the learned score alone would not flag: a signal check flagged them."""
        return sum(1 for r in self._rows if r.flagged and not r.fine and r.shown
                   and not r.learned_flagged)

    def _index_of(self) -> dict[int, int]:
        """file_id -> row, rebuilt lazily after a reset or a sort."""
        if self._row_of is None:
            self._row_of = {r.file_id: i for i, r in enumerate(self._rows)}
        return self._row_of

    def _emit_rows_changed(self, rows: list[int], keys: Sequence[str]) -> None:
        """One dataChanged per contiguous run of rows (one overall range if there are very many)."""
        if not rows:
            return
        self._in_order = False  # a sort key may have changed
        cols = sorted(COLUMN_INDEX[k] for k in keys)
        first_col, last_col = cols[0], cols[-1]
        # Row backgrounds change with the flag, so whole rows are repainted when the flag changes.
        if "flag" in keys:
            first_col, last_col = 0, len(COLUMNS) - 1
        rows = sorted(set(rows))
        runs: list[tuple[int, int]] = []
        start = prev = rows[0]
        for r in rows[1:]:
            if r != prev + 1:
                runs.append((start, prev))
                start = r
            prev = r
        runs.append((start, prev))
        if len(runs) > 256:
            runs = [(rows[0], rows[-1])]
        for a, b in runs:
            self.dataChanged.emit(self.index(a, first_col), self.index(b, last_col))


def score_tooltip(row: LoopRow, budget: float) -> str:
    """Why a row is (not) flagged, in words."""
    from ...core.evidence import budget_words
    from ...core.evidence.words import odds

    lines = []
    if row.p is not None:
        rare = odds(row.p)
        lines.append("typical for this library" if rare == "typical"
                     else f"about {rare} normal loops of this library look this unusual")
    if row.floor:
        lines.append("flagged: an unmistakable defect")
    elif row.flagged:
        lines.append(f"flagged: rarer than your flag budget ({budget_words(budget)})")
    if row.learned is not None:
        lines.append(f"learned score {row.learned:.4g}")
    if row.reasons:
        lines.append(row.reasons)
    return "\n".join(lines)
