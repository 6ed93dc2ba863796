"""Word-grounded saliency: where in the image a word the language model said comes from.

The score of a word w for an image is the LM's log-probability of w's tokens, given the prefix
the translator makes of the classifier's features and then the text that preceded w in a
sampled sentence, averaged over the occurrences of w in the explanation's sentences (at most
``max_contexts`` of them). :class:`WordScore` computes it from pixels, through classifier,
translator and LM (all frozen, gradients reach the pixels), and Captum attributes it.
"""

from __future__ import annotations

import inspect
from collections import Counter

import torch
from torch import nn

from ..errors import InputError
from ..words import as_lemma, word_spans
from .frame import ModelInput
from .maps import SaliencyMap, attribute

MAX_CONTEXTS = 16


def word_saliency(
    model,
    image,
    explanation,
    word: str,
    *,
    method: str = "gradcam",
    max_contexts: int = MAX_CONTEXTS,
    **options,
) -> SaliencyMap:
    """Where in ``image`` the ``model`` (a TExplain) finds what makes its LM say ``word``.

    ``explanation`` is ``model.explain(image)``; ``word`` is looked up by its lemma, case
    insensitively, in its sentences. ``method`` and ``options`` are those of
    :func:`~.maps.saliency_map` (GradCAM uses the classifier's layer). Raises InputError
    when the word never occurs.
    """
    lemma, occurrences = word_occurrences(explanation, word)
    view = ModelInput.from_image(model.classifier, image)
    with torch.inference_mode(False):  # its tensors take part in autograd, even in a caller's inference mode
        score = WordScore(model, occurrences[:max_contexts])
    attribution = attribute(score, model.classifier, view.pixels, method, **options)
    return SaliencyMap(view.heatmap(attribution), method, target=None, word=lemma)


def word_occurrences(explanation, word: str) -> tuple[str, list[tuple[str, str]]]:
    """The lemma of ``word`` and, for each of its occurrences, (text before it, its surface form)."""
    lemma = as_lemma(word, explanation.words["word"])
    occurrences = [
        (sentence[:start], sentence[start:end])
        for sentence in explanation.sentences
        for start, end in word_spans(sentence, lemma)
    ]
    if not occurrences:
        seen = ", ".join(explanation.top_words(8)) or "none"
        raise InputError(
            f"the word {word!r} does not occur in the {len(explanation.sentences)} sentences; "
            f"words that do: {seen}"
        )
    return lemma, occurrences


class WordScore(nn.Module):
    """Pixels (N, C, H, W) -> (N,) mean log-probability of a word over its contexts.

    ``occurrences`` are (text before, surface form) pairs; equal ones count with their number.
    All contexts of all images run as one left-padded LM batch: [padding, prefix, context, word].
    """

    def __init__(self, model, occurrences: list[tuple[str, str]]):
        super().__init__()
        self.model = model
        lm = model.language_model
        k = model.translator.config.prefix_length
        rows = Counter(_tokenise(lm.tokenizer, before, surface) for before, surface in occurrences)
        length = max(len(context) + len(word) for context, word in rows)
        width = max(len(word) for _, word in rows)
        ids = torch.zeros(len(rows), length, dtype=torch.long)
        order = torch.zeros(len(rows), k + length, dtype=torch.long)  # [prefix, pads, tokens] -> left-padded
        mask = torch.zeros(len(rows), k + length, dtype=torch.long)
        targets = torch.zeros(len(rows), width, dtype=torch.long)
        target_mask = torch.zeros(len(rows), width)
        for row, (context, word) in enumerate(rows):
            tokens, pads = context + word, length - len(context) - len(word)
            ids[row, pads:] = torch.tensor(tokens)
            order[row] = torch.cat(
                [
                    torch.arange(k, k + pads),
                    torch.arange(k),
                    torch.arange(k + pads, k + length),
                ]
            )
            mask[row, pads:] = 1
            targets[row, width - len(word) :] = torch.tensor(word)
            target_mask[row, width - len(word) :] = 1
        weights = torch.tensor(list(rows.values()), dtype=torch.float)
        self.ids, self.order, self.mask = (
            ids.to(lm.device),
            order.to(lm.device),
            mask.to(lm.device),
        )
        self.targets, self.target_mask = (
            targets.to(lm.device),
            target_mask.to(lm.device),
        )
        self.weights = (weights / weights.sum()).to(lm.device)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        lm = self.model.language_model
        prefix, _logits = self.model.prefix(pixels)
        prefix = prefix.to(lm.dtype)
        images, rows, width = prefix.shape[0], self.ids.shape[0], self.targets.shape[1]
        tokens = lm.embed(self.ids)
        sequence = torch.cat(
            [
                prefix[:, None].expand(-1, rows, -1, -1),
                tokens[None].expand(images, -1, -1, -1),
            ],
            dim=2,
        )
        index = self.order[None, :, :, None].expand(images, -1, -1, sequence.shape[-1])
        mask = self.mask.repeat(images, 1)
        options = {"logits_to_keep": width + 1} if _keeps_logits(lm.model) else {}
        logits = lm.model(
            inputs_embeds=sequence.gather(2, index).flatten(0, 1),
            attention_mask=mask,
            position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
            use_cache=False,
            **options,
        ).logits[:, -(width + 1) : -1]
        chosen = logits.float().log_softmax(-1).gather(-1, self.targets.repeat(images, 1)[..., None])
        per_context = (chosen[..., 0] * self.target_mask.repeat(images, 1)).sum(-1).view(images, rows)
        return per_context @ self.weights


def _tokenise(tokenizer, before: str, surface: str) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Token ids of the context and of the word, split where the context's own tokens end."""
    full = tokenizer(before + surface, add_special_tokens=False).input_ids
    context = tokenizer(before.rstrip(), add_special_tokens=False).input_ids if before.strip() else []
    shared = 0
    while shared < min(len(context), len(full) - 1) and context[shared] == full[shared]:
        shared += 1
    return tuple(full[:shared]), tuple(full[shared:])


def _keeps_logits(lm) -> bool:
    return "logits_to_keep" in inspect.signature(lm.forward).parameters
