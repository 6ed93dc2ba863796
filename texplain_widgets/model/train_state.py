"""A training run's checkpoint, written so that a kill at any moment leaves a state to resume exactly.

A save writes, each file atomically (a temporary file renamed into place):

1. the model, by ``save_pretrained`` (``translator.safetensors``, ``config.json``, ...): the
   latest weights, for use;
2. ``trainer_state-<step>-<hash>.safetensors``: the translator's weights and the optimizer's
   tensors of that step, named by a hash of its bytes;
3. ``trainer_state.json``, last: the step, the settings, the history, the scheduler, and the name
   and hash of the tensors file of that step. Writing it commits the save.

A resume restores the translator from the tensors file ``trainer_state.json`` names, not from
``translator.safetensors``, after checking its hash. So a kill between the writes resumes from the
last committed save, with that save's weights (at most ``checkpoint_every`` steps are done
again), never a step's counters with another step's weights: the previous tensors file is deleted
only after the new state file names its successor. A tensors file whose hash does not match (edited
or damaged, not killed) is refused with a CheckpointMismatchError.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from dataclasses import asdict
from pathlib import Path

from safetensors.torch import load, load_file, save

from ..errors import CheckpointMismatchError
from .checkpoint import TRANSLATOR_WEIGHTS, CheckpointConfig, write_atomically

STATE_JSON = "trainer_state.json"
LEGACY_TENSORS = "trainer_state.safetensors"  # optimizer tensors only, before atomic checkpoints
TRANSLATOR, OPTIMIZER = "translator.", "optimizer."  # key prefixes in the tensors file


def save_state(directory: Path, model, optimizer, scheduler, config, step: int, history: list[dict]) -> None:
    """Save the model and the training state of ``step``; see the module's docstring."""
    model.save_pretrained(directory)
    optimizer_state = optimizer.state_dict()
    tensors = {
        f"{TRANSLATOR}{name}": value.detach().contiguous().cpu()
        for name, value in model.translator.state_dict().items()
    }
    for index, state in optimizer_state["state"].items():
        for name, value in state.items():
            tensors[f"{OPTIMIZER}{index}.{name}"] = value.contiguous().cpu()
    data = save(tensors)
    digest = _digest(data)
    name = f"trainer_state-{step}-{digest[:12]}.safetensors"
    write_atomically(directory / name, data)
    meta = {
        "step": step,
        "config": asdict(config),
        "param_groups": optimizer_state["param_groups"],
        "scheduler": scheduler.state_dict(),
        "history": history,
        "tensors": name,
        "tensors_blake2b": digest,
    }
    write_atomically(directory / STATE_JSON, json.dumps(meta).encode())
    for stale in [*directory.glob("trainer_state-*.safetensors"), directory / LEGACY_TENSORS]:
        if stale.name != name:
            stale.unlink(missing_ok=True)


def load_state(directory: Path, model, optimizer, scheduler, config) -> tuple[int, list[dict]]:
    """Restore the translator, optimizer and scheduler of the last committed save; (step, history)."""
    meta = json.loads((directory / STATE_JSON).read_text())
    saved = CheckpointConfig.read(directory)
    same_run = (
        meta["config"] == asdict(config)
        and saved.translator == model.translator.config.to_dict()
        and saved.classifier.fingerprint == model.classifier.fingerprint()
        and saved.language_model.fingerprint == model.language_model.fingerprint()
    )
    if not same_run:
        raise CheckpointMismatchError(
            f"{directory} holds a run with another classifier, LM, translator or settings "
            f"({meta['config']}); use another checkpoint_dir or resume=False"
        )
    translator_state, optimizer_tensors = _committed_tensors(directory, meta)
    model.translator.load_state_dict(translator_state)
    state: dict = {}
    for key, value in optimizer_tensors.items():
        index, name = key.split(".", 1)
        state.setdefault(int(index), {})[name] = value.to(model.device) if value.ndim else value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})
    scheduler.load_state_dict(meta["scheduler"])
    return meta["step"], meta["history"]


def _committed_tensors(directory: Path, meta: dict) -> tuple[dict, dict]:
    """The translator's and the optimizer's tensors of the save ``meta`` commits, hash checked."""
    if "tensors" not in meta:
        warnings.warn(
            f"{directory / STATE_JSON} was written by an older version, whose checkpoints were not "
            "atomic: resuming from its files as they are (if that run was killed while saving, "
            "start over with resume=False)",
            stacklevel=4,
        )
        optimizer_tensors = load_file(directory / LEGACY_TENSORS)
        return load_file(directory / TRANSLATOR_WEIGHTS), optimizer_tensors
    path = directory / meta["tensors"]
    data = path.read_bytes() if path.is_file() else None
    if data is None or _digest(data) != meta["tensors_blake2b"]:
        problem = "is missing" if data is None else "does not have the content it was saved with"
        raise CheckpointMismatchError(
            f"{path} {problem}: the training state of step {meta['step']} cannot be restored; "
            "start over with resume=False (or another checkpoint_dir)"
        )
    tensors = load(data)
    return _strip(tensors, TRANSLATOR), _strip(tensors, OPTIMIZER)


def _strip(tensors: dict, prefix: str) -> dict:
    return {key[len(prefix) :]: value for key, value in tensors.items() if key.startswith(prefix)}


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()
