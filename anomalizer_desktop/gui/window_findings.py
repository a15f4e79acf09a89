"""Explainable flags in the main window: findings on the waveform, the localisation strip,
the finding-kind filter and the signal-check settings.

The table rows carry every stored finding and the learned score; the window's policy (the user's
settings: flag budget, checks, strength) with the library's evidence saved with the model judges
them. Changing a setting re-judges the rows at once; nothing is rescanned.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QComboBox

from ..core.qc import TITLES, Finding
from ..core.evidence import FlagPolicy
from .check_settings import ChecksDialog, load_policy, save_policy
from .models.loop_filter import ANY_KIND
from .views.findings_bar import finding_regions

if TYPE_CHECKING:
    from .main_window import MainWindow

PREROLL_S = 0.25  # a finding plays from a little before it, so it is heard in context
MAX_TAKE_FINDINGS = 1000


def install(w: MainWindow) -> None:
    """Policy state, signal wiring and the initial policy of the table (after ``build``)."""
    w.library = None
    w.user_policy = load_policy(w.settings)
    w.histogram.set_one_in(1.0 / w.user_policy.budget, emit=False)
    w.take_findings = {}  # path -> findings of watched takes that are not in the table
    w.checks_dialog = None
    w.model.set_policy(current_policy(w))
    w.findings_bar.findingActivated.connect(lambda f: play_finding(w, f))
    w.kind_filter.currentIndexChanged.connect(lambda _i: _on_kind_chosen(w))
    w.localiser.started.connect(lambda path: _on_localising(w, path))
    w.localiser.ready.connect(lambda path, curve: _on_curve(w, path, curve))
    w.localiser.unavailable.connect(lambda path, why: _on_no_curve(w, path, why))
    refresh_kind_filter(w)


def current_policy(w: MainWindow) -> FlagPolicy:
    """The user's settings with the library's evidence."""
    return replace(w.user_policy, calibration=w.library)


def set_user_policy(w: MainWindow, policy: FlagPolicy) -> None:
    """Apply new check settings (from the dialog): save them, re-flag the table, redraw. The
    dialog does not own the budget: the one of the Scores tab is kept."""
    w.user_policy = replace(policy, calibration=None, budget=w.user_policy.budget)
    save_policy(w.settings, w.user_policy)
    _apply(w)


def set_budget(w: MainWindow, budget: float) -> None:
    """The sensitivity ("flag about 1 in N normal loops") changed: re-flag from the evidence."""
    if budget != w.user_policy.budget:
        w.user_policy = replace(w.user_policy, budget=budget)
        save_policy(w.settings, w.user_policy)
        _apply(w)


def set_library(w: MainWindow, library, rejudge: bool = True) -> None:
    """The library's evidence (from the model) changed or became known. ``rejudge=False``:
    the table's rows are about to be replaced (they are not judged again first)."""
    if library is not w.library:
        w.library = library
        w.model.set_policy(current_policy(w), rejudge=rejudge)
        if w.checks_dialog is not None:
            w.checks_dialog.set_policy(current_policy(w))


def _apply(w: MainWindow) -> None:
    w.model.set_policy(current_policy(w))
    w.proxy.refilter()
    rows_changed(w)
    w._update_histogram()  # noqa: SLF001
    w._update_map()  # noqa: SLF001
    w._update_counts()  # noqa: SLF001


def rows_changed(w: MainWindow) -> None:
    """After new rows or flags: the kind filter's counts, the open dialog, the shown findings."""
    refresh_kind_filter(w)
    if w.checks_dialog is not None:
        w.checks_dialog.refresh_counts()
    if w.audition.current_path:
        show_findings(w, w.audition.current_path)


# --- the selected loop ------------------------------------------------------------------------
def findings_for(w: MainWindow, path: str) -> tuple[list[Finding], bool]:
    """(shown findings of ``path``, whether it is known at all) for the current policy."""
    row = w.model.row_for_path(path)
    if row is not None:
        return list(row.shown), True
    if path in w.take_findings:
        return current_policy(w).reasons(w.take_findings[path]), True
    return [], False


def show_findings(w: MainWindow, path: str) -> None:
    shown, known = findings_for(w, path)
    w.waveform.set_regions(finding_regions(shown, w.waveform.duration_s))
    if not w.user_policy.use_checks:
        status = "Signal checks are off (Model ▸ Signal checks…)"
    elif not known:
        status = "Not checked yet"
    else:
        status = "No signal-check findings"
    w.findings_bar.set_findings(shown, status)


def audio_loaded(w: MainWindow, path: str, samples, rate: int) -> None:
    show_findings(w, path)
    w.localiser.request(path, samples, rate)


def audio_cleared(w: MainWindow, message: str = "") -> None:
    w.findings_bar.set_findings([], message or " ")
    w.local_curve.set_message("")
    w.localiser.clear()


def play_finding(w: MainWindow, finding: Finding) -> None:
    """Seek to a little before ``finding`` and play; bring it into view when zoomed in."""
    start = max(0.0, finding.start_s - PREROLL_S)
    w.waveform.ensure_visible(finding.start_s, finding.end_s)
    w.waveform.playhead.setValue(finding.start_s)
    w.audition.play(start)


def step_finding(w: MainWindow, step: int) -> None:
    """Play the selected loop's next (``step`` 1) or previous (-1) finding (keys N, Shift+N)."""
    if not w.audition.current_path:
        return
    here = w.waveform.playhead.value()  # the last finding played, or where the playhead is
    target = w.findings_bar.next_target(float(here), step)
    if target is not None:
        play_finding(w, target)


def _on_localising(w: MainWindow, path: str) -> None:
    if path == w.audition.current_path:
        w.local_curve.set_message("Localising…", path)


def _on_curve(w: MainWindow, path: str, curve) -> None:
    if path == w.audition.current_path:
        w.local_curve.set_curve(path, curve.times_s, curve.relative, curve.peak_s)


def _on_no_curve(w: MainWindow, path: str, why: str) -> None:
    if path == w.audition.current_path:
        w.local_curve.set_message(why, path)


# --- the finding-kind filter -----------------------------------------------------------------
def refresh_kind_filter(w: MainWindow) -> None:
    """Kinds present in the table with their counts; keeps the chosen kind selected."""
    combo: QComboBox = w.kind_filter
    chosen = combo.currentData()
    counts = w.model.kind_counts()
    combo.blockSignals(True)
    try:
        combo.clear()
        combo.addItem("All files", None)
        combo.addItem(f"Any finding ({sum(1 for r in w.model.rows if r.shown):,})", ANY_KIND)
        for kind, n in counts.items():
            combo.addItem(f"{TITLES.get(kind, kind)} ({n:,})", kind)
        if chosen is not None and combo.findData(chosen) < 0:
            combo.addItem(f"{TITLES.get(chosen, chosen)} (0)", chosen)
        combo.setCurrentIndex(max(0, combo.findData(chosen)))
    finally:
        combo.blockSignals(False)


def _on_kind_chosen(w: MainWindow) -> None:
    w.proxy.set_kind(w.kind_filter.currentData())
    w._update_counts()  # noqa: SLF001


# --- settings dialog ---------------------------------------------------------------------------
def open_checks_dialog(w: MainWindow) -> ChecksDialog:
    """The signal-check settings (one non-modal dialog; changes apply as they are made)."""
    if w.checks_dialog is None:
        dialog = ChecksDialog(current_policy(w), w.model.kind_counts, w)
        dialog.policyChanged.connect(lambda p: set_user_policy(w, p))
        dialog.finished.connect(lambda _r: _forget_dialog(w))
        w.checks_dialog = dialog
    w.checks_dialog.show()
    w.checks_dialog.raise_()
    w.checks_dialog.activateWindow()
    return w.checks_dialog


def _forget_dialog(w: MainWindow) -> None:
    if w.checks_dialog is not None:
        w.checks_dialog.deleteLater()
        w.checks_dialog = None


def take_scored(w: MainWindow, path: str, findings) -> None:
    """Remember a watched take's findings (shown when it is auditioned from "New takes")."""
    w.take_findings[str(Path(path))] = tuple(findings)
    while len(w.take_findings) > MAX_TAKE_FINDINGS:
        w.take_findings.pop(next(iter(w.take_findings)))
