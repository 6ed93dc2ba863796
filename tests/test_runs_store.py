"""The run store: atomic shards, the manifest's index, the writer's lock, the comparison of runs."""

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pyarrow as pa
import pytest

from texplain_widgets.runs.store import (
    StoreError,
    StoreWriter,
    check_shards,
    differences,
    read_manifest,
    write_atomic,
)
from texplain_widgets.runs.tables import chunk_tables, word_counts
from texplain_widgets.words import word_table

HEAD = {"model": {"fingerprint": "abc"}, "sampling": {"seed": 0}, "source": {"digest": "d"}}


def results(ids):
    return [
        {"id": i, "name": f"{i}.png", "path": None, "label": "a", "group": None, "error": None, "predicted": 0,
         "class_name": "a", "probability": 0.5, "sentences": ["Birds over the water.", "a bird"]}
        for i in ids
    ]  # fmt: skip


def test_word_counts_match_word_table():
    sentences = ["Birds fly over the lake.", "a bird on the lake", "a bird on the lake", "nothing"]
    counts, docs = word_counts(sentences)
    table = word_table(sentences).set_index("word")
    assert dict(counts) == table["count"].to_dict()
    assert {w: d / len(sentences) for w, d in docs.items()} == table["share"].to_dict()


def test_chunks_are_indexed_and_resumed(tmp_path):
    with StoreWriter(tmp_path / "run", HEAD) as writer:
        writer.write_chunk(chunk_tables(results([0, 1])))
        writer.write_chunk(chunk_tables([*results([2]), {"id": 3, "name": "3", "path": "x", "label": None,
                                                          "group": None, "error": "InputError: bad"}]))  # fmt: skip
    manifest = read_manifest(tmp_path / "run")
    assert [s["part"] for s in manifest["shards"]] == [0, 1] and check_shards(
        tmp_path / "run", manifest
    ) == []
    assert manifest["shards"][1]["files"]["failures"]["rows"] == 1
    (tmp_path / "run" / "words" / "part-00007.parquet").write_bytes(b"left over by a crash")
    with StoreWriter(tmp_path / "run", HEAD) as writer:
        assert writer.done_ids() == {0, 1, 2, 3}
    assert not (tmp_path / "run" / "words" / "part-00007.parquet").exists()


def test_other_settings_are_refused_with_the_differences(tmp_path):
    StoreWriter(tmp_path, HEAD).close()
    other = {**HEAD, "sampling": {"seed": 1}, "model": {"fingerprint": "xyz"}}
    with pytest.raises(StoreError) as err:
        StoreWriter(tmp_path, other)
    assert 'model.fingerprint: stored "abc", given "xyz"' in str(err.value)
    assert "sampling.seed: stored 0, given 1" in str(err.value) and "--overwrite" in str(err.value)
    StoreWriter(tmp_path, other, overwrite=True).close()
    assert read_manifest(tmp_path)["sampling"] == {"seed": 1}
    assert differences({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}}) == ["a.c: stored null, given 2"]


def test_a_second_writer_is_refused_while_the_first_lives(tmp_path):
    holder = textwrap.dedent(
        f"""
        import sys, time
        from texplain_widgets.runs.store import StoreWriter
        writer = StoreWriter({str(tmp_path)!r}, {HEAD!r})
        print("locked", flush=True)
        time.sleep(120)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", holder], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(StoreError, match=f"being written by process {child.pid}"):
            StoreWriter(tmp_path, HEAD)
    finally:
        child.kill()
        child.wait()
    time.sleep(0.1)
    StoreWriter(tmp_path, HEAD).close()  # the OS released the dead writer's lock


def test_write_atomic_leaves_nothing_when_the_writer_fails(tmp_path):
    def fail(path):
        Path(path).write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        write_atomic(tmp_path / "shard.parquet", fail)
    assert list(tmp_path.iterdir()) == []
    assert write_atomic(tmp_path / "t.parquet", lambda p: pa.parquet.write_table(pa.table({"a": [1]}), p)) > 0
    assert (tmp_path / "t.parquet").stat().st_mode & 0o777 == 0o644  # readable by others, as a copy would be


def test_a_damaged_manifest_is_reported(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(StoreError, match="damaged"):
        read_manifest(tmp_path)
    with pytest.raises(StoreError, match="not a texplain run"):
        read_manifest(tmp_path / "nowhere")


def sentences_results(ids, sentences):
    return [{**r, "sentences": list(sentences)} for r in results(ids)]


RUN = {**HEAD, "source": {"digest": "d", "n_images": 4}}


def write_run(directory, sentences, ids=(0, 1)):
    with StoreWriter(directory, RUN) as writer:
        writer.write_chunk(chunk_tables(sentences_results(ids, sentences)))
        writer.finish(True)
    return directory


@pytest.mark.parametrize("name, neighbour", [("exp[1]", "exp1"), ("a*b", "aXb"), ("what?", "whatX")])
def test_a_run_path_with_glob_characters_reads_only_its_own_shards(tmp_path, name, neighbour):
    from texplain_widgets import ExplanationSet
    from texplain_widgets.widgets.report_queries import WordIndex

    write_run(tmp_path / "runs" / neighbour, ["A kite over the grass."])
    run = ExplanationSet.open(write_run(tmp_path / "runs" / name, ["A balloon on a wall."]))
    assert run.explanation(0).sentences == ["A balloon on a wall."]
    words = run.words(by="predicted", top=None).set_index("word")
    assert "kite" not in words.index and words.loc["balloon", "count"] == 2  # one sentence on each image
    assert run.images_with("balloon")["id"].tolist() == [0, 1]
    index = WordIndex(run)
    assert index.n_sentences("balloon") == 2 and index.n_sentences("kite") == 0


def test_an_out_directory_holding_a_users_files_is_refused_and_kept(tmp_path):
    mine = tmp_path / "ds" / "images" / "part-1.png"
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"a photo")
    with pytest.raises(StoreError, match=r"images/part-1\.png") as err:
        StoreWriter(tmp_path / "ds", HEAD)
    assert "--out" in str(err.value) and mine.read_bytes() == b"a photo"
    run = write_run(tmp_path / "run", ["a bird"])
    for stray in (run / "words" / "notes.txt", run / "failures" / "part-00000.parquet.bak", run / "keep"):
        stray.write_text("mine")
        for overwrite in (False, True):
            with pytest.raises(StoreError, match=f"{stray.parent.name}/{stray.name}|{stray.name}"):
                StoreWriter(run, RUN, overwrite=overwrite)
        assert stray.read_text() == "mine"
        stray.unlink()
    StoreWriter(run, RUN, overwrite=True).close()  # a run's own files only: rebuilt


def flip_one_bit(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x10  # in the data pages, far from the footer: the same size, still Parquet
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("table", ["images", "words"])
def test_a_single_bit_flip_is_damage_reported_and_redone(tmp_path, table):
    from texplain_widgets import ExplanationSet

    run = write_run(tmp_path / "run", ["Birds over the water.", "a bird"])
    with StoreWriter(run, RUN) as writer:
        writer.write_chunk(chunk_tables(results([2, 3])))
    shard = run / table / "part-00000.parquet"
    size = shard.stat().st_size
    flip_one_bit(shard)
    assert shard.stat().st_size == size
    problems = check_shards(run, read_manifest(run))
    assert [part for part, _ in problems] == [0] and "checksum" in problems[0][1]
    with pytest.raises(StoreError, match=rf"{table}/part-00000\.parquet: .*checksum") as err:
        ExplanationSet.open(run)
    assert "run the same" in str(err.value)
    with StoreWriter(run, RUN) as writer:
        assert writer.done_ids() == {2, 3}  # the damaged shard is dropped, its images to be redone
        assert any("checksum" in line for line in writer.dropped)
    assert not shard.exists() and check_shards(run, read_manifest(run)) == []


def test_a_shard_damaged_after_open_is_reported_not_a_duckdb_error(tmp_path):
    from texplain_widgets import ExplanationSet

    run = ExplanationSet.open(write_run(tmp_path / "run", ["a bird on a lake"]))
    shard = run.directory / "words" / "part-00000.parquet"
    shard.write_bytes(shard.read_bytes()[:-30])
    with pytest.raises(StoreError, match="damaged"):
        run.words(top=None)


def edit_manifest(directory, edit):
    import json

    path = directory / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(edit(manifest)))


def _drop_shards(m):
    return {k: v for k, v in m.items() if k != "shards"}


def _part_text(m):
    return m | {"shards": [m["shards"][0] | {"part": "0"}]}


def _twice(m):
    return m | {"shards": m["shards"] * 2}


def _no_rows(m):
    return m | {"shards": [m["shards"][0] | {"files": {"images": {"bytes": 1}}}]}


@pytest.mark.parametrize(
    "edit, expected",
    [
        (_drop_shards, r"no \"shards\" list"),
        (_part_text, r"shards\[0\]\.part must be a whole number .* found \"0\""),
        (lambda m: [m], r"must hold a JSON object, found a list"),
        (_twice, r"part 0 is listed twice"),
        (_no_rows, r"shards\[0\]\.files\.images\.rows"),
        (lambda m: m | {"sampling": 3}, r"\"sampling\" must be an object"),
        (lambda m: m | {"sampling": {"batch_size": "256"}}, r"sampling\.batch_size must be a whole number"),
    ],
    ids=[
        "shards-missing",
        "part-a-string",
        "a-list",
        "a-shard-twice",
        "rows-missing",
        "sampling-a-number",
        "batch-size-a-string",
    ],  # fmt: skip
)
def test_a_hand_edited_manifest_is_named_with_the_mend(tmp_path, edit, expected):
    from texplain_widgets import ExplanationSet

    run = write_run(tmp_path / "run", ["a bird"])
    edit_manifest(run, edit)
    for attempt in (lambda: ExplanationSet.open(run), lambda: StoreWriter(run, RUN)):
        with pytest.raises(StoreError, match=expected) as err:
            attempt()
        assert "manifest.json" in str(err.value) and "--overwrite" in str(err.value)


def as_version_1(manifest):
    for shard in manifest["shards"]:
        for entry in shard["files"].values():
            del entry["sha256"]
    return manifest | {"format": "texplain-run/1"}


def test_a_version_1_run_is_read_but_not_resumed(tmp_path):
    from texplain_widgets import ExplanationSet

    run = write_run(tmp_path / "run", ["A balloon on a wall."])
    assert read_manifest(run)["format"] == "texplain-run/2"
    edit_manifest(run, as_version_1)
    old = ExplanationSet.open(run)
    assert old.explanation(1).sentences == ["A balloon on a wall."]
    assert old.words(top=None).set_index("word").loc["balloon", "count"] == 2
    with pytest.raises(
        StoreError, match=r"texplain-run/1.*older version.*shared random streams.*--overwrite"
    ):
        StoreWriter(run, RUN)
    StoreWriter(run, RUN, overwrite=True).close()
    assert read_manifest(run)["format"] == "texplain-run/2"


def test_the_tests_readme_names_for_its_promises_exist():
    import re

    root = Path(__file__).resolve().parent.parent
    named = set(re.findall(r"`(test_\w+)`", (root / "README.md").read_text()))
    defined = {
        m for p in root.glob("tests/test_*.py") for m in re.findall(r"^def (test_\w+)", p.read_text(), re.M)
    }
    assert named and named <= defined, f"README names tests that do not exist: {sorted(named - defined)}"
