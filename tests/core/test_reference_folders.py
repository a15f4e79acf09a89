"""Reference folders: the model learns "normal" from them and scores the rest of the library."""

from __future__ import annotations

from pathlib import Path

import pytest

from anomalizer_desktop.core import jobs
from anomalizer_desktop.core.catalog import Catalog
from anomalizer_desktop.core.detect.persistence import read_model_info
from anomalizer_desktop.core.embedding.spectral import SpectralEncoder
from anomalizer_desktop.core.errors import NotEnoughDataError
from anomalizer_desktop.core.progress import run_job

from .helpers import noise_loop, tone_loop, tree_hashes


@pytest.fixture
def catalog(tmp_path):
    with Catalog(tmp_path / "catalog.sqlite3") as cat:
        yield cat


@pytest.fixture
def library(tmp_path) -> Path:
    """Half plucked tones, half noise: neither half is odd when the model learns from both."""
    root = tmp_path / "library"
    for i in range(24):
        tone_loop(root / "tones" / f"tone {i:02d}.wav", freq=55 * (1 + i % 3), seed=i)
        noise_loop(root / "noises" / f"noise {i:02d}.wav", seed=100 + i)
    return root


def _train(library, catalog, model, **kw):
    return run_job(jobs.train([library], catalog, SpectralEncoder(), model, network="pca",
                              **kw))


def _flagged_folders(catalog, model) -> dict[str, int]:
    stored = catalog.scores(catalog.get_model(model).id)
    out: dict[str, int] = {}
    for file_id, s in stored.items():
        folder = catalog.get_file_by_id(file_id).path.parent.name
        out[folder] = out.get(folder, 0) + int(s.flagged)
    return out


def test_catalog_remembers_reference_folders(catalog, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    catalog.add_library(a)
    assert catalog.reference_folders() == []
    record = catalog.set_reference(b, True)  # registers b as a library too
    assert record.reference and record.path == b
    catalog.add_library(b)  # re-adding (every scan does) keeps the mark
    assert catalog.reference_folders() == [b]
    assert {lib.path: lib.reference for lib in catalog.libraries()} == {a: False, b: True}
    catalog.set_reference(b, False)
    assert catalog.reference_folders() == []


def test_the_model_learns_normal_from_the_reference_only(library, catalog, tmp_path):
    before = tree_hashes(library)
    whole = tmp_path / "whole.anomalizer"
    _train(library, catalog, whole)
    assert _flagged_folders(catalog, whole).get("noises", 0) <= 3  # half the library: normal

    tones = tmp_path / "tones.anomalizer"
    result = _train(library, catalog, tones, reference=[library / "tones"])
    assert result.n_train == 24 and result.reference == (library / "tones",)
    assert result.score_summary["n"] == 48  # the rest is scored against the reference
    flagged = _flagged_folders(catalog, tones)
    assert flagged["noises"] == 24 and flagged.get("tones", 0) <= 2
    extra = read_model_info(tones).extra
    assert extra["reference"] == [str(library / "tones")] and extra["roots"] == [str(library)]

    noises = tmp_path / "noises.anomalizer"
    _train(library, catalog, noises, reference=[library / "noises"])
    flagged = _flagged_folders(catalog, noises)
    assert flagged["tones"] == 24 and flagged.get("noises", 0) <= 2

    scored = run_job(jobs.score([library / "noises"], catalog, tones))
    assert all(r.flagged for r in scored.rows)  # later scoring judges against the reference
    assert tree_hashes(library) == before


def test_a_reference_outside_the_library_is_scanned_too(library, catalog, tmp_path):
    elsewhere = tmp_path / "my reference"
    for i in range(12):
        tone_loop(elsewhere / f"ref {i}.wav", freq=55 * (1 + i % 3), seed=200 + i)
    model = tmp_path / "m.anomalizer"
    result = _train(library / "noises", catalog, model, reference=[elsewhere])
    assert result.n_train == 12 and result.score_summary["n"] == 36
    assert _flagged_folders(catalog, model)["noises"] == 24


def test_an_empty_reference_is_a_clear_error(library, catalog, tmp_path):
    empty = library / "empty"
    empty.mkdir()
    with pytest.raises(NotEnoughDataError, match="reference folders"):
        _train(library, catalog, tmp_path / "m.anomalizer", reference=[empty])
    assert not (tmp_path / "m.anomalizer").exists()


def test_cli_train_with_a_reference_says_where_it_learned(library, tmp_path, capsys):
    from anomalizer_desktop.cli.main import main

    model, cat = tmp_path / "m.anomalizer", tmp_path / "cli.sqlite3"
    args = ["--catalog", str(cat), "train", str(library), "--model", str(model),
            "--encoder", "spectral", "--network", "pca", "--reference", str(library / "tones")]
    assert main(args) == 0
    out = capsys.readouterr().err
    assert "24 loops in 1 reference folder" in out
    assert "library: 24 of 48 loops flagged" in out
