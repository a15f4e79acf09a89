"""Watch folders and the "New takes" list: finished exports are scored at once and flagged.

:class:`WatchController` owns the core :class:`FolderWatcher` (its callbacks run on the watcher's
thread and only emit a Qt signal) and scores each finished file in a worker with the personal
model and the encoder it was trained with (the shared :class:`ModelRuntime`) and the user's
signal-check settings. :class:`NewTakesPanel`
shows the watch folders and the scored takes, newest first; each take's tooltip carries
everything about it (:func:`take_tooltip`), since the narrow dock elides the line itself.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QModelIndex, QObject, Qt, Signal, Slot
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ..core.errors import AnomalizerError
from ..core.evidence import FlagPolicy
from . import theme
from .compact_button import compact_button
from .model_runtime import ModelRuntime
from .palettes import Palette
from .workers import JobRunner, call_job, start_job

log = logging.getLogger(__name__)
MAX_TAKES = 200


@dataclass(frozen=True)
class Take:
    path: str
    score: float | None  # calibrated evidence against the model's library
    threshold: float  # the evidence a flag needs
    flagged: bool | None  # the one flag (the table's rule)
    error: str | None
    reasons: str = ""  # the evidence in words, strongest first
    findings: tuple = ()  # every signal-check finding (core Finding), before the user's settings
    learned: float | None = None  # the model's own score
    duration_s: float | None = None
    scored_at: float = field(default_factory=time.time)  # when it was scored (epoch seconds)


class _Scorer:
    """Scores one take with the shared model runtime and the user's check settings."""

    def __init__(self, runtime: ModelRuntime, policy_fn: Callable[[], FlagPolicy] | None) -> None:
        self.runtime = runtime
        self._policy_fn = policy_fn

    def user_policy(self) -> FlagPolicy:
        """The user's check settings (read in the GUI thread, before the job starts)."""
        return self._policy_fn() if self._policy_fn is not None else FlagPolicy()

    def score(self, path: str, policy: FlagPolicy) -> Take:
        from ..core import jobs

        loaded = self.runtime.get()
        if loaded is None:
            return Take(path, None, float("nan"), None, "no model yet: analyse a library first")
        judge = loaded.judge.with_policy(replace(policy, calibration=loaded.judge.library))
        scored = jobs.score_file(Path(path), loaded.encoder, loaded.detector, judge)
        return Take(path, scored.score, judge.threshold, scored.flagged, scored.error,
                    "; ".join(scored.words), tuple(scored.findings), scored.learned_score,
                    scored.duration_s)


class WatchController(QObject):
    """Watches folders; emits ``takeScored(Take)`` for each finished, scored file."""

    fileReady = Signal(str)  # emitted from the watcher thread; delivered queued
    watchError = Signal(str, str)
    takeScored = Signal(object)

    def __init__(self, runtime: ModelRuntime, parent: QObject | None = None,
                 policy_fn: Callable[[], FlagPolicy] | None = None) -> None:
        super().__init__(parent)
        from ..core.watch.watcher import FolderWatcher

        self._scorer = _Scorer(runtime, policy_fn)
        self._queue: deque[str] = deque()
        self._busy: JobRunner | None = None
        self.watcher = FolderWatcher([], self._on_ready_thread, on_error=self._on_error_thread)
        self.fileReady.connect(self._enqueue)

    # Called on the watcher's thread: only emit signals.
    def _on_ready_thread(self, path: Path) -> None:
        self.fileReady.emit(str(path))

    def _on_error_thread(self, path: Path, reason: str) -> None:
        self.watchError.emit(str(path), reason)

    def folders(self) -> list[str]:
        return [str(f) for f in self.watcher.folders]

    def add_folder(self, folder: str) -> None:
        """Watch ``folder`` (raises AnomalizerError with a message when it cannot be watched)."""
        self.watcher.add_folder(folder)
        if not self.watcher.running:
            self.watcher.start()

    def remove_folder(self, folder: str) -> None:
        self.watcher.remove_folder(folder)

    def stop(self) -> None:
        self.watcher.stop()
        self._queue.clear()

    @Slot(str)
    def _enqueue(self, path: str) -> None:
        self._queue.append(path)
        self._next()

    def _next(self) -> None:
        if self._busy is not None or not self._queue:
            return
        path = self._queue.popleft()
        policy = self._scorer.user_policy()
        runner = JobRunner(call_job(self._scorer.score, path, policy),
                           name="take")
        runner.succeeded.connect(self._on_scored)
        runner.failed.connect(self._on_failed)
        runner.finished.connect(self._on_finished)
        self._busy = runner
        self._busy_path = path
        start_job(runner, self)

    @Slot(object)
    def _on_scored(self, take: Take) -> None:
        self.takeScored.emit(take)

    @Slot(str, str)
    def _on_failed(self, message: str, _tb: str) -> None:
        self.takeScored.emit(Take(self._busy_path, None, float("nan"), None, message))

    @Slot()
    def _on_finished(self) -> None:
        self._busy = None
        self._next()


class NewTakesPanel(QWidget):
    """Watch-folder list and the newest scored takes; ``takeActivated(path)`` on click."""

    takeActivated = Signal(str)
    foldersChanged = Signal(list)

    def __init__(self, controller: WatchController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.folders = QListWidget()
        self.folders.setMaximumHeight(90)
        self.folders.setToolTip("Folders watched for new takes (e.g. your DAW's bounce folder)")
        self.folders.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        # "Add…" / "Remove" under the "Watch folders" heading, as in the Libraries panel
        add = compact_button("Add…", "Watch a folder: every audio file exported into it is "
                                     "scored as soon as it is finished")
        add.clicked.connect(self.choose_folder)
        self.remove_button = compact_button("Remove", "Stop watching the selected folder")
        self.remove_button.clicked.connect(self._on_remove)
        self.remove_button.setEnabled(False)
        self.takes = QListWidget()
        self.takes.setToolTip("Newest first. Click to audition.")
        self.takes.itemActivated.connect(self._on_item)
        self.takes.itemClicked.connect(self._on_item)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        # a long folder path must not widen the dock (the full text is the tooltip)
        self.message.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(QLabel("Watch folders"))
        layout.addWidget(self.folders)
        layout.addLayout(buttons)
        layout.addWidget(QLabel("New takes"))
        layout.addWidget(self.takes, 1)
        layout.addWidget(self.message)
        controller.takeScored.connect(self.add_take)
        controller.watchError.connect(self._on_watch_error)

    def set_folders(self, folders: list[str]) -> None:
        """Start watching ``folders`` (restored settings); unusable ones are reported, not fatal."""
        for folder in folders:
            self.add_folder(folder, announce=False)

    @Slot()
    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Watch a folder for new takes")
        if folder:
            self.add_folder(folder)

    def add_folder(self, folder: str, announce: bool = True) -> bool:
        try:
            self.controller.add_folder(folder)
        except AnomalizerError as exc:
            self._say(f"Cannot watch {Path(folder).name}: {exc}", folder)
            return False
        self._refresh_folders()
        if announce:
            self._say(f"Watching {Path(folder).name}; new exports are scored as they finish.",
                      folder)
        return True

    @Slot()
    def _on_remove(self) -> None:
        item = self.folders.currentItem()
        if item is not None:
            self.controller.remove_folder(item.text())
            self._refresh_folders()

    def _refresh_folders(self) -> None:
        self.folders.clear()
        folders = self.controller.folders()
        self.folders.addItems(folders)
        self.remove_button.setEnabled(bool(folders))
        self.foldersChanged.emit(folders)

    @Slot(object)
    def add_take(self, take: Take) -> None:
        name = Path(take.path).name
        if take.error:
            text = f"{name} — {take.error}"
        elif take.flagged:
            text = f"⚑ {name} — {take.reasons or 'unusual for your library'}"
        else:
            text = f"{name} — typical for your library"
        item = QListWidgetItem(text)
        item.setData(Qt.ItemDataRole.UserRole, take)
        item.setToolTip(take_tooltip(take))
        _colour_take(item, take, theme.current())
        self.takes.insertItem(0, item)
        while self.takes.count() > MAX_TAKES:
            self.takes.takeItem(self.takes.count() - 1)

    def apply_palette(self, p: Palette) -> None:
        for i in range(self.takes.count()):
            item = self.takes.item(i)
            _colour_take(item, item.data(Qt.ItemDataRole.UserRole), p)

    def take_at(self, row: int) -> Take:
        return self.takes.item(row).data(Qt.ItemDataRole.UserRole)

    def selected_take(self) -> Take | None:
        items = self.takes.selectedItems()
        return items[0].data(Qt.ItemDataRole.UserRole) if items else None

    def select_path(self, path: str | None) -> bool:
        """Select the newest take of ``path`` (the file the table shows), or clear the selection.

        A take of that file already selected stays selected (the same file may have been exported
        twice). Nothing is played: only a click on a take plays it. Returns whether one is selected.
        """
        key = _path_key(path) if path else None
        current = self.selected_take()
        if key is not None and current is not None and _path_key(current.path) == key:
            return True
        for i in range(self.takes.count()):
            item = self.takes.item(i)
            if key is not None and _path_key(item.data(Qt.ItemDataRole.UserRole).path) == key:
                self.takes.setCurrentItem(item)
                self.takes.scrollToItem(item)
                return True
        self.takes.clearSelection()
        self.takes.setCurrentIndex(QModelIndex())
        return False

    @Slot(QListWidgetItem)
    def _on_item(self, item: QListWidgetItem) -> None:
        take = item.data(Qt.ItemDataRole.UserRole)
        if take is not None and not take.error:
            self.takeActivated.emit(take.path)

    @Slot(str, str)
    def _on_watch_error(self, path: str, reason: str) -> None:
        self._say(f"{Path(path).name}: {reason}", path)

    def _say(self, text: str, path: str) -> None:
        self.message.setText(text)
        self.message.setToolTip(path)


def take_tooltip(take: Take) -> str:
    """Everything about one take, one fact a line: path, when, verdict, findings, duration."""
    from ..core.evidence.words import odds
    from ..core.qc.findings import TITLES

    lines = [take.path, "Scored " + time.strftime("%Y-%m-%d %H:%M:%S",
                                                  time.localtime(take.scored_at))]
    if take.error:
        lines.append(f"Could not be scored: {take.error}")
    elif take.flagged:
        lines.append(f"Flagged: {take.reasons or 'unusual for your library'}")
    elif take.flagged is False:
        lines.append("Not flagged")
    if take.score is not None:  # -log10 of how likely a normal loop looks this unusual
        rare = odds(10.0 ** -take.score)
        lines.append("Sounds typical for your library" if rare == "typical"
                     else f"About {rare} normal loops of your library look this unusual")
        need = (f" (a flag needs {take.threshold:.2f})" if math.isfinite(take.threshold)
                else "")
        lines.append(f"Evidence {take.score:.2f}{need}")
    if take.learned is not None:
        lines.append(f"Learned score {take.learned:.4g}")
    if take.duration_s is not None:
        lines.append(f"Duration {take.duration_s:.2f} s")
    if take.findings:
        lines.append(f"Signal checks ({len(take.findings)}):")
        for f in take.findings:
            where = (f"{f.start_s:.3f} s" if f.end_s <= f.start_s
                     else f"{f.start_s:.3f}-{f.end_s:.3f} s")
            title, label = TITLES.get(f.kind, f.kind), f.label()
            what = label if label.lower().startswith(title.lower()) else f"{title}: {label}"
            detail = f" — {f.detail}" if f.detail else ""
            lines.append(f"  • {what} ({where}, {f.level}){detail}")
    elif not take.error:
        lines.append("Signal checks: nothing found")
    return "\n".join(lines)


def _path_key(path: str) -> str:
    return os.path.normcase(os.path.abspath(os.path.expanduser(path)))


def _colour_take(item: QListWidgetItem, take: Take, p: Palette) -> None:
    """Errors muted, flagged takes in the flag's colour, typical ones plain."""
    if take.error:
        item.setForeground(QBrush(QColor(p.muted)))
    elif take.flagged:
        item.setForeground(QBrush(QColor(p.flag)))
    else:
        item.setData(Qt.ItemDataRole.ForegroundRole, None)
