"""Entry point of the desktop app: ``anomalizer-desktop [LIBRARY_DIR] [--demo]``."""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import os
import sys
from collections.abc import Sequence
from pathlib import Path

log = logging.getLogger(__name__)

ORG_NAME = "anomalizer"
APP_NAME = "anomalizer-desktop"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="anomalizer-desktop",
                                     description="Find the odd loops in your sample library.")
    parser.add_argument("library", nargs="?", help="a library folder to add and analyse")
    parser.add_argument("--demo", action="store_true",
                        help="write a small synthetic loop pack with planted oddities and open it")
    parser.add_argument("--no-audio", action="store_true", help="never open an audio device")
    parser.add_argument("--screenshot", metavar="PNG",
                        help="save a screenshot once the library is analysed, then quit")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return parser.parse_args(argv)


def configure_logging(verbose: bool) -> Path:
    """Log to a rotating file in the data dir (named in error dialogs) and to stderr."""
    from ..core.config import data_dir

    log_file = data_dir() / "anomalizer.log"
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    try:
        handlers.append(logging.handlers.RotatingFileHandler(log_file, maxBytes=2_000_000,
                                                             backupCount=2, encoding="utf-8"))
    except OSError as exc:
        print(f"warning: cannot write the log file {log_file}: {exc}", file=sys.stderr)
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, handlers=handlers,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return log_file


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.no_audio:
        os.environ["ANOMALIZER_NO_AUDIO"] = "1"
    configure_logging(args.verbose)

    from PySide6.QtCore import QSettings
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from ..core.audio.playback import open_player
    from .main_window import MainWindow
    from .resources import APP_ID, icon_path
    from .theme import apply_theme, palette_for
    from .window_theme import saved_choice

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setOrganizationName(ORG_NAME)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName("Anomalizer")
    app.setDesktopFileName(APP_ID)  # matches packaging/io.anomalizer.Desktop.desktop
    icon = icon_path()
    if icon is not None:
        app.setWindowIcon(QIcon(str(icon)))
    apply_theme(app, palette_for(saved_choice(QSettings())))  # before any plot is made

    window = MainWindow(open_player())
    window.show()
    from .warmup import start_warm_up

    start_warm_up(window, str(window.settings.value("encoder", "auto")))
    if args.library:
        folder = Path(args.library).expanduser()
        if not folder.is_dir():
            print(f"error: not a folder: {folder}", file=sys.stderr)
            return 2
        window.add_library(str(folder))
    elif args.demo:
        window.actions_by_name["demo"].trigger()
    elif window.libraries():
        window.rescan()
    if args.screenshot:
        arm_screenshot(window, Path(args.screenshot))
    code = app.exec()
    return int(code)


CURVE_WAIT_MS = 30_000


def arm_screenshot(window, path: Path, timeout_ms: int = 600_000) -> None:
    """Save ``window`` to ``path`` once no job is running and rows are shown, then quit.

    The top loop with signal-check findings is selected (else the top loop), and the shot waits
    (up to ``CURVE_WAIT_MS``) for its localisation strip, as a person would see it in use.
    """
    from PySide6.QtCore import QTimer

    from .models.loop_table import RowRole

    timer = QTimer(window)
    state = {"ms": 0, "selected_at": None}

    def check() -> None:
        state["ms"] += 250
        if state["selected_at"] is None:
            ready = window.job is None and window.model.rowCount() > 0 and window.result is not None
            if not (ready or state["ms"] >= timeout_ms):
                return
            rows = [window.proxy.index(r, 0) for r in range(window.proxy.rowCount())]
            explained = [i for i in rows if i.data(RowRole).shown]
            if rows:  # show a selected loop with its waveform, as in use
                window.table.setCurrentIndex((explained or rows)[0])
            state["selected_at"] = state["ms"]
            return
        curve = window.local_curve.curve_data is not None
        if curve or state["ms"] - state["selected_at"] >= CURVE_WAIT_MS:
            timer.stop()
            QTimer.singleShot(500, lambda: _save_and_quit(window, path))

    timer.timeout.connect(check)
    timer.start(250)


def _save_and_quit(window, path: Path) -> None:
    from PySide6.QtWidgets import QApplication

    path.parent.mkdir(parents=True, exist_ok=True)
    saved = window.grab().save(str(path))
    print(f"screenshot: {path} saved={saved} rows={window.model.rowCount()} "
          f"flagged={window.model.flagged_count()} platform={QApplication.platformName()} "
          f"findings={len(window.findings_bar.buttons)} "
          f"curve={window.local_curve.curve_data is not None}", flush=True)
    window.close()
    QApplication.quit()
