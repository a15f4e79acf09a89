"""The CLAP encoder: mel front end parity with transformers' ClapFeatureExtractor, deterministic
fusion views, and embeddings that are a pure function of each clip (random weights, real code)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from anomalizer_desktop.core.embedding import clap_features as cf  # noqa: E402
from anomalizer_desktop.core.embedding import weights as W  # noqa: E402
from anomalizer_desktop.core.embedding.clap import ClapEncoder, configure_torch_env, pick_device  # noqa: E402

SR = 48_000


def randomized(model, seed: int):
    """Perturb every float tensor so loaded BatchNorm stats / bias tables actually matter."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in model.state_dict().items():
            if not tensor.is_floating_point():
                continue
            noise = torch.randn(tensor.shape, generator=gen)
            if name.endswith("running_var"):
                tensor.copy_(0.5 + torch.rand(tensor.shape, generator=gen) * 2)
            elif name.endswith("running_mean") and "audio_encoder.batch_norm" in name:
                tensor.copy_(-40 + 5 * noise)
            else:
                tensor.add_(0.02 * noise)
    return model.eval()


def music_like(seconds: float, seed: int = 0, freq: float = 110.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    env = np.exp(-(t % 0.5) * 6.0)
    wave = sum(np.sin(2 * np.pi * freq * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 6))
    return (0.3 * env * wave + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


@pytest.fixture(scope="module")
def extractor():
    from transformers import ClapFeatureExtractor

    return ClapFeatureExtractor(frequency_min=50, frequency_max=14_000)


def quantised(clip: np.ndarray) -> np.ndarray:
    """Upstream's float32 -> int16 -> float32 round trip, in numpy."""
    return ((np.clip(clip, -1.0, 1.0) * 32767.0).astype(np.int16) / 32767.0).astype(np.float32)


def assert_mel_close(ours: np.ndarray, ref: np.ndarray) -> None:
    """Within 1e-4 dB wherever the band is within 40 dB of the loudest; float32-level elsewhere."""
    assert ours.shape == ref.shape
    loud = ref > ref.max() - 40
    assert loud.mean() > 0.05
    assert np.abs(ours - ref)[loud].max() < 1e-4
    power_error = np.abs(10 ** (ours / 10) - 10 ** (ref / 10)).max() / 10 ** (ref.max() / 10)
    assert power_error < 1e-5


@pytest.mark.parametrize("settings", [cf.FUSED_MEL, cf.UNFUSED_MEL], ids=["fused-htk", "unfused-slaney"])
def test_logmel_matches_clap_feature_extractor(extractor, settings):
    filters = extractor.mel_filters if settings is cf.FUSED_MEL else extractor.mel_filters_slaney
    assert np.allclose(cf.mel_filters(settings), filters)
    logmel = cf.LogMel(settings)
    clips = [music_like(10.0, seed=1), np.random.default_rng(2).normal(0, 0.1, 480_000).astype(np.float32)]
    ours = logmel(torch.from_numpy(np.stack(clips))).numpy()  # one batched call
    for row, clip in enumerate(clips):
        assert_mel_close(ours[row], extractor._np_extract_fbank_features(clip.astype(np.float64), filters))


def test_short_clip_features_match_the_extractor(extractor):
    clip = music_like(1.3, seed=3)
    ref, longer = extractor._get_input_mel(quantised(clip).astype(np.float64), 480_000, "fusion", "repeatpad")
    features, is_longer = cf.fused_features([clip], cf.LogMel(cf.FUSED_MEL))
    assert features.shape == (1, 4, 1001, 64) and not longer and not bool(is_longer[0, 0])
    for channel in range(4):
        assert_mel_close(features[0, channel].numpy(), ref[channel])
    ref, _ = extractor._get_input_mel(quantised(clip).astype(np.float64), 480_000, "rand_trunc", "repeatpad")
    windows, owner = cf.unfused_features([clip], cf.LogMel(cf.UNFUSED_MEL))
    assert windows.shape == (1, 1, 1001, 64) and owner.tolist() == [0]
    assert_mel_close(windows[0, 0].numpy(), ref[0])


def test_long_clip_views_are_fixed_front_centre_back(extractor):
    clip = music_like(25.0, seed=4)
    mel = extractor._np_extract_fbank_features(quantised(clip).astype(np.float64), extractor.mel_filters)
    total = mel.shape[0]
    assert total == 1 + clip.size // 480
    features, is_longer = cf.fused_features([clip], cf.LogMel(cf.FUSED_MEL))
    assert bool(is_longer[0, 0])
    middle = (total - 1001) // 2
    for channel, start in ((1, 0), (2, middle), (3, total - 1001)):
        assert_mel_close(features[0, channel].numpy(), mel[start : start + 1001])
    squeezed = torch.nn.functional.interpolate(
        torch.tensor(mel)[None, None], size=(1001, 64), mode="bilinear", align_corners=False)[0, 0].numpy()
    assert np.abs(features[0, 0].numpy() - squeezed).max() < 1e-3
    again, _ = cf.fused_features([clip], cf.LogMel(cf.FUSED_MEL))
    assert torch.equal(features, again)

    # Just over 10 s but not a full hop more: one 1001-frame mel, used as is (upstream's corner case).
    edge = music_like(10.0, seed=5)
    edge = np.concatenate([edge, edge[:100]])
    features, is_longer = cf.fused_features([edge], cf.LogMel(cf.FUSED_MEL))
    assert not bool(is_longer[0, 0]) and torch.equal(features[0, 0], features[0, 3])


def test_small_helpers_match_upstream_numpy():
    rng = np.random.default_rng(0)
    clip = np.concatenate([rng.uniform(-1.3, 1.3, 5000), [1.0, -1.0, 0.0, 0.49999]]).astype(np.float32)
    assert np.array_equal(cf.int16_roundtrip(torch.from_numpy(clip)).numpy(), quantised(clip))
    assert torch.isfinite(cf.int16_roundtrip(torch.tensor([np.nan, np.inf, -np.inf]))).all()
    short = rng.standard_normal(70_001).astype(np.float32)
    tiled = np.tile(short, 480_000 // short.size)
    expected = np.pad(tiled, (0, 480_000 - tiled.size))
    assert np.array_equal(cf.repeat_pad(torch.from_numpy(short)).numpy(), expected)
    assert cf.window_starts(480_000) == [0]
    assert cf.window_starts(25 * SR) == [0, 360_000, 720_000]
    assert cf.window_starts(100 * SR) == [0, 864_000, 1_728_000, 2_592_000, 3_456_000, 4_320_000]
    assert cf.window_starts(480_001) == [0, 1]
    with pytest.raises(ValueError, match="empty"):
        cf.fused_features([np.zeros(0, np.float32)], cf.LogMel(cf.FUSED_MEL))
    with pytest.raises(ValueError, match="mono"):
        cf.fused_features([np.zeros((2, 100), np.float32)], cf.LogMel(cf.FUSED_MEL))


@pytest.fixture(scope="module")
def fused_setup(tmp_path_factory):
    """A random fused model saved as a real checkpoint, and an encoder loaded from it."""
    from safetensors.torch import save_file

    home = tmp_path_factory.mktemp("clap-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ANOMALIZER_HOME", str(home / "app"))
        model = randomized(W.build_model("clap-fused"), seed=11)
        save_file(model.state_dict(), str(home / "fused.safetensors"))
        source = W.import_checkpoint(home / "fused.safetensors")
        encoder = ClapEncoder("clap-fused", source, device="cpu", num_threads=2)
    return model, source, encoder


CLIPS = {"0.3s": music_like(0.3, 1, 220.0), "4s": music_like(4.0, 2, 82.0), "25s": music_like(25.0, 3, 55.0),
         "1-sample": np.array([0.25], np.float32)}  # fmt: skip


@pytest.mark.slow
def test_embedding_is_a_pure_function_of_the_clip(fused_setup):
    _, source, encoder = fused_setup
    assert encoder.dim == 768 and encoder.name == "clap-fused"
    assert encoder.id == f"clap-fused:{source.sha[:12]}:pp1"
    clips = list(CLIPS.values())
    batch = encoder.encode(clips)
    assert batch.shape == (4, 768) and batch.dtype == np.float32 and np.isfinite(batch).all()
    assert np.array_equal(encoder.encode(clips), batch)  # same audio -> same embedding, every time
    singles = np.concatenate([encoder.encode([clip]) for clip in clips])
    np.testing.assert_allclose(batch, singles, atol=1e-5, rtol=0)  # independent of the batch mates
    reordered = encoder.encode(clips[::-1])[::-1]
    np.testing.assert_allclose(reordered, batch, atol=1e-5, rtol=0)
    only_short = encoder.encode([CLIPS["0.3s"], CLIPS["4s"]])  # no clip is "longer": nothing random
    np.testing.assert_allclose(only_short, batch[:2], atol=1e-5, rtol=0)
    assert np.abs(batch[:, None] - batch[None]).sum(-1)[~np.eye(4, dtype=bool)].min() > 1e-3
    assert "laion_clap" not in sys.modules


@pytest.mark.slow
def test_fusion_block_sees_the_local_chunks(fused_setup):
    model, _, encoder = fused_setup
    features, is_longer = encoder.features([CLIPS["25s"]])
    fused = encoder.forward(features, is_longer)
    global_only = encoder.forward(features, torch.zeros_like(is_longer))
    assert (fused - global_only).abs().max() > 1e-3
    with torch.inference_mode():
        expected = model.audio_model(input_features=features, is_longer=is_longer).pooler_output
    assert torch.equal(fused, expected)  # the embedding is the pooled output before the projection
    assert expected.shape == (1, 768) and model.audio_projection.linear1.in_features == 768


@pytest.mark.slow
def test_encode_chunks_any_number_of_clips(fused_setup):
    _, _, encoder = fused_setup
    clips = [music_like(0.5 + 0.3 * i, seed=i) for i in range(5)]
    full = encoder.encode(clips)
    old = encoder.batch_size
    encoder.batch_size = 2
    try:
        chunked = encoder.encode(clips)
    finally:
        encoder.batch_size = old
    np.testing.assert_allclose(chunked, full, atol=1e-5, rtol=0)
    assert encoder.encode([]).shape == (0, 768)


def test_front_end_differences_barely_move_the_embedding(fused_setup, extractor):
    """Our torch features vs transformers' numpy features, through the same model."""
    model, _, encoder = fused_setup
    clip = CLIPS["4s"]
    ours, is_longer = encoder.features([clip])
    ref = extractor(quantised(clip), sampling_rate=SR, return_tensors="pt")["input_features"].float()
    with torch.inference_mode():
        a = model.audio_model(input_features=ours, is_longer=is_longer).pooler_output
        b = model.audio_model(input_features=ref, is_longer=is_longer).pooler_output
    assert ((a - b).norm() / b.norm()).item() < 1e-4


def test_encoder_id_follows_weights_and_device_is_chosen(fused_setup, tmp_path, monkeypatch):
    _, source, encoder = fused_setup
    other = W.WeightsSource("clap-fused", source.path, "app-data", "f" * 64)
    monkeypatch.setenv("ANOMALIZER_HOME", str(tmp_path))
    assert ClapEncoder("clap-fused", other, device="cpu", num_threads=2).id == "clap-fused:ffffffffffff:pp1"
    assert "from file" in encoder.description and "HTS-AT-tiny" in encoder.description
    assert pick_device("auto").type == "cpu"  # no GPU here
    with pytest.raises(Exception, match="clap-fused weights, not clap-music"):
        ClapEncoder("clap-music", source, device="cpu")
    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    configure_torch_env()
    import os

    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE"


@pytest.mark.slow
def test_music_encoder_averages_fixed_windows(tmp_path, monkeypatch):
    from safetensors.torch import save_file

    monkeypatch.setenv("ANOMALIZER_HOME", str(tmp_path / "app"))
    model = randomized(W.build_model("clap-music"), seed=12)
    save_file(model.state_dict(), str(tmp_path / "music.safetensors"))
    encoder = ClapEncoder("clap-music", W.import_checkpoint(tmp_path / "music.safetensors"), device="cpu")
    short, long = CLIPS["0.3s"], CLIPS["25s"]
    out = encoder.encode([short, long])
    assert out.shape == (2, 1024) and out.dtype == np.float32
    windows = [long[s : s + 480_000] for s in cf.window_starts(long.size)]
    assert len(windows) == 3
    per_window = encoder.encode(windows)  # each exactly 10 s: one window each
    np.testing.assert_allclose(out[1], per_window.mean(0), atol=1e-5, rtol=0)
    np.testing.assert_allclose(out[0], encoder.encode([short])[0], atol=1e-5, rtol=0)


def test_default_threads_use_every_core_unless_told(monkeypatch):
    import os

    from anomalizer_desktop.cli.main import build_parser
    from anomalizer_desktop.core.config import THREADS_ENV
    from anomalizer_desktop.core.embedding.clap import default_num_threads

    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert default_num_threads() == (os.cpu_count() or 1)
    monkeypatch.setenv(THREADS_ENV, "3")
    assert default_num_threads() == 3
    monkeypatch.setenv(THREADS_ENV, "lots")
    assert default_num_threads() == (os.cpu_count() or 1)
    assert build_parser().parse_args(["--threads", "2", "demo", "x"]).threads == 2
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--threads", "0", "demo", "x"])
