"""Train dialog (live loss curve, cancel keeps the old model) and the weights dialog."""

from __future__ import annotations

import pytest

from anomalizer_desktop.core.audio.playback import NullPlayer
from anomalizer_desktop.gui.dialogs import TrainDialog
from anomalizer_desktop.gui.main_window import MainWindow
from anomalizer_desktop.gui.weights_dialog import WeightsDialog


@pytest.fixture(scope="module")
def small_library(tmp_path_factory):
    from anomalizer_desktop.core.demo import write_demo_library

    root = tmp_path_factory.mktemp("lib") / "pack"
    write_demo_library(root, n_normal=12, seed=2)
    return root


@pytest.fixture
def window(qtbot, small_library):
    w = MainWindow(NullPlayer())
    qtbot.addWidget(w)
    w.library_panel.set_libraries([str(small_library)])
    yield w
    w.shutdown()


@pytest.mark.slow
def test_train_dialog_draws_loss_and_saves_model(qtbot, window):
    dialog = TrainDialog(window)
    qtbot.addWidget(dialog)
    dialog.encoder_box.setCurrentIndex(dialog.encoder_box.findData("spectral"))
    dialog.network_box.setCurrentIndex(dialog.network_box.findData("AE"))
    dialog.epochs.setValue(5)
    with qtbot.waitSignal(dialog.trained, timeout=120_000) as blocker:
        dialog.start_button.click()
    result = blocker.args[0]
    qtbot.waitUntil(lambda: not dialog.running, timeout=5000)
    train_loss, _val = dialog.loss_curves()
    assert len(train_loss) >= 2  # one point per epoch, both phases
    assert window.model_path.exists() and result.model_path == window.model_path
    assert window.settings.value("network") == "AE"
    assert "Trained" in dialog.status.text()


@pytest.mark.slow
def test_cancelled_training_keeps_previous_model(qtbot, window):
    window.model_path.parent.mkdir(parents=True, exist_ok=True)
    window.model_path.write_bytes(b"previous model")
    dialog = TrainDialog(window)
    qtbot.addWidget(dialog)
    dialog.encoder_box.setCurrentIndex(dialog.encoder_box.findData("spectral"))
    dialog.epochs.setValue(2000)
    dialog.start_button.click()
    qtbot.waitUntil(lambda: len(dialog.loss_curves()[0]) >= 1, timeout=120_000)
    dialog.close_button.click()  # "Cancel" while running
    qtbot.waitUntil(lambda: not dialog.running, timeout=30_000)
    assert "previous model is unchanged" in dialog.status.text()
    assert window.model_path.read_bytes() == b"previous model"


@pytest.mark.slow
def test_weights_dialog_lists_variants_and_reports_bad_import(qtbot, window, tmp_path):
    dialog = WeightsDialog(window)
    qtbot.addWidget(dialog)
    variants = {dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())}
    assert {"clap-fused", "clap-music"} <= variants
    assert dialog.explanation.isVisible() or not dialog.isVisible()
    bogus = tmp_path / "not_a_checkpoint.pt"
    bogus.write_bytes(b"\x00" * 64)
    dialog.import_file(bogus)
    qtbot.waitUntil(lambda: dialog.runner is None, timeout=30_000)
    print(dialog.status.text())
    assert "not_a_checkpoint.pt" in dialog.status.text()
    assert dialog.import_button.isEnabled()
