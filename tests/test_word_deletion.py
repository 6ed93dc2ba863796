"""The word-deletion test: does a word stop being said when its map's region is deleted?"""

import numpy as np
import pytest
import torch

from texplain_widgets.attribution.faithfulness import word_deletion
from texplain_widgets.attribution.word_maps import word_saliency
from texplain_widgets.errors import InputError
from texplain_widgets.model.texplain import TExplain
from texplain_widgets.words import sentence_words

KEYS = {"word", "q", "pixels", "before", "after", "random", "random_trials", "drop", "random_drop"}


@pytest.fixture(scope="module")
def photo(photos):
    return photos["chelsea"]


@pytest.fixture(scope="module")
def texplain(tiny_classifier, tiny_lm):
    torch.manual_seed(0)
    return TExplain(tiny_classifier, tiny_lm, prefix_length=4, hidden_dim=64)


@pytest.fixture(scope="module")
def word_map(texplain, photo):
    explanation = texplain.explain(photo, 32, seed=0)
    word = explanation.top_words(1)[0]
    return word, word_saliency(texplain, photo, explanation, word).heatmap


def share(explanation, word):
    return sum(word in sentence_words(s) for s in explanation.sentences) / len(explanation.sentences)


def test_shares_before_after_and_at_random(texplain, photo, word_map):
    word, heatmap = word_map
    result = word_deletion(texplain, photo, word.upper(), heatmap, q=0.2, n_sentences=32, trials=2)
    assert set(result) == KEYS and result["word"] == word and result["q"] == 0.2
    assert result["pixels"] == round(0.2 * photo.shape[0] * photo.shape[1])
    assert result["before"] == share(texplain.explain(photo, 32, seed=0), word) > 0
    shares = [result["before"], result["after"], *result["random_trials"]]
    assert len(result["random_trials"]) == 2 and all(0 <= s <= 1 for s in shares)
    assert result["random"] == pytest.approx(np.mean(result["random_trials"]))
    assert result["drop"] == pytest.approx(result["before"] - result["after"])
    assert result["random_drop"] == pytest.approx(result["before"] - result["random"])


def test_deleting_nothing_changes_nothing(texplain, photo, word_map):
    word, heatmap = word_map
    result = word_deletion(texplain, photo, word, heatmap, q=0, n_sentences=32, seed=3)
    assert result["pixels"] == 0
    assert result["after"] == result["before"] and result["random_trials"] == [result["before"]] * 3
    assert result["drop"] == 0 and result["random_drop"] == 0


def test_deleting_everything_is_the_same_for_every_map(texplain, photo, word_map):
    word, heatmap = word_map
    result = word_deletion(texplain, photo, word, heatmap, q=1, n_sentences=32, baseline="mean", trials=2)
    assert result["random_trials"] == [result["after"]] * 2


@pytest.mark.parametrize(
    "options, message",
    [
        ({"heatmap": np.zeros((4, 4))}, "does not fit"),
        ({"q": 1.5}, "q must be a share"),
        ({"word": "two words"}, "needs one word"),
        ({"trials": 0}, "trials must be a positive integer"),
        ({"baseline": "zeros"}, "blur, mean"),
    ],
)
def test_bad_requests_are_input_errors(texplain, photo, word_map, options, message):
    word, heatmap = word_map
    arguments = {"word": word, "heatmap": heatmap} | options
    with pytest.raises(InputError, match=message):
        word_deletion(
            texplain, photo, arguments.pop("word"), arguments.pop("heatmap"), n_sentences=8, **arguments
        )
