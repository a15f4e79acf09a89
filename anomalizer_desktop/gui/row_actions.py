"""Things a user does with one file: reveal it in the file manager, copy its path, drag it out."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QMimeData, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication

log = logging.getLogger(__name__)


def reveal_command(path: Path) -> list[str] | None:
    """The command that shows ``path`` selected in the platform's file manager, if there is one."""
    if sys.platform == "darwin":
        return ["open", "-R", str(path)]
    if sys.platform.startswith("win"):
        return ["explorer", f"/select,{path}"]
    return None  # Linux: no portable "select", open the folder instead


def reveal_in_file_manager(path: str | Path) -> bool:
    """Show the file in the file manager (its folder on Linux). True when something was opened."""
    path = Path(path)
    command = reveal_command(path)
    if command is not None:
        try:
            subprocess.Popen(command)  # noqa: S603 - fixed program, path as one argument
            return True
        except OSError as exc:
            log.warning("cannot reveal %s: %s", path, exc)
            return False
    folder = path.parent if path.exists() or path.parent.exists() else path
    return bool(QDesktopServices.openUrl(QUrl.fromLocalFile(os.fspath(folder))))


def copy_paths(paths: list[str]) -> None:
    """Put the paths on the clipboard, one per line, and as file URLs for file managers/DAWs."""
    mime = file_mime_data(paths)
    mime.setText("\n".join(paths))
    QGuiApplication.clipboard().setMimeData(mime)


def file_mime_data(paths: list[str]) -> QMimeData:
    """``text/uri-list`` data for ``paths`` (what DAWs and file managers accept on drop)."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(p) for p in paths])
    return mime
