"""Weights resolution and loading: HF folders, LAION .pt files, the hub cache, slim copies, errors.

Everything runs offline with randomly initialised HTS-AT models saved and loaded through the real
code paths; "identical" means bit-identical pooled outputs on the same inputs.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from anomalizer_desktop.core.embedding import clap_features, laion_convert  # noqa: E402
from anomalizer_desktop.core.embedding import weights as W  # noqa: E402
from anomalizer_desktop.core.errors import WeightsFormatError, WeightsUnavailableError  # noqa: E402

REPO = "laion/clap-htsat-fused"


def randomized(model, seed: int):
    """Perturb every float tensor (incl. BatchNorm stats and position-bias tables) so that a
    loader which skips or swaps any of them changes the output."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            noise = torch.randn(tensor.shape, generator=gen)
            if name.endswith("running_var"):
                tensor.copy_(0.5 + torch.rand(tensor.shape, generator=gen) * 2)
            elif name.endswith("running_mean") and "audio_encoder.batch_norm" in name:
                tensor.copy_(-40 + 5 * noise)  # the mel input is in dB
            else:
                tensor.add_(0.02 * noise)
    return model.eval()


@pytest.fixture(scope="module")
def fused_model():
    return randomized(W.build_model("clap-fused"), seed=1)


@pytest.fixture(scope="module")
def probe():
    """Fused-model inputs for a short and a long clip (the long one exercises the fusion block)."""
    rng = np.random.default_rng(5)
    clips = [0.2 * rng.standard_normal(30_000).astype(np.float32),
             0.2 * rng.standard_normal(700_000).astype(np.float32)]  # fmt: skip
    features, is_longer = clap_features.fused_features(clips, clap_features.LogMel(clap_features.FUSED_MEL))
    assert is_longer.ravel().tolist() == [False, True]
    return features, is_longer


def pooled(model, probe):
    with torch.inference_mode():
        return model.audio_model(input_features=probe[0], is_longer=probe[1]).pooler_output


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("ANOMALIZER_HOME", str(tmp_path / "app"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return tmp_path


def no_network(monkeypatch):
    import huggingface_hub

    def refuse(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", refuse)


def save_hf_clap_dir(model, folder: Path) -> Path:
    """A full ClapModel folder (tiny text tower) carrying ``model``'s audio weights, as on the hub."""
    from transformers import ClapConfig, ClapModel

    text = dict(vocab_size=99, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                intermediate_size=37, max_position_embeddings=40)  # fmt: skip
    clap = ClapModel(ClapConfig(text_config=text, audio_config=W.VARIANTS["clap-fused"].audio_config))
    missing = clap.load_state_dict(model.state_dict(), strict=False).missing_keys
    assert missing and all(not k.startswith(("audio_model.", "audio_projection.")) for k in missing)
    clap.save_pretrained(folder)
    return folder


def laion_checkpoint(model, path: Path, drop: tuple[str, ...] = (), extra: dict | None = None) -> Path:
    state = laion_convert.to_laion_state_dict(model.state_dict())
    state = {k: v for k, v in state.items() if not k.endswith(drop)}
    state.update({  # LAION-only parts that must be ignored
        "audio_branch.spectrogram_extractor.stft.conv_real.weight": torch.zeros(513, 1, 1024),
        "audio_branch.logmel_extractor.melW": torch.zeros(513, 64),
        "audio_branch.layers.0.blocks.1.attn_mask": torch.zeros(64, 64, 64),
        "audio_branch.head.weight": torch.zeros(527, 768),
        "audio_branch.tscam_conv.weight": torch.zeros(527, 768, 2, 3),
        "text_branch.embeddings.word_embeddings.weight": torch.zeros(10, 4),
        "text_projection.0.weight": torch.zeros(4, 4),
        "audio_transform.sequential.0.weight": torch.zeros(4, 4),
        "logit_scale_a": torch.zeros(()),
    })  # fmt: skip
    state.update(extra or {})
    torch.save({"epoch": 45, "state_dict": {"module." + k: v for k, v in state.items()}}, path)
    return path


def test_full_hf_clapmodel_folder_loads_identically(home, fused_model, probe, monkeypatch):
    no_network(monkeypatch)
    folder = save_hf_clap_dir(fused_model, home / "clap-htsat-fused")
    source = W.resolve_weights("clap-fused", explicit=folder)
    assert source.origin == "file" and source.variant == "clap-fused"
    slim = W.weights_dir() / "clap-fused"
    assert source.path == slim and {p.name for p in slim.iterdir()} == {
        "model.safetensors", "config.json", "anomalizer_weights.json"}
    from safetensors import safe_open

    with safe_open(str(slim / "model.safetensors"), framework="pt") as handle:
        keys = list(handle.keys())
    assert keys and all(k.startswith(("audio_model.", "audio_projection.")) for k in keys)  # text tower gone
    loaded = W.load_model(source, "cpu")
    assert torch.equal(pooled(loaded, probe), pooled(fused_model, probe))
    assert torch.equal(loaded.audio_projection.linear2.weight, fused_model.audio_projection.linear2.weight)
    assert json.loads((slim / "config.json").read_text())["enable_fusion"] is True


@pytest.mark.slow
def test_pytorch_model_bin_and_audio_only_files(home, fused_model, probe):
    folder = home / "bin-dir"
    folder.mkdir()
    state = dict(fused_model.state_dict())
    state["text_model.embeddings.word_embeddings.weight"] = torch.zeros(3, 3)
    torch.save(state, folder / "pytorch_model.bin")
    a = W.import_checkpoint(folder)
    assert torch.equal(pooled(W.load_model(a), probe), pooled(fused_model, probe))

    from safetensors.torch import save_file

    audio_only = {k[len("audio_model."):]: v for k, v in fused_model.state_dict().items()
                  if k.startswith("audio_model.")}  # ClapAudioModel layout: audio_encoder.*
    audio_only.update({k: v for k, v in fused_model.state_dict().items() if k.startswith("audio_projection.")})
    save_file(audio_only, str(home / "audio.safetensors"))
    b = W.import_checkpoint(home / "audio.safetensors", "clap-fused")
    assert b.sha == a.sha  # the sha hashes tensors, not files
    assert torch.equal(pooled(W.load_model(b), probe), pooled(fused_model, probe))


@pytest.mark.slow
def test_laion_pt_converts_to_identical_model(home, fused_model, probe, monkeypatch):
    no_network(monkeypatch)
    pt = laion_checkpoint(fused_model, home / "630k-audioset-fusion-best.pt")
    source = W.import_checkpoint(pt)  # variant detected from shapes
    assert source.variant == "clap-fused"
    assert torch.equal(pooled(W.load_model(source), probe), pooled(fused_model, probe))
    meta = json.loads((source.path / "anomalizer_weights.json").read_text())
    assert meta["layout"] == "laion" and meta["sha"] == source.sha

    # Checkpoints without the recomputable buffers load too, and hash the same.
    bare = laion_checkpoint(fused_model, home / "bare.pt", drop=("relative_position_index", "num_batches_tracked"))
    again = W.import_checkpoint(bare, "clap-fused")
    assert again.sha == source.sha
    assert torch.equal(pooled(W.load_model(again), probe), pooled(fused_model, probe))

    hf = W.import_checkpoint(save_hf_clap_dir(fused_model, home / "hf-dir"))
    assert hf.sha == source.sha  # same tensors from a LAION file or an HF folder -> same encoder id


def test_load_model_reads_a_checkpoint_directly(home, fused_model, probe):
    pt = laion_checkpoint(fused_model, home / "direct.pt")
    source = W.WeightsSource("clap-fused", pt, "file", "0" * 64)
    assert torch.equal(pooled(W.load_model(source), probe), pooled(fused_model, probe))


def test_mismatched_checkpoints_fail_with_named_keys(home, fused_model):
    base = laion_convert.to_laion_state_dict(fused_model.state_dict())
    missing = {k: v for k, v in base.items() if ".layers.3." not in k}
    torch.save({"state_dict": missing}, home / "missing.pt")
    with pytest.raises(WeightsFormatError) as info:
        W.import_checkpoint(home / "missing.pt")
    text = str(info.value)
    assert "missing keys" in text and "audio_model.audio_encoder.layers.3.blocks.0" in text and "more)" in text

    shaped = dict(base)
    shaped["audio_branch.norm.weight"] = torch.zeros(100)
    shaped["audio_branch.layers.0.blocks.0.attn.weird_extra"] = torch.zeros(2)
    torch.save({"state_dict": shaped}, home / "shape.pt")
    with pytest.raises(WeightsFormatError) as info:
        W.import_checkpoint(home / "shape.pt")
    text = str(info.value)
    assert "audio_model.audio_encoder.norm.weight: file (100,) vs model (768,)" in text
    assert "unexpected keys: audio_branch.layers.0.blocks.0.attn.weird_extra" in text

    with pytest.raises(WeightsFormatError, match="holds clap-fused weights, not clap-music"):
        W.import_checkpoint(laion_checkpoint(fused_model, home / "f.pt"), "clap-music")
    torch.save({"foo": torch.zeros(3)}, home / "other.pt")
    with pytest.raises(WeightsFormatError, match="no CLAP audio-tower"):
        W.import_checkpoint(home / "other.pt")
    (home / "garbage.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(WeightsFormatError, match="cannot read weights"):
        W.import_checkpoint(home / "garbage.pt")
    torch.save({"state_dict": base, "args": argparse.Namespace(lr=1)}, home / "pickled.pt")
    with pytest.raises(WeightsFormatError, match="weights_only"):
        W.import_checkpoint(home / "pickled.pt")
    assert not (W.weights_dir() / "clap-fused" / "anomalizer_weights.json").exists()


def fake_hub_cache(home: Path, model) -> Path:
    from safetensors.torch import save_file

    repo = home / "hf" / "hub" / ("models--" + REPO.replace("/", "--"))
    rev = "0123456789abcdef0123456789abcdef01234567"
    snap = repo / "snapshots" / rev
    snap.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(rev)
    (snap / "config.json").write_text("{}")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(snap / "model.safetensors"))
    return snap / "model.safetensors"


def test_hub_cache_is_used_then_the_slim_copy(home, fused_model, probe, monkeypatch):
    no_network(monkeypatch)
    cached = fake_hub_cache(home, fused_model)
    status = {row["variant"]: row for row in W.weights_status()}
    assert status["clap-fused"]["origin"] == "hub-cache" and status["clap-fused"]["path"] == str(cached)
    assert status["clap-music"]["present"] is False
    first = W.resolve_weights("clap-fused")
    assert first.origin == "hub-cache" and first.path == W.weights_dir() / "clap-fused"
    assert torch.equal(pooled(W.load_model(first), probe), pooled(fused_model, probe))
    cached.unlink()  # the slim copy is enough from now on
    second = W.resolve_weights("clap-fused")
    assert second.origin == "app-data" and second.sha == first.sha
    status = {row["variant"]: row for row in W.weights_status()}["clap-fused"]
    assert status["present"] and status["sha"] == first.sha and status["size_bytes"] > 100_000_000


def test_no_weights_is_a_clear_error_and_never_downloads(home, monkeypatch):
    no_network(monkeypatch)
    with pytest.raises(WeightsUnavailableError) as info:
        W.resolve_weights("clap-fused")
    text = str(info.value)
    assert "anomalizer weights download" in text and "anomalizer weights import" in text and "spectral" in text
    with pytest.raises(WeightsUnavailableError, match="offline"):  # allowed, but HF_HUB_OFFLINE=1
        W.resolve_weights("clap-fused", allow_download=True)
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        W.resolve_weights("clap-fused", explicit=home / "nope.pt")
    assert [row["present"] for row in W.weights_status()] == [False, False]


def test_download_goes_through_the_hub_client_with_progress(home, fused_model, probe, monkeypatch):
    import huggingface_hub
    from safetensors.torch import save_file

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    calls = []

    def fake_download(repo_id, filename, *, cache_dir=None, tqdm_class=None, **kwargs):
        calls.append((repo_id, filename, cache_dir))
        target = Path(cache_dir) / "models--laion--clap-htsat-fused" / "snapshots" / "abc" / filename
        target.parent.mkdir(parents=True, exist_ok=True)
        if filename == "config.json":
            target.write_text("{}")
        else:
            save_file({k: v.contiguous() for k, v in fused_model.state_dict().items()}, str(target))
            size = target.stat().st_size
            bar = tqdm_class(total=size, initial=0, unit="B", unit_scale=True, desc=filename)
            bar.update(size // 2)
            bar.update(size - size // 2)
            bar.close()
        return str(target)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", fake_download)
    seen: list[tuple[int, int]] = []
    source = W.resolve_weights("clap-fused", allow_download=True, progress=lambda d, t: seen.append((d, t)))
    assert source.origin == "download"
    assert [c[:2] for c in calls] == [(REPO, "config.json"), (REPO, "model.safetensors")]
    assert calls[0][2] == str(home / "hf" / "hub")
    assert len(seen) == 2 and seen[-1][0] == seen[-1][1] > 0
    assert torch.equal(pooled(W.load_model(source), probe), pooled(fused_model, probe))

    def broken(*args, **kwargs):
        raise ConnectionError("hub unreachable")

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", broken)
    with pytest.raises(WeightsUnavailableError, match="could not download laion/larger_clap_music"):
        W.download_weights("clap-music")


def test_reimporting_an_unchanged_file_reads_nothing(home, fused_model, monkeypatch):
    pt = laion_checkpoint(fused_model, home / "user.pt")
    first = W.resolve_weights("clap-fused", explicit=pt)

    def boom(path):
        raise AssertionError("re-read")

    monkeypatch.setattr(laion_convert, "read_checkpoint", boom)
    again = W.resolve_weights("clap-fused", explicit=pt)
    assert again.sha == first.sha and again.origin == "file"
    os.utime(pt, ns=(1, 1))  # a changed file is converted again
    with pytest.raises(AssertionError, match="re-read"):
        W.resolve_weights("clap-fused", explicit=pt)
    # The slim folder itself can be given explicitly.
    assert W.resolve_weights("clap-fused", explicit=first.path).sha == first.sha


def test_truncated_slim_copy_is_not_trusted(home, fused_model, monkeypatch):
    no_network(monkeypatch)
    source = W.import_checkpoint(laion_checkpoint(fused_model, home / "x.pt"))
    weights_file = source.path / "model.safetensors"
    weights_file.write_bytes(weights_file.read_bytes()[:1000])
    with pytest.raises(WeightsUnavailableError):
        W.resolve_weights("clap-fused")


def test_key_mapping_round_trip_is_exact(fused_model):
    state = fused_model.state_dict()
    laion = laion_convert.to_laion_state_dict(state)
    assert "audio_branch.layers.2.blocks.5.attn.qkv.weight" in laion
    assert "audio_branch.bn0.running_var" in laion and "audio_projection.2.bias" in laion
    back, unknown = laion_convert.laion_to_hf(laion)
    assert unknown == [] and set(back) == set(state)
    assert all(torch.equal(back[k], state[k]) for k in state)


@pytest.mark.slow
def test_music_checkpoint_round_trip(home):
    music = randomized(W.build_model("clap-music"), seed=3)
    assert music.audio_model.audio_encoder.num_features == 1024
    assert not music.config.enable_fusion
    pt = laion_checkpoint(music, home / "music_audioset_epoch_15_esc_90.14.pt")
    source = W.import_checkpoint(pt)
    assert source.variant == "clap-music"
    loaded = W.load_model(source).state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in music.state_dict().items())
    with pytest.raises(WeightsFormatError, match="holds clap-music weights, not clap-fused"):
        W.resolve_weights("clap-fused", explicit=pt)
