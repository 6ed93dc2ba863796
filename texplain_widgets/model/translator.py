"""The translator: classifier features Z -> a prefix of k embeddings in the LM's input space.

Our defaults follow ClipCap (Mokady et al., 2021) with a smaller MLP: prefix length k = 10 and
an MLP mapper ``Linear(D, 1024) -> Tanh -> Linear(1024, k * E)``. ClipCap's hidden size is
k * E / 2 = 2880 for SmolLM2; 1024 keeps an fp32 checkpoint near 25 MB (D = 512), and no
comparison of the two was measured. The demo's translators use a hidden size of 512. The
transformer mapper is ClipCap's: Z is projected to k tokens, concatenated with k learned query
tokens, passed through a transformer encoder, and the query outputs are the prefix.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass
class TranslatorConfig:
    feature_dim: int
    embed_dim: int
    prefix_length: int = 10
    mapper: str = "mlp"  # "mlp" or "transformer"
    hidden_dim: int = 1024  # MLP hidden width
    num_layers: int = 4  # transformer mapper depth
    num_heads: int = 8  # transformer mapper heads (must divide embed_dim)

    def to_dict(self) -> dict:
        return asdict(self)


class Translator(nn.Module):
    """Maps Z (N, feature_dim) to a prefix (N, prefix_length, embed_dim)."""

    def __init__(self, config: TranslatorConfig):
        super().__init__()
        self.config = config
        k, d, e = config.prefix_length, config.feature_dim, config.embed_dim
        if config.mapper == "mlp":
            self.mapper = nn.Sequential(
                nn.Linear(d, config.hidden_dim), nn.Tanh(), nn.Linear(config.hidden_dim, k * e)
            )
        elif config.mapper == "transformer":
            if e % config.num_heads:
                raise ValueError(f"num_heads={config.num_heads} does not divide embed_dim={e}")
            self.project = nn.Linear(d, k * e)
            self.queries = nn.Parameter(torch.randn(k, e) * 0.02)
            layer = nn.TransformerEncoderLayer(
                e, config.num_heads, 2 * e, dropout=0.0, batch_first=True, norm_first=True
            )
            self.encoder = nn.TransformerEncoder(layer, config.num_layers, enable_nested_tensor=False)
        else:
            raise ValueError(f"unknown mapper {config.mapper!r}; use 'mlp' or 'transformer'")

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        k, e = self.config.prefix_length, self.config.embed_dim
        if features.ndim != 2 or features.shape[1] != self.config.feature_dim:
            raise ValueError(
                f"translator expects features of shape (N, {self.config.feature_dim}), "
                f"got {tuple(features.shape)}"
            )
        if self.config.mapper == "mlp":
            return self.mapper(features).view(-1, k, e)
        tokens = self.project(features).view(-1, k, e)
        queries = self.queries.expand(features.shape[0], -1, -1)
        return self.encoder(torch.cat([tokens, queries], dim=1))[:, k:]
