"""Every odd file gets a row with the truth, nothing is modified, and the scan stays inside
the library: broken links, codec errors, truncated and NaN files, silence, files still being
written, folder links out of the library."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from anomalizer_desktop.core import jobs, scanning
from anomalizer_desktop.core.catalog import Catalog
from anomalizer_desktop.core.embedding.spectral import SpectralEncoder
from anomalizer_desktop.core.progress import run_job
from anomalizer_desktop.core.qc_stage import stored_findings

from .helpers import tone_loop, tree_hashes

SR = 44_100


@pytest.fixture
def catalog(tmp_path):
    with Catalog(tmp_path / "catalog.sqlite3") as cat:
        yield cat


@pytest.fixture
def odd_library(tmp_path) -> Path:
    root = tmp_path / "lib"
    for i in range(8):
        tone_loop(root / f"good {i}.wav", freq=55 * (1 + i % 3), seed=i)
    t = np.arange(2 * SR) / SR
    x = (0.3 * np.sin(2 * np.pi * 110 * t)).astype(np.float32)
    sf.write(root / "zero.wav", np.zeros(2 * SR, np.float32), SR)
    y = x.copy()
    y[1000:1100] = np.nan
    sf.write(root / "nan.wav", y, SR, subtype="FLOAT")
    sf.write(root / "full.wav", x, SR)
    data = (root / "full.wav").read_bytes()
    (root / "full.wav").unlink()
    (root / "cut.wav").write_bytes(data[: len(data) // 3])
    (root / "corrupt.mp3").write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(range(256)) * 20)
    (root / "dangling.wav").symlink_to(tmp_path / "gone" / "take.wav")
    outside = tmp_path / "elsewhere"
    tone_loop(outside / "foreign.wav")
    (root / "system temp").symlink_to(outside)
    old = time.time() - 60  # finished long ago: no settle wait
    for p in root.iterdir():
        if not p.is_symlink():
            os.utime(p, (old, old))
    return root


def scan(root, catalog, **kwargs):
    return run_job(jobs.scan([root], catalog, SpectralEncoder(), **kwargs))


def by_name(result):
    return {f.path.name: f for f in result.files}


def test_every_odd_file_gets_a_row_with_a_reason(odd_library, catalog):
    before = tree_hashes(odd_library)
    result = scan(odd_library, catalog)
    rows = by_name(result)
    assert rows["dangling.wav"].error == (
        f"broken link: points to {odd_library.parent / 'gone' / 'take.wav'}, which does not exist")
    assert "damaged MP3 data: no MPEG audio frame decodes" in rows["corrupt.mp3"].error
    assert "foreign.wav" not in rows  # the folder link out of the library is not walked
    assert [(s.path.name, s.target.name) for s in result.skipped_links] == [
        ("system temp", "elsewhere")]

    def kinds(name):
        return {f.kind: f for f in stored_findings(catalog, rows[name].hash)}

    cut = kinds("cut.wav")["damaged_file"]
    assert cut.detail.startswith("truncated file: ") and "header promises 2 s" in cut.detail
    assert cut.label() == "truncated file"
    assert "non_finite" in kinds("nan.wav") and "100 non-finite samples" in \
        kinds("nan.wav")["non_finite"].detail
    assert "silent" in kinds("zero.wav")
    assert not any(f.kind in ("damaged_file", "non_finite") for n in rows if n.startswith("good")
                   for f in stored_findings(catalog, rows[n].hash))
    assert tree_hashes(odd_library) == before  # nothing was modified


def test_file_problems_flag_in_words_once(odd_library, catalog, tmp_path, caplog):
    model = tmp_path / "m.anomalizer"
    run_job(jobs.train([odd_library], catalog, SpectralEncoder(), model, network="pca"))
    with caplog.at_level("WARNING"):
        result = run_job(jobs.score([odd_library], catalog, model))
    rows = {r.path.name: r for r in result.rows}
    for name, words in (("cut.wav", "truncated file: "), ("nan.wav", "non-finite samples"),
                        ("zero.wav", "silent file")):
        assert rows[name].flagged, name
        assert any(words in w for w in rows[name].words), rows[name].words
    assert rows["dangling.wav"].error.startswith("broken link")
    # the decoder's findings are in the rows, not repeated on stderr by every stage
    warned = " ".join(r.getMessage() for r in caplog.records if r.levelno >= 30)
    assert "truncated" not in warned and "non-finite" not in warned


def test_follow_links_walks_out_of_the_library_when_asked(odd_library, catalog):
    rows = by_name(scan(odd_library, catalog, follow_links=True))
    assert rows["foreign.wav"].error is None


def test_a_file_still_being_written_is_not_read_as_it_is(tmp_path, catalog, monkeypatch):
    monkeypatch.setattr(scanning, "SETTLE_S", 0.4)
    root = tmp_path / "exports"
    tone_loop(root / "take.wav", seconds=4.0)
    data = (root / "take.wav").read_bytes()
    (root / "take.wav").write_bytes(data[: len(data) // 4])  # valid header, a quarter written
    done = threading.Event()

    def writer():  # the DAW goes on writing while the scan looks
        with open(root / "take.wav", "ab") as fh:
            for k in range(2, 5):
                time.sleep(0.15)
                fh.write(data[len(data) * (k - 1) // 4: len(data) * k // 4])
                fh.flush()
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        rows = by_name(scan(root, catalog))
    finally:
        thread.join()
    assert rows["take.wav"].error == scanning.STILL_WRITING
    assert rows["take.wav"].hash is None
    os.utime(root / "take.wav", (time.time() - 10, time.time() - 10))
    rows = by_name(scan(root, catalog))  # the next scan reads the finished take
    assert rows["take.wav"].error is None
    assert rows["take.wav"].duration_s == pytest.approx(4.0)
    assert not any(f.kind == "damaged_file" for f in stored_findings(catalog, rows["take.wav"].hash))


def test_a_walk_into_a_huge_tree_is_cancellable(tmp_path, catalog):
    from anomalizer_desktop.core.errors import Cancelled
    from anomalizer_desktop.core.progress import CancelToken

    root = tmp_path / "deep"
    folder = root
    for i in range(30):  # folders without audio: the listing itself must hear a cancel
        folder = folder / f"d{i}"
    folder.mkdir(parents=True)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_job(jobs.scan([root], catalog, SpectralEncoder(), token=token))
