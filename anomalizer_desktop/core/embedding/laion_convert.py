"""Key layouts of CLAP audio-tower checkpoints, and conversion to the ``transformers`` layout.

Three layouts reach us:

* ``transformers`` ``ClapModel`` / ``ClapAudioModelWithProjection`` (hub repos ``laion/clap-htsat-*``,
  ``laion/larger_clap_*``): ``audio_model.audio_encoder.*`` and ``audio_projection.linear{1,2}.*``;
  a full ``ClapModel`` also holds ``text_model.*`` etc., which we drop.
* ``transformers`` ``ClapAudioModel`` alone: ``audio_encoder.*``.
* LAION-CLAP training checkpoints (``630k-audioset-fusion-best.pt``, ``music_*.pt``): a dict with
  ``state_dict`` whose keys start with ``module.`` (DDP), then ``audio_branch.*`` (the HTS-AT
  module names of LAION's ``htsat.py``) and ``audio_projection.{0,2}.*``.

Everything is mapped to the key names of ``ClapAudioModelWithProjection.state_dict()``.
``read_checkpoint`` reads any of them from disk (safetensors, or ``torch.load`` with
``weights_only=True``: arbitrary pickled objects are never executed). Never builds a model.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Mapping

from ..errors import WeightsFormatError

HF_ENCODER = "audio_model.audio_encoder."
LAION_ENCODER = "audio_branch."

# LAION HTS-AT parts that transformers does not have (front-end filter banks, the AudioSet
# classification head and its token-semantic conv) or that it recomputes (the shifted-window
# attention mask). They are dropped silently.
_LAION_IGNORED = re.compile(
    r"^(spectrogram_extractor|logmel_extractor|tscam_conv|head|absolute_pos_embed)\b"
    r"|\.attn_mask$"
)

_BLOCK = re.compile(r"^(layers\.\d+\.blocks\.\d+\.)(.+)$")

# Inside one Swin block: LAION name -> transformers name (the fused qkv is split separately).
_BLOCK_RENAMES = {
    "norm1.": "layernorm_before.",
    "norm2.": "layernorm_after.",
    "attn.proj.": "attention.output.dense.",
    "attn.relative_position_bias_table": "attention.self.relative_position_bias_table",
    "attn.relative_position_index": "attention.self.relative_position_index",
    "mlp.fc1.": "intermediate.dense.",
    "mlp.fc2.": "output.dense.",
}

_PROJECTION = {"audio_projection.0.": "audio_projection.linear1.", "audio_projection.2.": "audio_projection.linear2."}


def detect_layout(keys: list[str]) -> str:
    """``"laion"``, ``"hf"`` (ClapModel / ...WithProjection), ``"hf-audio"`` (ClapAudioModel) or ``"unknown"``."""
    if any(k.startswith(LAION_ENCODER) for k in keys):
        return "laion"
    if any(k.startswith(HF_ENCODER) for k in keys):
        return "hf"
    if any(k.startswith("audio_encoder.") for k in keys):
        return "hf-audio"
    return "unknown"


def unwrap_checkpoint(obj: Any) -> dict[str, Any]:
    """The flat state dict inside a loaded checkpoint: unwrap ``state_dict`` and strip ``module.``."""
    if isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        obj = obj["state_dict"]
    if not isinstance(obj, Mapping):
        raise TypeError(f"expected a dict of tensors, got {type(obj).__name__}")
    out: dict[str, Any] = {}
    for key, value in obj.items():
        key = str(key)
        if key.startswith("module."):
            key = key[len("module.") :]
        out[key] = value
    return out


def _laion_encoder_key(rest: str) -> str | None:
    """transformers name for one key below ``audio_branch.`` (None = unknown)."""
    if rest.startswith("bn0."):
        return "batch_norm." + rest[len("bn0.") :]
    if rest.startswith("patch_embed.") or rest.startswith("norm."):
        return rest
    if re.match(r"^layers\.\d+\.downsample\.(reduction|norm)\.", rest):
        return rest
    match = _BLOCK.match(rest)
    if match:
        prefix, inner = match.groups()
        for old, new in _BLOCK_RENAMES.items():
            if inner.startswith(old):
                return prefix + new + inner[len(old) :]
    return None


def laion_to_hf(state: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Convert the audio part of an (unwrapped) LAION state dict.

    Returns ``(converted, unknown)``: ``unknown`` lists ``audio_branch.*`` keys with no
    transformers counterpart (reported as unexpected). Text-tower and other keys are ignored.
    """
    out: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in state.items():
        for old, new in _PROJECTION.items():
            if key.startswith(old):
                out[new + key[len(old) :]] = value
                break
        if not key.startswith(LAION_ENCODER):
            continue
        rest = key[len(LAION_ENCODER) :]
        if _LAION_IGNORED.search(rest):
            continue
        qkv = re.match(r"^(layers\.\d+\.blocks\.\d+\.)attn\.qkv\.(weight|bias)$", rest)
        if qkv:
            prefix, kind = qkv.groups()
            if value.shape[0] % 3:
                unknown.append(key)
                continue
            query, key_part, val = value.chunk(3, dim=0)  # rows: [q; k; v], as LAION's reshape splits them
            base = HF_ENCODER + prefix + "attention.self."
            out[base + f"query.{kind}"] = query.clone()
            out[base + f"key.{kind}"] = key_part.clone()
            out[base + f"value.{kind}"] = val.clone()
            continue
        mapped = _laion_encoder_key(rest)
        if mapped is None:
            unknown.append(key)
        else:
            out[HF_ENCODER + mapped] = value
    return out, unknown


def hf_audio_only(state: Mapping[str, Any]) -> dict[str, Any]:
    """Keep the audio tower and projection of a transformers-layout state dict."""
    out: dict[str, Any] = {}
    for key, value in state.items():
        if key.startswith("audio_encoder."):
            key = "audio_model." + key
        if key.startswith("audio_model.") or key.startswith("audio_projection."):
            out[key] = value
    return out


def to_hf_audio_state_dict(raw: Any) -> tuple[dict[str, Any], list[str], str]:
    """Any supported checkpoint object -> ``(audio state dict, unknown keys, layout)``."""
    state = unwrap_checkpoint(raw)
    layout = detect_layout(list(state))
    if layout == "laion":
        converted, unknown = laion_to_hf(state)
        return converted, unknown, layout
    return hf_audio_only(state), [], layout


def to_laion_state_dict(hf_state: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse mapping (transformers -> LAION names, q/k/v re-fused). Used by tests to fake LAION files."""
    import torch

    inverse_block = {new: old for old, new in _BLOCK_RENAMES.items()}
    out: dict[str, Any] = {}
    pending_qkv: dict[str, dict[str, Any]] = {}
    for key, value in hf_state.items():
        if key.startswith("audio_projection."):
            for old, new in _PROJECTION.items():
                if key.startswith(new):
                    out[old + key[len(new) :]] = value
            continue
        if not key.startswith(HF_ENCODER):
            continue
        rest = key[len(HF_ENCODER) :]
        if rest.startswith("batch_norm."):
            out[LAION_ENCODER + "bn0." + rest[len("batch_norm.") :]] = value
            continue
        match = _BLOCK.match(rest)
        if match:
            prefix, inner = match.groups()
            qkv = re.match(r"^attention\.self\.(query|key|value)\.(weight|bias)$", inner)
            if qkv:
                part, kind = qkv.groups()
                pending_qkv.setdefault(f"{prefix}attn.qkv.{kind}", {})[part] = value
                continue
            for new, old in inverse_block.items():
                if inner.startswith(new):
                    out[LAION_ENCODER + prefix + old + inner[len(new) :]] = value
                    break
            else:
                raise KeyError(f"no LAION name for {key}")
            continue
        out[LAION_ENCODER + rest] = value
    for name, parts in pending_qkv.items():
        out[LAION_ENCODER + name] = torch.cat([parts["query"], parts["key"], parts["value"]], dim=0)
    return out


# ---- reading files ------------------------------------------------------------------------------


def _read_safetensors(path: Path) -> dict[str, Any]:
    """Only the audio tensors of a safetensors file (a full ClapModel's text tower is never read)."""
    from safetensors import safe_open

    wanted = ("audio_model.", "audio_encoder.", "audio_projection.", "audio_branch.")
    out = {}
    with safe_open(str(path), framework="pt") as handle:
        for key in handle.keys():
            bare = key[len("module.") :] if key.startswith("module.") else key
            if bare.startswith(wanted):
                out[key] = handle.get_tensor(key)
    return out


def _read_torch(path: Path) -> Any:
    import pickle

    import torch

    try:
        try:
            return torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):
                raise
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL (\S+)", str(exc))
        if not found:
            raise WeightsFormatError(f"cannot read weights from {path}: not a readable PyTorch checkpoint") from exc
        raise WeightsFormatError(
            f"{path} contains Python objects besides tensors ({found.group(1)}); it is not loaded for "
            "safety (weights_only). Use a transformers safetensors export or a plain LAION state_dict."
        ) from exc


def read_checkpoint(path: Path) -> tuple[dict[str, Any], list[str], str]:
    """(audio state dict in transformers layout, unknown audio keys, layout) from a file or folder."""
    path = Path(path)
    try:
        if path.is_dir():
            index = path / "model.safetensors.index.json"
            if (path / "model.safetensors").is_file():
                raw: Any = _read_safetensors(path / "model.safetensors")
            elif index.is_file():
                shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
                raw = {k: v for shard in shards for k, v in _read_safetensors(path / shard).items()}
            elif (path / "pytorch_model.bin").is_file():
                raw = _read_torch(path / "pytorch_model.bin")
            else:
                raise WeightsFormatError(f"{path} has no model.safetensors or pytorch_model.bin")
        elif path.suffix == ".safetensors":
            raw = _read_safetensors(path)
        else:
            raw = _read_torch(path)
        state, unknown, layout = to_hf_audio_state_dict(raw)
    except WeightsFormatError:
        raise
    except Exception as exc:  # corrupt zip, truncated file, not a checkpoint at all, ...
        raise WeightsFormatError(f"cannot read weights from {path}: {exc}") from exc
    if not state:
        raise WeightsFormatError(f"{path} holds no CLAP audio-tower weights (layout: {layout})")
    return state, unknown, layout
