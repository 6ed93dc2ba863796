"""explain_dataset with tiny real models: what a run stores, how it reads back, resume and refusal."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from runs_support import SETTINGS, bad_files, image_folder, save_tiny_model

from texplain_widgets import ExplanationSet, explain_dataset
from texplain_widgets.errors import InputError
from texplain_widgets.runs.store import StoreError
from texplain_widgets.words.ranking import rank_words


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, tiny_classifier, tiny_lm):
    return save_tiny_model(tmp_path_factory.mktemp("tiny-texplain"), tiny_classifier, tiny_lm)


@pytest.fixture(scope="module")
def model(model_dir):
    from texplain_widgets.model.texplain import TExplain

    return TExplain.from_pretrained(model_dir)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = image_folder(tmp_path_factory.mktemp("images"), 7)
    bad_files(root / "waterbird")
    return root


@pytest.fixture(scope="module")
def run(model, folder, tmp_path_factory):
    return explain_dataset(model, folder, tmp_path_factory.mktemp("run") / "out", chunk_size=3, **SETTINGS)


def test_every_image_is_stored_or_failed_and_reads_back(run, model, folder):
    images, failures = run.images, run.failures
    assert len(images) == 8 and len(failures) == 4 and run.manifest["complete"]
    assert "sentences" not in images.columns
    assert sorted(images["id"].tolist() + failures["id"].tolist()) == list(range(12))
    assert set(images["label"]) == {"landbird", "waterbird"}
    reasons = dict(zip(failures["path"].map(lambda p: Path(p).name), failures["error"]))
    assert set(reasons) == {"truncated.png", "empty.jpg", "notes.jpg", "bomb.png"}
    assert "decompression bomb" in reasons["bomb.png"] or "too many pixels" in reasons["bomb.png"]
    assert "not an image" in reasons["notes.jpg"]
    assert "4 failed" in run.summary() and ".failures" in run.summary()
    first = images.iloc[1]
    stored = run.explanation(first["id"])
    direct = model.explain(first["path"], **SETTINGS, image_ids=[int(first["id"])])
    assert stored.sentences == direct.sentences and stored.predicted_class == direct.predicted_class
    assert stored.probability == pytest.approx(direct.probability)
    assert stored.words[direct.words.columns].equals(direct.words)  # plus the run reference's columns
    with pytest.raises(InputError, match="failed to load"):
        run.explanation(int(failures["id"].iloc[0]))


def test_each_image_of_a_run_draws_from_streams_of_its_own(model, tmp_path):
    """Two copies of one image get independent sentences, whatever the chunks."""
    folder = tmp_path / "copies"
    folder.mkdir()
    image_folder(tmp_path / "one", 1)
    original = next((tmp_path / "one").rglob("*.png"))
    for name in ("a.png", "b.png", "c.png"):
        shutil.copy(original, folder / name)
    by_one = explain_dataset(model, folder, tmp_path / "by-one", chunk_size=1, progress=False, **SETTINGS)
    sentences = [by_one.explanation(i).sentences for i in range(3)]
    assert sentences[0] != sentences[1] and sentences[1] != sentences[2]
    by_three = explain_dataset(model, folder, tmp_path / "by-three", chunk_size=3, progress=False, **SETTINGS)
    assert [by_three.explanation(i).sentences for i in range(3)] == sentences


def test_words_are_rank_words_from_the_stored_counts(run):
    explanations = [run.explanation(i) for i in run.images["id"]]
    for by, column in (("label", "label"), ("predicted", "class_name")):
        expected = rank_words(explanations, run.images[column].tolist(), top=None)
        got = run.words(by=by, top=None)
        pd.testing.assert_frame_equal(got[expected.columns], expected, check_dtype=False)
    assert run.words(by="label", top=2).groupby("group").size().tolist() == [2, 2]
    with pytest.raises(InputError, match="no groups"):
        run.words(by="group")
    with pytest.raises(InputError, match="by must be"):
        run.words(by="colour")


def test_images_with_a_word_by_share(run):
    word = run.words(by="label").iloc[0]["word"]
    ranked = run.images_with(word.upper())
    shares = {}
    for i in run.images["id"]:
        explanation = run.explanation(i)
        table = explanation.words.set_index("word")
        if word in table.index:
            shares[i] = table.loc[word, "share"]
    assert set(ranked["id"]) == set(shares)
    assert ranked["share"].tolist() == pytest.approx([shares[i] for i in ranked["id"]])
    assert ranked["share"].is_monotonic_decreasing
    assert run.images_with("zeppelin").empty


def test_accuracy_per_class_and_group(run, tmp_path, model, folder):
    table = run.accuracy().set_index(["by", "name"])
    images = run.images
    right = images["class_name"] == images["label"]
    assert table.loc[("all", "all"), "accuracy"] == pytest.approx(right.mean())
    for label in ("landbird", "waterbird"):
        assert table.loc[("class", label), "n"] == (images["label"] == label).sum()
    labels = tmp_path / "labels.csv"
    names = images["name"].tolist()
    labels.write_text(
        "image,label,group\n" + "".join(f"{n},{n.split('/')[0]},g{i % 2}\n" for i, n in enumerate(names))
    )
    grouped = explain_dataset(model, folder, tmp_path / "grouped", labels=labels, progress=False, **SETTINGS)
    accuracy = grouped.accuracy()
    groups = accuracy[accuracy["by"] == "group"]
    assert len(groups) == 2 and groups["worst"].sum() >= 1
    assert groups.loc[groups["worst"], "accuracy"].iloc[0] == groups["accuracy"].min()
    assert set(grouped.words(by="group")["group"]) <= {"g0", "g1"}


def test_rerun_resumes_and_refuses_other_settings(run, model, folder, tiny_classifier, tiny_lm, tmp_path):
    calls = []
    again = explain_dataset(
        model, folder, run.directory, chunk_size=3, on_chunk=lambda *a: calls.append(a), **SETTINGS
    )
    assert calls == [] and len(again) == 8
    with pytest.raises(StoreError, match=r"sampling\.n_sentences: stored 8, given 9"):
        explain_dataset(model, folder, run.directory, **{**SETTINGS, "n_sentences": 9})
    other = save_tiny_model(tmp_path / "other", tiny_classifier, tiny_lm)
    import torch

    from texplain_widgets.model.texplain import TExplain

    other_model = TExplain.from_pretrained(other)
    with torch.no_grad():
        next(other_model.translator.parameters()).add_(1.0)
    with pytest.raises(StoreError, match=r"model\.translator\.fingerprint"):
        explain_dataset(other_model, folder, run.directory, **SETTINGS)
    fresh = explain_dataset(other_model, folder, tmp_path / "copy", progress=False, **SETTINGS)
    replaced = explain_dataset(model, folder, tmp_path / "copy", overwrite=True, progress=False, **SETTINGS)
    assert replaced.manifest["model"] != fresh.manifest["model"] and len(replaced) == 8


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-20])


def _flip_a_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x04  # the same size, the footer intact
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "table, damage, reported",
    [
        ("images", _truncate, "bytes on disk"),
        ("images", _flip_a_bit, "checksum differs"),
        ("words", _flip_a_bit, "checksum differs"),
    ],
    ids=["truncated-images", "bit-flip-images", "bit-flip-words"],
)
def test_a_damaged_shard_is_reported_then_redone(run, model, folder, tmp_path, table, damage, reported):
    copy = tmp_path / "copy"
    shutil.copytree(run.directory, copy)
    damage(copy / table / "part-00001.parquet")
    with pytest.raises(StoreError, match=f"{table}/part-00001.parquet: .*{reported}"):
        ExplanationSet.open(copy)
    repaired = explain_dataset(model, folder, copy, chunk_size=3, progress=False, **SETTINGS)
    pd.testing.assert_frame_equal(repaired.images, run.images)
    assert [repaired.explanation(i).sentences for i in repaired.images["id"]] == [
        run.explanation(i).sentences for i in run.images["id"]
    ]
    pd.testing.assert_frame_equal(repaired.words(top=None), run.words(top=None))


def test_the_batch_size_is_recorded_and_a_different_one_warns_on_resume(run, model, folder, tmp_path):
    from texplain_widgets.runs.models import resume_batch_rows

    assert run.manifest["sampling"]["batch_size"] == 256  # explain()'s rows per batch on a CPU
    copy = tmp_path / "copy"
    shutil.copytree(run.directory, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["sampling"]["batch_size"] = 512  # as a GPU with more free memory would have sized it
    manifest["shards"] = manifest["shards"][:2]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.warns(UserWarning, match="sampled 512 rows per batch; this resume uses 256"):
        resumed = explain_dataset(model, folder, copy, chunk_size=3, progress=False, **SETTINGS)
    assert (
        len(resumed) == len(run) and resumed.manifest["sampling"]["batch_size"] == 512
    )  # the stored shards'
    assert resume_batch_rows(128, 256) == (128, None)  # kept when it fits: the resume is exact
    assert resume_batch_rows(None, 256) == (256, None) and resume_batch_rows(256, 256) == (256, None)
    assert resume_batch_rows(256, None) == (256, None)  # Ray workers take the stored size
    assert resume_batch_rows(None, None) == (None, None)  # a Ray run: each worker sizes its own


def test_ray_workers_get_a_model_directory_as_an_absolute_path(tmp_path, monkeypatch):
    from texplain_widgets.runs.models import worker_model_name

    monkeypatch.chdir(tmp_path)
    (tmp_path / "models" / "birds").mkdir(parents=True)
    assert worker_model_name("models/birds") == str(tmp_path / "models" / "birds")
    assert worker_model_name(Path("models") / ".." / "models" / "birds") == str(tmp_path / "models" / "birds")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert worker_model_name("~/models/birds") == str(tmp_path / "models" / "birds")
    for name in ("demo", "demo:biased", "demo:balanced"):
        assert worker_model_name(name) == name


def test_a_bad_source_fails_before_any_model_loads(tmp_path):
    missing_model = tmp_path / "no-model"
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no image files"):
        explain_dataset(missing_model, tmp_path / "empty", tmp_path / "out")
    listing = tmp_path / "list.csv"
    listing.write_text("image,label\nthere.png,a\n")
    with pytest.raises(InputError, match="1 missing file"):
        explain_dataset(missing_model, listing, tmp_path / "out")
    with pytest.raises(InputError, match="engine must be"):
        explain_dataset(missing_model, listing, tmp_path / "out", engine="spark")
    assert not (tmp_path / "out").exists()


def test_a_non_run_directory_is_not_overwritten(model, folder, tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(StoreError, match="not empty"):
        explain_dataset(model, folder, tmp_path, **SETTINGS)
    assert (tmp_path / "keep.txt").read_text() == "mine"


CHILD = textwrap.dedent(
    """
    import sys, time
    from texplain_widgets import explain_dataset
    model, folder, out = sys.argv[1:4]
    explain_dataset(model, folder, out, chunk_size=2, progress=False,
                    on_chunk=lambda *a: time.sleep(0.5), **{settings})
    """
)


def _start_child(model_dir, folder, out):
    code = CHILD.replace("{settings}", json.dumps(SETTINGS))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    return subprocess.Popen([sys.executable, "-c", code, str(model_dir), str(folder), str(out)], env=env)


def _wait_for_shards(out: Path, n: int, child, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        manifest = out / "manifest.json"
        if manifest.is_file():
            try:
                if len(json.loads(manifest.read_text())["shards"]) >= n:
                    return
            except json.JSONDecodeError:
                pass
        assert child.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.05)
    raise AssertionError(f"no {n} shards within {limit} s")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_a_killed_run_resumes_to_the_same_sentences(how, model_dir, model, tmp_path):
    folder = image_folder(tmp_path / "images", 12)
    out = tmp_path / "killed"
    child = _start_child(model_dir, folder, out)
    try:
        _wait_for_shards(out, 2, child)
        child.send_signal(how)
        assert child.wait(timeout=60) != 0
    finally:
        child.kill()
    interrupted = ExplanationSet.open(out)  # readable, lock released
    assert 4 <= len(interrupted) < 12 and not interrupted.manifest["complete"]
    resumed = explain_dataset(model_dir, folder, out, chunk_size=2, progress=False, **SETTINGS)
    whole = explain_dataset(model, folder, tmp_path / "whole", chunk_size=2, progress=False, **SETTINGS)
    assert resumed.images["id"].tolist() == list(range(12)) and resumed.manifest["complete"]
    pd.testing.assert_frame_equal(resumed.images, whole.images)
    for i in range(12):
        assert resumed.explanation(i).sentences == whole.explanation(i).sentences
    assert len(list((out / "images").iterdir())) == len(resumed.manifest["shards"])  # no leftovers


def test_a_run_stores_a_reference_and_its_words_carry_lift(run, model, folder, tmp_path):
    from texplain_widgets.words.trust import add_trust

    reference = run.reference  # the model has none: computed from the run's 8 readable images
    assert reference.settings["origin"] == "run images" and reference.settings["reference_set"] == 8
    assert reference.n_vectors == 128 and reference.settings["max_new_tokens"] == SETTINGS["max_new_tokens"]
    assert reference.n_images == reference.interval_n == 8  # its interval counts images, not the 128 draws
    words = run.words(by="label", top=None)
    trust = ["reference_share", "lift", "share_low", "share_high", "above_prior"]
    assert words.columns[-5:].tolist() == trust
    images_per_label = run.images.groupby("label").size()
    part = words[words["group"] == "landbird"]
    sentences = int(run.images.loc[run.images["label"] == "landbird", "n_sentences"].sum())
    expected = add_trust(
        part[words.columns[:6]], sentences, reference, interval_n=images_per_label["landbird"]
    )
    pd.testing.assert_frame_equal(part, expected)  # the interval's n is the images, not the sentences
    assert set(trust) <= set(run.explanation(int(run.images["id"].iloc[0])).words.columns)

    model.reference = reference  # a model with a reference: the run stores the model's own
    try:
        own = explain_dataset(model, folder, tmp_path / "own", progress=False, **SETTINGS)
    finally:
        model.reference = None
    assert own.reference.settings["origin"] == "model"
    legacy = tmp_path / "legacy"  # a run written before references (the shipped demo runs): no columns
    shutil.copytree(run.directory, legacy)
    manifest = json.loads((legacy / "manifest.json").read_text())
    del manifest["reference"]
    (legacy / "manifest.json").write_text(json.dumps(manifest))
    old = ExplanationSet.open(legacy)
    assert old.reference is None and "lift" not in old.words(by="label").columns


def test_a_reference_of_other_settings_is_not_used_for_lift(run, model, folder, tmp_path):
    import dataclasses

    from texplain_widgets.widgets.report_queries import ranked_words

    longer = {**run.reference.settings, "max_new_tokens": 20}  # the model's, made with 20 tokens
    model.reference = dataclasses.replace(run.reference, settings=longer)
    try:
        own = explain_dataset(model, folder, tmp_path / "own", progress=False, **SETTINGS)
    finally:
        model.reference = None
    assert own.reference.settings["origin"] == "run images"  # one with the run's 6 tokens instead
    assert own.reference.settings["max_new_tokens"] == SETTINGS["max_new_tokens"]
    assert own.words(by="label")["lift"].notna().all()

    legacy = tmp_path / "legacy"  # a run that stored a reference of other settings (older versions)
    shutil.copytree(own.directory, legacy)
    manifest = json.loads((legacy / "manifest.json").read_text())
    manifest["reference"]["settings"]["max_new_tokens"] = 20
    (legacy / "manifest.json").write_text(json.dumps(manifest))
    old = ExplanationSet.open(legacy)
    with pytest.warns(UserWarning, match="max_new_tokens 20 vs 6"):
        words = old.words(by="label")
    assert words["lift"].isna().all() and words["above_prior"].isna().all()
    assert "not comparable" in words.attrs["reference_note"]
    with pytest.warns(UserWarning, match="not comparable"):
        assert old.explanation(0).words["lift"].isna().all()
    records = ranked_words(old, "label", 3)
    assert records and not any("lift" in r for r in records)
    resumed = explain_dataset(model, folder, legacy, progress=False, **SETTINGS)  # a rerun mends it
    assert resumed.reference.settings["max_new_tokens"] == SETTINGS["max_new_tokens"]


def test_labels_that_match_no_class_name_are_warned_about(model, folder, tmp_path):
    listing = tmp_path / "list.csv"
    names = ["landbird/img00.png", "waterbird/img01.png", "landbird/img02.png"]
    listing.write_text("image,label\n" + "".join(f"{folder / n},{n[0].upper()}\n" for n in names))
    with pytest.warns(UserWarning, match=r"none of the 2 labels.*L, W.*landbird, waterbird"):
        runs = explain_dataset(model, listing, tmp_path / "out", progress=False, **SETTINGS)
    with pytest.warns(UserWarning, match="none of the 2 labels"):
        assert runs.accuracy()["accuracy"].iloc[0] == 0
