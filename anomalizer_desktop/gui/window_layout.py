"""Builds the main window's widgets and wires their signals to the window's slots."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from . import table_columns, window_findings
from .audition import AuditionController
from .elided_label import ElidedLabel
from .facet_filter_bar import FacetFilterBar
from .job_status import JobStatusWidget
from .library_panel import LibraryPanel
from .localisation import LocalisationController
from .model_runtime import ModelRuntime
from .models.loop_filter import LoopFilterProxy
from .models.loop_table import COLUMN_INDEX, LoopTableModel, RowRole
from .notifications import Notifier
from .player_bar import PlayerBar
from .similar_panel import SimilarPanel
from .views.findings_bar import FindingsBar
from .views.histogram import ScoreHistogramView
from .views.local_curve import LocalCurveView
from .views.scatter import ScatterMapView
from .views.waveform import WaveformView
from .watch_panel import NewTakesPanel, WatchController

if TYPE_CHECKING:
    from .main_window import MainWindow

WAVEFORM_MIN_HEIGHT = 120
# Default widths (a saved window state wins): the docks and the map take what they need, the
# table (and its Reasons column) the rest; growing the window widens the table.
DOCK_WIDTH = 200
RIGHT_PANE_WIDTH = 380
ENCODER_STATUS_MIN_WIDTH = 120


def build(w: MainWindow, player) -> None:
    """Create every widget of ``w`` as attributes (``w.table``, ``w.scatter``, ...)."""
    w.model = LoopTableModel(w)
    w.proxy = LoopFilterProxy(w)
    w.proxy.setSourceModel(w.model)
    w.table = QTableView()
    w.table.setModel(w.proxy)
    w.table.setSortingEnabled(True)
    w.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    w.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    w.table.setDragEnabled(True)
    w.table.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
    w.table.setAlternatingRowColors(True)
    w.table.setWordWrap(False)
    w.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    vh = w.table.verticalHeader()
    vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vh.setDefaultSectionSize(22)
    vh.hide()
    w.reasons_fit = table_columns.set_up(w.table)
    w.table.setColumnHidden(COLUMN_INDEX["reasons"], True)  # until some file has findings
    w.table.sortByColumn(COLUMN_INDEX["score"], Qt.SortOrder.DescendingOrder)
    w.table.selectionModel().currentRowChanged.connect(w._on_current_row)

    w.filter_edit = QLineEdit()
    w.filter_edit.setPlaceholderText("Filter by name or folder  (Ctrl+F)")
    w.filter_edit.setClearButtonEnabled(True)
    w.filter_edit.textChanged.connect(w.proxy.set_text)
    w.filter_edit.textChanged.connect(w._update_counts)
    w.filter_edit.installEventFilter(w)
    w.flagged_only = QCheckBox("Flagged only")
    w.flagged_only.toggled.connect(w.proxy.set_flagged_only)
    w.flagged_only.toggled.connect(w._update_counts)
    w.kind_filter = QComboBox()
    w.kind_filter.setToolTip("Only files with a signal-check finding of this kind")
    w.kind_filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    # Under the table, not in the filter row: its text grows with the filters ("13 shown · ...")
    # and in the row it squeezed the filter box and pushed the window's minimum width.
    w.counts = QLabel("")
    w.counts.setObjectName("tableCounts")
    w.counts.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    bar = QHBoxLayout()
    bar.addWidget(w.filter_edit, 1)
    bar.addWidget(w.kind_filter)
    bar.addWidget(w.flagged_only)
    w.facet_filters = FacetFilterBar()
    w.facet_filters.changed.connect(w.proxy.set_facets)
    w.facet_filters.changed.connect(w._update_counts)

    w.audition = AuditionController(player, w)
    w.player_bar = PlayerBar(w.audition)
    w.waveform = WaveformView()
    w.waveform.set_player(player)
    w.waveform.seekRequested.connect(w.audition.seek)
    # never squashed by a splitter state saved before the strip and findings bar existed
    w.waveform.setMinimumHeight(WAVEFORM_MIN_HEIGHT)
    w.local_curve = LocalCurveView()
    w.local_curve.link_x(w.waveform.plot)
    w.local_curve.seekRequested.connect(w.audition.seek)
    w.local_curve.seekRequested.connect(w.waveform.playhead.setValue)
    w.findings_bar = FindingsBar()
    w.runtime = ModelRuntime(w.model_path)
    w.localiser = LocalisationController(w.runtime, w)
    w.audition.loaded.connect(w._on_audio_loaded)
    w.audition.loadFailed.connect(w._on_audio_failed)

    table_box = QWidget()
    tl = QVBoxLayout(table_box)
    tl.setContentsMargins(0, 0, 0, 0)
    tl.addLayout(bar)
    tl.addWidget(w.facet_filters)
    tl.addWidget(w.table, 1)
    tl.addWidget(w.counts)
    audio_box = QWidget()
    al = QVBoxLayout(audio_box)
    al.setContentsMargins(0, 0, 0, 0)
    al.addWidget(w.waveform, 1)
    al.addWidget(w.local_curve)
    al.addWidget(w.findings_bar)
    al.addWidget(w.player_bar)
    w.left_split = QSplitter(Qt.Orientation.Vertical)
    w.left_split.addWidget(table_box)
    w.left_split.addWidget(audio_box)
    w.left_split.setSizes([480, 280])

    w.scatter = ScatterMapView()
    w.scatter.pointClicked.connect(w.select_file)
    w.scatter.spaceChanged.connect(w._update_map)
    w.histogram = ScoreHistogramView()
    w.histogram.budgetChanged.connect(w._on_budget_changed)
    w.tabs = QTabWidget()
    w.tabs.addTab(w.scatter, "Map")
    w.tabs.addTab(w.histogram, "Scores")
    # the map's space chooser sits beside the tabs, leaving the caption its one line
    w.tabs.setCornerWidget(w.scatter.space_box, Qt.Corner.TopRightCorner)
    w.tabs.currentChanged.connect(
        lambda i: w.scatter.space_box.setVisible(w.tabs.widget(i) is w.scatter))
    w.similar_panel = SimilarPanel()
    w.similar_panel.hide()  # shown by "More like this" or a drop
    w.right_split = QSplitter(Qt.Orientation.Vertical)
    w.right_split.addWidget(w.tabs)
    w.right_split.addWidget(w.similar_panel)
    w.right_split.setChildrenCollapsible(False)
    w.right_split.setSizes([440, 280])
    w.main_split = QSplitter(Qt.Orientation.Horizontal)
    w.main_split.addWidget(w.left_split)
    w.main_split.addWidget(w.right_split)
    w.main_split.setStretchFactor(0, 1)
    w.main_split.setStretchFactor(1, 0)
    w.main_split.setSizes([1280 - DOCK_WIDTH - RIGHT_PANE_WIDTH, RIGHT_PANE_WIDTH])
    w.setCentralWidget(w.main_split)

    w.library_panel = LibraryPanel()
    w.library_panel.addRequested.connect(w.add_library)
    w.library_panel.removeRequested.connect(w.remove_library)
    w.library_panel.rescanRequested.connect(w.rescan)
    w.library_panel.referenceToggled.connect(lambda folder, on: _reference_toggled(w, folder, on))
    dock = QDockWidget("Libraries", w)
    dock.setObjectName("librariesDock")
    dock.setWidget(w.library_panel)
    w.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, dock)
    w.library_dock = dock

    w.watch = WatchController(w.runtime, w,
                              policy_fn=lambda: window_findings.current_policy(w))
    w.takes_panel = NewTakesPanel(w.watch)
    w.takes_panel.takeActivated.connect(w._on_take_activated)
    # and back: the table's current file selects its take in New takes (or none there)
    w.table.selectionModel().currentRowChanged.connect(
        lambda current, _previous: _takes_follow_table(w, current))
    w.takes_panel.foldersChanged.connect(w._on_watch_folders_changed)
    w.watch.takeScored.connect(w._on_take_scored)
    w.takes_dock = QDockWidget("New takes", w)
    w.takes_dock.setObjectName("takesDock")
    w.takes_dock.setWidget(w.takes_panel)
    w.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, w.takes_dock)
    # one narrow column of tabs, Libraries in front: stacked, both were mostly empty space
    w.setTabPosition(Qt.DockWidgetArea.LeftDockWidgetArea, QTabWidget.TabPosition.North)
    w.tabifyDockWidget(dock, w.takes_dock)
    dock.raise_()
    w.resizeDocks([dock, w.takes_dock], [DOCK_WIDTH, DOCK_WIDTH], Qt.Orientation.Horizontal)
    w.notifier = Notifier(w)

    w.encoder_status = ElidedLabel("", min_width=ENCODER_STATUS_MIN_WIDTH)
    w.encoder_status.setObjectName("weightsStatus")
    w.job_status = JobStatusWidget()
    w.job_status.cancelRequested.connect(w.cancel_job)
    # Permanent: a status message (e.g. "trained a new model") must never hide which encoder
    # is in use, especially the offline fallback.
    w.statusBar().addPermanentWidget(w.encoder_status)
    w.statusBar().addPermanentWidget(w.job_status)
    w._update_counts()


def _takes_follow_table(w: MainWindow, current) -> None:
    """Select the current table file's take in New takes, or clear the selection there.

    No current row (a take outside the libraries is playing) leaves New takes alone.
    """
    if current.isValid():
        w.takes_panel.select_path(current.data(RowRole).path)


def _reference_toggled(w, folder: str, on: bool) -> None:
    """A library folder became (or stopped being) the reference of normal: remember it in the
    catalog (the CLI sees it too) and learn again from the new reference."""
    w.catalog.set_reference(folder, on)
    w.run_analysis()  # retrains: the model's reference no longer matches
