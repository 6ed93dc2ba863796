"""word_view: the word records and marked sentences a widget shows."""

from texplain_widgets.widgets.word_view import marked_sentences, word_records
from texplain_widgets.words import word_spans, word_table

TEXTS = ["Bricks and a brick.", "grassland", "a grass wall of bricks", "sky"]


def test_word_records_are_the_top_words_in_plain_types():
    records = word_records(TEXTS, 2)
    table = word_table(TEXTS).head(2)
    assert [r["word"] for r in records] == table["word"].tolist()
    assert records[0] == {"word": "brick", "count": 3, "share": 0.5}
    assert {type(v) for r in records for v in r.values()} == {str, int, float}
    assert word_records([], 5) == [] and word_records(["sky"], 5, table) == records


def test_marked_sentences_put_the_word_first_with_the_spans_words_finds():
    shown = marked_sentences(TEXTS, "brick", 12)
    assert shown == [
        {"text": t, "spans": [list(s) for s in word_spans(t, "brick")]} for t in (TEXTS[0], TEXTS[2])
    ]
    assert marked_sentences(TEXTS, "brick", 1) == shown[:1]
    assert marked_sentences(TEXTS, "grass", 12) == [{"text": TEXTS[2], "spans": [[2, 7]]}]


def test_without_the_word_the_first_sentences_show_unmarked():
    unmarked = [{"text": t, "spans": []} for t in TEXTS[:2]]
    assert marked_sentences(TEXTS, "", 2) == unmarked
    assert marked_sentences(TEXTS, "zebra", 2) == unmarked
    assert marked_sentences(TEXTS, "brick", 0) == marked_sentences(TEXTS, "brick", -3) == []
