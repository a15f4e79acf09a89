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

from ...core.qc import CHECKS, Finding
from ...core.qc_stage import FlagPolicy
from .loop_row import COLUMN_INDEX, COLUMNS, LoopRow, reasons_text

SortRole = Qt.ItemDataRole.UserRole + 1
RowRole = Qt.ItemDataRole.UserRole + 2  # the LoopRow itself
FileIdRole = Qt.ItemDataRole.UserRole + 3

_Index = QModelIndex | QPersistentModelIndex

FLAG_COLOR = QColor("#ff6b5a")
FLAG_BACKGROUND = QColor(255, 107, 90, 40)
FINE_COLOR = QColor("#7fd18b")
ERROR_COLOR = QColor("#7d8590")


class LoopTableModel(QAbstractTableModel):
    """Rows of loops; sorts itself (None last), updates scores and flags cell by cell."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._rows: list[LoopRow] = []
        self._row_of: dict[int, int] | None = {}
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._in_order = False  # rows are in self._sort's order (no data changed since)
        self._policy = FlagPolicy()
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
        if role == Qt.ItemDataRole.ForegroundRole:
            if row.error:
                return QBrush(ERROR_COLOR)
            if column.key == "flag":
                if row.fine:
                    return QBrush(FINE_COLOR)
                if row.flagged:
                    return QBrush(FLAG_COLOR)
            return None
        if role == Qt.ItemDataRole.BackgroundRole:
            if row.flagged and not row.fine and not row.error:
                return QBrush(FLAG_BACKGROUND)
            return None
        if role == Qt.ItemDataRole.ToolTipRole:
            if row.error:
                return f"Could not be analysed: {row.error}"
            if column.key in ("name", "folder"):
                return row.path
            if column.key in ("score", "flag") and row.score is not None and row.threshold is not None:
                verdict = "above" if row.score > row.threshold else "below"
                text = f"score {row.score:.4g} is {verdict} the threshold {row.threshold:.4g}"
                return f"{text}\nsignal checks: {row.reasons}" if row.reasons else text
            if column.key == "reasons" and row.reasons:
                return row.reasons
            return None
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

    def set_rows(self, rows: Iterable[LoopRow]) -> None:
        """Replace every row (model reset), keeping the current sort."""
        self.beginResetModel()
        self._rows = list(rows)
        for r in self._rows:
            r.search_key = f"{r.name}\n{r.folder}".lower()
            self._derive(r)
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

    def update_scores(self, scores: dict[int, tuple[float | None, float | None, bool | None]]) -> int:
        """Set ``file_id -> (score, threshold, flagged)``; emits dataChanged for changed cells only.

        Returns how many rows changed. Does not re-sort (call :meth:`resort` when a batch is done,
        so rows don't jump under the user's cursor while scores trickle in).
        """
        changed: list[int] = []
        for file_id, (score, threshold, flagged) in scores.items():
            r = self._index_of().get(file_id)
            if r is None:
                continue
            row = self._rows[r]
            if row.score == score and row.threshold == threshold and row.flagged == flagged:
                continue
            row.score, row.threshold, row.flagged = score, threshold, flagged
            changed.append(r)
        self._emit_rows_changed(changed, ("flag", "score"))
        return len(changed)

    def apply_threshold(self, threshold: float) -> int:
        """Re-flag every scored row against a new threshold (sensitivity change, no retraining).

        A row with shown signal-check findings stays flagged whatever the threshold.
        """
        changed: list[int] = []
        for r, row in enumerate(self._rows):
            if row.score is None:
                continue
            flagged = row.score > threshold or bool(row.shown)
            if row.flagged != flagged or row.threshold != threshold:
                row.flagged, row.threshold = flagged, threshold
                changed.append(r)
        self._emit_rows_changed(changed, ("flag", "score"))
        return len(changed)

    @property
    def policy(self) -> FlagPolicy:
        return self._policy

    def set_policy(self, policy: FlagPolicy) -> int:
        """Which findings show and flag (checks on/off, severity, the library's calibration):
        re-derives every row's reasons and flag at once, no rescan. Returns rows changed."""
        self._policy = policy
        changed = [r for r, row in enumerate(self._rows) if self._derive(row)]
        self._emit_rows_changed(changed, ("flag", "reasons"))
        return len(changed)

    def _derive(self, row: LoopRow) -> bool:
        """Shown findings, reasons and flag of ``row`` from its findings and score (the core's
        verdict rule: learned score above the threshold OR a shown finding). True if changed."""
        shown = tuple(sorted(self._policy.reasons(row.findings), key=lambda f: -f.severity))
        learned = (row.score is not None and row.threshold is not None
                   and row.score > row.threshold)
        flagged = (None if row.score is None and not shown else learned or bool(shown))
        if row.error and row.score is None:
            flagged = None
        if shown == row.shown and flagged == row.flagged:
            return False
        row.shown, row.reasons, row.flagged = shown, reasons_text(shown), flagged
        return True

    def set_findings(self, file_id: int, findings: Sequence[Finding]) -> None:
        """New signal-check findings of one file (e.g. a take re-checked by the watcher)."""
        r = self._index_of().get(file_id)
        if r is not None:
            self._rows[r].findings = tuple(findings)
            if self._derive(self._rows[r]):
                self._emit_rows_changed([r], ("flag", "reasons"))

    def kind_counts(self, policy: FlagPolicy | None = None) -> dict[str, int]:
        """How many files show a finding of each kind, under the model's policy or ``policy``
        (kinds in check order, zeros left out)."""
        counts = dict.fromkeys(CHECKS, 0)
        for row in self._rows:
            shown = row.shown if policy is None else policy.reasons(row.findings)
            for kind in {f.kind for f in shown}:
                counts[kind] = counts.get(kind, 0) + 1
        return {k: n for k, n in counts.items() if n}

    def set_fine(self, file_id: int, fine: bool) -> None:
        r = self._index_of().get(file_id)
        if r is not None and self._rows[r].fine != fine:
            self._rows[r].fine = fine
            self._emit_rows_changed([r], ("flag",))

    def flagged_count(self) -> int:
        return sum(1 for r in self._rows if r.flagged and not r.fine)

    def flagged_by_checks_only(self) -> int:
        """Flagged rows whose score is not above the threshold: a signal check flagged them."""
        return sum(1 for r in self._rows if r.flagged and not r.fine and r.shown
                   and not (r.score is not None and r.threshold is not None
                            and r.score > r.threshold))

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
