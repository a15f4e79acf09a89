"""A burst of DAW exports into a watched folder: how soon is each one scored?

    nice .venv/bin/python bench/bench_watch_burst.py [--files 50] [--seconds 4] [--network pca]
                                                     [--gui]

Trains a model on a small library (offline encoder), starts ``anomalizer watch`` on an empty
export folder as a user would (with ``--gui``: the app's window, offscreen, with the folder in
its New takes panel), then exports ``--files`` loops into it at once (each written to a
temporary name and renamed, as DAWs do) and times every line the watcher prints (every take
the panel lists). Prints the
first file's latency, the seconds per file after the first, and, as the baseline measured in
the same run, the seconds per file of scoring the same files one after another in-process
(``jobs.score_file``, no watching, no waiting).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def loop(seconds: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 48_000)) / 48_000
    freq = rng.uniform(40, 200)
    wave = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 5)) * np.exp(-(t % 0.5) * 6)
    return (0.3 * wave + 0.005 * rng.standard_normal(t.size)).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--network", default="pca")
    parser.add_argument("--gui", action="store_true",
                        help="watch with the app's New takes panel instead of the CLI")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="anomalizer-burst-") as tmp:
        run(args, Path(tmp))


def run(args: argparse.Namespace, tmp: Path) -> None:
    import soundfile as sf

    env = {**os.environ, "ANOMALIZER_HOME": str(tmp / "home")}
    cli = [sys.executable, "-m", "anomalizer_desktop.cli.main", "--catalog", str(tmp / "c.db")]
    library, exports, renders = tmp / "library", tmp / "exports", tmp / "renders"
    for folder in (library, exports, renders):
        folder.mkdir()
    for i in range(60):
        sf.write(library / f"loop {i:02d}.wav", loop(args.seconds, i), 48_000)
    model = tmp / "m.anomalizer"
    subprocess.run([*cli, "-q", "train", str(library), "--model", str(model), "--encoder",
                    "spectral", "--network", args.network], check=True, env=env, cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    takes = []
    for i in range(args.files):
        path = renders / f"take {i:03d}.wav"
        sf.write(path, loop(args.seconds, 1000 + i), 48_000)
        takes.append(path)

    os.environ["ANOMALIZER_HOME"] = env["ANOMALIZER_HOME"]
    from anomalizer_desktop.core.catalog import Catalog
    from anomalizer_desktop.core.detect.persistence import load_model
    from anomalizer_desktop.core.embedding import encoder_for_id
    from anomalizer_desktop.core.jobs import model_judge, score_file

    detector, info = load_model(model)
    encoder = encoder_for_id(info.encoder_id)
    with Catalog(tmp / "c.db") as catalog:
        judge = model_judge(detector, info, catalog, None)
    score_file(takes[0], encoder, detector, judge)  # warm-up
    start = time.perf_counter()
    for path in takes:
        score_file(path, encoder, detector, judge)
    baseline = (time.perf_counter() - start) / len(takes)

    watch = watch_gui if args.gui else watch_cli
    arrivals, burst_start, burst_end = watch(cli, env, exports, model, takes, tmp)
    names = [name for _, name in arrivals]
    print(f"{len(takes)} exports of {args.seconds:g} s written in {burst_end - burst_start:.2f} s; "
          f"{len(arrivals)} {'takes listed by the app' if args.gui else 'lines from the watcher'}"
          f" ({len(set(names))} distinct takes)")
    if not arrivals:
        return
    first = arrivals[0][0] - burst_start
    last = arrivals[-1][0] - burst_start
    per_file = (arrivals[-1][0] - arrivals[0][0]) / max(1, len(arrivals) - 1)
    print(f"  first take scored after {first:.2f} s, the last after {last:.2f} s")
    print(f"  after the first: {per_file:.3f} s per file (goal <= 1 s)")
    print(f"  baseline, in-process score_file one after another: {baseline:.3f} s per file; "
          f"watcher / baseline = {per_file / baseline:.2f}x")




def export_burst(exports: Path, takes: list[Path]) -> tuple[float, float]:
    """The DAW's burst: each take written under a temporary name, then renamed."""
    start = time.perf_counter()
    for path in takes:
        part = exports / (path.name + ".part")
        part.write_bytes(path.read_bytes())
        os.replace(part, exports / path.name)
    return start, time.perf_counter()


def watch_cli(cli, env, exports: Path, model: Path, takes: list[Path], tmp: Path):
    """``anomalizer watch`` in a subprocess: (arrival time, take name) per line it prints."""
    proc = subprocess.Popen([*cli, "watch", str(exports), "--model", str(model)], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    arrivals: list[tuple[float, str]] = []
    ready = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            if line.startswith("watching"):
                ready.set()
            elif line.split(" ", 1)[0] in ("FLAG", "ok", "error"):
                line = line.strip()
                name = line.split()[-1] if "[" not in line else line.split("  [")[0].split()[-1]
                arrivals.append((time.perf_counter(), name))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(60):
            raise SystemExit("the watcher did not start")
        time.sleep(0.5)
        burst_start, burst_end = export_burst(exports, takes)
        deadline = time.perf_counter() + 60 + 5 * len(takes)
        while len(arrivals) < len(takes) and time.perf_counter() < deadline:
            time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(10)
    return arrivals, burst_start, burst_end


def watch_gui(cli, env, exports: Path, model: Path, takes: list[Path], tmp: Path):
    """The app's main window (offscreen) watching ``exports`` in its New takes panel:
    (arrival time, take name) per take the panel lists."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QCoreApplication, QSettings
    from PySide6.QtWidgets import QApplication

    from anomalizer_desktop.core.audio.playback import NullPlayer
    from anomalizer_desktop.core.catalog import Catalog
    from anomalizer_desktop.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    QCoreApplication.setOrganizationName("anomalizer-bench")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp / "qs"))
    catalog = Catalog(tmp / "c.db")
    window = MainWindow(NullPlayer("bench: no audio"), catalog=catalog, model_path=model)
    window.show()
    arrivals: list[tuple[float, str]] = []
    seen = 0

    def collect() -> None:
        nonlocal seen
        panel = window.takes_panel
        while seen < panel.takes.count():
            arrivals.append((time.perf_counter(), Path(panel.take_at(0).path).name))
            seen += 1

    window.takes_panel.takes.model().rowsInserted.connect(lambda *a: collect())
    try:
        window.takes_panel.add_folder(str(exports), announce=False)
        end = time.perf_counter() + 3
        while time.perf_counter() < end:  # the watcher starts and warms up
            app.processEvents()
            time.sleep(0.01)
        burst_start, burst_end = export_burst(exports, takes)
        deadline = time.perf_counter() + 60 + 5 * len(takes)
        while len(arrivals) < len(takes) and time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.005)
    finally:
        window.shutdown()
        catalog.close()
    return arrivals, burst_start, burst_end


if __name__ == "__main__":
    main()
