"""``texplain run``: arguments, the summary it prints, and the end-to-end run with the real SmolLM2."""

import argparse

import pytest
from runs_support import bad_files, image_folder, save_tiny_model

from texplain_widgets import ExplanationSet
from texplain_widgets.cli import run as command
from texplain_widgets.errors import InputError


def texplain_run(argv):
    parser = argparse.ArgumentParser(prog="texplain")
    command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["run", *argv])
    return args.command(args)


def test_run_prints_the_summary_and_the_failures(tmp_path, tiny_classifier, tiny_lm, capsys):
    model = save_tiny_model(tmp_path / "model", tiny_classifier, tiny_lm)
    folder = image_folder(tmp_path / "images", 4)
    bad_files(folder / "landbird")
    out = tmp_path / "run"
    argv = [
        str(folder),
        "--model",
        str(model),
        "--out",
        str(out),
        "--sentences",
        "4",
        "--max-new-tokens",
        "4",
    ]
    assert texplain_run([*argv, "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "5 of 9 images explained, 4 failed" in printed
    assert printed.count("  failed: ") == 4 and "bomb.png" in printed and "ExplanationSet.open(" in printed
    runs = ExplanationSet.open(out)
    assert runs.settings["n_sentences"] == 4 and runs.manifest["model_source"]["name"] == str(model)
    assert texplain_run(argv) == 0  # resumed: nothing left to do
    assert "5 of 9 images explained" in capsys.readouterr().out
    with pytest.raises(InputError, match="--address"):
        texplain_run([*argv, "--address", "auto"])


@pytest.mark.smollm2
@pytest.mark.slow
def test_end_to_end_with_the_real_smollm2(smollm2_cache, tmp_path):
    """The demo's biased TExplain (the real SmolLM2) over a few demo test images of each group."""
    import numpy as np

    from texplain_widgets import explain_dataset
    from texplain_widgets.data.collection import ImageCollection
    from texplain_widgets.demo import load, split

    world = split("test")
    picked = [int(i) for group in range(4) for i in np.flatnonzero(world.groups == group)[:2]]
    source = ImageCollection.from_world(world.subset(picked))
    runs = explain_dataset("demo", source, tmp_path / "run", n_sentences=6, max_new_tokens=12, chunk_size=4)
    assert len(runs) == 8 and runs.n_failed == 0 and runs.manifest["complete"]
    assert runs.manifest["model_source"]["language_model"] == "smollm2"
    words = runs.words(by="group")
    assert set(words["group"]) == set(world.group_names) and (words["count"] > 0).all()
    assert runs.accuracy().query("by == 'group'")["worst"].any()
    model = load(["biased"])["biased"]
    direct = model.explain(world.images[picked[0]], 6, max_new_tokens=12)
    assert runs.explanation(0).sentences == direct.sentences
    assert any(sentence.strip() for sentence in direct.sentences)


def test_texplain_run_is_a_command_of_the_cli(tmp_path, capsys):
    from texplain_widgets.cli import main

    assert main(["run", str(tmp_path / "missing"), "--model", "demo", "--out", str(tmp_path / "out")]) == 2
    assert "no such folder" in capsys.readouterr().err  # checked before the demo model loads
    assert not (tmp_path / "out").exists()


def test_run_refuses_a_labels_csv_that_names_an_image_twice_and_warns_on_unknown_labels(
    tmp_path, tiny_classifier, tiny_lm, capsys
):
    from texplain_widgets.cli import main

    model = save_tiny_model(tmp_path / "model", tiny_classifier, tiny_lm)
    folder = image_folder(tmp_path / "images", 2)
    labels = tmp_path / "labels.csv"
    labels.write_text("image,label\nlandbird/img00.png,kite\nlandbird/img00.png,balloon\n")
    argv = [
        "run",
        str(folder),
        "--labels",
        str(labels),
        "--model",
        str(model),
        "--out",
        str(tmp_path / "run"),
    ]
    argv += ["--sentences", "2", "--max-new-tokens", "2", "--device", "cpu"]
    assert main(argv) == 2
    assert "lines 2 and 3" in capsys.readouterr().err and not (tmp_path / "run").exists()
    labels.write_text("image,label\nlandbird/img00.png,kite\nwaterbird/img01.png,balloon\n")
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "texplain: warning:" in err and "none of the 2 labels" in err and "landbird, waterbird" in err


@pytest.mark.parametrize(
    "edit, expected",
    [
        (lambda m: {k: v for k, v in m.items() if k != "shards"}, 'no "shards" list'),
        (lambda m: m | {"shards": [{"part": "0", "files": {}}]}, "shards[0].part must be a whole number"),
        (lambda m: [m], "must hold a JSON object, found a list"),
        (lambda m: m | {"shards": m["shards"] * 2}, "part 0 is listed twice"),
        (lambda m: m | {"format": "texplain-run/1"}, "older version"),
    ],
    ids=["shards-missing", "part-a-string", "a-list", "a-shard-twice", "format-1"],
)
def test_a_hand_edited_or_old_run_is_an_error_naming_the_mend(
    tmp_path, tiny_classifier, tiny_lm, capsys, edit, expected
):
    import json

    from texplain_widgets.cli import main
    from texplain_widgets.runs.store import StoreWriter
    from texplain_widgets.runs.tables import chunk_tables

    model = save_tiny_model(tmp_path / "model", tiny_classifier, tiny_lm)
    folder = image_folder(tmp_path / "images", 2)
    out = tmp_path / "run"
    with StoreWriter(out, {"model": {}, "sampling": {}, "source": {"n_images": 1}}) as writer:
        writer.write_chunk(chunk_tables([{"id": 0, "name": "x", "path": None, "label": None, "group": None,
                                          "error": "InputError: unreadable"}]))  # fmt: skip
    manifest = out / "manifest.json"
    manifest.write_text(json.dumps(edit(json.loads(manifest.read_text()))))
    argv = [
        "run",
        str(folder),
        "--model",
        str(model),
        "--out",
        str(out),
        "--sentences",
        "2",
        "--device",
        "cpu",
    ]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert error.startswith("texplain: error: ") and expected in error and "--overwrite" in error
    assert "Traceback" not in error
