"""Two shares of images compared: the difference's interval, a one-sided test, the FDR correction.

- :func:`share_difference`: ``k1/n1 - k2/n2`` with Newcombe's hybrid score interval (his
  method 10, Statistics in Medicine 1998): built from the two Wilson intervals, it keeps its
  coverage near 95% for small counts and shares near 0 or 1, where the Wald interval fails, and
  needs no resampling (a bootstrap over 10,000 images would not fit a query's time).
- :func:`fisher_greater`: Fisher's exact test that the first share is the larger, one-sided
  (the question is always "more often with the errors"), vectorised as the hypergeometric
  upper tail; the same p-value as ``scipy.stats.fisher_exact(..., alternative="greater")``.
- :func:`benjamini_hochberg`: the Benjamini-Hochberg adjusted p-values (q-values) of a family.

n counts images, never sentences: an image's sentences share its prefix, they are not
independent draws (see :mod:`texplain_widgets.words.trust`).
"""

from __future__ import annotations

import numpy as np

from ..words.trust import wilson_interval


def share_difference(k1, n1, k2, n2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``k1/n1 - k2/n2`` and its 95% Newcombe (hybrid Wilson score) interval, arrays broadcast.

    An empty side (``n = 0``) has share 0 and Wilson interval (0, 1), so the interval spans
    what the other side leaves possible. ``share_difference(56, 70, 48, 80)`` is
    (0.2, 0.0524, 0.3339), Newcombe's example (a).
    """
    k1, n1, k2, n2 = (np.asarray(x, dtype="float64") for x in (k1, n1, k2, n2))
    with np.errstate(invalid="ignore", divide="ignore"):
        p1 = np.where(n1 > 0, k1 / n1, 0.0)
        p2 = np.where(n2 > 0, k2 / n2, 0.0)
    low1, high1 = wilson_interval(k1, n1)
    low2, high2 = wilson_interval(k2, n2)
    difference = p1 - p2
    low = difference - np.sqrt((p1 - low1) ** 2 + (high2 - p2) ** 2)
    high = difference + np.sqrt((high1 - p1) ** 2 + (p2 - low2) ** 2)
    return difference, np.clip(low, -1, 1), np.clip(high, -1, 1)


def fisher_greater(k1, n1, k2, n2) -> np.ndarray:
    """One-sided Fisher's exact p-values that ``k1/n1`` exceeds ``k2/n2`` (arrays broadcast).

    Under the null (the ``k1 + k2`` successes fall on the ``n1 + n2`` images at random) ``k1``
    is hypergeometric; the p-value is ``P(K1 >= k1)``.
    """
    from scipy.stats import hypergeom

    k1, n1, k2, n2 = (np.asarray(x, dtype="int64") for x in (k1, n1, k2, n2))
    p = hypergeom.sf(k1 - 1, n1 + n2, k1 + k2, n1)
    return np.clip(np.asarray(p, dtype="float64"), 0.0, 1.0)


def benjamini_hochberg(p_values) -> np.ndarray:
    """The Benjamini-Hochberg adjusted p-values of one family of tests (empty stays empty)."""
    from scipy.stats import false_discovery_control

    p = np.asarray(p_values, dtype="float64")
    return p.copy() if p.size == 0 else false_discovery_control(p, method="bh")
