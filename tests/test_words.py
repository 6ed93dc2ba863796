import math

import pytest

from texplain_widgets.words import default_stop_words, sentence_words, word_table


def test_plurals_and_verb_forms_merge():
    table = word_table(["birds", "bird"])
    assert table["word"].tolist() == ["bird"]
    assert table["count"].tolist() == [2]
    assert sentence_words("flying flies") == ["fly", "fly"]


def test_stop_words_punctuation_and_case_removed():
    assert sentence_words("The Water.") == ["water"]
    assert sentence_words("It is a bird, isn't it?!") == ["bird"]
    assert sentence_words("A  b  x-ray 42 cats") == ["x-ray", "cat"]


def test_stop_word_after_lemmatising_is_dropped():
    # "were" and "being" are not stop words here, but their lemma "be" is.
    assert sentence_words("birds were being birds", stop_words={"be"}) == [
        "bird",
        "bird",
    ]


def test_custom_stop_words_replace_or_extend_default():
    assert sentence_words("the red bird", stop_words={"red"}) == ["the", "bird"]
    assert sentence_words("the red bird", stop_words=default_stop_words() | {"red"}) == ["bird"]


def test_share_and_count_differ():
    table = word_table(["water water", "sky"]).set_index("word")
    assert table.loc["water", "count"] == 2
    assert table.loc["water", "share"] == 0.5
    assert table.loc["sky", "count"] == 1


def test_ordering_is_deterministic():
    sentences = ["zebra apple", "apple mango mango", "kiwi", "zebra"]
    table = word_table(sentences)
    # apple, zebra: share 0.5, count 2 -> alphabetical; mango: share 0.25 but count 2.
    assert table["word"].tolist() == ["apple", "zebra", "mango", "kiwi"]
    assert table.index.tolist() == [0, 1, 2, 3]
    assert word_table(list(reversed(sentences)))["word"].tolist() == table["word"].tolist()


def test_empty_input():
    table = word_table([])
    assert table.empty
    assert table.columns.tolist() == ["word", "count", "share"]
    assert table.dtypes.astype(str).tolist() == ["object", "int64", "float64"]
    assert word_table([], background=[]).columns.tolist() == [
        "word",
        "count",
        "share",
        "score",
    ]


def test_background_down_weights_common_words():
    sentences = ["dog grass", "dog grass", "dog", "collar"]
    others = [word_table(["dog park"]), word_table(["dog sofa"])]
    own = word_table(sentences)
    table = word_table(sentences, background=[own, *others])

    # "dog" (in all 3 tables) has the highest share but ranks below "grass" (only this image).
    assert own["word"].iloc[0] == "dog"
    assert table["word"].tolist()[:2] == ["grass", "dog"]

    scores = table.set_index("word")["score"]

    def idf(df):  # n_docs = 3 background tables
        return math.log((1 + 3) / (1 + df)) + 1

    assert scores["dog"] == pytest.approx(0.75 * idf(3))
    assert scores["grass"] == pytest.approx(0.5 * idf(1))
    assert scores["collar"] == pytest.approx(0.25 * idf(1))
