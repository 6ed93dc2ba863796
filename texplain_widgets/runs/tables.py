"""One chunk's results as the store's three Arrow tables, with each image's word counts."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa

from ..words import sentence_words

IMAGES = pa.schema(
    [
        ("id", pa.int64()),
        ("name", pa.string()),
        ("path", pa.string()),
        ("label", pa.string()),
        ("group", pa.string()),
        ("predicted", pa.int32()),
        ("class_name", pa.string()),
        ("probability", pa.float64()),
        ("n_sentences", pa.int32()),
        ("sentences", pa.list_(pa.string())),
    ]
)
WORDS = pa.schema(
    [("image_id", pa.int64()), ("word", pa.string()), ("count", pa.int32()), ("sentences_with", pa.int32())]
)
FAILURES = pa.schema(
    [("id", pa.int64()), ("name", pa.string()), ("path", pa.string()), ("error", pa.string())]
)
SCHEMAS = {"images": IMAGES, "words": WORDS, "failures": FAILURES}


def word_counts(sentences: list[str]) -> tuple[Counter, Counter]:
    """Per lemma: occurrences over the sentences, and the number of sentences that use it.

    The same counts as :func:`texplain_widgets.words.word_table` (``count``, ``share * n``);
    a sentence sampled several times is split into words once.
    """
    counts: Counter[str] = Counter()
    docs: Counter[str] = Counter()
    for sentence, times in Counter(sentences).items():
        words = sentence_words(sentence)
        for word, n in Counter(words).items():
            counts[word] += n * times
            docs[word] += times
    return counts, docs


def chunk_tables(results: list[dict]) -> dict[str, pa.Table]:
    """Results of :func:`~texplain_widgets.runs.chunk.explain_items` -> images, words, failures.

    A result has ``id``, ``name``, ``path``, ``label``, ``group`` and either ``error`` or
    ``predicted``, ``class_name``, ``probability`` and ``sentences``.
    """
    explained = [r for r in results if r.get("error") is None]
    failed = [r for r in results if r.get("error") is not None]
    words = {"image_id": [], "word": [], "count": [], "sentences_with": []}
    for result in explained:
        counts, docs = word_counts(result["sentences"])
        for word in sorted(counts):
            words["image_id"].append(result["id"])
            words["word"].append(word)
            words["count"].append(counts[word])
            words["sentences_with"].append(docs[word])
    images = {field: [r.get(field) for r in explained] for field in IMAGES.names}
    images["n_sentences"] = [len(r["sentences"]) for r in explained]
    return {
        "images": pa.Table.from_pydict(images, schema=IMAGES),
        "words": pa.Table.from_pydict(words, schema=WORDS),
        "failures": pa.Table.from_pydict(
            {f: [r.get(f) for r in failed] for f in FAILURES.names}, schema=FAILURES
        ),
    }
