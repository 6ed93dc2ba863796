"""``reweight``: DFR-style last-layer retraining on the frozen features, each group weighted equally.

The features Z of the training images are computed once; scikit-learn's ``LogisticRegression``
(L2, on standardised features) is fitted with sample weights that give every (pseudo-)group the
same total weight. Its regularisation ``C`` is chosen from :data:`CS` by the worst group's
accuracy on the selection images (ties: the better average), as DFR does; when the selection
images are a held-out part of the training images, the head is then fitted again on all of
them. The new head replaces the classifier's last layer: the features, so the translator and
its words, stay the same.
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

CS = (1.0, 0.3, 0.1, 0.03, 0.01, 0.003)  # the inverse regularisation strengths tried


def group_weights(groups: np.ndarray) -> np.ndarray:
    """Sample weights (mean 1) that give each group the same total weight."""
    names, index, counts = np.unique(groups.astype(str), return_inverse=True, return_counts=True)
    weights = 1.0 / (len(names) * counts[index])
    return weights * len(groups)


def worst_group_accuracy(correct: np.ndarray, groups: np.ndarray) -> float:
    """The lowest accuracy over the groups present."""
    return min(correct[groups == g].mean() for g in np.unique(groups))


def fit_head(features, labels, groups, n_classes: int, *, C: float, seed: int = 0):
    """(weight (K, D), bias (K,)) of a group-weighted logistic regression, in the unscaled feature space."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    present = np.unique(labels)
    if len(present) < 2:
        raise InputError("the training images hold one class only: a head needs at least two")
    scaler = StandardScaler().fit(features)
    model = LogisticRegression(C=C, max_iter=2000, random_state=seed)
    model.fit(scaler.transform(features), labels, sample_weight=group_weights(groups))
    coef, intercept = model.coef_, model.intercept_
    if len(present) == 2:  # one logit difference: split it symmetrically over the two classes
        coef, intercept = (
            np.concatenate([-coef / 2, coef / 2]),
            np.concatenate([-intercept / 2, intercept / 2]),
        )
    weight = np.zeros((n_classes, features.shape[1]))
    bias = np.full(n_classes, -1e4)  # a class never seen in training is never predicted
    weight[present] = coef / scaler.scale_
    bias[present] = intercept - (coef / scaler.scale_) @ scaler.mean_
    return weight, bias


def choose_head(train, select, n_classes: int, *, cs=CS, refit: bool = False, seed: int = 0):
    """The head fitted on ``train`` (features, labels, groups) with the C whose worst group on
    ``select`` is highest; ``refit``: fitted again on train + select with that C.

    Returns (weight, bias, {C: (worst group, average) on select}, chosen C).
    """
    scores = {}
    for C in cs:
        weight, bias = fit_head(*train, n_classes, C=C, seed=seed)
        correct = (select[0] @ weight.T + bias).argmax(1) == select[1]
        scores[C] = (worst_group_accuracy(correct, select[2]), correct.mean())
    best = max(cs, key=lambda C: scores[C])
    if refit:
        train = tuple(np.concatenate([a, b]) for a, b in zip(train, select))
    weight, bias = fit_head(*train, n_classes, C=best, seed=seed)
    return weight, bias, scores, best


def held_out(groups: np.ndarray, share: float, seed: int) -> np.ndarray:
    """Booleans: a ``share`` of each group's images (at least one, never all) held out to select."""
    if not 0 < share < 1:
        raise InputError(f"holdout must be a share in (0, 1), got {share}")
    rng = np.random.default_rng(seed)
    out = np.zeros(len(groups), bool)
    for g in np.unique(groups):
        members = rng.permutation(np.flatnonzero(groups == g))
        if len(members) > 1:
            out[members[: min(len(members) - 1, max(1, round(share * len(members))))]] = True
    return out
