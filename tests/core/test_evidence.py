"""Calibrated evidence: tail nulls, the combined budget, cross-fitting and the model file."""

from __future__ import annotations

import numpy as np
import pytest

from anomalizer_desktop.core.detect import cross_fitted
from anomalizer_desktop.core.detect.persistence import load_model, read_model_info, save_model
from anomalizer_desktop.core.evidence import FlagPolicy, Judge, LibraryEvidence
from anomalizer_desktop.core.evidence.store import read_library
from anomalizer_desktop.core.evidence.tail import TailNull, TailPrior
from anomalizer_desktop.core.qc import CHECKS, Finding


def test_conformal_pvalues_hold_their_level_on_new_draws():
    rng = np.random.default_rng(0)
    misses = []
    for _ in range(200):
        null = TailNull(rng.normal(size=80), TailPrior(scale=1.0))
        new = rng.normal(size=50)
        misses.append(np.mean(null.pvalue(new) <= 0.05))
    assert np.mean(misses) <= 0.06  # valid at 5 % (finite-sample correction)


def test_tail_keeps_ranking_beyond_the_strongest_library_value():
    null = TailNull(np.random.default_rng(1).normal(size=80), TailPrior(scale=1.0))
    p = null.pvalue(np.array([4.0, 8.0, 16.0]))
    assert p[0] > p[1] > p[2] > 0
    assert p[0] < 1 / 81


def test_sparse_component_rate_is_shrunk_towards_the_prior():
    values = np.full(80, -np.inf)
    null = TailNull(values, TailPrior(scale=1.0, floor=0.0, rate=0.01, rate_weight=20))
    assert null.rate == pytest.approx(0.2 / 100)
    assert null.pvalue(np.array([-np.inf]))[0] == 1.0


def _library(n=100, seed=0):
    rng = np.random.default_rng(seed)
    learned = np.exp(rng.normal(size=n) * 0.3)
    hashes = [f"{i:032x}" for i in range(n)]
    return LibraryEvidence.from_files(hashes, learned, [[] for _ in range(n)]), rng


def test_budget_holds_on_new_normal_files_and_a_strong_click_flags():
    library, rng = _library(400)
    judge = Judge(library, FlagPolicy(budget=0.05))
    new = np.exp(rng.normal(size=2000) * 0.3)
    verdicts = judge.judge([None] * new.size, new, [[]] * new.size)
    share = np.mean([v.flagged for v in verdicts])
    assert share <= 0.06
    click = Finding("click", 0.95, 1.23, 1.23)
    v = judge.judge_one(None, 1.0, [click])
    assert v.flagged and v.reasons == (click,)
    assert "click at 1.230 s, stronger than every one of your 400 loops" in v.words
    assert v.evidence > judge.threshold


def test_members_are_judged_without_themselves_and_floor_defects_flag():
    library, _ = _library(100)
    judge = Judge(library)
    top = int(np.argmax(library.learned_member))
    v = judge.judge_one(library.hashes[top], 1.0, [])
    assert v.learned_p >= 1 / 100  # leave-one-out, not graded by itself
    clip = Finding("clipping", 0.9, 0.1, 0.2, value=200, tag="at full scale")
    assert judge.judge_one(None, 1.0, [clip]).floor


def test_crossfit_scores_out_of_fold_and_round_trips_through_the_model_file(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 8)).astype(np.float32)
    det = cross_fitted("pca", folds=3, seed=0).fit(X)
    assert det.oof_scores_.shape == (60,) and np.all(np.isfinite(det.oof_scores_))
    library = LibraryEvidence.from_files([f"{i:032x}" for i in range(60)], det.oof_scores_,
                                         [[] for _ in range(60)])
    path = tmp_path / "m.anomalizer"
    save_model(det, path, "enc", library=library)
    loaded, info = load_model(path)
    np.testing.assert_allclose(loaded.score(X[:5]), det.score(X[:5]))
    back = read_library(path, read_model_info(path).extra)
    assert back.hashes == library.hashes
    np.testing.assert_allclose(back.learned_member, library.learned_member)


def test_batch_verdicts_equal_the_row_by_row_ones():
    """The fast paths of Judge.judge (no reasons, the learned score alone) say what _one says."""
    library, rng = _library(300, seed=3)
    judge = Judge(library, FlagPolicy(budget=0.1))
    n = 400
    hashes = [library.hashes[i // 3] if i % 3 == 0 else None for i in range(n)]
    learned = list(np.exp(rng.normal(size=n) * 0.45))
    learned[5] = None
    findings = [[Finding("click", 0.9, 1.0, 1.0)] if i % 17 == 0 else [] for i in range(n)]
    fine = [i % 50 == 1 for i in range(n)]
    batch = judge.judge(hashes, learned, findings, fine)
    assert sum(bool(v.words) for v in batch) > 40  # the learned-only path was taken
    for r in range(n):
        one = judge.judge([hashes[r]], [learned[r]], [findings[r]], [fine[r]])[0]
        assert batch[r] == one, r
    # and the learned-only path equals the full explanation of the same row, flagged or not
    for a_row in (next(r for r in range(n) if batch[r].words and not findings[r]
                       and batch[r].flagged == flag) for flag in (True, False)):
        member = library.member(hashes[a_row])
        checks = np.zeros((1, len(CHECKS)))
        a = judge.calibrated.assess(np.array([learned[a_row]]), checks, np.array([member]),
                                    [[]], np.array([fine[a_row]]))
        full = judge._one(0, a, learned[a_row], checks[0], member, [],  # noqa: SLF001
                          fine[a_row], library.common_kinds())
        assert full == batch[a_row]
