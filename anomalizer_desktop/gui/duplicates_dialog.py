"""Duplicates: the same loop under other names, formats, levels or trims, in the window's
libraries. A background job (:func:`find_duplicate_files`, over :func:`core.browse.duplicates`)
with progress and cancel; the groups show as a tree. The app never moves or deletes a file:
the dialog reveals them and auditions them, the user decides.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
)

from ..core.progress import CancelToken, Progress
from . import row_actions
from .models.loop_row import format_duration
from .theme import set_tone
from .workers import JobRunner, start_job

if TYPE_CHECKING:
    from .main_window import MainWindow

PathRole = Qt.ItemDataRole.UserRole + 1
COLUMNS = ("File", "Match", "Similarity", "Format", "Duration", "Folder")
NEVER_TOUCHED = ("Anomalizer never moves or deletes a file: reveal a copy in the file manager "
                 "and decide there.")
ABOUT = ("<b>exact</b>: the same decoded audio (another name or a lossless format) · "
         "<b>near</b>: the same loop at another level, rate, bit depth or with a trimmed start")
WAIT_POLL_MS = 300
_SUBTYPES = {"FLOAT": "32-bit float", "DOUBLE": "64-bit float", "VORBIS": "Vorbis",
             "OPUS": "Opus", "MPEG_LAYER_III": "MP3"}


@dataclass(frozen=True)
class DuplicateFile:
    group: int
    path: str
    match: str  # "exact" | "near"
    similarity: float
    format: str  # "FLAC 24-bit · 48 kHz · stereo"
    duration_s: float | None


def describe_format(fmt: str | None, sample_rate: int | None, channels: int | None,
                    path: str) -> str:
    """"WAV 24-bit · 48 kHz · stereo" from the catalog's "WAV/PCM_24", rate and channels."""
    container, _, subtype = (fmt or "").partition("/")
    parts = [container or Path(path).suffix.lstrip(".").upper()]
    if subtype.startswith("PCM_"):
        parts[0] += f" {subtype[4:]}-bit"
    elif subtype:
        parts[0] += f" {_SUBTYPES.get(subtype, subtype.lower())}"
    if sample_rate:
        parts.append(f"{sample_rate / 1000:g} kHz")
    if channels:
        parts.append({1: "mono", 2: "stereo"}.get(channels, f"{channels} ch"))
    return " · ".join(p for p in parts if p)


def similarity_text(m: DuplicateFile) -> str:
    """"100 %" only for a byte- or sample-identical copy; a near copy never reads as 100 %."""
    if m.match == "exact":
        return "100 %"
    return f"{min(99.9, 100 * m.similarity):.1f} %"


def find_duplicate_files(roots: Sequence[Path | str], catalog, token: CancelToken | None = None
                         ) -> Generator[Progress, None, list[DuplicateFile]]:
    """The duplicate groups under ``roots`` with each file's format and duration."""
    from ..core import browse

    rows = yield from browse.duplicates(roots, catalog, token)
    out = []
    for r in rows:
        record = catalog.get_file(r.path)
        fmt = describe_format(record.format if record else None,
                              record.sample_rate if record else None,
                              record.channels if record else None, str(r.path))
        out.append(DuplicateFile(r.group, str(r.path), r.match, float(r.similarity), fmt,
                                 record.duration_s if record else None))
    return out


class DuplicatesDialog(QDialog):
    """Non-modal; finds the duplicates of the window's libraries when opened."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.setWindowTitle("Duplicates")
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.resize(960, 520)
        self.runner: JobRunner | None = None
        self.files: list[DuplicateFile] = []

        self.never = QLabel(f"<b>Read only.</b> {NEVER_TOUCHED}")
        self.never.setWordWrap(True)
        self.about = QLabel(ABOUT)
        self.about.setWordWrap(True)
        set_tone(self.about, "dim")
        self.find_button = QPushButton("Find duplicates")
        self.find_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.progress = QProgressBar()
        self.progress.setTextVisible(False)
        self.progress.setMaximumWidth(220)
        self.progress.hide()
        self.status = QLabel("")
        self.status.setWordWrap(True)

        self.tree = QTreeWidget()
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setUniformRowHeights(True)
        self.tree.setAllColumnsShowFocus(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.tree.header()
        header.setStretchLastSection(True)
        for col in range(len(COLUMNS) - 1):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(self._on_current)
        self.tree.itemActivated.connect(self._on_activated)

        self.play_button = QPushButton("▶ Play / stop")
        self.play_button.setToolTip("Play / stop the selected file (Space)")
        self.play_button.clicked.connect(self.toggle_play)
        self.reveal_button = QPushButton("Reveal in file manager")
        self.reveal_button.clicked.connect(self.reveal)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        for b in (self.play_button, self.reveal_button):
            b.setEnabled(False)
        QShortcut(QKeySequence("Space"), self, self.toggle_play,
                  context=Qt.ShortcutContext.WidgetWithChildrenShortcut)

        top = QHBoxLayout()
        top.addWidget(self.find_button)
        top.addWidget(self.cancel_button)
        top.addWidget(self.progress)
        top.addWidget(self.status, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.play_button)
        bottom.addWidget(self.reveal_button)
        bottom.addStretch(1)
        bottom.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.never)
        layout.addWidget(self.about)
        layout.addLayout(top)
        layout.addWidget(self.tree, 1)
        layout.addLayout(bottom)

        self._wait = QTimer(self)
        self._wait.setInterval(WAIT_POLL_MS)
        self._wait.timeout.connect(self._start_when_idle)

    # --- the job ----------------------------------------------------------------------------
    @Slot()
    def start(self) -> None:
        roots = [Path(p) for p in self.w.libraries()]
        if not roots:
            self._say("Add a library folder first (File ▸ Add library…).", warn=True)
            return
        if self.runner is not None:
            return
        if self.w.job is not None:  # one scan writes the catalog at a time
            self._say("Waiting for the library analysis to finish…")
            self._set_busy(True)
            self._wait.start()
            return
        catalog = self.w.catalog
        self.tree.clear()
        self._say(f"Looking for duplicates in {len(roots)} "
                  f"librar{'y' if len(roots) == 1 else 'ies'}…")
        runner = JobRunner(lambda token: find_duplicate_files(roots, catalog, token),
                           name="duplicates")
        runner.progress.connect(self._on_progress)
        runner.succeeded.connect(self._on_found)
        runner.failed.connect(self._on_failed)
        runner.cancelled.connect(self._on_cancelled)
        runner.finished.connect(self._on_finished)
        self.runner = runner
        self._set_busy(True)
        start_job(runner, self)

    @Slot()
    def _start_when_idle(self) -> None:
        if self.w.job is None:
            self._wait.stop()
            self._set_busy(False)
            self.start()

    @Slot()
    def cancel(self) -> None:
        if self._wait.isActive():
            self._wait.stop()
            self._set_busy(False)
            self._say("Cancelled.")
        if self.runner is not None:
            self.runner.cancel()

    @Slot(object)
    def _on_progress(self, p: Progress) -> None:
        if p.total:
            self.progress.setRange(0, int(p.total))
            self.progress.setValue(int(p.done))
        else:
            self.progress.setRange(0, 0)
        if p.message:
            self._say(p.message)

    @Slot(object)
    def _on_found(self, files: list[DuplicateFile]) -> None:
        self.show_files(files)

    @Slot(str, str)
    def _on_failed(self, message: str, tb: str) -> None:
        self._say(message, warn=True)
        if tb:
            from .window_actions import show_error

            show_error(self.w, message, tb)

    @Slot()
    def _on_cancelled(self) -> None:
        self._say("Cancelled; nothing was changed.")

    @Slot()
    def _on_finished(self) -> None:
        self.runner = None
        self._set_busy(False)

    def _set_busy(self, busy: bool) -> None:
        self.find_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)
        self.find_button.setText("Find again" if self.files and not busy else "Find duplicates")

    # --- the groups -------------------------------------------------------------------------
    def show_files(self, files: list[DuplicateFile]) -> None:
        self.files = list(files)
        self.tree.clear()
        groups: dict[int, list[DuplicateFile]] = {}
        for f in files:
            groups.setdefault(f.group, []).append(f)
        for number, members in groups.items():
            exact = sum(1 for m in members if m.match == "exact")
            title = f"Group {number} ({len(members)} files)"
            near = len(members) - exact
            kinds = ("exact copies" if not near else "near copies" if not exact
                     else f"{exact} exact, {near} near")
            head = QTreeWidgetItem([title, kinds])
            font = head.font(0)
            font.setBold(True)
            head.setFont(0, font)
            self.tree.addTopLevelItem(head)
            for i, m in enumerate(members):
                similar = "reference" if i == 0 else similarity_text(m)
                item = QTreeWidgetItem([Path(m.path).name, m.match, similar,
                                        m.format, format_duration(m.duration_s),
                                        str(Path(m.path).parent)])
                item.setData(0, PathRole, m.path)
                item.setToolTip(0, m.path)
                item.setToolTip(5, m.path)
                item.setToolTip(2, "the other files of the group are compared with this one"
                                if i == 0 else "how alike the audio is to the group's first file")
                item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                item.setTextAlignment(4, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                head.addChild(item)
            head.setExpanded(True)
        n_files = len(files)
        if groups:
            self._say(f"{len(groups)} group{'s' if len(groups) != 1 else ''} of duplicates, "
                      f"{n_files} files. Select a file to audition it.")
        else:
            self._say("No duplicates found in your libraries.")
        self._set_busy(False)

    def groups(self) -> list[list[tuple[str, str]]]:
        """(file name, match) per group as shown; for tests."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            head = self.tree.topLevelItem(i)
            out.append([(head.child(j).text(0), head.child(j).text(1))
                        for j in range(head.childCount())])
        return out

    def selected_path(self) -> str | None:
        item = self.tree.currentItem()
        return item.data(0, PathRole) if item is not None else None

    @Slot(object, object)
    def _on_current(self, current, _previous) -> None:
        path = current.data(0, PathRole) if current is not None else None
        self.play_button.setEnabled(bool(path))
        self.reveal_button.setEnabled(bool(path))
        if path:
            self.w.audition.request(path, play=self.w.player_bar.autoplay)

    @Slot(object, int)
    def _on_activated(self, item, _column: int) -> None:
        path = item.data(0, PathRole)
        if path:
            self.w.audition.request(path, play=True)

    @Slot()
    def toggle_play(self) -> None:
        path = self.selected_path()
        if not path:
            return
        if self.w.audition.current_path == path:
            self.w.audition.toggle()
        else:
            self.w.audition.request(path, play=True)

    @Slot()
    def reveal(self) -> None:
        path = self.selected_path()
        if path and not row_actions.reveal_in_file_manager(path):
            self._say("Could not open a file manager.", warn=True)

    def _say(self, text: str, warn: bool = False) -> None:
        self.status.setText(text)
        set_tone(self.status, "warn" if warn else "")

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt name
        self.cancel()
        super().closeEvent(event)
