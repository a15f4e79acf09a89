"""Parquet exchange: a catalog built by the real scan/train jobs goes to Parquet and back with
nothing lost, imports are idempotent and keep other files, bad files are refused untouched."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

pa = pytest.importorskip("pyarrow")  # the `exchange` extra
import pyarrow.parquet as pq  # noqa: E402

from anomalizer_desktop.cli.main import main
from anomalizer_desktop.core import jobs
from anomalizer_desktop.core.browse import similar
from anomalizer_desktop.core.catalog import Catalog
from anomalizer_desktop.core.catalog.parquet_exchange import (
    FORMAT_VERSION, METADATA_KEY, export_parquet, import_parquet, read_metadata)
from anomalizer_desktop.core.embedding.spectral import SpectralEncoder
from anomalizer_desktop.core.errors import Cancelled, ExchangeError
from anomalizer_desktop.core.facets import FACETS_VERSION
from anomalizer_desktop.core.progress import CancelToken, run_job

from .helpers import noise_loop, tone_loop


class CountingEncoder(SpectralEncoder):
    def __init__(self):
        super().__init__()
        self.clips = 0

    def encode(self, clips):
        self.clips += len(clips)
        return super().encode(clips)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A catalog with everything in it: two libraries (one a reference), files (one unreadable,
    one gone), embeddings of two encoders, findings of two check versions, facets, a trained
    model's scores and "fine" marks."""
    root = tmp_path_factory.mktemp("exchange")
    lib = root / "Loops ü"
    for i in range(8):
        tone_loop(lib / "bass" / f"bass {i}.wav", freq=55 * (1 + i % 3), seconds=1.0, seed=i)
    noise_loop(lib / "odd" / "noise.wav", seconds=1.0)
    shutil.copy(lib / "bass" / "bass 0.wav", lib / "odd" / "copy of bass 0.wav")
    (lib / "odd" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    gone = tone_loop(lib / "gone.wav", seconds=1.0, seed=99)
    model = root / "m.anomalizer"
    path = root / "source.sqlite3"
    with Catalog(path) as catalog:
        run_job(jobs.train([lib], catalog, SpectralEncoder(), model, network="pca", folds=1))
        gone.unlink()
        run_job(jobs.scan([lib], catalog, SpectralEncoder()))
        catalog.set_reference(lib / "bass", True)
        hashes = sorted({f.hash for f in catalog.files() if f.hash})
        catalog.set_fine(hashes[0], True, note="meant to be noisy")
        catalog.set_fine(hashes[1], False)
        catalog.put_embeddings("toy", [(h, np.arange(3, dtype=np.float32) + i)
                                       for i, h in enumerate(hashes[:4])])
        catalog.put_findings(hashes[2], 1, [("click", "0.9", 0.25, 0.26, "old checks")])
        catalog.put_findings(hashes[3], 1, [])
    return {"root": root, "lib": lib, "model": model, "catalog": path}


def _export(catalog_path: Path, out: Path, **kw) -> pa.Table:
    with Catalog(catalog_path) as catalog:
        export_parquet(catalog, out, **kw)
    return pq.read_table(out)


def _meta(out: Path) -> dict:
    meta = read_metadata(out)
    meta.pop("exported_at")
    return meta


def test_export_holds_every_table(built, tmp_path):
    out = tmp_path / "a.parquet"
    table = _export(built["catalog"], out)
    names = table.column_names
    assert names[:12] == ["path", "library", "size", "mtime", "hash", "duration_s", "sample_rate",
                          "channels", "format", "error", "missing", "scanned_at"]
    assert {"embedding_spectral:v1", "embedding_toy", "qc_runs", "findings",
            f"facets_v{FACETS_VERSION}", "scores"} <= set(names)
    rows = table.to_pylist()
    assert [r["path"] for r in rows] == sorted(r["path"] for r in rows)
    by_name = {Path(r["path"]).name: r for r in rows}
    assert by_name["gone.wav"]["missing"] is True
    assert by_name["broken.wav"]["error"] and by_name["broken.wav"]["embedding_spectral:v1"] is None
    bass = by_name["bass 1.wav"]
    assert bass["library"] == str(built["lib"]) and bass["sample_rate"] == 48_000
    assert len(bass["embedding_spectral:v1"]) == table.schema.field("embedding_spectral:v1").type.list_size
    assert bass["scores"][0]["model"] == str(built["model"]) and bass["qc_runs"]
    assert bass[f"facets_v{FACETS_VERSION}"]["identity"]
    assert by_name["copy of bass 0.wav"]["embedding_spectral:v1"] == \
        by_name["bass 0.wav"]["embedding_spectral:v1"]  # duplicates share the hash's vector
    assert any(f["checks_version"] == 1 for r in rows for f in r["findings"])
    meta = _meta(out)
    assert meta["version"] == FORMAT_VERSION and meta["encoders"]["toy"] == 3
    assert {(Path(lib["path"]).name, lib["reference"]) for lib in meta["libraries"]} == \
        {("Loops ü", False), ("bass", True)}
    assert [m["path"] for m in meta["models"]] == [str(built["model"])]
    assert {m["note"] for m in meta["marks"]} == {"meant to be noisy", ""}


def test_round_trip_through_an_empty_catalog_loses_nothing(built, tmp_path):
    first = _export(built["catalog"], tmp_path / "a.parquet", batch_rows=4)
    assert pq.ParquetFile(tmp_path / "a.parquet").num_row_groups == 3  # 12 files, 4 a group
    with Catalog(tmp_path / "b.sqlite3") as catalog:
        result = import_parquet(catalog, tmp_path / "a.parquet", batch_rows=5)
    assert result.files == first.num_rows and result.models == 1 and result.marks == 2
    assert result.embeddings["spectral:v1"] == first.num_rows - 1  # not the broken file
    second = _export(tmp_path / "b.sqlite3", tmp_path / "b.parquet")
    assert second.equals(first)
    assert _meta(tmp_path / "b.parquet") == _meta(tmp_path / "a.parquet")
    with Catalog(built["catalog"]) as a, Catalog(tmp_path / "b.sqlite3") as b:
        assert [m.created_at for m in a.models()] == [m.created_at for m in b.models()]
        model_a, model_b = a.models()[0], b.models()[0]
        by_path = {f.id: f.path for f in a.files(include_missing=True)}
        scores_a = {by_path[i]: (s.score, s.learned, s.flagged)
                    for i, s in a.scores(model_a.id).items()}
        by_path = {f.id: f.path for f in b.files(include_missing=True)}
        assert {by_path[i]: (s.score, s.learned, s.flagged)
                for i, s in b.scores(model_b.id).items()} == scores_a
        assert b.fine_hashes() == a.fine_hashes()
        assert b.reference_folders() == a.reference_folders()


def test_import_twice_changes_nothing_and_keeps_other_files(built, tmp_path):
    out = tmp_path / "a.parquet"
    first = _export(built["catalog"], out)
    target = tmp_path / "b.sqlite3"
    with Catalog(target) as catalog:
        own = catalog.upsert_file("/elsewhere/mine.wav", library_id=None, size=3, mtime=1.0,
                                  hash="mine")
        catalog.put_embeddings("spectral:v1", [("mine", np.ones(first.schema.field(
            "embedding_spectral:v1").type.list_size, np.float32))])
        import_parquet(catalog, out)
        once = _export(target, tmp_path / "once.parquet")
        import_parquet(catalog, out)
        assert catalog.get_file("/elsewhere/mine.wav") == own
    twice = _export(target, tmp_path / "twice.parquet")
    assert twice.equals(once)
    assert once.num_rows == first.num_rows + 1
    mine = once.filter(pa.compute.equal(once["path"], "/elsewhere/mine.wav")).to_pylist()[0]
    assert mine["embedding_spectral:v1"] and mine["scores"] == []


def test_imported_catalog_is_usable_without_embedding_again(built, tmp_path):
    out = tmp_path / "a.parquet"
    _export(built["catalog"], out)
    with Catalog(tmp_path / "b.sqlite3") as catalog:
        import_parquet(catalog, out)
        encoder = CountingEncoder()
        scanned = run_job(jobs.scan([built["lib"]], catalog, encoder))
        assert scanned.embedded == 0 and encoder.clips == 0 and scanned.added == 0
        query = built["lib"] / "bass" / "bass 0.wav"
        nearest = similar(query, catalog, encoder, k=3)
        assert nearest[0].path.name == "copy of bass 0.wav" and nearest[0].distance == 0
        result = run_job(jobs.score([built["lib"] / "odd"], catalog, built["model"],
                                    encoder=encoder))
        assert encoder.clips == 0
        noise = [r for r in result.rows if r.path.name == "noise.wav"][0]
        with Catalog(built["catalog"]) as source:
            before = source.scores(source.models()[0].id)[source.get_file(noise.path).id]
        assert noise.learned_score == pytest.approx(before.learned)


def test_export_under_a_folder(built, tmp_path):
    out = tmp_path / "odd.parquet"
    table = _export(built["catalog"], out, under=built["lib"] / "odd")
    assert sorted(Path(p).name for p in table["path"].to_pylist()) == \
        ["broken.wav", "copy of bass 0.wav", "noise.wav"]
    meta = _meta(out)
    assert [Path(lib["path"]).name for lib in meta["libraries"]] == ["Loops ü"]
    assert len(meta["models"]) == 1


def test_cli_export_then_import(built, tmp_path, capsys):
    out, target = tmp_path / "cli.parquet", tmp_path / "cli.sqlite3"
    assert main(["-q", "--catalog", str(built["catalog"]), "export", "--parquet", str(out)]) == 0
    said = capsys.readouterr().err
    assert "12 files, 2 encoders' embeddings" in said and f"written to {out}" in said
    assert main(["-q", "--catalog", str(target), "import", str(out)]) == 0
    assert "12 files" in capsys.readouterr().err
    assert _export(target, tmp_path / "again.parquet").equals(pq.read_table(out))
    assert main(["-q", "--catalog", str(target), "import", str(tmp_path / "nope.parquet")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_refuses_files_that_are_not_exports(tmp_path):
    text = tmp_path / "notes.parquet"
    text.write_text("not parquet")
    foreign = tmp_path / "foreign.parquet"
    pq.write_table(pa.table({"path": ["/a.wav"]}), foreign)
    with Catalog(None) as catalog:
        with pytest.raises(ExchangeError, match=f"{text} is not a Parquet file"):
            import_parquet(catalog, text)
        with pytest.raises(ExchangeError, match="not an Anomalizer catalog export"):
            import_parquet(catalog, foreign)
        assert catalog.files(include_missing=True) == []


def test_refuses_a_newer_format(built, tmp_path):
    out = tmp_path / "a.parquet"
    table = _export(built["catalog"], out)
    meta = json.loads(table.schema.metadata[METADATA_KEY])
    meta["version"] = FORMAT_VERSION + 1
    future = tmp_path / "future.parquet"
    pq.write_table(table.replace_schema_metadata({METADATA_KEY: json.dumps(meta)}), future)
    with Catalog(None) as catalog:
        with pytest.raises(ExchangeError, match=f"newer Anomalizer.*v{FORMAT_VERSION + 1}"):
            import_parquet(catalog, future)
        assert catalog.files(include_missing=True) == []


def test_dimension_mismatch_writes_nothing(built, tmp_path):
    out = tmp_path / "a.parquet"
    _export(built["catalog"], out)
    with Catalog(None) as catalog:
        catalog.put_embeddings("toy", [("other", np.zeros(5, np.float32))])
        with pytest.raises(ExchangeError, match="toy embeddings of 3 dimensions.*have 5"):
            import_parquet(catalog, out)
        assert catalog.files(include_missing=True) == [] and catalog.libraries() == []
        assert catalog.models() == []


def test_a_failure_midway_rolls_the_whole_import_back(built, tmp_path):
    out = tmp_path / "a.parquet"
    table = _export(built["catalog"], out)
    rows = table.to_pylist()
    rows[-1]["scores"] = [{**rows[0]["scores"][0], "model": "/not/listed.anomalizer"}]
    damaged = tmp_path / "damaged.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), damaged, row_group_size=4)
    with Catalog(None) as catalog:
        with pytest.raises(ExchangeError, match="damaged.*not/listed"):
            import_parquet(catalog, damaged, batch_rows=4)
        assert catalog.files(include_missing=True) == [] and catalog.models() == []


def test_cancelling_leaves_no_file_and_imports_nothing(built, tmp_path):
    token = CancelToken()
    token.cancel()
    out = tmp_path / "a.parquet"
    with Catalog(built["catalog"]) as catalog, pytest.raises(Cancelled):
        export_parquet(catalog, out, token=token)
    assert list(tmp_path.iterdir()) == []
    _export(built["catalog"], out)
    with Catalog(None) as catalog:
        with pytest.raises(Cancelled):
            import_parquet(catalog, out, token=token)
        assert catalog.files(include_missing=True) == []


def test_without_pyarrow_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with Catalog(None) as catalog, pytest.raises(ExchangeError, match=r"pip install .*\[exchange\]"):
        export_parquet(catalog, tmp_path / "a.parquet")
