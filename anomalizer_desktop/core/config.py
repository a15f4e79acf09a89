"""Where the app keeps its own files, and the settings it persists.

Nothing is ever written next to the user's audio unless they ask for a library-local folder.
``ANOMALIZER_HOME`` overrides the platform data dir (tests and portable installs use it).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

APP_NAME = "anomalizer-desktop"
SETTINGS_SCHEMA_VERSION = 1
THREADS_ENV = "ANOMALIZER_THREADS"  # encoder CPU threads: set by ``--threads`` and by the app


def data_dir() -> Path:
    """Root of the app's data: catalog, slim weights, models. Created on first use."""
    override = os.environ.get("ANOMALIZER_HOME")
    if override:
        root = Path(override).expanduser()
    else:
        import platformdirs

        root = Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    root.mkdir(parents=True, exist_ok=True)
    return root


def default_catalog_path() -> Path:
    return data_dir() / "catalog.sqlite3"


def weights_dir() -> Path:
    path = data_dir() / "weights"
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Settings:
    """User settings shared by the CLI and the GUI (the GUI keeps window state in QSettings)."""

    schema_version: int = SETTINGS_SCHEMA_VERSION
    libraries: list[str] = field(default_factory=list)
    watch_folders: list[str] = field(default_factory=list)
    encoder: str = "auto"  # auto | clap-fused | clap-music | spectral
    network: str = "AEwRES"
    sensitivity_percentile: float = 97.5  # = detect.base.DEFAULT_THRESHOLD_PERCENTILE
    disabled_checks: list[str] = field(default_factory=list)
    allow_download: bool = False

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        path = path or data_dir() / "settings.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            log.warning("settings file %s unreadable (%s); using defaults", path, exc)
            return cls()
        raw = _migrate(raw)
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def save(self, path: Path | None = None) -> None:
        path = path or data_dir() / "settings.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2), encoding="utf-8")
        os.replace(tmp, path)


def _migrate(raw: dict) -> dict:
    """Bring settings written by older versions up to the current schema."""
    version = int(raw.get("schema_version", 1))
    # Version 1 is the first schema; later versions add steps here, in order.
    raw["schema_version"] = max(version, SETTINGS_SCHEMA_VERSION)
    return raw
