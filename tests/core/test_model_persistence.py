"""The *.anomalizer model file: round trips, metadata, and clear errors."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest

from anomalizer_desktop.core.detect import make_detector
from anomalizer_desktop.core.detect.persistence import (
    FORMAT_VERSION,
    checksum,
    load_model,
    read_model_info,
    save_model,
)
from anomalizer_desktop.core.errors import EncoderMismatchError, ModelFileError

FAST = dict(hidden_dims=(32, 16, 8), max_epochs=8, patience=3, small_epochs=5)
ENCODER = "clap-fused:test"


def data(n: int = 120, dim: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, dim)) @ rng.normal(size=(dim, dim))).astype(np.float32)


def fitted(name: str, n: int = 120):
    params = FAST if name.lower() in ("ae", "aewres") else {}
    return make_detector(name, seed=0, **params).fit(data(n))


@pytest.mark.parametrize("name", ["AEwRES", "AE", "iforest", "pca"])
def test_round_trip_gives_identical_scores(name, tmp_path):
    det = fitted(name)
    probe = np.concatenate([data(30, seed=1), data(5, seed=2) * 3])
    path = tmp_path / "lib.anomalizer"
    info = save_model(det, path, ENCODER, extra={"files": 120, "root": "/music"})
    loaded, info2 = load_model(path, expected_encoder_id=ENCODER)
    assert info == info2
    assert type(loaded) is type(det) and loaded.name == det.name == info.detector
    np.testing.assert_array_equal(loaded.score(probe), det.score(probe))
    np.testing.assert_array_equal(loaded.latent(probe), det.latent(probe))
    np.testing.assert_array_equal(loaded.train_scores_, det.train_scores_)
    assert loaded.threshold_ == det.threshold_ == info.threshold
    assert loaded.threshold_at(90) == det.threshold_at(90)
    assert info.dim == 12 and info.encoder_id == ENCODER
    assert info.extra == {"files": 120, "root": "/music"}
    assert info.n_train == det.fit_info_["n_train"]
    assert {"anomalizer", "torch", "sklearn", "numpy"} <= set(info.versions)
    assert not list(tmp_path.glob("*.tmp"))  # atomic write leaves no temporary file


def test_tiny_deep_model_round_trip(tmp_path):
    det = fitted("aewres", n=12)
    path = save_model(det, tmp_path / "tiny.anomalizer", ENCODER).path
    loaded, _ = load_model(path)
    assert loaded.warnings_ == det.warnings_ and loaded.warnings_
    assert len(loaded.val_scores_) == 0
    np.testing.assert_array_equal(loaded.score(data(12)), det.score(data(12)))


def test_file_is_plain_safetensors_with_metadata(tmp_path):
    path = save_model(fitted("pca"), tmp_path / "m.anomalizer", ENCODER).path
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + header_len])
    meta = header["__metadata__"]
    assert meta["format"] == "anomalizer-model" and meta["format_version"] == str(FORMAT_VERSION)
    assert json.loads(meta["params"])["detector"] == "pca"
    assert {"scaler.mean", "scaler.scale", "train_scores", "pca.components"} <= set(header)
    assert read_model_info(path).detector == "pca"


def test_deep_model_file_holds_encoder_weights_and_centre(tmp_path):
    path = save_model(fitted("ae"), tmp_path / "m.anomalizer", ENCODER).path
    (n,) = struct.unpack("<Q", path.read_bytes()[:8])
    keys = set(json.loads(path.read_bytes()[8:8 + n])) - {"__metadata__"}
    assert "c" in keys and any(k.startswith("net.") for k in keys)
    assert not any(k.startswith("net.decoder") for k in keys)  # only the encoder scores


def test_encoder_mismatch_names_both_encoders(tmp_path):
    path = save_model(fitted("iforest"), tmp_path / "m.anomalizer", ENCODER).path
    with pytest.raises(EncoderMismatchError) as err:
        load_model(path, expected_encoder_id="spectral:v1")
    msg = str(err.value)
    assert ENCODER in msg and "spectral:v1" in msg and "retrain" in msg


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "nope.anomalizer")
    junk = tmp_path / "junk.anomalizer"
    junk.write_bytes(b"\x80\x04\x95 this is a pickle, not a model" * 4)
    with pytest.raises(ModelFileError, match="not an Anomalizer model"):
        load_model(junk)
    from safetensors.numpy import save_file

    other = tmp_path / "other.safetensors"
    save_file({"w": np.zeros(3, dtype=np.float32)}, str(other), metadata={"format": "pt"})
    with pytest.raises(ModelFileError, match="not an Anomalizer model"):
        load_model(other)


def test_newer_format_version_is_refused(tmp_path):
    from safetensors.numpy import load_file, save_file
    from safetensors import safe_open

    path = save_model(fitted("pca"), tmp_path / "m.anomalizer", ENCODER).path
    with safe_open(str(path), framework="np") as f:
        meta = dict(f.metadata())
    meta["format_version"] = str(FORMAT_VERSION + 1)
    save_file(load_file(str(path)), str(path), metadata=meta)
    with pytest.raises(ModelFileError, match="newer Anomalizer"):
        load_model(path)


def test_damaged_tensors_are_a_model_file_error(tmp_path):
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    path = save_model(fitted("ae"), tmp_path / "m.anomalizer", ENCODER).path
    with safe_open(str(path), framework="np") as f:
        meta = dict(f.metadata())
    tensors = load_file(str(path))
    del tensors["c"]
    meta["checksum"] = checksum(tensors, meta)  # consistent, but not a model any more
    save_file(tensors, str(path), metadata=meta)
    with pytest.raises(ModelFileError, match="could not be rebuilt"):
        load_model(path)


def _rewrite(path, tensors=None, fix_checksum=True, **meta_changes):
    from safetensors import safe_open
    from safetensors.numpy import load_file, save_file

    with safe_open(str(path), framework="np") as f:
        meta = dict(f.metadata())
    tensors = load_file(str(path)) if tensors is None else tensors
    meta.update(meta_changes)
    if fix_checksum:
        meta["checksum"] = checksum(tensors, meta)
    save_file(tensors, str(path), metadata=meta)


@pytest.mark.parametrize("name", ["AEwRES", "pca"])
def test_flipped_bytes_are_refused_not_scored(name, tmp_path):
    path = save_model(fitted(name), tmp_path / "m.anomalizer", ENCODER).path
    data = bytearray(path.read_bytes())
    header = int.from_bytes(data[:8], "little") + 8
    rng = np.random.default_rng(3)
    for i in rng.choice(np.arange(header, len(data)), 64, replace=False):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="damaged .*checksum does not match"):
        load_model(path)


def test_changed_metadata_is_refused(tmp_path):
    path = save_model(fitted("pca"), tmp_path / "m.anomalizer", ENCODER).path
    _rewrite(path, fix_checksum=False, threshold="0.001")
    with pytest.raises(ModelFileError, match="checksum does not match"):
        load_model(path)
    _rewrite(path, fix_checksum=False, checksum="")
    with pytest.raises(ModelFileError, match="no checksum"):
        load_model(path)


def test_non_finite_weights_or_threshold_are_a_clear_error(tmp_path):
    from safetensors.numpy import load_file

    path = save_model(fitted("ae"), tmp_path / "m.anomalizer", ENCODER).path
    tensors = load_file(str(path))
    name = sorted(k for k in tensors if k.startswith("net.") and tensors[k].dtype.kind == "f")[0]
    tensors[name].flat[0] = np.nan
    _rewrite(path, tensors)
    with pytest.raises(ModelFileError, match=f"non-finite values .* in {name}"):
        load_model(path)
    path = save_model(fitted("ae"), tmp_path / "t.anomalizer", ENCODER).path
    _rewrite(path, threshold="nan")
    with pytest.raises(ModelFileError, match="threshold of nan"):
        load_model(path)


def test_saving_a_non_finite_model_is_refused(tmp_path):
    detector = fitted("pca")
    detector.threshold_ = float("nan")
    with pytest.raises(ModelFileError, match="threshold of nan"):
        save_model(detector, tmp_path / "m.anomalizer", ENCODER)
    assert not list(tmp_path.iterdir())


def test_format_1_files_without_checksum_still_load(tmp_path):
    detector = fitted("pca")
    path = save_model(detector, tmp_path / "m.anomalizer", ENCODER).path
    _rewrite(path, fix_checksum=False, format_version="1", checksum="")
    loaded, _ = load_model(path)
    X = data(10, seed=5)
    np.testing.assert_array_equal(loaded.score(X), detector.score(X))


def test_save_overwrites_atomically(tmp_path):
    path = tmp_path / "m.anomalizer"
    save_model(fitted("pca"), path, ENCODER)
    save_model(fitted("iforest"), path, ENCODER, extra={"v": 2})
    assert read_model_info(path).detector == "iforest"
    assert read_model_info(path).extra == {"v": 2}
