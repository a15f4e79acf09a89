"""Model ▸ Encoder threads: how many CPU threads the audio encoder (and training) use in the app.

"Automatic" is :func:`automatic_threads`, chosen by ``bench/bench_gui_stall.py --encoder
clap-fused --threads N`` (clips/s and the longest UI stall with the window open). A number
chosen here is stored in QSettings ("encoder_threads", 0 = automatic) and applied at once:
``$ANOMALIZER_THREADS`` for encoders built later and torch's thread count for the running one
(it takes effect from its next batch). ``ANOMALIZER_THREADS`` set before the app starts is
the automatic value for that session.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup

from ..core.config import THREADS_ENV

if TYPE_CHECKING:
    from .main_window import MainWindow

SETTING = "encoder_threads"
MAX_CHOICES = 32  # menu entries past this many cores: powers of two


def automatic_threads(cores: int | None = None) -> int:
    """The app's default: every core on a machine of up to 4 cores, else all but one.

    On 2 cores (bench_gui_stall, clap-fused, window open) 2 threads embed 8.35 clips/s against
    4.68 for 1 (1.78x) with the longest stall while embedding 10 ms either way; the GUI thread
    needs a fraction of a core, so a core kept idle for it only pays on bigger machines.
    """
    cores = max(1, cores or os.cpu_count() or 1)
    return cores if cores <= 4 else cores - 1


def session_default() -> int:
    """``$ANOMALIZER_THREADS`` as the app found it at start-up, else :func:`automatic_threads`."""
    value = _STARTUP_ENV.get("value")
    if value:
        try:
            return max(1, int(value))
        except ValueError:
            pass
    return automatic_threads()


def remember_startup_env() -> None:
    """The variable as it was before the first window set it (later calls keep that)."""
    _STARTUP_ENV.setdefault("value", os.environ.get(THREADS_ENV, "").strip())


_STARTUP_ENV: dict[str, str] = {}


def saved_choice(settings) -> int:
    try:
        value = int(settings.value(SETTING, 0))
    except (TypeError, ValueError):
        return 0
    return value if value >= 0 else 0


def effective(choice: int) -> int:
    return choice if choice > 0 else session_default()


def apply_threads(count: int) -> None:
    """Encoders built from now on use ``count`` threads; so does torch, if it is loaded."""
    os.environ[THREADS_ENV] = str(count)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(count)


def menu_counts(cores: int) -> list[int]:
    if cores <= MAX_CHOICES:
        return list(range(1, cores + 1))
    counts, n = [], 1
    while n < cores:
        counts.append(n)
        n *= 2
    return counts + [cores]


class ThreadChooser(QObject):
    """Owns the Model ▸ Encoder threads actions."""

    def __init__(self, w: MainWindow) -> None:
        super().__init__(w)
        self.w = w
        remember_startup_env()
        self.choice = saved_choice(w.settings)
        cores = os.cpu_count() or 1
        self.submenu = w.menus["model"].addMenu("Encoder &threads")
        self.submenu.setToolTipsVisible(True)
        group = QActionGroup(self)
        group.setExclusive(True)
        self.actions: dict[int, QAction] = {}
        counts = [0, *menu_counts(cores)]
        for n in counts:
            text = (f"&Automatic ({session_default()} of {cores} cores)" if n == 0
                    else f"{n} thread{'s' if n > 1 else ''}")
            action = QAction(text, w)
            action.setCheckable(True)
            action.triggered.connect(lambda _=False, n=n: self.choose(n))
            group.addAction(action)
            self.submenu.addAction(action)
            self.actions[n] = action
        self.actions[0].setToolTip("Every core on machines of up to 4 cores, else all but one "
                                   "(measured: the window stays responsive either way)")
        if self.choice not in self.actions:
            self.choice = 0
        self.actions[self.choice].setChecked(True)
        apply_threads(effective(self.choice))

    def choose(self, choice: int) -> None:
        """Use ``choice`` threads (0: automatic) from now on, and remember it."""
        self.choice = choice if choice in self.actions else 0
        self.actions[self.choice].setChecked(True)
        self.w.settings.setValue(SETTING, self.choice)
        count = effective(self.choice)
        apply_threads(count)
        self.w.statusBar().showMessage(
            f"The encoder uses {count} CPU thread{'s' if count > 1 else ''} "
            "(a running scan from its next batch)", 6000)


def install(w: MainWindow) -> ThreadChooser:
    w.threads = ThreadChooser(w)
    return w.threads
