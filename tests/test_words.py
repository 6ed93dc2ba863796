import math

import pytest

from texplain_widgets.words import (
    as_lemma,
    default_stop_words,
    lemma,
    sentence_words,
    tokens,
    word_spans,
    word_table,
)


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


def marked(sentence, word, **options):
    return [sentence[start:end] for start, end in word_spans(sentence, word, **options)]


def test_lemma_folds_case_and_number_and_is_memoised():
    assert lemma("Bricks") == lemma("bricks") == lemma("brick") == "brick"
    assert lemma("Flies") == "fly" and lemma("don\u2019t") == lemma("don't")
    lemma.cache_clear()
    lemma("Bricks"), lemma("Bricks")
    assert lemma.cache_info().hits == 1


def test_tokens_are_character_offsets():
    sentence = "A x-ray, don\u2019t 42 cats_dogs!"
    assert [sentence[a:b] for a, b in tokens(sentence)] == ["A", "x-ray", "don\u2019t", "cats", "dogs"]
    assert tokens("") == [] and tokens("42 ... !") == []


def test_word_spans_find_plurals_and_case():
    sentence = "Bricks, and a brick: BRICK."
    assert marked(sentence, "brick") == ["Bricks", "brick", "BRICK"]
    assert marked(sentence, as_lemma("Bricks")) == ["Bricks", "brick", "BRICK"]
    assert word_spans(sentence, "brick")[0] == (0, 6)


def test_word_spans_keep_punctuation_out_and_find_whole_tokens_only():
    assert marked("(grass) grass. 'grass'", "grass") == ["grass"] * 3
    assert marked("grassland by the grasses", "grass") == ["grasses"]  # not inside "grassland"
    assert marked("grassland by the grasses", "grassland") == ["grassland"]
    assert marked("an x-ray of the ray", "ray") == ["ray"]
    assert marked("no water here", "bird") == [] and marked("", "bird") == []


def test_word_spans_mark_what_sentence_words_counts():
    sentences = [
        "The birds were being birds, isn't it?",
        "A Bird\u2019s nest on 3 birds\u2014and BIRDS.",
        "Flying flies fly over the flies' water.",
    ]
    for sentence in sentences:
        for word in set(sentence_words(sentence)):
            assert len(word_spans(sentence, word)) == sentence_words(sentence).count(word)
            assert all(lemma(sentence[a:b]) == word for a, b in word_spans(sentence, word))
    assert marked("the red bird", "the", stop_words={"red"}) == ["the"]  # the stop words decide
    assert marked("the red bird", "the") == []


def test_as_lemma_keeps_a_known_lemma_that_the_lemmatiser_would_change():
    assert lemma("spanned") == "span" and lemma("span") == "spin"  # simplemma is not idempotent
    sentence = "A bridge spanned the river."
    assert as_lemma("Span", known=sentence_words(sentence)) == "span"
    assert marked(sentence, as_lemma("span", known=sentence_words(sentence))) == ["spanned"]
    assert as_lemma("Bricks") == "brick" and as_lemma(" BIRD ") == "bird"
