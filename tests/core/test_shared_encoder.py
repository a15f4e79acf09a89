"""The process's shared CLAP encoder: built once per weights and device, rebuilt when they change.

The app's jobs (library, training, watch, similar sounds) and its start-up warm-up ask for it
with ``shared=True``; the first test uses real random HTS-AT+FFM weights through the real code.
"""

from __future__ import annotations

import threading

import pytest

torch = pytest.importorskip("torch")

from anomalizer_desktop.core.embedding import encoder_for_id, make_encoder  # noqa: E402
from anomalizer_desktop.core.embedding import shared as S  # noqa: E402
from anomalizer_desktop.core.embedding import weights as W  # noqa: E402


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ANOMALIZER_HOME", str(tmp_path / "app"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path


def install_random_weights(home, seed: int):
    from safetensors.torch import save_file

    torch.manual_seed(seed)
    path = home / f"random-{seed}.safetensors"
    save_file(W.build_model("clap-fused").state_dict(), str(path))
    return W.import_checkpoint(path)


def test_the_jobs_share_one_encoder_until_the_weights_change(home):
    install_random_weights(home, seed=1)
    first = make_encoder("auto", device="cpu", shared=True)
    assert make_encoder("clap-fused", device="cpu", shared=True) is first
    assert encoder_for_id(first.id, device="cpu", shared=True) is first   # the watcher's way in
    assert make_encoder("clap-fused", device="cpu") is not first          # unshared: built afresh
    assert make_encoder("spectral", shared=True).name == "spectral"
    assert S.shared_encoders() == [first]

    install_random_weights(home, seed=2)   # the user imports other weights
    second = make_encoder("auto", device="cpu", shared=True)
    assert second is not first and second.id != first.id
    assert S.shared_encoders() == [second]   # the old model is let go
    S.forget_shared_encoders()
    assert S.shared_encoders() == []


class CountingEncoder:
    built = 0

    def __init__(self, variant, source, device="auto"):
        type(self).built += 1
        self.weights, self.name, self.id = source, variant, f"{variant}:{source.sha[:12]}:pp1"
        threading.Event().wait(0.05)   # building takes a while


def test_concurrent_callers_wait_for_one_build(monkeypatch):
    from anomalizer_desktop.core.embedding import clap

    monkeypatch.setattr(clap, "ClapEncoder", CountingEncoder)
    CountingEncoder.built = 0
    source = W.WeightsSource("clap-fused", W.weights_dir() / "clap-fused", "app-data", "a" * 64)
    got = []
    threads = [threading.Thread(target=lambda: got.append(S.shared_clap_encoder("clap-fused", source)))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert CountingEncoder.built == 1 and len(got) == 4 and all(e is got[0] for e in got)
    assert S.shared_clap_encoder("clap-fused", source, device="cpu") is not got[0]  # other device
    other = W.WeightsSource("clap-fused", source.path, "app-data", "b" * 64)
    assert S.shared_clap_encoder("clap-fused", other).id == "clap-fused:bbbbbbbbbbbb:pp1"
    assert CountingEncoder.built == 3
