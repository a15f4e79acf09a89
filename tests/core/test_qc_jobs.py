"""Signal checks inside scan/train/score and the CLI: findings are stored during the scan,
explain flags, can be switched off, and adapt to the library they were trained on."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from anomalizer_desktop.cli.main import main
from anomalizer_desktop.core import jobs
from anomalizer_desktop.core.catalog import Catalog
from anomalizer_desktop.core.progress import run_job as drive
from anomalizer_desktop.core.embedding.spectral import SpectralEncoder
from anomalizer_desktop.core.evidence import FlagPolicy
from anomalizer_desktop.core.qc_stage import stored_findings, stored_findings_of

from .helpers import tone_loop


def with_click(src: Path, dst: Path, at_s: float) -> Path:
    audio, sr = sf.read(src, dtype="float32")
    i = int(at_s * sr)
    audio[i] += 0.6
    audio[i + 1] -= 0.5
    sf.write(dst, audio, sr, subtype="PCM_16")
    return dst


def clipped(src: Path, dst: Path) -> Path:
    audio, sr = sf.read(src, dtype="float32")
    sf.write(dst, np.clip(audio * 4.0, -1.0, 1.0), sr, subtype="PCM_16")
    return dst


@pytest.fixture
def library(tmp_path) -> Path:
    root = tmp_path / "lib"
    for i in range(16):
        tone_loop(root / f"loop {i:02d}.wav", freq=55 * (1 + i % 3), seed=i)
    return root


def test_scan_stores_findings_before_embedding(library, tmp_path):
    take = with_click(library / "loop 00.wav", tmp_path / "take.wav", at_s=1.234)
    with Catalog(tmp_path / "c.sqlite3") as catalog:
        result = drive(jobs.scan([library, take], catalog, encoder=None))
        assert result.embedded == 0  # no encoder: checks still ran
        clean = stored_findings(catalog, catalog.get_file(library / "loop 03.wav").hash)
        found = stored_findings(catalog, catalog.get_file(take).hash)
        hashes = [catalog.get_file(library / "loop 03.wav").hash, catalog.get_file(take).hash]
        many = stored_findings_of(catalog, [*hashes, "not-checked", None, hashes[1]])
    assert clean is not None and not [f for f in clean if f.severity >= 0.5]
    clicks = [f for f in found if f.kind == "click" and f.severity >= 0.5]
    assert clicks and abs(clicks[0].time_s - 1.234) < 0.005
    # the bulk read gives the same findings, only for checked contents ([] = checked, clean)
    assert set(many) == set(hashes)
    assert many[hashes[0]] == clean and many[hashes[1]] == found


def test_score_flags_a_click_and_says_why(library, tmp_path):
    takes = tmp_path / "takes"
    takes.mkdir()
    with_click(library / "loop 04.wav", takes / "take click.wav", at_s=0.8)
    model = tmp_path / "m.anomalizer"
    with Catalog(tmp_path / "c.sqlite3") as catalog:
        drive(jobs.train([library], catalog, SpectralEncoder(), model, network="pca"))
        rows = {r.path.name: r for r in drive(jobs.score([takes], catalog, model)).rows}
        assert rows["take click.wav"].flagged
        assert any(f.kind == "click" for f in rows["take click.wav"].reasons)
        assert any("click at 0.8" in w and "of your 16 loops" in w
                   for w in rows["take click.wav"].words)
        off = FlagPolicy(disabled=frozenset({"click"}))
        quiet = drive(jobs.score([takes], catalog, model, policy=off)).rows[0]
    assert not [f for f in quiet.reasons if f.kind == "click"]
    assert quiet.flagged == (quiet.score > quiet.threshold)  # the evidence alone decides


def test_a_check_that_fires_on_most_of_the_library_is_normal_there(tmp_path):
    hot = tmp_path / "hot"
    hot.mkdir()
    for i in range(14):
        src = tone_loop(tmp_path / "src" / f"{i}.wav", freq=55 * (1 + i % 3), seed=i)
        clipped(src, hot / f"hot {i:02d}.wav")
    takes = tmp_path / "takes"
    takes.mkdir()
    clipped(tone_loop(tmp_path / "src" / "new.wav", freq=110, seed=50), takes / "new hot take.wav")
    model = tmp_path / "m.anomalizer"
    with Catalog(tmp_path / "c.sqlite3") as catalog:
        drive(jobs.train([hot], catalog, SpectralEncoder(), model, network="pca"))
        judged = drive(jobs.score([takes], catalog, model))
        row = judged.rows[0]
    assert "clipping" in judged.judge.library.common_kinds()
    assert not [f for f in row.reasons if f.kind == "clipping"]
    assert any("common in your library" in w for w in row.words)


def test_cli_reasons_and_per_kind_columns(library, tmp_path):
    takes = tmp_path / "takes"
    takes.mkdir()
    with_click(library / "loop 05.wav", takes / "take 1.wav", at_s=1.3)
    model, cat, out = tmp_path / "m.anomalizer", tmp_path / "c.sqlite3", tmp_path / "s.csv"
    assert main(["-q", "--catalog", str(cat), "train", str(library), "--model", str(model),
                 "--encoder", "spectral", "--network", "pca"]) == 0
    assert main(["-q", "--catalog", str(cat), "score", str(takes), "--model", str(model),
                 "--csv", str(out)]) == 0
    row = next(csv.DictReader(out.open()))
    assert row["flagged"] == "1" and "click at 1.3" in row["reasons"]
    assert "stronger than every one of your 16 loops" in row["reasons"]
    assert float(row["learned_score"]) > 0 and float(row["score"]) > float(row["threshold"])
    assert float(row["qc_click"]) >= 0.5 and row["qc_hum"] == ""
    assert main(["-q", "--catalog", str(cat), "score", str(takes), "--model", str(model),
                 "--no-checks", "--csv", str(out)]) == 0
    row = next(csv.DictReader(out.open()))
    assert "click" not in row["reasons"] and row["flagged"] == row["learned_flagged"]
    assert main(["--catalog", str(cat), "score", str(takes), "--model", str(model),
                 "--disable-check", "klick"]) == 1  # a typo is a clear user error
