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
