"""Encoder weights: which are on this machine, download them (with progress), import a file."""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ..core.progress import CancelToken, Progress
from .workers import JobRunner, call_job, start_job

if TYPE_CHECKING:
    from .main_window import MainWindow

OFFLINE_EXPLANATION = (
    "Without CLAP weights Anomalizer uses its offline <b>spectral</b> encoder: a fixed set of "
    "sound descriptors (timbre, loudness, rhythm statistics) computed with librosa. It needs no "
    "download and works well for obvious outliers (wrong instrument, noise, clipping), but it "
    "hears less than the CLAP encoder the method was designed for. Download or import CLAP "
    "weights, then rescan: the model is retrained on the new embeddings automatically."
)


def download_job(variant: str, token: CancelToken):
    """Run the blocking download in a helper thread and turn its byte counts into Progress."""
    from ..core.embedding.weights import download_weights

    updates: queue.SimpleQueue = queue.SimpleQueue()
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["source"] = download_weights(variant, progress=lambda d, t: updates.put((d, t)))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the job's thread below
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="weights-download")
    thread.start()
    while thread.is_alive() or not updates.empty():
        try:
            done, total = updates.get(timeout=0.1)
        except queue.Empty:
            continue
        yield Progress("download", int(done), int(total) or None, f"downloading {variant} weights")
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["source"]


class WeightsDialog(QDialog):
    """Lists weights per encoder variant; Download and Import run in a worker."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.setWindowTitle("Encoder weights")
        self.window_ = window
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Encoder", "Present", "Where", "Description"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.explanation = QLabel(OFFLINE_EXPLANATION)
        self.explanation.setWordWrap(True)
        self.explanation.setTextFormat(Qt.TextFormat.RichText)
        self.download_button = QPushButton("Download selected")
        self.download_button.setToolTip("Needs internet access to the Hugging Face hub")
        self.download_button.clicked.connect(self.download)
        self.import_button = QPushButton("Import checkpoint…")
        self.import_button.setToolTip("A LAION-CLAP .pt file, a transformers folder or safetensors file")
        self.import_button.clicked.connect(self.choose_import)
        self.progress = QProgressBar()
        self.progress.hide()
        self.status = QLabel("")
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.import_button)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.explanation)
        layout.addWidget(close)
        self.resize(760, 420)
        self.runner: JobRunner | None = None
        self.refresh()

    def refresh(self) -> None:
        from ..core.embedding.weights import weights_status

        rows = weights_status()
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            where = row["path"] or "—"
            size = f" ({row['size_bytes'] / 1e6:.0f} MB)" if row.get("size_bytes") else ""
            values = [row["variant"], "yes" if row["present"] else "no",
                      f"{row['origin']}: {where}{size}" if row["present"] else row["hub_repo"],
                      row["description"]]
            for c, value in enumerate(values):
                item = QTableWidgetItem(str(value))
                item.setToolTip(str(value))
                item.setData(Qt.ItemDataRole.UserRole, row["variant"])
                self.table.setItem(r, c, item)
        if rows and self.table.currentRow() < 0:
            self.table.selectRow(0)
        self.explanation.setVisible(not any(r["present"] for r in rows))

    def selected_variant(self) -> str | None:
        item = self.table.item(self.table.currentRow(), 0)
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    @Slot()
    def download(self) -> None:
        variant = self.selected_variant()
        if variant:
            self._run(JobRunner(lambda token: download_job(variant, token), name="download"),
                      f"Downloading {variant} weights…")

    @Slot()
    def choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import encoder weights", "", "Checkpoints (*.pt *.ckpt *.bin *.safetensors);;All files (*)")
        if path:
            self.import_file(Path(path))

    def import_file(self, path: Path) -> None:
        from ..core.embedding.weights import import_checkpoint

        self._run(JobRunner(call_job(import_checkpoint, path), name="import"), f"Importing {path.name}…")

    def _run(self, runner: JobRunner, title: str) -> None:
        if self.runner is not None:
            return
        self.runner = runner
        self.status.setText(title)
        self.progress.setRange(0, 0)
        self.progress.show()
        for b in (self.download_button, self.import_button):
            b.setEnabled(False)
        runner.progress.connect(self._on_progress)
        runner.succeeded.connect(self._on_succeeded)
        runner.failed.connect(self._on_failed)
        runner.finished.connect(self._on_finished)
        start_job(runner, self)

    @Slot(object)
    def _on_progress(self, p: Progress) -> None:
        if p.total:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * p.done / p.total))
        self.status.setText(f"{p.message}: {p.done / 1e6:.1f} MB" + (f" of {p.total / 1e6:.0f} MB" if p.total else ""))

    @Slot(object)
    def _on_succeeded(self, source) -> None:
        self.status.setText(f"{source.variant} weights ready ({source.origin}). Rescan (F5) to use them; "
                            "the model is retrained on the new embeddings.")
        self.refresh()

    @Slot(str, str)
    def _on_failed(self, message: str, _tb: str) -> None:
        self.status.setText(message)

    @Slot()
    def _on_finished(self) -> None:
        self.runner = None
        self.progress.hide()
        for b in (self.download_button, self.import_button):
            b.setEnabled(True)

    def reject(self) -> None:  # a download cannot be interrupted safely; keep the dialog until done
        if self.runner is None:
            super().reject()
