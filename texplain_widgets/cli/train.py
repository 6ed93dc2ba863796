"""``texplain train``: train a translator on image-caption pairs and save the model."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError
from . import options


def train(args: argparse.Namespace) -> int:
    """Train a translator on image-caption pairs and save the model into --out."""
    import torch

    from ..model.classifier import FrozenClassifier
    from ..model.language import FrozenLanguageModel
    from ..model.texplain import TExplain
    from ..model.train import HOLD_OUT, TrainConfig

    device = options.device(args.device)
    train_pairs = caption_pairs(args.captions, args.images)
    val_pairs = caption_pairs(args.val_captions, args.images) if args.val_captions else HOLD_OUT
    weights = read_safetensors(args.classifier_weights) if args.classifier_weights else None
    classifier = FrozenClassifier.from_timm(
        args.classifier,
        num_classes=args.num_classes,
        class_names=args.class_names,
        state_dict=weights,
    )
    language_model = FrozenLanguageModel.from_pretrained(args.lm)
    torch.manual_seed(args.seed)
    model = TExplain(classifier, language_model, prefix_length=args.prefix_length, mapper=args.mapper)
    config = TrainConfig(steps=args.steps, batch_size=args.batch_size, learning_rate=args.lr, seed=args.seed)
    history = model.to(device).fit(train_pairs, val_pairs, config=config, checkpoint_dir=args.out)
    last = history[-1]
    val = f", val loss {last['val_loss']:.4f}" if "val_loss" in last else ""
    print(f"step {last['step']}: loss {last['loss']:.4f}{val}")
    if model.report_card is not None:  # measured by fit on the held-out captions
        from ..model.report_card import format_report_card

        print(format_report_card(model.report_card))
    print(f"saved to {args.out}; explain with: texplain explain IMAGE --model {args.out}")
    return 0


def caption_pairs(path: str, images: str | None):
    """CaptionPairs from a CSV (image,caption) or a COCO captions JSON, chosen by suffix."""
    from ..data.captions import CaptionPairs

    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return CaptionPairs.from_csv(path, images)
    if suffix == ".json":
        if images is None:
            raise InputError(f"{path}: COCO captions need --images DIR, the folder of their images")
        return CaptionPairs.from_coco(path, images)
    raise InputError(f"{path}: captions must be a .csv file (image,caption) or a COCO captions .json")


def read_safetensors(path: str) -> dict:
    """Tensors of a safetensors file, or an InputError naming it."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(path)
    except (OSError, SafetensorError) as err:
        raise InputError(f"{path}: cannot read classifier weights as safetensors ({err})") from err


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",")]
    if len(names) < 2 or not all(names):
        raise argparse.ArgumentTypeError(f"expected at least two comma-separated names, got {text!r}")
    return names


def add_parser(commands) -> None:
    shared = options.shared(seed="translator and batch order seed", device=True)
    tr = options.command(commands, "train", train, "train a translator on image-caption pairs", shared)
    tr.add_argument("--classifier", required=True, metavar="TIMM_NAME", help="timm architecture name")
    classes = tr.add_mutually_exclusive_group()
    classes.add_argument("--num-classes", type=options.positive_int, metavar="N", help="classifier outputs")
    classes.add_argument("--class-names", type=_names, metavar="A,B,...", help="class names, in order")
    text = "the classifier's trained weights (without them: random weights)"
    tr.add_argument("--classifier-weights", metavar="FILE.safetensors", help=text)
    text = "frozen language model: hub id, folder, GGUF file or smollm2 (default)"
    tr.add_argument("--lm", default="smollm2", metavar="ID|DIR|FILE.gguf", help=text)
    text = "a CSV with columns image,caption, or COCO captions .json"
    tr.add_argument("--captions", required=True, metavar="FILE", help=text)
    text = "folder of the images (required for COCO .json; for a CSV, default: its folder)"
    tr.add_argument("--images", metavar="DIR", help=text)
    text = "validation captions, same formats (default: 10%% of --captions, at most 256, held out)"
    tr.add_argument("--val-captions", metavar="FILE", help=text)
    text = "where the model is saved; a run already there is resumed"
    tr.add_argument("--out", required=True, metavar="DIR", help=text)
    options.count(tr, "--steps", 1000, "training steps")
    options.count(tr, "--batch-size", 32, "captions per step")
    tr.add_argument("--lr", type=float, default=2e-4, metavar="F", help="peak learning rate (default 2e-4)")
    options.count(tr, "--prefix-length", 10, "prefix embeddings given to the LM", metavar="K")
    text = "translator architecture (default mlp)"
    tr.add_argument("--mapper", choices=("mlp", "transformer"), default="mlp", help=text)
