"""Qt-free engine: audio I/O, encoders, detectors, catalog, watcher and the jobs that use them.

Nothing here imports PySide6, pyqtgraph or ``anomalizer_desktop.gui``; heavy libraries (torch,
sklearn, librosa, sounddevice, watchdog) are imported inside the functions that need them.
"""
