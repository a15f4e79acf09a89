"""Fully connected, bias-free autoencoders for Deep SVDD (AE and AEwRES).

Every hidden block is ``Linear(bias=False) -> BatchNorm1d(affine=False) -> ELU -> Dropout``; the
latent layer is a plain bias-free ``Linear`` (linear output). No layer of the encoder has an
additive constant: with a bias (or a learnable BatchNorm shift) the encoder could map every input
to the centre by zeroing its weights, the trivial Deep SVDD solution (Ruff et al. 2018).

AEwRES adds U-Net-like long skips: the output of encoder block *i* (every block except the
latent layer) is added to the output of the mirrored decoder block. Only the encoder is used in
the SVDD phase and for scoring.

Weights are initialised from a caller-supplied ``torch.Generator`` (no global seeding) and the
dropout masks are drawn from a generator too, so a seed fully determines training on the CPU.
"""

from __future__ import annotations

import math

import torch
from torch import nn

DEFAULT_HIDDEN_DIMS = (512, 256, 128, 64, 32)


def effective_dims(input_dim: int, hidden_dims: tuple[int, ...] | list[int], n_train: int) -> list[int]:
    """The hidden widths actually used, shrunk for small inputs and tiny libraries.

    - the latent width is at most ``input_dim // 2`` (at least 2): a latent as wide as the input
      is no bottleneck;
    - no hidden layer is wider than the input (no over-complete layers for small embeddings such
      as spectral descriptors) nor wider than ``max(64, 4 * n_train)`` (a 30-loop library does not
      need 512 units per layer);
    - widths that end up <= the latent or equal to their predecessor are dropped.
    For 1024-d embeddings and >= 128 training loops the paper's [512, 256, 128, 64, 32] is kept.
    """
    dims = [int(d) for d in hidden_dims]
    if not dims or min(dims) < 1:
        raise ValueError(f"hidden_dims must be positive widths, got {hidden_dims}")
    latent = min(dims[-1], max(2, input_dim // 2))
    cap = min(input_dim, max(64, 4 * n_train))
    out: list[int] = []
    for width in dims[:-1]:
        width = min(width, cap)
        if width > latent and (not out or width < out[-1]):
            out.append(width)
    return out + [latent]


class SeededDropout(nn.Module):
    """Inverted dropout whose masks come from ``self.generator`` (None = torch's default RNG)."""

    def __init__(self, p: float) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {p}")
        self.p = float(p)
        self.generator: torch.Generator | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        keep = 1.0 - self.p
        mask = torch.empty_like(x).bernoulli_(keep, generator=self.generator)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"p={self.p}"


def _block(n_in: int, n_out: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(n_in, n_out, bias=False, device="meta"),
        nn.BatchNorm1d(n_out, affine=False, device="meta"),
        nn.ELU(),
        SeededDropout(dropout),
    )


class Encoder(nn.Module):
    """input -> hidden blocks -> linear latent; ``forward_with_skips`` also returns block outputs."""

    def __init__(self, input_dim: int, dims: list[int], dropout: float) -> None:
        super().__init__()
        widths = [input_dim] + list(dims)
        self.blocks = nn.ModuleList(
            _block(widths[i], widths[i + 1], dropout) for i in range(len(dims) - 1)
        )
        self.latent = nn.Linear(widths[-2], widths[-1], bias=False, device="meta")

    def forward_with_skips(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        skips = []
        for block in self.blocks:
            x = block(x)
            skips.append(x)
        return self.latent(x), skips

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        return self.latent(x)


class Decoder(nn.Module):
    """Mirror of the encoder: latent -> reversed hidden blocks -> linear reconstruction."""

    def __init__(self, dims: list[int], output_dim: int, dropout: float) -> None:
        super().__init__()
        widths = list(reversed(dims))  # latent first
        self.blocks = nn.ModuleList(
            _block(widths[i], widths[i + 1], dropout) for i in range(len(widths) - 1)
        )
        self.output = nn.Linear(widths[-1], output_dim, bias=False, device="meta")

    def forward(self, z: torch.Tensor, skips: list[torch.Tensor] | None = None) -> torch.Tensor:
        x = z
        mirrored = list(reversed(skips)) if skips else None
        for i, block in enumerate(self.blocks):
            x = block(x)
            if mirrored is not None:
                x = x + mirrored[i]
        return self.output(x)


class AutoEncoder(nn.Module):
    """Encoder + mirrored decoder; ``residual=True`` is AEwRES (long encoder->decoder skips)."""

    def __init__(self, input_dim: int, dims: list[int], dropout: float, residual: bool) -> None:
        super().__init__()
        self.residual = bool(residual)
        self.encoder = Encoder(input_dim, dims, dropout)
        self.decoder = Decoder(dims, input_dim, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.residual:
            z, skips = self.encoder.forward_with_skips(x)
            return self.decoder(z, skips)
        return self.decoder(self.encoder(x))


def materialise(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Allocate a module built on the meta device on the CPU and initialise it from ``generator``.

    Linear weights get torch's default Linear init (Kaiming-uniform, a=sqrt(5)) drawn from the
    local generator; BatchNorm running statistics start at mean 0 / var 1.
    """
    module = module.to_empty(device="cpu")
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
        elif isinstance(m, nn.BatchNorm1d):
            m.reset_running_stats()
    return module


def set_dropout(module: nn.Module, active: bool, generator: torch.Generator | None = None) -> None:
    """Switch every SeededDropout on/off (independently of BatchNorm's mode) and set its RNG."""
    for m in module.modules():
        if isinstance(m, SeededDropout):
            m.train(active)
            m.generator = generator


def build_autoencoder(
    input_dim: int, dims: list[int], dropout: float, residual: bool, generator: torch.Generator
) -> AutoEncoder:
    return materialise(AutoEncoder(input_dim, dims, dropout, residual), generator)


def build_encoder(input_dim: int, dims: list[int], dropout: float) -> Encoder:
    """An encoder to load a saved state into (weights are overwritten, so init is irrelevant)."""
    return materialise(Encoder(input_dim, dims, dropout), torch.Generator().manual_seed(0))
