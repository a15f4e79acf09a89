"""Real-material evaluation corpus for Anomalizer's anomaly flags.

Loops of bass, guitar and drums rendered from the installed Debian sound sources, split by
source into a development part ("dev": FluidR3 GM, Sonic Pi samples, Hydrogen kits A) and a
locked part ("locked": TimGM6mb, MuseScore General Lite, freepats/TiMidity, LMMS samples,
Hydrogen kits B). Per part and instrument: a training ``library``, ``new_clean`` loops,
``defect`` copies of new_clean loops with one planted defect each (location and strength in
the manifest), ``off_style`` loops (the odd one in a pack), and a whole-folder sort test
(``folder`` flag on the records, ``folders`` in the manifest; ``folder_clean`` holds the few
extra clean loops the folder needs beyond library + new_clean).

    from flag_corpus import build_corpus, load_manifest
    records = build_corpus(Path("bench/out/flag-corpus"), scale=1.0, seed=0)

Nothing here is imported by the app; output goes under bench/out/ (ignored by git).
"""

from __future__ import annotations

import json
from pathlib import Path

from .build import MANIFEST, build, count_table, load_manifest_doc
from .plan import DEFECT_KINDS, VERSION

__all__ = ["build_corpus", "load_manifest", "load_manifest_doc", "count_table", "DEFECT_KINDS",
           "VERSION", "DEFAULT_ROOT"]

DEFAULT_ROOT = Path(__file__).resolve().parents[1] / "out" / "flag-corpus"


def build_corpus(root: Path = DEFAULT_ROOT, scale: float = 1.0, seed: int = 0,
                 parts=("dev", "locked"), instruments=("bass", "guitar", "drums"),
                 jobs: int = 2) -> list[dict]:
    """Render the corpus under ``root`` and return the manifest records.

    Idempotent: when ``root/manifest.json`` was written with the same scale, seed, parts,
    instruments and corpus version (and its files are present) it is returned as is.
    Deterministic for a seed, whatever ``jobs`` is."""
    return build(Path(root), scale=scale, seed=seed, parts=tuple(parts),
                 instruments=tuple(instruments), jobs=jobs)


def load_manifest(root: Path = DEFAULT_ROOT) -> list[dict]:
    """The records of ``root/manifest.json`` (paths relative to ``root``)."""
    doc = json.loads((Path(root) / MANIFEST).read_text())
    return doc["records"]
