"""``python -m anomalizer_desktop`` starts the desktop app."""

from __future__ import annotations

import sys

from anomalizer_desktop.gui.app import main

if __name__ == "__main__":
    sys.exit(main())
