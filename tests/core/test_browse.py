"""More like this and duplicates, core and CLI: a small library of loops with exact and near
copies (FLAC, -6 dB, 44.1 kHz, 16-bit, Ogg Vorbis, trimmed, padded) and loops that only share
an instrument and a tempo."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import soundfile as sf

from anomalizer_desktop.cli.main import main
from anomalizer_desktop.core.browse import duplicates, similar
from anomalizer_desktop.core.catalog import Catalog
from anomalizer_desktop.core.duplicates import Item, find_duplicates
from anomalizer_desktop.core.errors import AnomalizerError, NotEnoughDataError
from anomalizer_desktop.core.facets import describe
from anomalizer_desktop.core.progress import run_job

from .helpers import tree_hashes
from .test_facets import bass_line

SR = 48_000
LINES = {  # same instrument, same tempo, different notes
    "a": [38, 38, 45, 38, 41, 38, 48, 38],
    "b": [40, 47, 40, 43, 40, 47, 45, 43],
    "c": [36, 36, 36, 43, 36, 36, 46, 43],
    "d": [41, 45, 48, 45, 41, 40, 38, 40],
}


def _write_library(root):
    from anomalizer_desktop.core.audio.io import resample

    root.mkdir(parents=True, exist_ok=True)
    loops = {n: bass_line(notes, 120.0, 2, SR) for n, notes in LINES.items()}
    for name, x in loops.items():
        sf.write(root / f"{name}.wav", x, SR, subtype="PCM_24")
    a = loops["a"]
    ints, _ = sf.read(root / "a.wav", dtype="int32")  # a lossless copy of the WAV's samples
    sf.write(root / "a_copy.flac", ints, SR, subtype="PCM_24")       # exact
    sf.write(root / "a_quiet.wav", a * 0.5, SR, subtype="PCM_24")    # near: -6 dB
    sf.write(root / "a_44k.wav", resample(a, SR, 44_100), 44_100, subtype="PCM_16")
    sf.write(root / "a_trim.wav", a[int(0.004 * SR):], SR, subtype="PCM_24")
    b = loops["b"]
    sf.write(root / "b.ogg", b, SR, format="OGG", subtype="VORBIS")
    pad = np.concatenate([np.zeros(int(0.012 * SR), np.float32), b])
    sf.write(root / "b_pad.wav", pad, SR, subtype="FLOAT")
    return root


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    from anomalizer_desktop.core.embedding import make_encoder
    from anomalizer_desktop.core.jobs import scan

    root = _write_library(tmp_path_factory.mktemp("browse") / "Library")
    catalog_path = root.parent / "cat.sqlite3"
    encoder = make_encoder("spectral")
    with Catalog(catalog_path) as catalog:
        run_job(scan([root], catalog, encoder), lambda p: None)
    return root, catalog_path, encoder


def test_duplicate_groups_exact_and_near_and_keep_different_loops_apart(library):
    root, catalog_path, _ = library
    before = tree_hashes(root)
    with Catalog(catalog_path) as catalog:
        rows = run_job(duplicates([root], catalog), lambda p: None)
    groups: dict[int, dict[str, str]] = {}
    for r in rows:
        groups.setdefault(r.group, {})[r.path.name] = r.match
    assert sorted(map(sorted, groups.values())) == [
        ["a.wav", "a_44k.wav", "a_copy.flac", "a_quiet.wav", "a_trim.wav"],
        ["b.ogg", "b.wav", "b_pad.wav"]]
    a_group = next(g for g in groups.values() if "a.wav" in g)
    assert a_group["a.wav"] == a_group["a_copy.flac"] == "exact"
    assert a_group["a_quiet.wav"] == a_group["a_44k.wav"] == "near"
    assert tree_hashes(root) == before  # nothing touched


def test_find_duplicates_needs_the_same_loop_not_the_same_length():
    x = bass_line(LINES["c"], 120.0, 2, SR)
    y = bass_line(LINES["d"], 120.0, 2, SR)
    fx, fy = describe(x, SR), describe(y, SR)
    items = [Item("x", fx.identity, 4.0, fx.fingerprint), Item("y", fy.identity, 4.0, fy.fingerprint),
             Item("x2", fx.identity, 4.0, fx.fingerprint), Item("silent", "s", 4.0,
                                                                 np.zeros((0, 16), np.uint8))]
    groups = find_duplicates(items)
    assert [[m.key for m in g] for g in groups] == [["x", "x2"]]


def test_more_like_this_finds_a_variant_s_original_first(library):
    root, catalog_path, encoder = library
    with Catalog(catalog_path) as catalog:
        hits = similar(root / "a_quiet.wav", catalog, encoder, library=root, k=5)
        assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
        assert root / "a_quiet.wav" not in [h.path for h in hits]
        assert {h.path.name for h in hits[:4]} <= {"a.wav", "a_copy.flac", "a_44k.wav", "a_trim.wav"}
        distances = [h.distance for h in hits]
        assert distances == sorted(distances)


def test_more_like_this_for_a_file_outside_the_library(library, tmp_path):
    root, catalog_path, encoder = library
    outside = tmp_path / "new take.wav"
    sf.write(outside, bass_line(LINES["c"], 120.0, 2, SR) * 0.8, SR)
    with Catalog(catalog_path) as catalog:
        hits = similar(outside, catalog, encoder, library=root, k=3)
    assert hits[0].path.name == "c.wav"


def test_more_like_this_errors_say_what_to_do(library, tmp_path):
    root, catalog_path, encoder = library
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with Catalog(catalog_path) as catalog:
        with pytest.raises(AnomalizerError):
            similar(broken, catalog, encoder, library=root)
        with pytest.raises(AnomalizerError, match="no such file"):
            similar(tmp_path / "nope.wav", catalog, encoder, library=root)
    with Catalog(tmp_path / "empty.sqlite3") as empty:
        with pytest.raises(NotEnoughDataError, match="scan it first"):
            similar(root / "a.wav", empty, encoder)


def test_cli_similar_and_duplicates_write_the_documented_rows(library, tmp_path, capsys):
    root, catalog_path, _ = library
    out = tmp_path / "similar.csv"
    assert main(["-q", "--catalog", str(catalog_path), "similar", str(root / "b_pad.wav"),
                 "--library", str(root), "-k", "3", "--encoder", "spectral",
                 "--csv", str(out)]) == 0
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["rank", "path", "distance"] and len(rows) == 3
    assert rows[0]["path"].endswith(("b.wav", "b.ogg"))
    dup = tmp_path / "dup.json"
    assert main(["-q", "--catalog", str(catalog_path), "duplicates", str(root),
                 "--json", str(dup)]) == 0
    records = json.loads(dup.read_text())
    assert set(records[0]) == {"group", "path", "match"}
    assert {r["match"] for r in records} == {"exact", "near"}
    assert main(["-q", "--catalog", str(catalog_path), "similar", str(tmp_path / "x.wav"),
                 "--encoder", "spectral"]) == 1
    assert "no such file" in capsys.readouterr().err
