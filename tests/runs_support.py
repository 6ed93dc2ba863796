"""Helpers of the dataset-run tests: a tiny saved TExplain, folders of good and bad images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

SETTINGS = {"n_sentences": 8, "max_new_tokens": 6, "seed": 3}


def save_tiny_model(directory: Path, classifier, language_model) -> Path:
    """A TExplain of the tiny classifier and LM with a seeded random translator, saved."""
    import torch

    from texplain_widgets.model.texplain import TExplain

    torch.manual_seed(1)
    TExplain(classifier, language_model, prefix_length=2).save_pretrained(directory)
    return directory


def image_folder(root: Path, n: int = 6, classes=("landbird", "waterbird")) -> Path:
    """``n`` small random images in one subfolder per class (the subfolder names the class)."""
    rng = np.random.default_rng(0)
    for i in range(n):
        folder = root / classes[i % len(classes)]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8)).save(folder / f"img{i:02d}.png")
    return root


def bad_files(folder: Path) -> dict[str, Path]:
    """Files that do not load: truncated, empty, text named .jpg, a decompression bomb."""
    folder.mkdir(parents=True, exist_ok=True)
    good = folder / "good.png"
    Image.fromarray(np.full((32, 32, 3), 200, np.uint8)).save(good)
    truncated = folder / "truncated.png"
    truncated.write_bytes(good.read_bytes()[:60])
    empty = folder / "empty.jpg"
    empty.write_bytes(b"")
    text = folder / "notes.jpg"
    text.write_text("this is not an image\n")
    bomb = folder / "bomb.png"
    Image.new("1", (20_000, 20_000)).save(bomb)  # 400 Mpx: over Pillow's bomb limit, a small file
    return {"truncated": truncated, "empty": empty, "text": text, "bomb": bomb}
