"""The similarity index file next to the catalog: built once, updated incrementally, rebuilt when
it no longer fits the library, and answering as exact search does."""

from __future__ import annotations

import numpy as np
import pytest

from anomalizer_desktop.core.similar import ann, space as space_module
from anomalizer_desktop.core.similar.ann import AnnIndex
from anomalizer_desktop.core.similar.index_file import index_path, indexed_space
from anomalizer_desktop.core.similar.space import SimilarSpace

pytestmark = pytest.mark.skipif(not ann.available(), reason="the ANN library is not installed")


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch):
    monkeypatch.setattr(space_module, "EXACT_UP_TO", 100)


def library(n: int, seed: int = 0, dim: int = 32) -> tuple[list[str], np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(1, n // 20), dim)) * 3
    x = centres[rng.integers(0, len(centres), n)] + rng.standard_normal((n, dim))
    return [f"k{seed}-{i}" for i in range(n)], (x * 5 + 2).astype(np.float32)


def test_index_answers_as_exact_search_and_is_kept_on_disk(tmp_path):
    keys, X = library(400)
    path = index_path(tmp_path / "catalog.sqlite", "offline-v3")
    assert path.parent == tmp_path and path.name == "similar-offline-v3.ann"
    approx = indexed_space(keys, X, path)
    assert path.exists()
    exact = SimilarSpace(keys, X)
    for q in X[:20]:
        a = [(h.key, round(h.distance, 4)) for h in approx.nearest(q, 10)]
        e = [(h.key, round(h.distance, 4)) for h in exact.nearest(q, 10)]
        assert len({k for k, _ in a} & {k for k, _ in e}) >= 9
        assert a[0][0] == e[0][0] and a[0][1] == pytest.approx(e[0][1], abs=1e-3)


def test_new_loops_are_added_incrementally_and_old_statistics_kept(tmp_path):
    keys, X = library(400)
    path = tmp_path / "similar.ann"
    indexed_space(keys, X, path)
    more_keys, more = library(40, seed=1)
    more = more * 0.0 + X[:40] + 0.01  # near copies: the library's statistics hardly move
    space = indexed_space(keys + more_keys, np.vstack([X, more]), path)
    on_disk = AnnIndex.load(path)
    assert len(on_disk) == 440 and on_disk.meta["built_n"] == 400
    assert np.allclose(space.mean, on_disk.meta["mean"])
    assert space.nearest(more[5], 1)[0].key == more_keys[5]


def test_stale_entries_are_never_returned_and_many_trigger_a_rebuild(tmp_path):
    keys, X = library(400)
    path = tmp_path / "similar.ann"
    indexed_space(keys, X, path)
    # 5 % of the loops gone: the index is kept, and their entries filtered out of the answers.
    space = indexed_space(keys[20:], X[20:], path)
    assert AnnIndex.load(path).meta["built_n"] == 400
    hits = space.nearest(X[3], 10)
    assert len(hits) == 10 and not {h.key for h in hits} & set(keys[:20])
    # 30 % gone: rebuilt for the library as it is.
    indexed_space(keys[120:], X[120:], path)
    rebuilt = AnnIndex.load(path)
    assert rebuilt.meta["built_n"] == 280 and len(rebuilt) == 280


def test_growth_drift_and_damage_rebuild(tmp_path):
    keys, X = library(200)
    path = tmp_path / "similar.ann"
    indexed_space(keys, X, path)
    big_keys, big = library(500, seed=2)
    indexed_space(keys + big_keys, np.vstack([X, big]), path)  # more than doubled
    assert AnnIndex.load(path).meta["built_n"] == 700
    indexed_space(keys + big_keys, np.vstack([X, big]) * 3.0, path)  # the spread moved
    assert np.allclose(AnnIndex.load(path).meta["std"], (np.vstack([X, big]) * 3.0).std(0), rtol=1e-3)
    path.write_bytes(path.read_bytes()[:1000])  # damaged
    space = indexed_space(keys, X, path)
    assert len(AnnIndex.load(path)) == 200 and space.nearest(X[0], 1)[0].key == keys[0]


def test_small_libraries_use_exact_search_and_write_nothing(tmp_path):
    keys, X = library(80)
    path = tmp_path / "similar.ann"
    space = indexed_space(keys, X, path)
    assert not path.exists() and space.nearest(X[7], 1)[0].key == keys[7]


def test_unwritable_folder_still_answers(tmp_path):
    keys, X = library(300)
    path = tmp_path / "missing-dir-is-a-file" / "similar.ann"
    (tmp_path / "missing-dir-is-a-file").write_text("not a folder")
    space = indexed_space(keys, X, path)
    assert space.nearest(X[9], 1)[0].key == keys[9]
