"""UI-thread stalls while the real main window analyses a freshly added library.

    .venv/bin/python bench/bench_gui_stall.py [--files 5000] [--idle-s 3]

Writes ``--files`` tiny WAVs (0.25 s, varied tones and noise, 20 per folder), starts the real
:class:`MainWindow` (dark theme, null audio player, spectral encoder, offscreen unless ``--xcb``)
and its start-up warm-up, then adds the folder as a library: the real analysis job runs in its
worker thread (list -> catalog + embed -> train the personal model -> score -> map) while the
GUI thread shows the rows, progress and results.

A 5-ms ``QTimer`` on the GUI thread records when it fires; a gap between two ticks is how long
the event loop could not react (a click or a key would wait that long). Reported for an idle
window first (baseline, same run), then during the warm-up and the analysis, with the longest
gap, p99, how many gaps exceeded 50 / 100 ms and in which job stage the longest one happened.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

TICK_MS = 5


def make_library(root: Path, n: int, seconds: float = 0.25, sr: int = 22_050) -> None:
    import soundfile as sf

    rng = np.random.default_rng(0)
    t = np.arange(int(sr * seconds)) / sr
    for i in range(n):
        folder = root / f"pack{i // 20:04d}"
        folder.mkdir(parents=True, exist_ok=True)
        f0 = 55.0 * 2 ** (rng.integers(0, 36) / 12)
        env = np.exp(-(t % 0.125) * rng.uniform(8, 30))
        y = 0.4 * np.sin(2 * np.pi * f0 * t) * env + rng.normal(0, rng.uniform(0.002, 0.02), t.size)
        sf.write(folder / f"take_{i:05d}.wav", y.astype(np.float32), sr, subtype="PCM_16")


class TickRecorder:
    """Timestamps of a 5-ms timer on the GUI thread; ``stage`` is tagged onto each gap."""

    def __init__(self) -> None:
        from PySide6.QtCore import QObject, Qt, QTimer

        self.times: list[float] = []
        self.stages: list[str] = []
        self.stage = "idle"
        self._owner = QObject()
        self.timer = QTimer(self._owner)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.on_tick = None   # called at every tick (the stall sampler re-arms its watchdog)

    def _tick(self) -> None:
        self.times.append(time.perf_counter())
        self.stages.append(self.stage)
        if self.on_tick is not None:
            self.on_tick()

    def start(self) -> None:
        self.times.clear()
        self.stages.clear()
        self.timer.start()

    def stop(self) -> dict:
        self.timer.stop()
        t = np.asarray(self.times)
        gaps = np.diff(t) * 1000.0 if t.size > 1 else np.zeros(1)
        worst = int(np.argmax(gaps))
        return {
            "ticks": int(t.size), "duration_s": float(t[-1] - t[0]) if t.size > 1 else 0.0,
            "max_ms": float(gaps.max()), "p99_ms": float(np.percentile(gaps, 99)),
            "p50_ms": float(np.median(gaps)), "over50": int((gaps > 50).sum()),
            "over100": int((gaps > 100).sum()), "worst_stage": self.stages[worst + 1],
            "by_stage": _by_stage(gaps, self.stages[1:]),
            "top": [(float(gaps[i]), float(t[i] - t[0]), self.stages[i + 1])
                    for i in np.argsort(gaps)[::-1][:5]],
        }


class StallSampler:
    """When the GUI thread's timer is late by > ``late_ms``, sample every thread's stack.

    Shows what the GUI thread was busy with (or waiting for) and what held the GIL or the CPU
    during a stall: ``--why`` prints the most frequent innermost frames. A thread that holds the
    GIL in C code also keeps this sampler from running, so each tick also re-arms faulthandler's
    watchdog (a C thread, no GIL needed): when the GUI thread misses ``late_ms``, every thread's
    Python stack at that moment goes to ``dump_path``.
    """

    def __init__(self, recorder: TickRecorder, late_ms: float = 60.0) -> None:
        import collections
        import threading

        self.recorder = recorder
        self.late_s = late_ms / 1000.0
        self.counts: collections.Counter = collections.Counter()
        self._gui = threading.get_ident()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stall-sampler", daemon=True)
        self._thread.start()
        import faulthandler
        import tempfile

        self.dump_path = Path(tempfile.mkstemp(prefix="anomalizer-stalls-", suffix=".txt")[1])
        self._dump = self.dump_path.open("w")
        recorder.on_tick = lambda: faulthandler.dump_traceback_later(self.late_s, file=self._dump)

    def _run(self) -> None:
        import traceback

        while not self._stop.wait(0.01):
            times = self.recorder.times
            if not times or time.perf_counter() - times[-1] < self.late_s:
                continue
            for ident, frame in sys._current_frames().items():  # noqa: SLF001 - diagnostics
                if ident == self._thread.ident:
                    continue
                stack = traceback.extract_stack(frame)[-4:][::-1]
                where = " <- ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in stack)
                who = "GUI" if ident == self._gui else "worker"
                self.counts[(self.recorder.stage, f"{who}: {where}")] += 1

    def report(self, top: int = 20) -> None:
        import faulthandler

        self._stop.set()
        self.recorder.on_tick = None
        faulthandler.cancel_dump_traceback_later()
        self._dump.close()
        dumps = self.dump_path.read_text().count("Timeout (")
        print(f"{dumps} stall(s) over {self.late_s * 1e3:.0f} ms caught by the watchdog without "
              f"the GIL: every thread's stack in {self.dump_path}")
        print("while the GUI thread was late (samples every 10 ms, stage, thread: stack):")
        for (stage, where), n in self.counts.most_common(top):
            print(f"  {n:4d}  [{stage}] {where}")


def _by_stage(gaps: np.ndarray, stages: list[str]) -> dict[str, tuple[float, float, int]]:
    out: dict[str, tuple[float, float, int]] = {}
    labels = np.asarray(stages)
    for stage in dict.fromkeys(stages):
        g = gaps[labels == stage]
        out[stage] = (float(g.max()), float(np.percentile(g, 99)), int(g.size))
    return out


def machine_load() -> str:
    """Load average and CPU / IO pressure (avg10): other processes make gaps longer."""
    parts = []
    try:
        parts.append("loadavg " + " ".join(Path("/proc/loadavg").read_text().split()[:3]))
        for kind in ("cpu", "io"):
            some = Path(f"/proc/pressure/{kind}").read_text().splitlines()[0]
            parts.append(f"{kind} pressure {some.split()[1].split('=')[1]} %")
    except (OSError, IndexError):
        pass
    return ", ".join(parts) or "unknown"


def install_random_clap(work: Path) -> None:
    """Random HTS-AT+FFM weights imported like a user's checkpoint (the speed is the same), in
    a child process: this one starts like the app, without transformers imported."""
    import subprocess

    script = ("import sys; from pathlib import Path; from safetensors.torch import save_file; "
              "from anomalizer_desktop.core.embedding.weights import build_model, "
              "import_checkpoint; p = Path(sys.argv[1]) / 'random.safetensors'; "
              "save_file(build_model('clap-fused').state_dict(), str(p)); import_checkpoint(p)")
    subprocess.run([sys.executable, "-c", script, str(work)], check=True,
                   cwd=Path(__file__).resolve().parents[1])


def run_until(app, done, timeout_s: float) -> bool:
    """Run the Qt event loop (like ``app.exec()``) until ``done()`` or the timeout."""
    from PySide6.QtCore import QEventLoop, QTimer

    if done():
        return True
    loop = QEventLoop()
    deadline = time.perf_counter() + timeout_s
    check = QTimer()
    check.setInterval(20)
    check.timeout.connect(lambda: (done() or time.perf_counter() > deadline) and loop.quit())
    check.start()
    loop.exec()
    check.stop()
    return bool(done())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=5000)
    parser.add_argument("--idle-s", type=float, default=2.0)
    parser.add_argument("--timeout-s", type=float, default=600.0)
    parser.add_argument("--xcb", action="store_true", help="use the real X display in $DISPLAY")
    parser.add_argument("--why", action="store_true",
                        help="sample worker stacks during stalls and print where they were")
    parser.add_argument("--encoder", default="spectral", choices=("spectral", "clap-fused"),
                        help="clap-fused runs the real HTS-AT+FFM encoder with random weights")
    parser.add_argument("--threads", type=int,
                        help="encoder CPU threads (default: what the app chooses)")
    args = parser.parse_args()
    if not args.xcb:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    work = Path(tempfile.mkdtemp(prefix="anomalizer-bench-stall-"))
    os.environ["ANOMALIZER_HOME"] = str(work / "home")
    os.environ["ANOMALIZER_NO_AUDIO"] = "1"
    from anomalizer_desktop.core.config import THREADS_ENV
    from anomalizer_desktop.gui.window_threads import automatic_threads

    os.environ[THREADS_ENV] = str(args.threads or automatic_threads())
    if args.encoder == "clap-fused":
        install_random_clap(work)

    t0 = time.perf_counter()
    library = work / "library"
    make_library(library, args.files)
    os.sync()  # flush the new files first: write-back would slow the imports measured below
    print(f"wrote {args.files:,} WAVs (0.25 s each) in {time.perf_counter() - t0:.1f} s")

    load_before = machine_load()
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from anomalizer_desktop.core.audio.playback import NullPlayer
    from anomalizer_desktop.gui.main_window import MainWindow
    from anomalizer_desktop.gui.theme import apply_theme
    from anomalizer_desktop.gui.warmup import start_warm_up
    from anomalizer_desktop.gui.workers import active_jobs, wait_for_jobs

    app = QApplication.instance() or QApplication([])
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "qsettings"))
    apply_theme(app)
    window = MainWindow(NullPlayer("benchmark: no audio"))
    window.settings.setValue("encoder", args.encoder)
    window.resize(1280, 800)
    rec = TickRecorder()
    sampler = StallSampler(rec) if args.why else None

    # Start-up as app.main does it: show the window, then warm up the heavy imports in a worker.
    rec.stage = "warm-up"
    rec.start()
    window.show()
    warm = start_warm_up(window, str(window.settings.value("encoder", "auto")))
    run_until(app, lambda: warm.outcome is not None, 120)
    run_until(app, lambda: not active_jobs(), 10)
    warm_stats = rec.stop()

    rec.stage = "idle"
    rec.start()
    end = time.perf_counter() + args.idle_s
    run_until(app, lambda: time.perf_counter() > end, args.idle_s + 5)
    idle = rec.stop()

    embed_marks: list[tuple[float, int]] = []

    def on_progress(p) -> None:
        rec.stage = p.stage  # tags the ticks that follow (the gap before a tick counts there)
        if p.stage == "embed":
            embed_marks.append((time.perf_counter(), p.done))

    rec.stage = "add library"
    rec.start()
    t_start = time.perf_counter()
    window.add_library(str(library))
    window.job.progress.connect(on_progress)
    finished = run_until(app, lambda: window.job is None and window.result is not None,
                         args.timeout_s)
    t_total = time.perf_counter() - t_start
    scan = rec.stop()
    rows, flagged = window.model.rowCount(), window.model.flagged_count()
    mapped = window.scatter.point_count()
    window.close()
    wait_for_jobs(10)

    def line(name: str, s: dict) -> str:
        return (f"{name:22s} ticks {s['ticks']:6d} over {s['duration_s']:6.1f} s   "
                f"max gap {s['max_ms']:7.1f} ms   p99 {s['p99_ms']:6.1f} ms   p50 {s['p50_ms']:5.1f} ms   "
                f">50 ms: {s['over50']:3d}   >100 ms: {s['over100']:3d}")

    print(f"platform={QApplication.platformName()} files={args.files:,} timer={TICK_MS} ms "
          f"cores={os.cpu_count()} encoder={args.encoder} threads={os.environ[THREADS_ENV]}; machine at start: {load_before}; at end: {machine_load()}")
    print(line("idle window (baseline)", idle))
    print(line("start-up (show+warm-up)", warm_stats))
    print(line("library analysis", scan))
    print(f"analysis {'finished' if finished else 'TIMED OUT'} in {t_total:.1f} s: "
          f"{rows:,} rows, {flagged:,} flagged, {mapped:,} map points")
    if len(embed_marks) > 1 and embed_marks[-1][1] > embed_marks[0][1]:
        (t0, n0), (t1, n1) = embed_marks[0], embed_marks[-1]
        print(f"embedding with the window open: {(n1 - n0) / (t1 - t0):.2f} clips/s "
              f"({n1 - n0:,} clips in {t1 - t0:.1f} s)")
    print(f"longest stall during the analysis was in stage '{scan['worst_stage']}'; "
          f"ratio max gap analysis/idle {scan['max_ms'] / idle['max_ms']:.1f}x, "
          f"p99 analysis/idle {scan['p99_ms'] / idle['p99_ms']:.2f}x")
    for name, s in (("warm-up", warm_stats), ("analysis", scan)):
        print(f"5 longest gaps during the {name} (ms @ s since start, stage): " + ", ".join(
            f"{g:.0f} @ {at:.1f} ({stage})" for g, at, stage in s["top"]))
    print("per stage (max gap ms, p99 ms, ticks):")
    for stage, (mx, p99, n) in scan["by_stage"].items():
        print(f"  {stage:12s} {mx:7.1f} {p99:6.1f} {n:6d}")
    if sampler is not None:
        sampler.report()
    return 0 if finished else 1


if __name__ == "__main__":
    sys.exit(main())
