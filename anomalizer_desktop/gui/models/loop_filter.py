"""Filter proxy of the loop table: name/folder text, "flagged only", finding kind, tempo range
and key, fast on 100,000 rows."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel, Qt

from .loop_facets import FacetFilter
from .loop_table import LoopTableModel

_Index = QModelIndex | QPersistentModelIndex
ANY_KIND = "any"  # set_kind(ANY_KIND): files with any shown signal-check finding


class LoopFilterProxy(QSortFilterProxyModel):
    """Text filter on name/folder, a "flagged only" switch, a finding-kind filter (files showing
    a finding of that kind, or ``ANY_KIND``) and a tempo/key filter (:class:`FacetFilter`);
    sorting is forwarded to the source.

    The accept mask is computed in one pass in Python when the filter changes, so Qt's per-row
    ``filterAcceptsRow`` callback is a list lookup.
    """

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._text = ""
        self._flagged_only = False
        self._kind: str | None = None
        self._facets = FacetFilter()
        self._mask: list[bool] | None = None  # None = accept everything
        self.setDynamicSortFilter(False)

    def setSourceModel(self, model: LoopTableModel) -> None:  # noqa: N802 - Qt name
        old = self.sourceModel()
        if old is not None:
            for sig in (old.modelReset, old.layoutChanged):
                sig.disconnect(self._source_changed)
        super().setSourceModel(model)
        # Recompute the mask before the proxy maps the new rows (connected ahead of Qt's own
        # handlers would be ideal; recomputing lazily in filterAcceptsRow covers the rest).
        model.modelAboutToBeReset.connect(self._source_changed)
        model.layoutAboutToBeChanged.connect(self._source_changed)
        self._source_changed()

    def _source_changed(self, *args) -> None:
        self._mask = None if self._accepts_all() else []  # [] = stale, rebuilt on demand

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        source = self.sourceModel()
        if source is not None:
            source.sort(column, order)

    @property
    def text(self) -> str:
        return self._text

    @property
    def flagged_only(self) -> bool:
        return self._flagged_only

    def set_text(self, text: str) -> None:
        text = text.strip().lower()
        if text != self._text:
            self._text = text
            self._refilter()

    @property
    def kind(self) -> str | None:
        return self._kind

    def set_kind(self, kind: str | None) -> None:
        """Only files showing a finding of ``kind`` (``ANY_KIND``: of any kind); None: all."""
        kind = kind or None
        if kind != self._kind:
            self._kind = kind
            self._refilter()

    @property
    def facets(self) -> FacetFilter:
        return self._facets

    def set_facets(self, facets: FacetFilter) -> None:
        """Only rows whose estimated tempo/key match (rows with no estimate fail a set part)."""
        if facets != self._facets:
            self._facets = facets
            self._refilter()

    def set_flagged_only(self, on: bool) -> None:
        if bool(on) != self._flagged_only:
            self._flagged_only = bool(on)
            self._refilter()

    def refilter(self) -> None:
        """Recompute the mask after row data changed (e.g. flags after a sensitivity change)."""
        if self._mask is None and self._accepts_all():
            return  # nothing filtered before or after: skip 100,000 filterAcceptsRow calls
        self._refilter()

    def _accepts_all(self) -> bool:
        return (not self._text and not self._flagged_only and self._kind is None
                and not self._facets.is_set)

    def _build_mask(self) -> list[bool]:
        model = self.sourceModel()
        rows = model.rows if isinstance(model, LoopTableModel) else []
        if self._flagged_only:
            mask = [bool(r.flagged and not r.fine) for r in rows]
        else:
            mask = [True] * len(rows)
        if self._kind == ANY_KIND:
            mask = [m and bool(r.shown) for m, r in zip(mask, rows)]
        elif self._kind is not None:
            kind = self._kind
            mask = [m and any(f.kind == kind for f in r.shown) for m, r in zip(mask, rows)]
        if self._facets.is_set:
            mask = [m and f for m, f in zip(mask, self._facets.mask(rows))]
        needles = self._text.split()
        if needles:
            keys = [r.search_key for r in rows]
            for needle in needles:  # one pass per word: "in" on str is C-fast
                mask = [m and needle in k for m, k in zip(mask, keys)]
        return mask

    def _refilter(self) -> None:
        self.beginFilterChange()
        self._mask = None if self._accepts_all() else self._build_mask()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:  # noqa: N802
        mask = self._mask
        if mask is None:
            return True
        try:
            return mask[source_row]
        except IndexError:  # stale after a reset or a sort of the source: rebuild once
            self._mask = mask = self._build_mask()
            return mask[source_row]
