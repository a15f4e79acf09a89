"""The main window: libraries, the loop table, audition, map and histogram, and the running job.

Menus, shortcuts and row actions live in :mod:`.window_actions`; this module lays the window out
and reacts to the library job (:func:`.analysis.analyse`) running on a worker thread.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSettings, Qt, QTimer, Slot
from PySide6.QtWidgets import QAbstractItemView, QMainWindow

from ..core.catalog import Catalog
from ..core.config import default_catalog_path, models_dir
from ..core.detect.persistence import MODEL_SUFFIX
from ..core.progress import Progress
from . import window_actions, window_findings, window_layout, window_similar, window_state
from . import window_theme, window_threads
from .analysis import AnalysisResult, analyse
from .models.loop_table import COLUMN_INDEX, FileIdRole, RowRole
from .watch_panel import Take
from .workers import JobRunner, start_job, wait_for_jobs

log = logging.getLogger(__name__)
MODEL_NAME = "personal" + MODEL_SUFFIX


class MainWindow(QMainWindow):
    """Anomalizer's main window. ``player`` is a core Player (real or null)."""

    def __init__(self, player, catalog: Catalog | None = None, model_path: Path | None = None,
                 settings: QSettings | None = None) -> None:
        super().__init__()
        self.setWindowTitle("Anomalizer")
        self.settings = settings or QSettings()
        self._owns_catalog = catalog is None
        self.catalog = catalog or Catalog(default_catalog_path())
        self.model_path = model_path or models_dir() / MODEL_NAME
        self.result: AnalysisResult | None = None
        self.job: JobRunner | None = None
        self._pending: tuple[bool, bool] | None = None  # (list_first, retrain) queued behind a job
        self._reselecting = False
        self._removing: set[str] = set()  # libraries removed while a job was running
        self.encoder_id: str | None = None  # what the libraries are embedded with, once known
        self.duplicates_dialog = None
        window_layout.build(self, player)
        window_findings.install(self)
        self.similar = window_similar.SimilarController(self)
        self.setAcceptDrops(True)  # any audio file dropped: "more like this"
        window_actions.install(self)
        window_theme.install(self)
        window_threads.install(self)
        window_state.restore(self)

    # --- libraries and the job --------------------------------------------------------------
    def libraries(self) -> list[str]:
        """The library folders shown: the catalog's list, shared with the ``anomalizer`` CLI."""
        return self.library_panel.libraries()

    def refresh_libraries(self) -> None:
        """Show the catalog's libraries (the CLI may have added some), minus pending removals."""
        libs = [lib for lib in self.catalog.libraries() if str(lib.path) not in self._removing]
        self.library_panel.set_libraries([str(lib.path) for lib in libs],
                                         {str(lib.path) for lib in libs if lib.reference})

    @Slot(str)
    def add_library(self, folder: str) -> None:
        folder = str(Path(folder).expanduser().resolve())
        self._removing.discard(folder)
        self.catalog.add_library(folder)
        self.refresh_libraries()
        self.run_analysis(list_first=True)

    @Slot(str)
    def remove_library(self, folder: str) -> None:
        """Forget ``folder`` (its files are not touched). A running job is cancelled first."""
        self._removing.add(folder)
        self.refresh_libraries()
        if self.job is None:
            self._apply_removals()
        self.run_analysis()

    def _apply_removals(self) -> None:
        # Only once no job runs: a scan in flight would register its roots again.
        for folder in sorted(self._removing):
            self.catalog.remove_library(folder)
        self._removing.clear()

    @Slot()
    def rescan(self) -> None:
        self.refresh_libraries()
        self.run_analysis()

    def run_analysis(self, list_first: bool = False, retrain: bool = False) -> None:
        """(Re)analyse every library in a worker; a running job is cancelled and this one queued."""
        if self.job is not None:
            self._pending = (list_first, retrain)
            self.job.cancel()
            return
        roots = [Path(p) for p in self.libraries()]
        reference = [Path(p) for p in self.library_panel.reference()]
        if not roots:
            self._show_result(AnalysisResult([], None))
            return
        encoder = str(self.settings.value("encoder", "auto"))
        network = str(self.settings.value("network", "AEwRES"))
        catalog, model_path = self.catalog, self.model_path
        links = window_actions.follow_links(self)
        policy = self.user_policy  # frozen: the worker judges the rows it reports with it

        def job(token):
            return analyse(roots, catalog, model_path, encoder, network, retrain=retrain,
                           list_first=list_first, token=token, follow_links=links,
                           reference=reference, policy=policy, handoff=True)

        self.start_job(JobRunner(job, name="analyse"), "Analysing libraries…",
                       self._on_analysis_done)

    def start_job(self, runner: JobRunner, title: str, on_success) -> None:
        self.job = runner
        self.job_status.start(title)
        runner.progress.connect(self._on_job_progress)
        runner.succeeded.connect(on_success)
        runner.failed.connect(self._on_job_failed)
        runner.cancelled.connect(self._on_job_cancelled)
        runner.finished.connect(self._on_job_finished)
        start_job(runner, self)

    @Slot()
    def cancel_job(self) -> None:
        if self.job is not None:
            self.job.cancel()

    @Slot(object)
    def _on_job_progress(self, p: Progress) -> None:
        self.job_status.update_progress(p)
        if p.stage == "listed" and "rows" in p.extra:
            self._set_rows(p.extra["rows"], p.extra.get("judge"))
        elif p.stage in ("cached", "checked", "scanned") and "rows" in p.extra:
            window_findings.set_library(self, p.extra.get("library"), rejudge=False)
            self._set_rows(p.extra["rows"], p.extra.get("judge"))
        if "taken" in p.extra:  # the job goes on once the rows are painted (analyse's handoff)
            QTimer.singleShot(0, p.extra["taken"].set)
        elif p.stage == "encoder" and p.extra.get("encoder_id"):
            self._set_encoder_status(p.extra["encoder_id"], p.extra.get("notices", []))

    @Slot(object)
    def _on_analysis_done(self, result: AnalysisResult) -> None:
        self._show_result(result)
        parts = [f"{len(result.rows):,} files"]
        if result.trained:
            learned = f" on {len(result.reference)} reference folder(s)" if result.reference else ""
            parts.append(f"trained a new {result.detector} model{learned}")
        parts += result.warnings
        self.statusBar().showMessage(" · ".join(parts), 15_000)

    @Slot(object)
    def on_demo_written(self, library) -> None:
        self.add_library(str(library.root))

    @Slot(str, str)
    def _on_job_failed(self, message: str, tb: str) -> None:
        window_actions.show_error(self, message, tb)

    @Slot()
    def _on_job_cancelled(self) -> None:
        self.statusBar().showMessage("Cancelled; finished work is kept", 8000)

    @Slot()
    def _on_job_finished(self) -> None:
        self.job = None
        self.job_status.finish()
        self._apply_removals()
        if self._pending is not None:
            list_first, retrain = self._pending
            self._pending = None
            self.run_analysis(list_first=list_first, retrain=retrain)

    # --- results ----------------------------------------------------------------------------
    def _set_rows(self, rows, judged_by=None) -> None:
        current = self.current_row()
        self.model.set_rows(rows, judged_by)
        self._update_histogram()
        # The QC "Reasons" column only shows once some file has findings.
        self.table.setColumnHidden(COLUMN_INDEX["reasons"],
                                   not any(r.findings or r.reasons for r in self.model.rows))
        self.reasons_fit.fit()
        self._update_counts()
        if current is not None:
            self._reselect_path(current.path)
        window_findings.rows_changed(self)
        self.similar.rows_changed()

    def _show_result(self, result: AnalysisResult) -> None:
        self.result = result
        window_findings.set_library(self, result.library, rejudge=False)
        self._set_rows(result.rows, result.judge)
        if result.encoder_id:
            self._set_encoder_status(result.encoder_id, result.notices)
        self._update_map()
        self._update_counts()

    def _update_histogram(self) -> None:
        evidence = np.array([r.score for r in self.model.rows if r.score is not None], float)
        self.histogram.set_evidence(evidence, self.model.flagged_count())

    @Slot()
    def _update_map(self, *args) -> None:
        data = self.result.map if self.result else None
        if data is None:
            self.scatter.clear("No map yet: the map appears once the library is scored")
            return
        space = self.scatter.space
        xy, var = ((data.latent_xy, data.latent_variance) if space == "latent"
                   else (data.embedding_xy, data.embedding_variance))
        if xy is None:
            xy, var, space = data.embedding_xy, data.embedding_variance, "embedding"
        by_id = {r.file_id: r for r in self.model.rows}
        rows = [by_id.get(int(i)) for i in data.ids]
        scores = np.array([r.score if r and r.score is not None else np.nan for r in rows])
        flagged = np.array([bool(r and r.flagged and not r.fine) for r in rows])
        title = ("Model latent space (PCA)" if space == "latent" else "Raw embedding space (PCA)")
        names = {r.file_id: r.name for r in rows if r}
        self.scatter.set_points(xy, scores, flagged, data.ids, self.model.judge.threshold,
                                explained_variance=var, title=title,
                                name_of=lambda fid: names.get(fid, str(fid)))
        current = self.current_row()
        self.scatter.select(current.file_id if current else None)

    @Slot(float)
    def _on_budget_changed(self, budget: float) -> None:
        window_findings.set_budget(self, budget)

    def _set_encoder_status(self, encoder_id: str, notices: list[str]) -> None:
        self.encoder_id = encoder_id
        text = f"Encoder: {encoder_id}"
        if encoder_id.startswith("spectral"):
            text += " (offline; no CLAP weights on this machine — see Model ▸ Encoder weights…)"
        self.encoder_status.setText(text)
        self.encoder_status.setToolTip("\n".join(notices) or encoder_id)

    @Slot()
    def _update_counts(self, *args) -> None:
        total = self.model.rowCount()
        if not self.libraries() and total == 0:
            self.counts.setText("Add a library folder (File ▸ Add library…) or open the demo")
            return
        shown = self.proxy.rowCount()
        flagged = self.model.flagged_count()
        by_checks = self.model.flagged_by_checks_only()
        text = f"{flagged:,} flagged · {total:,} files"
        if by_checks:
            text = f"{flagged:,} flagged ({by_checks:,} by signal checks) · {total:,} files"
        if shown != total:
            text = f"{shown:,} shown · " + text
        self.counts.setText(text)
        self.histogram.set_flagged_count(flagged)

    # --- watch folders ----------------------------------------------------------------------
    @Slot(object)
    def _on_take_scored(self, take: Take) -> None:
        window_findings.take_scored(self, take.path, take.findings)
        if take.flagged:
            why = take.reasons or "unusual for your library"
            self.notifier.notify("Flagged take", f"{Path(take.path).name}: {why}")

    @Slot(str)
    def _on_take_activated(self, path: str) -> None:
        for r, row in enumerate(self.model.rows):
            if row.path == path:
                self.select_file(row.file_id, play=True)
                return
        # A take outside the libraries: no table row stays selected as if it were playing.
        self.table.selectionModel().clear()
        self.scatter.select(None)
        self.audition.request(path, play=True)

    @Slot(list)
    def _on_watch_folders_changed(self, folders: list) -> None:
        self.settings.setValue("watch_folders", list(folders))

    # --- selection and audition -------------------------------------------------------------
    def current_row(self):
        index = self.table.currentIndex()
        return index.data(RowRole) if index.isValid() else None

    def selected_rows(self) -> list:
        return [i.data(RowRole) for i in self.table.selectionModel().selectedRows()]

    @Slot(int)
    def select_file(self, file_id: int, play: bool = True) -> bool:
        """Select ``file_id`` in the table (clearing filters that hide it) and play it."""
        source_row = self.model.row_for_id(file_id)
        if source_row is None:
            return False
        index = self.proxy.mapFromSource(self.model.index(source_row, 0))
        if not index.isValid():
            self.filter_edit.clear()
            self.flagged_only.setChecked(False)
            self.facet_filters.clear()
            index = self.proxy.mapFromSource(self.model.index(source_row, 0))
        self.table.setCurrentIndex(index)
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
        self.table.setFocus()
        row = self.model.row_at(source_row)
        if play and not row.error:
            self.audition.request(row.path, play=True)
        return True

    def _reselect_path(self, path: str) -> None:
        for r, row in enumerate(self.model.rows):
            if row.path == path:
                index = self.proxy.mapFromSource(self.model.index(r, 0))
                if index.isValid():
                    self._reselecting = True
                    try:
                        self.table.setCurrentIndex(index)
                    finally:
                        self._reselecting = False
                return

    @Slot(object, object)
    def _on_current_row(self, current, _previous) -> None:
        if self._reselecting or not current.isValid():
            return
        row = current.data(RowRole)
        self.scatter.select(current.data(FileIdRole))
        if row.error:
            self.waveform.clear(f"Cannot play: {row.error}")
            window_findings.audio_cleared(self)
            self.audition.unload()
            return
        self.audition.request(row.path, play=self.player_bar.autoplay)

    @Slot(str, object, int)
    def _on_audio_loaded(self, path: str, samples, rate: int) -> None:
        self.waveform.set_audio(samples, rate)
        window_findings.audio_loaded(self, path, samples, rate)

    @Slot(str, str)
    def _on_audio_failed(self, path: str, message: str) -> None:
        self.waveform.clear(message)
        window_findings.audio_cleared(self)

    def dragEnterEvent(self, event) -> None:  # noqa: N802 - Qt name
        if window_similar.accepts_drag(self, event):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 - Qt name
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:  # noqa: N802 - Qt name
        window_similar.drop(self, event)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt name
        """Up/Down in the filter box move through the table (type, then arrow to audition)."""
        if obj is self.filter_edit and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Up, Qt.Key.Key_Down):
                window_actions.move_selection(self, -1 if event.key() == Qt.Key.Key_Up else 1)
                return True
        return super().eventFilter(obj, event)

    # --- state ------------------------------------------------------------------------------
    def save_state(self) -> None:
        window_state.save(self)

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Cancel the running job, wait for worker threads, release audio and the catalog."""
        self._pending = None
        if self.job is not None:
            self.job.cancel()
        if self.duplicates_dialog is not None:
            self.duplicates_dialog.cancel()
        self.watch.stop()
        self.localiser.clear()
        wait_for_jobs(timeout_s)
        self.notifier.close()
        self.waveform.set_player(None)
        self.audition.player.close()
        if self._owns_catalog and not self.catalog.closed:
            self.catalog.close()

    @Slot(bool)
    def set_minimise_to_tray(self, on: bool) -> None:
        self.notifier.minimise_to_tray = bool(on) and self.notifier.has_tray
        self.settings.setValue("minimise_to_tray", bool(on))

    def changeEvent(self, event) -> None:  # noqa: N802 - Qt name
        """Minimised: optionally hide to the tray. The watcher keeps running either way."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.WindowStateChange and self.isMinimized():
            self.notifier.window_minimised()

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt name
        self.save_state()
        self.shutdown()
        super().closeEvent(event)
