"""The before/after table: accuracy with n and a 95% Wilson interval, overall, per class, worst group."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..words.trust import wilson_interval

COLUMNS = ("split", "measure", "n", "before", "before_low", "before_high", "after", "after_low", "after_high")


def accuracy_rows(
    split: str, labels, before, after, class_names, groups=None, kind: str = "true"
) -> list[dict]:
    """Rows for one split: average, each class, and the worst ``kind`` group (by the after
    classifier's accuracy; the before column is that same group's) when ``groups`` are given."""
    correct = {"before": np.asarray(before) == labels, "after": np.asarray(after) == labels}
    parts = [("average", np.ones(len(labels), bool))]
    parts += [(f"class {name}", labels == c) for c, name in enumerate(class_names) if (labels == c).any()]
    if groups is not None and not any(g is None for g in groups):
        groups = np.asarray(groups, dtype=str)
        worst = {
            when: min(np.unique(groups), key=lambda g, when=when: (correct[when][groups == g].mean(), g))
            for when in ("before", "after")
        }
        parts.append((f"worst {kind} group before ({worst['before']})", groups == worst["before"]))
        parts.append((f"worst {kind} group after ({worst['after']})", groups == worst["after"]))
    rows = []
    for measure, members in parts:
        row = {"split": split, "measure": measure, "n": int(members.sum())}
        for when in ("before", "after"):
            k = int(correct[when][members].sum())
            low, high = wilson_interval(k, row["n"])
            row.update({when: k / row["n"], f"{when}_low": float(low), f"{when}_high": float(high)})
        rows.append(row)
    return rows


def format_table(table: pd.DataFrame) -> str:
    """The table as aligned text: accuracy [95% interval] before and after."""
    lines = [f"{'split':<10} {'measure':<42} {'n':>5}  {'before [95%]':<22} {'after [95%]':<22}"]
    for row in table.itertuples():
        cells = [
            f"{getattr(row, w):6.1%} [{getattr(row, w + '_low'):.1%}, {getattr(row, w + '_high'):.1%}]"
            for w in ("before", "after")
        ]
        lines.append(f"{row.split:<10} {row.measure:<42} {row.n:>5}  {cells[0]:<22} {cells[1]:<22}")
    return "\n".join(lines)
