"""The Train dialog: encoder, network, epochs, a live loss curve; cancel keeps the previous model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyqtgraph as pg
from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from ..core import jobs
from ..core.progress import CancelToken, Progress
from . import theme
from .workers import JobRunner, start_job

if TYPE_CHECKING:
    from .main_window import MainWindow

ENCODERS = [
    ("auto", "Automatic (CLAP fused if its weights are here, else spectral)"),
    ("clap-fused", "CLAP HTS-AT + feature fusion (the paper's encoder)"),
    ("clap-music", "CLAP music (HTS-AT base)"),
    ("spectral", "Spectral features (offline, no download)"),
]
NETWORKS = [
    ("AEwRES", "Deep SVDD, autoencoder with residual skips (AEwRES)"),
    ("AE", "Deep SVDD, plain autoencoder (AE)"),
    ("iforest", "Isolation Forest (baseline)"),
    ("pca", "PCA reconstruction error (baseline)"),
]


def train_job(roots: list[Path], catalog, model_path: Path, encoder_name: str, network: str,
              epochs: int | None, token: CancelToken):
    """Build the encoder in the worker, then run :func:`jobs.train` (writes the model at the end)."""
    from ..core.embedding import make_encoder

    yield Progress("encoder", 0, None, "loading the audio encoder")
    encoder = make_encoder(encoder_name, shared=True)
    return (yield from jobs.train(roots, catalog, encoder, model_path, network, epochs=epochs,
                                  token=token))


class TrainDialog(QDialog):
    """Runs a training job and draws its loss curves live. ``trained`` fires after success."""

    trained = Signal(object)  # jobs.TrainResult

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.setWindowTitle("Train the personal model")
        self.window_ = window
        settings = window.settings
        self.encoder_box = QComboBox()
        for key, text in ENCODERS:
            self.encoder_box.addItem(text, key)
        self.encoder_box.setCurrentIndex(max(0, self.encoder_box.findData(
            str(settings.value("encoder", "auto")))))
        self.network_box = QComboBox()
        for key, text in NETWORKS:
            self.network_box.addItem(text, key)
        self.network_box.setCurrentIndex(max(0, self.network_box.findData(
            str(settings.value("network", "AEwRES")))))
        self.epochs = QSpinBox()
        self.epochs.setRange(0, 2000)
        self.epochs.setSpecialValueText("automatic (early stopping)")
        self.epochs.setValue(int(settings.value("epochs", 0)))
        self.epochs.setToolTip("Maximum epochs for Deep SVDD; the baselines ignore it")
        form = QFormLayout()
        form.addRow("Encoder", self.encoder_box)
        form.addRow("Network", self.network_box)
        form.addRow("Epochs", self.epochs)

        self.plot = pg.PlotWidget()
        self.plot.setMinimumHeight(220)
        self.plot.setLabel("bottom", "epoch (pretraining, then one-class)")
        self.plot.setLabel("left", "loss")
        self.plot.setLogMode(y=True)
        self.plot.addLegend(offset=(-10, 10))
        colours = theme.current()
        self.train_curve = self.plot.plot([], [], pen=pg.mkPen(colours.accent, width=2),
                                          name="training")
        self.val_curve = self.plot.plot([], [], pen=pg.mkPen(colours.second_curve, width=2),
                                        name="validation")
        self.status = QLabel("Training uses every file of your libraries. Cancel keeps the "
                             "previous model.")
        self.status.setWordWrap(True)

        self.start_button = QPushButton("Train")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.start)
        self.buttons = QDialogButtonBox()
        self.buttons.addButton(self.start_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.close_button.clicked.connect(self._on_close_clicked)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.resize(640, 480)
        self.runner: JobRunner | None = None
        self._xs: list[float] = []
        self._train: list[float] = []
        self._val: list[float] = []

    @Slot()
    def start(self) -> None:
        w = self.window_
        encoder = str(self.encoder_box.currentData())
        network = str(self.network_box.currentData())
        epochs = self.epochs.value() or None
        for key, value in (("encoder", encoder), ("network", network), ("epochs", self.epochs.value())):
            w.settings.setValue(key, value)
        roots = [Path(p) for p in w.libraries()]
        catalog, model_path = w.catalog, w.model_path
        self._xs, self._train, self._val = [], [], []
        self._redraw()

        def job(token):
            return train_job(roots, catalog, model_path, encoder, network, epochs, token)

        self.runner = JobRunner(job, min_interval_s=0.0, name="train")  # every epoch for the curve
        self.runner.progress.connect(self._on_progress)
        self.runner.succeeded.connect(self._on_succeeded)
        self.runner.failed.connect(self._on_failed)
        self.runner.cancelled.connect(self._on_cancelled)
        self.runner.finished.connect(self._on_finished)
        for widget in (self.encoder_box, self.network_box, self.epochs, self.start_button):
            widget.setEnabled(False)
        self.close_button.setText("Cancel")
        self.status.setText("Starting…")
        start_job(self.runner, self)

    @property
    def running(self) -> bool:
        return self.runner is not None

    @Slot(object)
    def _on_progress(self, p: Progress) -> None:
        self.status.setText(p.message or p.stage)
        if p.stage != "train":
            return
        train_loss, val_loss = p.extra.get("train_loss"), p.extra.get("val_loss")
        if train_loss is None and val_loss is None:
            return
        self._xs.append(float(len(self._xs) + 1))
        self._train.append(float(train_loss) if train_loss is not None else float("nan"))
        self._val.append(float(val_loss) if val_loss is not None else float("nan"))
        self._redraw()

    def _redraw(self) -> None:
        self.train_curve.setData(self._xs, self._train, connect="finite")
        self.val_curve.setData(self._xs, self._val, connect="finite")

    def loss_curves(self) -> tuple[list[float], list[float]]:
        return list(self._train), list(self._val)

    @Slot(object)
    def _on_succeeded(self, result) -> None:
        text = f"Trained {result.info.detector} on {result.n_train:,} loops; saved."
        if result.warnings:
            text += "\n" + "\n".join(result.warnings)
        self.status.setText(text)
        self.trained.emit(result)

    @Slot(str, str)
    def _on_failed(self, message: str, _tb: str) -> None:
        self.status.setText(f"Training failed: {message}\nThe previous model is unchanged.")

    @Slot()
    def _on_cancelled(self) -> None:
        self.status.setText("Cancelled. The previous model is unchanged.")

    @Slot()
    def _on_finished(self) -> None:
        self.runner = None
        for widget in (self.encoder_box, self.network_box, self.epochs, self.start_button):
            widget.setEnabled(True)
        self.close_button.setText("Close")

    @Slot()
    def _on_close_clicked(self) -> None:
        if self.runner is not None:
            self.close_button.setEnabled(False)
            self.runner.cancel()
            self.runner.finished.connect(self._close_after_cancel)
        else:
            self.accept()

    @Slot()
    def _close_after_cancel(self) -> None:
        self.close_button.setEnabled(True)

    def reject(self) -> None:  # Esc / window close: cancel first, keep the dialog until stopped
        if self.runner is not None:
            self.runner.cancel()
            return
        super().reject()
