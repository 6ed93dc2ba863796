"""The ``texplain`` command: explain images with a saved model, train, inspect a model, run the demo.

Heavy libraries (torch, transformers, timm) are imported inside the commands, so that
``texplain --help`` answers at once. Each command is a function of the parsed arguments and
a function that declares its subparser (see :data:`COMMANDS`); options several commands share
are declared once, in :func:`_shared`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from . import arguments
from .errors import InputError, TExplainError
from .mitigation.command import add_parser as _mitigate_parser
from .model_names import DEMO_NAMES, resolve_model
from .reference_command import add_parser as _reference_parser
from .runs.command import add_parser as _run_parser
from .word_lines import PRIOR_MARK, print_explanation, short_words


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for any TExplainError)."""
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except TExplainError as err:
        print(f"texplain: error: {err}", file=sys.stderr)
        return 2


def explain(args: argparse.Namespace) -> int:
    """Explain each image: its prediction and the words its sampled sentences use most."""
    from tqdm import tqdm

    paths = _image_paths(args.images)
    device = arguments.device(args.device)
    model = resolve_model(args.model).to(device)
    with tqdm(total=len(paths) * args.sentences, unit="sentence", disable=None, leave=False) as bar:
        explanations = model.explain(
            [str(path) for path in paths],
            args.sentences,
            top_p=args.top_p,
            temperature=args.temperature,
            max_new_tokens=args.max_new_tokens,
            seed=args.seed,
            on_batch=lambda done, _total, _sentences: bar.update(done - bar.n),
        )
    if args.json:
        print(json.dumps([e.to_dict() for e in explanations], indent=2))
    else:
        for path, explanation in zip(paths, explanations):
            print_explanation(str(path), explanation, args.top)
            print()
    return 0


def train(args: argparse.Namespace) -> int:
    """Train a translator on image-caption pairs and save the model into --out."""
    import torch

    from .model.classifier import FrozenClassifier
    from .model.language import FrozenLanguageModel
    from .model.texplain import TExplain
    from .model.train import TrainConfig

    device = arguments.device(args.device)
    train_pairs = _caption_pairs(args.captions, args.images)
    val_pairs = _caption_pairs(args.val_captions, args.images) if args.val_captions else None
    weights = _safetensors(args.classifier_weights) if args.classifier_weights else None
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
        from .model.report_card import format_report_card

        print(format_report_card(model.report_card))
    print(f"saved to {args.out}; explain with: texplain explain IMAGE --model {args.out}")
    return 0


def demo(args: argparse.Namespace) -> int:
    """The main job: both demo classifiers explain test images of each group of the world."""
    import numpy as np

    from .demo import MODELS, load

    shown = args.per_group
    demo = load()
    world = demo.test
    picked = [i for group in range(4) for i in np.flatnonzero(world.groups == group)[:shown]]
    print(
        "The demo world: kites and balloons on grass or brick. In the biased classifier's training "
        "set 95% of kites were on grass and 95% of balloons on brick; the balanced one saw every "
        f"combination equally. {args.sentences} sentences per image, top {args.top} words.\n"
    )
    for name in MODELS:
        explanations = demo[name].explain([world.images[i] for i in picked], args.sentences, seed=args.seed)
        print(f"== {name} classifier")
        for i, explanation in zip(picked, explanations):
            group = world.group_names[world.groups[i]]
            verdict = "right" if explanation.predicted_class == world.labels[i] else "WRONG"
            words = ", ".join(short_words(explanation.words.head(args.top)))
            print(
                f"  {group:<14} -> {explanation.class_name:<8} {explanation.probability:4.0%} {verdict:<5}  {words}"
            )
        print()
    if any(demo[name].reference is not None for name in MODELS):
        print(f"{PRIOR_MARK} after a word: not above the language prior (said about as often about no image)")
    return 0


def inspect(args: argparse.Namespace) -> int:
    """Describe a saved TExplain from its config, without loading it: its parts and report card."""
    from .model.checkpoint import read_config
    from .model.report_card import format_report_card

    directory = _model_directory(args.model)
    config = read_config(directory)
    classifier, lm = config.get("classifier", {}), config.get("language_model", {})
    names = ", ".join(classifier.get("class_names") or []) or f"{classifier.get('num_classes')} classes"
    print(f"{directory}")
    print(
        f"  classifier: {classifier.get('timm_name') or 'custom'} ({names}), {classifier.get('feature_dim')} features"
    )
    print(f"  language model: {lm.get('source')} (width {lm.get('embed_dim')})")
    print("  translator: " + ", ".join(f"{k} {v}" for k, v in config.get("translator", {}).items()))
    print(format_report_card(config.get("report_card")))
    print(_reference_line(directory))
    return 0


def _reference_line(directory: Path) -> str:
    """What reference.json says the model says about any image, or that it has none."""
    from .model.reference import Reference

    reference = Reference.load(directory)
    if reference is None:
        return (
            "reference: none (word tables show no lift; add one with texplain reference DIR --images FOLDER)"
        )
    top = ", ".join(f"{w} {s:.0%}" for w, s in reference.words[["word", "share"]].head(8).values)
    return (
        f"reference: {reference.n_sentences} sentences from {reference.n_vectors} {reference.method}: {top}"
    )


def _model_directory(name: str) -> Path:
    """The folder of a saved TExplain, or of a demo model for a demo name."""
    if name in DEMO_NAMES:
        from .demo import WEIGHTS

        return WEIGHTS / ("biased" if name == "demo" else name.split(":", 1)[1])
    return Path(name)


def saliency(args: argparse.Namespace) -> int:
    """Draw a saliency map of the classifier over the image (of a word, with --word) as a PNG."""
    from .attribution.drawing import overlay, to_png_bytes
    from .attribution.maps import saliency_map
    from .attribution.word_maps import word_saliency
    from .data.images import load_image

    load_image(args.image)  # fail on a bad file before the slow model load
    model = resolve_model(args.model).to(arguments.device(args.device))
    options = model.display.get("method_options", {}).get(args.method, {})  # the saved defaults
    if args.word is None:
        result = saliency_map(model.classifier, args.image, args.method, target=args.target, **options)
        names = model.classifier.class_names
        what = f"class {result.target}" + (f" ({names[result.target]})" if names else "")
    else:
        explanation = model.explain(args.image, args.sentences, seed=args.seed)
        result = word_saliency(model, args.image, explanation, args.word, method=args.method, **options)
        what = f"the word {result.word!r}"
    try:
        Path(args.out).write_bytes(to_png_bytes(overlay(args.image, result.heatmap)))
    except OSError as err:
        raise InputError(f"{args.out}: cannot write the map ({err.strerror})") from err
    print(f"{args.out}: {result.method} map of {what}")
    return 0


def _image_paths(names: list[str]) -> list[Path]:
    """Image files of the command's arguments (folders expand to their images), each checked to load."""
    from .data.images import list_images, load_image

    paths = []
    for name in names:
        path = Path(name)
        paths.extend(list_images(path) if path.is_dir() else [path])
    for path in paths:
        load_image(path)  # fail on a bad file before the slow model load
    return paths


def _caption_pairs(path: str, images: str | None):
    """CaptionPairs from a CSV (image,caption) or a COCO captions JSON, chosen by suffix."""
    from .data.captions import CaptionPairs

    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return CaptionPairs.from_csv(path, images)
    if suffix == ".json":
        if images is None:
            raise InputError(f"{path}: COCO captions need --images DIR, the folder of their images")
        return CaptionPairs.from_coco(path, images)
    raise InputError(f"{path}: captions must be a .csv file (image,caption) or a COCO captions .json")


def _safetensors(path: str) -> dict:
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


class _Methods(Sequence):
    """The names of ``attribution.maps.METHODS`` as argparse choices, imported when a value is
    checked or the help shown (the registry imports torch; ``texplain --help`` does not)."""

    def __getitem__(self, index):
        from .attribution.maps import METHODS

        return METHODS[index]

    def __len__(self) -> int:
        from .attribution.maps import METHODS

        return len(METHODS)


def _count(parser, flag: str, default: int, what: str, metavar: str = "N") -> None:
    """A positive integer option; its help says ``what`` it counts and ends with the default."""
    parser.add_argument(
        flag,
        type=arguments.positive_int,
        default=default,
        metavar=metavar,
        help=f"{what} (default %(default)s)",
    )


def _shared(*, model=False, sentences: tuple[int, str] | None = None, seed: str = "", device=False):
    """A parent parser of the options commands share: ``--model``, ``--sentences`` (its default
    and what the sentences are for), ``--seed`` (what it seeds) and ``--device``."""
    parent = argparse.ArgumentParser(add_help=False)
    if model:
        names = ", ".join(DEMO_NAMES)
        parent.add_argument(
            "--model", required=True, metavar="DIR", help=f"a saved TExplain folder, or {names}"
        )
    if sentences:
        _count(parent, "--sentences", *sentences)
    if seed:
        parent.add_argument("--seed", type=int, default=0, metavar="S", help=f"{seed} (default %(default)s)")
    if device:
        text = "cpu, cuda, cuda:N or auto (the GPU if any; default)"
        parent.add_argument("--device", default="auto", metavar="DEVICE", help=text)
    return parent


def _command(commands, name: str, run, summary: str, *parents) -> argparse.ArgumentParser:
    """The subparser of one command that calls ``run``; its description is ``run``'s docstring."""
    sub = commands.add_parser(name, help=summary, description=run.__doc__, parents=parents)
    sub.set_defaults(command=run)
    return sub


def _explain_parser(commands) -> None:
    shared = _shared(
        model=True, sentences=(128, "sentences sampled per image"), seed="sampling seed", device=True
    )
    ex = _command(commands, "explain", explain, "explain images with a saved model", shared)
    ex.add_argument("images", nargs="+", metavar="IMAGE", help="image file, or folder of images")
    ex.add_argument(
        "--top-p", type=float, default=0.9, metavar="P", help="nucleus sampling mass (default 0.9)"
    )
    ex.add_argument(
        "--temperature", type=float, default=1.0, metavar="T", help="sampling temperature (default 1.0)"
    )
    _count(ex, "--max-new-tokens", 20, "tokens per sentence at most")
    ex.add_argument(
        "--top",
        type=arguments.positive_int,
        default=10,
        metavar="N",
        help="words shown per image (default 10; --json gives all)",
    )
    text = "print one JSON list: per image its prediction, sentences and word table"
    ex.add_argument("--json", action="store_true", help=text)


def _train_parser(commands) -> None:
    shared = _shared(seed="translator and batch order seed", device=True)
    tr = _command(commands, "train", train, "train a translator on image-caption pairs", shared)
    tr.add_argument("--classifier", required=True, metavar="TIMM_NAME", help="timm architecture name")
    classes = tr.add_mutually_exclusive_group()
    classes.add_argument("--num-classes", type=arguments.positive_int, metavar="N", help="classifier outputs")
    classes.add_argument("--class-names", type=_names, metavar="A,B,...", help="class names, in order")
    text = "the classifier's trained weights (without them: random weights)"
    tr.add_argument("--classifier-weights", metavar="FILE.safetensors", help=text)
    text = "frozen language model: hub id, folder, GGUF file or smollm2 (default)"
    tr.add_argument("--lm", default="smollm2", metavar="ID|DIR|FILE.gguf", help=text)
    text = "a CSV with columns image,caption, or COCO captions .json"
    tr.add_argument("--captions", required=True, metavar="FILE", help=text)
    text = "folder of the images (required for COCO .json; for a CSV, default: its folder)"
    tr.add_argument("--images", metavar="DIR", help=text)
    tr.add_argument("--val-captions", metavar="FILE", help="validation captions, same formats")
    text = "where the model is saved; a run already there is resumed"
    tr.add_argument("--out", required=True, metavar="DIR", help=text)
    _count(tr, "--steps", 1000, "training steps")
    _count(tr, "--batch-size", 32, "captions per step")
    tr.add_argument("--lr", type=float, default=2e-4, metavar="F", help="peak learning rate (default 2e-4)")
    _count(tr, "--prefix-length", 10, "prefix embeddings given to the LM", metavar="K")
    text = "translator architecture (default mlp)"
    tr.add_argument("--mapper", choices=("mlp", "transformer"), default="mlp", help=text)


def _saliency_parser(commands) -> None:
    sentences = (128, "sentences sampled to find --word's contexts")
    shared = _shared(model=True, sentences=sentences, seed="sampling seed", device=True)
    sa = _command(commands, "saliency", saliency, "draw a saliency map over an image", shared)
    sa.add_argument("image", metavar="IMAGE", help="image file")
    text = "%(choices)s (default %(default)s, with the model's saved options for it)"
    sa.add_argument("--method", default="gradcam", choices=_Methods(), metavar="METHOD", help=text)
    sa.add_argument("--out", required=True, metavar="FILE.png", help="where the overlay is written")
    about = sa.add_mutually_exclusive_group()
    about.add_argument("--target", type=int, metavar="N", help="class explained (default: the predicted one)")
    text = "explain this word of the image's sampled sentences instead"
    about.add_argument("--word", metavar="WORD", help=text)


def _inspect_parser(commands) -> None:
    ins = _command(commands, "inspect", inspect, "describe a saved model and its report card")
    names = ", ".join(DEMO_NAMES)
    ins.add_argument("model", metavar="DIR", help=f"a saved TExplain folder, or {names}")


def _demo_parser(commands) -> None:
    shared = _shared(sentences=(64, "sentences per image"), seed="sampling seed")
    de = _command(commands, "demo", demo, "run the offline demo", shared)
    _count(de, "--per-group", 2, "test images per group")
    _count(de, "--top", 6, "words shown per image")


#: One function per command, each adding its subparser; a new command adds its own here.
COMMANDS = (
    _explain_parser,
    _train_parser,
    _inspect_parser,
    _saliency_parser,
    _demo_parser,
    _run_parser,
    _reference_parser,
    _mitigate_parser,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="texplain",
        description="Explain a frozen image classifier with the words a frozen language model "
        "says about its features.",
    )
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(commands)
    return parser


if __name__ == "__main__":
    sys.exit(main())
