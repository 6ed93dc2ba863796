"""The texplain command line, run in-process on the tiny models."""

import json
import subprocess
import sys

import pytest
import torch
from PIL import Image

from texplain_widgets.attribution.maps import METHODS
from texplain_widgets.cli import main
from texplain_widgets.model.texplain import TExplain

CAPTIONS = {
    "astronaut": "a small red bird sits on the grass",
    "chelsea": "a big cat sits near the tree",
    "coffee": "a dog runs on the sand",
    "rocket": "a blue bird flies over the water",
}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_classifier, tiny_lm):
    torch.manual_seed(0)
    directory = tmp_path_factory.mktemp("saved-texplain")
    return TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=64).save_pretrained(directory)


def explain(capsys, *arguments):
    code = main(["explain", *map(str, arguments), "--device", "cpu"])
    out, err = capsys.readouterr()
    return code, out, err


def test_explain_prints_each_image_with_its_prediction_and_words(capsys, model_dir, photo_files):
    code, out, err = explain(capsys, *photo_files[:2], "--model", model_dir, "--sentences", 8, "--top", 3)
    assert code == 0, err
    for path in photo_files[:2]:
        assert path.name in out
    assert "landbird" in out or "waterbird" in out
    assert "word" in out and "count" in out and "%" in out


def test_explain_json_is_one_entry_per_image_and_reproducible(capsys, model_dir, photo_files):
    arguments = (*photo_files, "--model", model_dir, "--sentences", 8, "--seed", 3, "--json")
    code, out, _ = explain(capsys, *arguments)
    assert code == 0
    entries = json.loads(out)
    assert [entry["image"] for entry in entries] == [str(path) for path in photo_files]
    for entry in entries:
        assert len(entry["sentences"]) == 8
        assert entry["words"] and {"word", "count", "share"} <= set(entry["words"][0])
        assert entry["class_name"] in ("landbird", "waterbird")
    assert explain(capsys, *arguments)[1] == out


def test_a_folder_expands_to_its_images(capsys, model_dir, photo_files, tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    code, out, _ = explain(capsys, tmp_path, "--model", model_dir, "--sentences", 2, "--json")
    assert code == 0
    assert sorted(entry["image"] for entry in json.loads(out)) == sorted(map(str, photo_files))


@pytest.mark.parametrize("problem", ["missing", "text"])
def test_a_bad_image_is_a_clean_error(capsys, model_dir, tmp_path, problem):
    image = tmp_path / "broken.jpg"
    if problem == "text":
        image.write_text("this is not a JPEG")
    code, out, err = explain(capsys, image, "--model", model_dir)
    assert code == 2 and not out
    assert err.startswith("texplain: error: ") and "broken.jpg" in err
    assert "Traceback" not in err


def test_a_folder_that_is_no_model_is_a_clean_error(capsys, photo_files, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = explain(capsys, photo_files[0], "--model", empty)
    assert code == 2 and "not a saved TExplain" in err and "Traceback" not in err


def test_an_unknown_demo_model_is_named(capsys, photo_files):
    code, _, err = explain(capsys, photo_files[0], "--model", "demo:nope")
    assert code == 2
    assert "no demo model 'demo:nope': use demo, demo:biased or demo:balanced" in err


def test_bad_arguments_keep_argparse_behaviour(capsys, photo_files):
    with pytest.raises(SystemExit) as exit_:
        main(["explain", str(photo_files[0]), "--model", "x", "--sentences", "0"])
    assert exit_.value.code == 2 and "--sentences" in capsys.readouterr().err


def test_train_saves_a_model_that_loads(capsys, tiny_lm_dir, photo_files, tmp_path):
    captions = tmp_path / "captions.csv"
    captions.write_text(
        "image,caption\n" + "".join(f"{path.name},{CAPTIONS[path.stem]}\n" for path in photo_files)
    )
    out_dir = tmp_path / "run"
    code = main(
        [
            "train",
            "--classifier",
            "test_resnet",
            "--class-names",
            "a,b",
            "--lm",
            str(tiny_lm_dir),
            "--captions",
            str(captions),
            "--val-captions",
            str(captions),
            "--out",
            str(out_dir),
            "--steps",
            "3",
            "--batch-size",
            "2",
            "--prefix-length",
            "4",
            "--device",
            "cpu",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "step 3: loss" in out and "val loss" in out
    assert (out_dir / "config.json").is_file() and (out_dir / "translator.safetensors").is_file()
    loaded = TExplain.from_pretrained(out_dir)
    assert loaded.translator.config.prefix_length == 4
    assert loaded.classifier.class_names == ["a", "b"]


def test_coco_captions_need_an_image_folder(capsys, tmp_path):
    captions = tmp_path / "captions.json"
    captions.write_text('{"images": [], "annotations": []}')
    code = main(
        [
            "train",
            "--classifier",
            "test_resnet",
            "--captions",
            str(captions),
            "--out",
            str(tmp_path / "run"),
        ]
    )
    assert code == 2 and "--images" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command", [[], ["explain"], ["train"], ["demo"]], ids=["texplain", "explain", "train", "demo"]
)
def test_help_does_not_import_torch(command):
    probe = (
        "import sys, contextlib, io, texplain_widgets.cli as cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        f"    cli.main({[*command, '--help']!r})\n"
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# -- texplain saliency --------------------------------------------------------------------------


def test_saliency_writes_the_overlay(capsys, model_dir, photo_files, tmp_path):
    out = tmp_path / "map.png"
    arguments = ["--model", str(model_dir), "--out", str(out), "--device", "cpu"]
    code = main(["saliency", str(photo_files[0]), "--method", "saliency", "--target", "1", *arguments])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    assert "saliency map of class 1 (waterbird)" in stdout
    with Image.open(photo_files[0]) as image, Image.open(out) as drawn:
        assert drawn.format == "PNG" and drawn.size == image.size


def test_saliency_of_a_word(capsys, model_dir, photo_files, tmp_path):
    word = TExplain.from_pretrained(model_dir).explain(str(photo_files[1]), 8, seed=3).top_words(1)[0]
    out = tmp_path / "word.png"
    base = ["saliency", str(photo_files[1]), "--model", str(model_dir), "--out", str(out), "--device", "cpu"]
    code = main([*base, "--word", word.upper(), "--sentences", "8", "--seed", "3"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    assert f"gradcam map of the word {word!r}" in stdout and out.is_file()
    code = main([*base, "--word", "zebra", "--sentences", "8"])
    assert code == 2 and "'zebra' does not occur" in capsys.readouterr().err


def test_saliency_methods_are_the_registry(capsys, model_dir, photo_files, tmp_path):
    with pytest.raises(SystemExit) as exit_:
        main(
            ["saliency", str(photo_files[0]), "--model", str(model_dir), "--out", "x.png", "--method", "lime"]
        )
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "invalid choice: 'lime'" in err
    assert all(repr(method) in err for method in METHODS)
    with pytest.raises(SystemExit):
        main(["saliency", "--help"])
    assert ", ".join(METHODS) in " ".join(capsys.readouterr().out.split())


def test_saliency_uses_the_method_options_saved_with_the_model(
    capsys, tiny_classifier, tiny_lm, photo_files, tmp_path
):
    torch.manual_seed(0)
    model = TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=64)
    model.display = {"method_options": {"gradcam": {"layer": "no_such_layer"}}}
    saved = model.save_pretrained(tmp_path / "model")
    arguments = ["saliency", str(photo_files[0]), "--model", str(saved), "--out", str(tmp_path / "m.png")]
    code = main([*arguments, "--device", "cpu"])
    assert code == 2 and "no_such_layer" in capsys.readouterr().err  # the saved layer was asked for
    code = main([*arguments, "--device", "cpu", "--method", "saliency"])  # no saved options for it
    assert code == 0, capsys.readouterr().err


@pytest.mark.parametrize("missing", ["translator.safetensors", "classifier.safetensors"])
def test_a_model_folder_without_its_weights_says_what_is_missing(
    capsys, model_dir, photo_files, tmp_path, missing
):
    import shutil

    broken = tmp_path / "model"
    shutil.copytree(model_dir, broken)
    (broken / missing).unlink()
    image = str(photo_files[0])
    for arguments in (
        ["explain", image, "--model", str(broken), "--device", "cpu"],
        ["run", image, "--model", str(broken), "--out", str(tmp_path / "run"), "--device", "cpu"],
        ["inspect", str(broken)],
    ):
        code = main(arguments)
        err = capsys.readouterr().err
        assert code == 2, arguments
        assert err.startswith("texplain: error: ") and "Traceback" not in err
        assert f"{missing} is missing" in err and "save_pretrained" in err


def test_a_damaged_weights_file_is_named(capsys, model_dir, photo_files, tmp_path):
    import shutil

    broken = tmp_path / "model"
    shutil.copytree(model_dir, broken)
    (broken / "translator.safetensors").write_bytes(b"not safetensors")
    code, _, err = explain(capsys, photo_files[0], "--model", broken)
    assert code == 2 and "translator.safetensors" in err and "Traceback" not in err


def test_train_without_val_captions_holds_some_out_for_the_card(capsys, tiny_lm_dir, photo_files, tmp_path):
    """20 captions of 4 images: one image's 5 captions are held out (by image, seeded)."""
    captions = tmp_path / "captions.csv"
    rows = [f"{path.name},{CAPTIONS[path.stem]}\n" for path in photo_files] * 5
    captions.write_text("image,caption\n" + "".join(rows))
    arguments = ["train", "--classifier", "test_resnet", "--class-names", "a,b", "--lm", str(tiny_lm_dir)]
    arguments += ["--captions", str(captions), "--out", str(tmp_path / "run"), "--steps", "2"]
    code = main([*arguments, "--batch-size", "4", "--prefix-length", "4", "--device", "cpu"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "val loss" in out and "on 5 held-out captions" in out
    assert TExplain.from_pretrained(tmp_path / "run").report_card["n_captions"] == 5
