"""What decoding found wrong with a file, as findings in its row.

A truncated or damaged file and NaN/inf samples are facts about the file, not judgements about
the music, so they carry full severity and (:mod:`..evidence.floor`) flag in any library.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..audio.io import FileProblem
from .findings import FILE_KINDS, Finding


def file_findings(problems: Iterable[FileProblem]) -> list[Finding]:
    """One finding per problem decoding reported (``DecodedAudio.problems``)."""
    out = []
    for p in problems:
        if p.kind not in FILE_KINDS:
            raise ValueError(f"unknown file problem {p.kind!r}")
        out.append(Finding(p.kind, 1.0, p.start_s, p.end_s, None, "", p.message))
    return out
