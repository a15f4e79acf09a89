"""Training runs on TRAINING_THREADS torch threads and gives the encoder's count back."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from anomalizer_desktop.core.detect import make_detector  # noqa: E402
from anomalizer_desktop.core.detect.training_threads import (  # noqa: E402
    TRAINING_THREADS, training_threads)

from .test_deep_svdd import FAST, clusters  # noqa: E402


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(TRAINING_THREADS + 1)
    yield TRAINING_THREADS + 1
    torch.set_num_threads(before)


def test_cpu_training_uses_the_training_count_and_restores(two_threads):
    with training_threads(torch.device("cpu")):
        assert torch.get_num_threads() == TRAINING_THREADS
    assert torch.get_num_threads() == two_threads


def test_other_devices_and_fewer_threads_are_left_alone(two_threads):
    with training_threads(torch.device("cuda")):
        assert torch.get_num_threads() == two_threads
    with training_threads(torch.device("cpu"), count=two_threads + 3):
        assert torch.get_num_threads() == two_threads


def test_a_count_changed_meanwhile_is_kept(two_threads):
    with training_threads(torch.device("cpu")):
        torch.set_num_threads(two_threads + 1)   # e.g. Model > Encoder threads during training
    assert torch.get_num_threads() == two_threads + 1


def test_fit_iter_trains_on_the_training_count_then_restores(two_threads):
    det = make_detector("AEwRES", seed=0, **FAST)
    seen = set()
    for _ in det.fit_iter(clusters(60, 2, dim=16)):
        seen.add(torch.get_num_threads())   # the caller runs between epochs, count as trained
    assert seen == {TRAINING_THREADS}
    assert torch.get_num_threads() == two_threads


def test_an_abandoned_training_restores_the_count(two_threads):
    steps = make_detector("AEwRES", seed=0, **FAST).fit_iter(clusters(60, 2, dim=16))
    next(steps)
    assert torch.get_num_threads() == TRAINING_THREADS
    steps.close()   # what a cancelled training does
    assert torch.get_num_threads() == two_threads
