"""``texplain reference`` and the trust columns in the command line's word output."""

import json
import subprocess
import sys

import pandas as pd
import pytest
import torch

from texplain_widgets.cli import main
from texplain_widgets.cli.tables import print_explanation, short_words
from texplain_widgets.model.explanation import Explanation
from texplain_widgets.model.reference import REFERENCE, Reference
from texplain_widgets.model.texplain import TExplain


@pytest.fixture
def model_dir(tmp_path, tiny_classifier, tiny_lm):
    torch.manual_seed(0)
    return TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=64).save_pretrained(tmp_path / "m")


def test_reference_command_writes_it_and_explain_shows_lift(capsys, model_dir, photo_files, tmp_path):
    folder = photo_files[0].parent
    assert not (model_dir / REFERENCE).exists()
    code = main(["reference", str(model_dir), "--images", str(folder), "--vectors", "16", "--sentences", "2"])
    out, err = capsys.readouterr()
    assert code == 0, err
    saved = json.loads((model_dir / REFERENCE).read_text())
    assert saved["n_sentences"] == 32 and saved["settings"]["reference_set"] == len(photo_files)
    assert "the prior's words" in out
    code = main(
        ["explain", str(photo_files[0]), "--model", str(model_dir), "--sentences", "8", "--device", "cpu"]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "reference" in out and "lift" in out
    main(["explain", str(photo_files[0]), "--model", str(model_dir), "--sentences", "8", "--json"])
    entry = json.loads(capsys.readouterr().out)[0]
    assert {"reference_share", "lift", "above_prior"} <= set(entry["words"][0])
    shorter = ["explain", str(photo_files[0]), "--model", str(model_dir), "--sentences", "8"]
    shorter += ["--max-new-tokens", "4"]  # the reference has 20-token sentences: not comparable
    assert main([*shorter, "--device", "cpu"]) == 0
    out, err = capsys.readouterr()
    assert "no lift: the reference was sampled with other settings (max_new_tokens 20 vs 4" in out
    assert "nan" not in out and "texplain: warning: the reference was sampled" in err
    assert main([*shorter, "--json"]) == 0
    entry = json.loads(capsys.readouterr().out)[0]
    assert entry["words"][0]["lift"] is None and entry["reference"]["comparable"] is False


def test_reference_command_refuses_a_missing_folder(capsys, model_dir, photo_files, tmp_path):
    assert main(["reference", str(model_dir), "--images", str(tmp_path / "none")]) == 2
    assert "not a folder" in capsys.readouterr().err
    (tmp_path / "one").mkdir()
    photo_files[0].rename(tmp_path / "one" / photo_files[0].name)
    assert main(["reference", str(model_dir), "--images", str(tmp_path / "one")]) == 2
    assert "at least 2" in capsys.readouterr().err


def test_words_not_above_the_prior_are_marked(capsys):
    reference = Reference(pd.DataFrame({"word": ["sky"], "count": [99], "share": [0.99]}), 100, 100)
    explanation = Explanation(["sky bird"] * 50 + ["sky"] * 50, 0, 0.9, "a", reference=reference)
    assert short_words(explanation.words) == ["sky 100%~", "bird 50%"]
    print_explanation("x.png", explanation, 5)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == ["word", "count", "share", "reference", "lift"]
    sky, bird = (next(line for line in lines if line.split()[0] == w) for w in ("sky", "bird"))
    assert "not above the language prior" in sky and "not above" not in bird
    assert bird.split()[3] == "0.0%"
    plain = Explanation(["sky bird"], 0, 0.9, "a")  # no reference: the columns of before
    assert short_words(plain.words) == ["bird 100%", "sky 100%"]
    print_explanation("x.png", plain, 5)
    assert "lift" not in capsys.readouterr().out


def test_reference_help_does_not_import_torch():
    probe = (
        "import sys, contextlib, io, texplain_widgets.cli as cli\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        "    cli.main(['reference', '--help'])\n"
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_reference_loads_only_the_drawn_images_and_skips_unreadable_ones(
    capsys, model_dir, photos, tmp_path, monkeypatch
):
    """Twelve images in subfolders, three unreadable, six asked for: six are used, each drawn image
    is loaded once, the unreadable ones drawn are counted and replaced, the rest is never opened."""
    from PIL import Image

    from texplain_widgets.data import images as image_module

    folder = tmp_path / "set"
    for index, array in enumerate(list(photos.values()) * 3):
        (folder / f"sub{index % 2}").mkdir(parents=True, exist_ok=True)
        if index in (0, 5, 9):
            (folder / f"sub{index % 2}" / f"{index}.png").write_bytes(b"not a png")
        else:
            Image.fromarray(array).resize((64, 64)).save(folder / f"sub{index % 2}" / f"{index}.png")
    loads, load_image = [], image_module.load_image
    monkeypatch.setattr(
        image_module, "load_image", lambda path, **kw: loads.append(path) or load_image(path, **kw)
    )
    arguments = ["reference", str(model_dir), "--images", str(folder), "--vectors", "6", "--sentences", "1"]
    assert main(arguments) == 0
    out = capsys.readouterr().out
    skipped = [path for path in loads if path.name in ("0.png", "5.png", "9.png")]
    assert len(loads) == 6 + len(skipped) < 12 and len(set(loads)) == len(loads)
    assert skipped and f"skipped {len(skipped)} unreadable" in out
    saved = json.loads((model_dir / REFERENCE).read_text())
    assert saved["settings"]["reference_set"] == 6
    first = list(loads)
    loads.clear()
    assert main(arguments) == 0  # seeded: the same draw
    assert loads == first
    capsys.readouterr()
