"""Nucleus (top-p) sampling driven by given uniform numbers, with a cheap search for the nucleus."""

from __future__ import annotations

import torch

CANDIDATES = (64, 1024)  # top tokens examined, in turn, before a full sort of the vocabulary


def sample_top_p(logits: torch.Tensor, uniform: torch.Tensor, top_p: float, temperature: float):
    """Nucleus sampling, one token per row, driven by the given uniform numbers in [0, 1).

    The nucleus is the smallest set of most likely tokens whose probability reaches ``top_p``.
    It is looked for among the top 64, then the top 1024 tokens; only rows whose nucleus is
    wider still sort the whole vocabulary.
    """
    probs = torch.softmax(logits if temperature == 1 else logits / temperature, dim=-1)
    chosen = torch.empty(probs.shape[0], dtype=torch.long, device=probs.device)
    pending = None  # None: every row
    for k in CANDIDATES:
        rows = probs if pending is None else probs[pending]
        top_probs, top_ids = rows.topk(min(k, rows.shape[-1]), dim=-1)
        covered = top_probs.sum(-1) >= top_p
        indices = covered.nonzero().squeeze(1) if pending is None else pending[covered]
        chosen[indices] = pick(top_probs[covered], top_ids[covered], uniform[indices], top_p)
        pending = (~covered).nonzero().squeeze(1) if pending is None else pending[~covered]
        if pending.numel() == 0:
            return chosen
    top_probs, top_ids = probs[pending].sort(dim=-1, descending=True)
    chosen[pending] = pick(top_probs, top_ids, uniform[pending], top_p)
    return chosen


def pick(sorted_probs, sorted_ids, uniform, top_p):
    before = sorted_probs.cumsum(-1) - sorted_probs
    kept = torch.where(before < top_p, sorted_probs, torch.zeros_like(sorted_probs))
    cumulative = kept.cumsum(-1)
    target = uniform * cumulative[:, -1]
    index = torch.searchsorted(cumulative, target[:, None], right=True)
    index = index.clamp_(max=sorted_probs.shape[-1] - 1)
    return sorted_ids.gather(1, index).squeeze(1)
