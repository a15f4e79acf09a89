"""Progress on stderr: a redrawn bar with ETA on a terminal, sparse lines in logs and pipes."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from ..core.progress import Progress


def format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class ProgressBar:
    """Renders ``Progress`` reports. Call ``update`` for each report and ``close`` at the end."""

    def __init__(self, stream: TextIO | None = None, enabled: bool = True, width: int = 28) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._stage: str | None = None
        self._last_draw = 0.0
        self._last_fraction = -1.0
        self._line_open = False

    def update(self, progress: Progress) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        new_stage = progress.stage != self._stage
        if new_stage and self._line_open:
            self._end_line()
        self._stage = progress.stage
        fraction = progress.fraction
        finished = fraction is not None and fraction >= 1.0
        if self.tty:
            if new_stage or finished or now - self._last_draw >= 0.1:
                self.stream.write("\r\x1b[2K" + self._render(progress))
                self.stream.flush()
                self._line_open = True
                self._last_draw = now
        elif new_stage or finished or (fraction is not None and fraction - self._last_fraction >= 0.1):
            self.stream.write(self._render(progress) + "\n")
            self.stream.flush()
            self._last_fraction = fraction if fraction is not None else self._last_fraction
        if new_stage:
            self._last_fraction = fraction if fraction is not None else -1.0

    def close(self) -> None:
        if self._line_open:
            self._end_line()

    def _end_line(self) -> None:
        self.stream.write("\n")
        self.stream.flush()
        self._line_open = False

    def _render(self, p: Progress) -> str:
        fraction = p.fraction
        if fraction is None:
            head = f"{p.stage:>6} {p.done}"
        else:
            filled = int(round(fraction * self.width))
            bar = "#" * filled + "-" * (self.width - filled)
            head = f"{p.stage:>6} [{bar}] {p.done}/{p.total} ETA {format_seconds(p.eta_s)}"
        message = p.message if len(p.message) <= 48 else "..." + p.message[-45:]
        return f"{head}  {message}".rstrip()
