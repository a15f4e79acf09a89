"""The approximate "more like this" index: recall against brute force, keys, files, errors."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from anomalizer_desktop.core.similar import ann
from anomalizer_desktop.core.similar.ann import AnnIndex, AnnIndexError

pytestmark = pytest.mark.skipif(not ann.available(), reason="the ANN library is not installed")

DIM = 512


def clustered(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    """Gaussian clusters of ~100 vectors with a decaying spectrum, rotated, then z-scored."""
    rng = np.random.default_rng(seed)
    scale = np.arange(1, dim + 1) ** -0.75
    centres = rng.standard_normal((max(1, n // 100), dim)) * scale
    x = centres[rng.integers(0, len(centres), n)] + 0.5 * rng.standard_normal((n, dim)) * scale
    x = (x + 0.025 * rng.standard_normal((n, dim))) @ np.linalg.qr(rng.standard_normal((dim, dim)))[0]
    return ((x - x.mean(0)) / x.std(0)).astype(np.float32)


def keys_for(n: int, start: int = 0) -> list[str]:
    return [f"{i:032x}" for i in range(start, start + n)]


def brute_force(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    d = ((queries[:, None, :].astype(np.float64) - vectors[None]) ** 2).sum(-1)
    return np.argsort(d, axis=1)[:, :k]


@pytest.fixture(scope="module")
def data():
    x = clustered(2_100)
    return x[:2_000], x[2_000:]


@pytest.fixture(scope="module")
def index(data):
    vectors, _ = data
    return AnnIndex.build(keys_for(len(vectors)), vectors)


def test_recall_at_10_against_brute_force(index, data):
    vectors, queries = data
    truth = brute_force(vectors, queries, 10)
    found = index.search(queries, 10)
    keys = keys_for(len(vectors))
    hits = [len({key for key, _ in row} & {keys[i] for i in t}) for row, t in zip(found, truth)]
    assert np.mean(hits) / 10 >= 0.95
    assert all(len(row) == 10 for row in found)


def test_distances_are_euclidean_nearest_first(index, data):
    vectors, queries = data
    row = index.search(queries[0], 10)[0]
    distances = [d for _, d in row]
    assert distances == sorted(distances)
    for key, d in row:
        exact = float(np.linalg.norm(vectors[int(key, 16)] - queries[0]))
        assert d == pytest.approx(exact, rel=1e-3)


def test_exclude_filters_and_still_returns_k(index, data):
    vectors, _ = data
    keys = keys_for(len(vectors))
    plain = index.search(vectors[:1], 10)[0]
    assert plain[0][0] == keys[0] and plain[0][1] == pytest.approx(0.0, abs=1e-3)
    exclude = {key for key, _ in plain[:5]}
    row = index.search(vectors[:1], 10, exclude=exclude)[0]
    assert len(row) == 10
    assert not exclude & {key for key, _ in row}
    assert [key for key, _ in row[:5]] == [key for key, _ in plain[5:]]


def test_add_is_incremental_and_skips_known_keys(data):
    vectors, queries = data
    idx = AnnIndex.build(keys_for(1_000), vectors[:1_000])
    idx.add(keys_for(1_000, start=1_000), vectors[1_000:])
    assert len(idx) == 2_000
    assert keys_for(1, start=1_500)[0] in idx
    assert idx.search(vectors[1_500], 1)[0][0][0] == keys_for(1, start=1_500)[0]
    # A known key with another vector is skipped, and so is a repeat inside one call.
    idx.add([keys_for(1)[0], "new", "new"], queries[:3])
    assert len(idx) == 2_001
    assert idx.search(queries[0], 1)[0][0][1] > 1.0  # the old vector of that key is kept
    assert idx.search(queries[1], 1)[0][0] == ("new", pytest.approx(0.0, abs=1e-3))
    assert idx.search(queries[2], 1)[0][0][1] > 1.0  # the repeat was not added
    idx.add([], np.empty((0, DIM), np.float32))
    assert len(idx) == 2_001


def test_save_load_round_trip_gives_same_results(index, data, tmp_path):
    _, queries = data
    path = tmp_path / "similar.ann"
    index.save(path)
    assert sorted(os.listdir(tmp_path)) == ["similar.ann"]  # no temporary file left behind
    loaded = AnnIndex.load(path)
    assert len(loaded) == len(index) and loaded.dim == index.dim
    assert loaded.search(queries, 10) == index.search(queries, 10)
    loaded.add(["after-load"], queries[:1])
    assert loaded.search(queries[0], 1)[0][0][0] == "after-load"
    index.save(path)  # overwriting an existing file works
    assert len(AnnIndex.load(path)) == len(index)


def test_missing_corrupt_or_truncated_file_raises_clear_error(index, tmp_path):
    with pytest.raises(AnnIndexError, match="no similarity index"):
        AnnIndex.load(tmp_path / "absent.ann")
    good = tmp_path / "good.ann"
    index.save(good)
    blob = good.read_bytes()
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0xFF
    cases = {"truncated": blob[: len(blob) // 3], "header-only": blob[:20], "empty": b"",
             "garbage": os.urandom(4096), "flipped": bytes(flipped), "tail": blob + b"x"}
    for name, content in cases.items():
        path = tmp_path / f"{name}.ann"
        path.write_bytes(content)
        with pytest.raises(AnnIndexError) as err:
            AnnIndex.load(path)
        assert isinstance(err.value, ValueError)
        assert str(path) in str(err.value), name


def test_fewer_vectors_than_k_and_empty_index(data):
    vectors, _ = data
    small = AnnIndex.build(keys_for(5), vectors[:5])
    row = small.search(vectors[0], 10)[0]
    assert sorted(key for key, _ in row) == keys_for(5)
    assert small.search(vectors[0], 10, exclude=set(keys_for(5))) == [[]]
    empty = AnnIndex.build([], np.empty((0, DIM), np.float32))
    assert len(empty) == 0 and empty.search(vectors[:2], 3) == [[], []]


def test_dimension_and_shape_mismatch_raise_clear_errors(index, data):
    vectors, _ = data
    with pytest.raises(AnnIndexError, match="dimension"):
        index.search(np.zeros((1, 64), np.float32), 5)
    with pytest.raises(AnnIndexError, match="dimension"):
        index.add(["x"], np.zeros((1, 64), np.float32))
    with pytest.raises(AnnIndexError, match="keys"):
        AnnIndex.build(keys_for(3), vectors[:2])
    with pytest.raises(AnnIndexError, match="finite"):
        AnnIndex.build(["a"], np.full((1, DIM), np.nan, np.float32))
    with pytest.raises(AnnIndexError, match="k"):
        index.search(vectors[:1], 0)


def test_library_is_not_imported_with_the_module():
    code = ("import sys, anomalizer_desktop.core.similar.ann; "
            "print(any(m in sys.modules for m in ('faiss', 'usearch', 'hnswlib')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
