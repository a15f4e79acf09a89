"""Where the CLAP audio-tower weights come from, and how they are loaded.

Resolution order (``resolve_weights``): a file or folder the user names > the slim audio-only copy
in the app's data dir > the Hugging Face hub cache > a hub download (only when allowed) > a clear
``WeightsUnavailableError``. Whatever the source, the audio tower is converted once into a slim
copy (``weights_dir()/<variant>/model.safetensors`` + ``config.json`` + ``anomalizer_weights.json``)
so later starts are fast and offline. ``sha`` is a hash of the tensors themselves (not of a file),
so the same weights give the same encoder id whether they came from a LAION ``.pt`` or the hub.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

from ..config import weights_dir
from ..errors import WeightsFormatError, WeightsUnavailableError
from . import laion_convert

log = logging.getLogger(__name__)

META_NAME = "anomalizer_weights.json"
MODEL_NAME = "model.safetensors"
# Built-in configs (config.json cannot be fetched offline); values follow LAION's HTSAT-tiny/base.
_TINY = dict(patch_embeds_hidden_size=96, depths=[2, 2, 6, 2], num_attention_heads=[4, 8, 16, 32], hidden_size=768)
_BASE = dict(patch_embeds_hidden_size=128, depths=[2, 2, 12, 2], num_attention_heads=[4, 8, 16, 32], hidden_size=1024)
_COMMON = dict(
    num_mel_bins=64, spec_size=256, window_size=8, patch_size=4, patch_stride=[4, 4], mlp_ratio=4.0,
    qkv_bias=True, aff_block_r=4, projection_dim=512, projection_hidden_act="relu", hidden_act="gelu",
    layer_norm_eps=1e-5,
)  # fmt: skip
_ALLOWED_MISSING = ("relative_position_index", "num_batches_tracked")  # recomputable buffers


@dataclass(frozen=True)
class VariantSpec:
    name: str
    hub_repo: str
    laion_file: str
    dim: int
    summary: str
    audio_config: dict = field(repr=False)


VARIANTS: dict[str, VariantSpec] = {
    "clap-fused": VariantSpec(
        "clap-fused", "laion/clap-htsat-fused", "630k-audioset-fusion-best.pt", 768,
        "LAION-CLAP HTS-AT-tiny with feature fusion (630k-audioset-fusion)",
        {**_COMMON, **_TINY, "enable_fusion": True, "fusion_type": "aff_2d"},
    ),
    "clap-music": VariantSpec(
        "clap-music", "laion/larger_clap_music", "music_audioset_epoch_15_esc_90.14.pt", 1024,
        "LAION-CLAP HTS-AT-base music checkpoint (music_audioset_epoch_15_esc_90.14)",
        {**_COMMON, **_BASE, "enable_fusion": False, "fusion_type": None},
    ),
}  # fmt: skip


@dataclass(frozen=True)
class WeightsSource:
    """Resolved weights: ``path`` is a slim copy dir (or a checkpoint ``load_model`` can read)."""

    variant: str
    path: Path
    origin: str  # "file" | "app-data" | "hub-cache" | "download"
    sha: str  # sha256 of the audio-tower tensors (hex)


def configure_torch_env() -> None:
    """Call before the first ``import torch``: idle OpenMP threads sleep instead of spinning."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _spec(variant: str) -> VariantSpec:
    try:
        return VARIANTS[variant]
    except KeyError:
        raise ValueError(f"unknown CLAP variant {variant!r}; choose one of {', '.join(VARIANTS)}") from None


# ---- models -------------------------------------------------------------------------------------


def build_model(variant: str, config_overrides: dict | None = None, *, meta: bool = False):
    """A ``ClapAudioModelWithProjection`` from the built-in config (random init, or on ``meta``)."""
    configure_torch_env()
    import torch
    from transformers import ClapAudioConfig, ClapAudioModelWithProjection

    config = ClapAudioConfig(**{**_spec(variant).audio_config, **(config_overrides or {})})
    if meta:
        with torch.device("meta"):
            return ClapAudioModelWithProjection(config)
    return ClapAudioModelWithProjection(config).eval()


@lru_cache(maxsize=4)
def expected_shapes(variant: str) -> dict[str, tuple[tuple[int, ...], Any]]:
    """Each weight's shape and dtype for ``variant`` (computed once per process)."""
    return {k: (tuple(v.shape), v.dtype) for k, v in build_model(variant, meta=True).state_dict().items()}


def detect_variant(state: dict[str, Any], source: str = "checkpoint") -> str:
    """Variant from tensor shapes: patch-embedding width and presence of the fusion block."""
    proj = state.get(laion_convert.HF_ENCODER + "patch_embed.proj.weight")
    if proj is None:
        raise WeightsFormatError(f"{source} holds no HTS-AT audio tower (no patch_embed.proj.weight)")
    fused = any(".patch_embed.fusion_model." in k or ".patch_embed.mel_conv2d." in k for k in state)
    for spec in VARIANTS.values():
        config = spec.audio_config
        if config["patch_embeds_hidden_size"] == proj.shape[0] and config["enable_fusion"] == fused:
            return spec.name
    raise WeightsFormatError(
        f"{source} holds an HTS-AT of width {proj.shape[0]} with fusion={fused}, which is not a supported "
        f"variant (supported: clap-fused = HTSAT-tiny + fusion, clap-music = HTSAT-base without fusion)"
    )


def _names(keys: list[str], limit: int = 10) -> str:
    shown = ", ".join(sorted(keys)[:limit])
    return shown + (f", ... (+{len(keys) - limit} more)" if len(keys) > limit else "")


def validate_state(state: dict[str, Any], variant: str, source: str, unknown: list[str] = ()) -> dict[str, Any]:
    """Check keys and shapes against the model; fill recomputable buffers; cast to model dtypes."""
    import torch

    expected = expected_shapes(variant)
    missing = [k for k in expected if k not in state and not k.endswith(_ALLOWED_MISSING)]
    unexpected = [k for k in state if k not in expected] + list(unknown)
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {expected[k][0]}"
              for k in state if k in expected and tuple(state[k].shape) != expected[k][0]]  # fmt: skip
    if missing or unexpected or shapes:
        parts = [f"{source} does not match the {variant} audio tower"]
        if missing:
            parts.append(f"{len(missing)} missing keys: {_names(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys: {_names(unexpected)}")
        if shapes:
            parts.append(f"{len(shapes)} shape mismatches: {_names(shapes)}")
        raise WeightsFormatError("; ".join(parts))
    out: dict[str, Any] = {}
    meta_model = None
    for key, (shape, dtype) in expected.items():
        if key in state:
            out[key] = state[key].detach().to(dtype).contiguous()
        elif key.endswith("num_batches_tracked"):
            out[key] = torch.zeros((), dtype=torch.long)
        else:  # relative_position_index: a pure function of the window size
            meta_model = meta_model or build_model(variant, meta=True)
            owner = meta_model.get_submodule(key.rsplit(".", 1)[0])
            with torch.device("cpu"):
                out[key] = owner.create_relative_position_index().to(dtype)
    return out


def content_sha(state: dict[str, Any]) -> str:
    """sha256 over names, dtypes, shapes and bytes of the tensors (bookkeeping counters excluded)."""
    import torch

    digest = hashlib.sha256()
    for key in sorted(state):
        if key.endswith("num_batches_tracked"):
            continue
        tensor = state[key].detach().cpu().contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}\n".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().data)
    return digest.hexdigest()


# ---- slim copies --------------------------------------------------------------------------------


def _slim_dir(variant: str) -> Path:
    return weights_dir() / variant


def _read_meta(folder: Path) -> dict | None:
    try:
        meta = json.loads((folder / META_NAME).read_text(encoding="utf-8"))
        weights = folder / MODEL_NAME
        if weights.stat().st_size != meta["weights_size"]:
            log.warning("slim weights in %s are incomplete; ignoring them", folder)
            return None
        return meta
    except (OSError, ValueError, KeyError):
        return None


def _write_slim(variant: str, state: dict[str, Any], sha: str, origin: str, source: Path, layout: str) -> Path:
    from safetensors.torch import save_file

    folder = _slim_dir(variant)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / META_NAME).unlink(missing_ok=True)  # the meta file marks a complete copy: write it last
    tmp = folder / (MODEL_NAME + ".tmp")
    own = {k: v.clone() for k, v in state.items()}  # no shared or mmapped storage in the copy
    save_file(own, str(tmp), metadata={"variant": variant, "sha": sha})
    os.replace(tmp, folder / MODEL_NAME)
    (folder / "config.json").write_text(json.dumps(_spec(variant).audio_config, indent=2), encoding="utf-8")
    stat = source.stat()
    meta = {
        "format": 1, "variant": variant, "sha": sha, "origin": origin, "layout": layout,
        "source": str(source), "source_size": stat.st_size, "source_mtime_ns": stat.st_mtime_ns,
        "weights_size": (folder / MODEL_NAME).stat().st_size, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }  # fmt: skip
    (folder / META_NAME).write_text(json.dumps(meta, indent=2), encoding="utf-8")
    return folder


def _already_imported(source: Path, variant: str | None) -> WeightsSource | None:
    stat = source.stat()
    for name in [variant] if variant else list(VARIANTS):
        meta = _read_meta(_slim_dir(name))
        if meta and meta.get("source") == str(source) and meta.get("source_size") == stat.st_size \
                and meta.get("source_mtime_ns") == stat.st_mtime_ns:  # fmt: skip
            return WeightsSource(name, _slim_dir(name), meta["origin"], meta["sha"])
    return None


def import_checkpoint(path: Path, variant: str | None = None, *, origin: str = "file") -> WeightsSource:
    """Convert a LAION ``.pt``, a transformers folder/file or an audio-only checkpoint to a slim copy.

    ``variant=None`` detects it from the tensors. Re-importing an unchanged file is free.
    """
    source = Path(path).expanduser().resolve()
    if not source.exists():
        raise WeightsUnavailableError(f"weights file {source} does not exist")
    found = _already_imported(source, variant)
    if found:
        return WeightsSource(found.variant, found.path, origin, found.sha)
    state, unknown, layout = laion_convert.read_checkpoint(source)
    detected = detect_variant(state, str(source))
    if variant is not None and detected != _spec(variant).name:
        raise WeightsFormatError(f"{source} holds {detected} weights, not {variant}")
    state = validate_state(state, detected, str(source), unknown)
    sha = content_sha(state)
    folder = _write_slim(detected, state, sha, origin, source, layout)
    log.info("imported %s weights from %s (%s layout) into %s", detected, source, layout, folder)
    return WeightsSource(detected, folder, origin, sha)


# ---- the hub ------------------------------------------------------------------------------------


def _hub_cache_dir() -> Path:
    """The hub cache, honouring HF_HUB_CACHE / HF_HOME as they are *now* (not at import time)."""
    env = os.environ
    if env.get("HF_HUB_CACHE") or env.get("HUGGINGFACE_HUB_CACHE"):
        return Path(env.get("HF_HUB_CACHE") or env["HUGGINGFACE_HUB_CACHE"]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def _hub_cached_file(variant: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    for name in (MODEL_NAME, "pytorch_model.bin"):
        found = try_to_load_from_cache(_spec(variant).hub_repo, name, cache_dir=str(_hub_cache_dir()))
        if isinstance(found, str) and os.path.isfile(found):
            return Path(found)
    return None


def _callback_tqdm(progress: Callable[[int, int], None] | None):
    from tqdm.std import tqdm

    class _CallbackBar(tqdm):  # a silent bar that forwards byte counts to ``progress``
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)
            self._done = int(kwargs.get("initial") or 0)

        def update(self, n: float | None = 1) -> bool | None:
            self._done += int(n or 0)
            if progress is not None:
                progress(self._done, int(self.total or 0))
            return super().update(n)

    return _CallbackBar


def download_weights(variant: str, progress: Callable[[int, int], None] | None = None) -> WeightsSource:
    """Download the HF-format repo's weights into the hub cache, then make the slim copy."""
    spec = _spec(variant)
    if _offline():
        raise WeightsUnavailableError(f"cannot download {spec.hub_repo}: offline mode (HF_HUB_OFFLINE) is on")
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import RemoteEntryNotFoundError

    cache = str(_hub_cache_dir())
    try:
        hf_hub_download(spec.hub_repo, "config.json", cache_dir=cache)
        for name in (MODEL_NAME, "pytorch_model.bin"):
            try:
                path = hf_hub_download(spec.hub_repo, name, cache_dir=cache, tqdm_class=_callback_tqdm(progress))
                break
            except RemoteEntryNotFoundError:
                continue
        else:
            raise WeightsUnavailableError(f"{spec.hub_repo} has no model.safetensors or pytorch_model.bin")
    except WeightsUnavailableError:
        raise
    except Exception as exc:  # network down, hub unreachable, repo gone, disk full, ...
        raise WeightsUnavailableError(f"could not download {spec.hub_repo}: {exc}") from exc
    return import_checkpoint(Path(path), variant, origin="download")


# ---- resolution, status, loading ----------------------------------------------------------------


def unavailable_message(variant: str) -> str:
    spec = _spec(variant)
    return (
        f"no {variant} weights on this machine ({spec.summary}). Get them with "
        f"`anomalizer weights download` when online (hub repo {spec.hub_repo}), or "
        f"`anomalizer weights import FILE` for a local copy ({spec.laion_file} or a transformers folder). "
        f"The offline `spectral` encoder needs no weights."
    )


def resolve_weights(
    variant: str,
    explicit: Path | None = None,
    allow_download: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> WeightsSource:
    """Find weights for ``variant`` in the documented order; never touches the network unless allowed.

    An explicit file is imported into the slim copy (so it becomes the default afterwards).
    """
    spec = _spec(variant)
    if explicit is not None:
        explicit = Path(explicit).expanduser()
        meta = _read_meta(explicit) if explicit.is_dir() else None
        if meta:
            if meta.get("variant") != spec.name:
                raise WeightsFormatError(f"{explicit} holds {meta.get('variant')} weights, not {variant}")
            return WeightsSource(spec.name, explicit, "file", meta["sha"])
        return import_checkpoint(explicit, spec.name, origin="file")
    meta = _read_meta(_slim_dir(spec.name))
    if meta:
        return WeightsSource(spec.name, _slim_dir(spec.name), "app-data", meta["sha"])
    cached = _hub_cached_file(spec.name)
    if cached is not None:
        try:
            return import_checkpoint(cached, spec.name, origin="hub-cache")
        except WeightsFormatError as exc:
            log.warning("ignoring unusable hub-cache weights %s: %s", cached, exc)
    if allow_download:
        return download_weights(spec.name, progress)
    raise WeightsUnavailableError(unavailable_message(spec.name))


def weights_status() -> list[dict]:
    """Per variant: where weights are (if anywhere), size and sha. Reads no tensors."""
    rows = []
    for spec in VARIANTS.values():
        row: dict[str, Any] = {
            "variant": spec.name, "description": spec.summary, "hub_repo": spec.hub_repo,
            "present": False, "origin": None, "path": None, "size_bytes": None, "sha": None,
        }  # fmt: skip
        meta = _read_meta(_slim_dir(spec.name))
        cached = None if meta else _hub_cached_file(spec.name)
        if meta:
            row.update(present=True, origin="app-data", path=str(_slim_dir(spec.name)),
                       size_bytes=meta["weights_size"], sha=meta["sha"], imported_from=meta.get("source"))  # fmt: skip
        elif cached is not None:
            row.update(present=True, origin="hub-cache", path=str(cached), size_bytes=cached.stat().st_size)
        rows.append(row)
    return rows


def load_model(source: WeightsSource, device: Any = "cpu"):
    """``ClapAudioModelWithProjection`` with ``source``'s weights, in eval mode on ``device``."""
    import torch
    from safetensors.torch import load_file

    path = Path(source.path)
    if path.is_dir() and (path / META_NAME).is_file():
        try:
            state = load_file(str(path / MODEL_NAME))
        except Exception as exc:
            raise WeightsFormatError(f"slim weights {path} are unreadable ({exc}); import them again") from exc
        unknown: list[str] = []
    else:
        state, unknown, _ = laion_convert.read_checkpoint(path)
    state = validate_state(state, source.variant, str(path), unknown)
    model = build_model(source.variant, meta=True)
    model.load_state_dict(state, strict=True, assign=True)
    return model.to(torch.device(device)).eval()
