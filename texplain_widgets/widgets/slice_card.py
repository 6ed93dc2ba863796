"""The dataset report's slice card: the images a word marks, how much worse the classifier is there.

:func:`slice_card` reads it from a run (no model): per true label, the images that use the
word (at least 25% of their sentences, as ``ExplanationSet.slice``), their accuracy inside and
outside with Wilson 95% intervals and the gap with Newcombe's; the two-word slices it belongs to
(``ExplanationSet.slices``, the pairs that are surely worse than either word alone); the
reliance on it when measured for the run (read back from the run's store, never recomputed);
the worst pseudo-group of its words; and the ``texplain mitigate`` command and Python that
reweight with them. :meth:`SliceCard.record` is what the view shows: lines of text.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from ..runs.slices import JOIN
from ..words.trust import wilson_interval

SLICE_KEYS = (
    "label", "n", "correct", "accuracy", "accuracy_low", "accuracy_high", "n_outside",
    "accuracy_outside", "outside_low", "outside_high", "gap", "gap_low", "gap_high",
)  # fmt: skip
RELIANCE_IMAGES = 24  # images a "measure reliance" click measures (a random subset of the slice)
RELIANCE_NEEDS_A_MODEL = "Reliance needs the run's model: DatasetReport(run, model=...) (or %texplain report RUN --model DIR|demo)."
TEST_NOTE = "the run must explain the images the fix trains on; TEST: other images to score it on"


@dataclass(frozen=True)
class SliceCard:
    """The slice card of one word (see the module docstring); ``labels`` one record per true
    label (keys :data:`SLICE_KEYS`), ``pairs`` the two-word slices with the word, ``reliance``
    the stored summary (None: not measured), ``words`` the pseudo-groups' words."""

    word: str
    n_images: int  # images using the word, every label
    labels: tuple[dict, ...]
    pairs: tuple[dict, ...] | None  # None while they are searched
    reliance: dict | None
    words: tuple[str, ...]
    worst_pseudo_group: dict | None  # {"name", "n", "correct", "accuracy"}
    mitigation_command: str
    mitigation_python: str

    def lines(self) -> list[str]:
        """The card as text, one line per fact."""
        lines = [f"“{self.word}”: {self.n_images} images use it (in ≥ 25% of their sentences)"]
        for r in self.labels:
            if not r["n"]:
                lines.append(f"{r['label']}: no image uses it")
                continue
            inside = f"{pct(r['accuracy'])} [{pct(r['accuracy_low'])}, {pct(r['accuracy_high'])}] of {r['n']}"
            outside = (
                f"{pct(r['accuracy_outside'])} [{pct(r['outside_low'])}, {pct(r['outside_high'])}] "
                f"of {r['n_outside']}"
            )
            gap = f"{signed(r['gap'])} [{signed(r['gap_low'])}, {signed(r['gap_high'])}]"
            lines.append(f"{r['label']}: right {inside} with it, {outside} without; gap {gap}")
        return lines

    def rows(self) -> list[dict]:
        """Per label, as text: n with the word, accuracy (%) with it and without (95% intervals), the
        gap in percentage points."""
        return [
            {
                "label": str(r["label"]),
                "n": f"{r['n']}",
                "n_outside": f"{r['n_outside']}",
                "inside": f"{pct(r['accuracy'], False)} [{pct(r['accuracy_low'], False)}–"
                f"{pct(r['accuracy_high'], False)}]",
                "outside": f"{pct(r['accuracy_outside'], False)} [{pct(r['outside_low'], False)}–"
                f"{pct(r['outside_high'], False)}]",
                "gap": f"{signed(r['gap'], False)} [{signed(r['gap_low'], False)}, {signed(r['gap_high'], False)}]",
            }
            for r in self.labels
        ]

    def pair_lines(self) -> list[str]:
        if self.pairs is None:
            return ["Two-word slices: still being searched…"]
        return [
            f"{p['label']}, {p['slice']}: right {pct(p['accuracy'])} of {p['n']}, gap {signed(p['gap'])} "
            f"[{signed(p['gap_low'])}, {signed(p['gap_high'])}]"
            for p in self.pairs
        ]

    def reliance_line(self) -> str:
        s = self.reliance
        if s is None:
            return "Reliance: not measured for this run."
        if not s.get("n"):
            return "Reliance: measured on no image that says the word."
        verdict = "relies on it" if s["relies"] else "no sure reliance"
        return (
            f"Reliance ({s['n']} images): masking its region drops the predicted class by "
            f"{s['drop_word']:+.3f}, random regions {s['drop_random']:+.3f}; difference "
            f"{s['difference']:+.3f} [{s['difference_low']:+.3f}, {s['difference_high']:+.3f}]: {verdict}"
        )

    def pseudo_group_line(self) -> str:
        worst = self.worst_pseudo_group
        if worst is None:
            return ""
        low, high = wilson_interval(worst["correct"], worst["n"])
        return (
            f"Pseudo-groups by {', '.join(self.words)}: worst {worst['name']}, "
            f"{pct(worst['accuracy'])} [{pct(float(low))}, {pct(float(high))}] of {worst['n']} right"
        )

    def record(self) -> dict:
        """What the view shows (plain JSON types)."""
        return {
            "word": self.word,
            "title": f"“{self.word}”: {self.n_images} images use it",
            "lines": self.lines(),
            "rows": self.rows(),
            "pairs": self.pair_lines() if self.pairs is not None else [],
            "searching": self.pairs is None,  # the two-word slices are still being searched
            "reliance": self.reliance_line(),
            "pseudo_groups": self.pseudo_group_line(),
            "words": list(self.words),
            "command": self.mitigation_command,
            "python": self.mitigation_python,
        }


def pct(value, sign: bool = True) -> str:
    return "–" if value != value else f"{100 * value:.0f}{'%' if sign else ''}"


def signed(value, sign: bool = True) -> str:
    return "–" if value != value else f"{100 * value:+.0f}{'%' if sign else ''}"


def slice_card(data, word: str, words: tuple[str, ...], model_name: str | None) -> SliceCard:
    """The card of ``word`` over ``data`` (a :class:`~.report_view.ReportData` of a labelled
    run); ``words``: the pseudo-groups' words (``word`` first); ``model_name``: how the
    command names the run's model (None: a placeholder)."""
    table = data.word_slice(word)
    labels = tuple({key: plain(row[key]) for key in SLICE_KEYS} for row in table.to_dict("records"))
    pairs = data.pairs()
    pair_records = None
    if pairs is not None:
        pairs = pairs[pairs["slice"].str.split(JOIN, regex=False).map(lambda both: word in both)]
        pair_records = tuple(
            {
                key: plain(row[key])
                for key in ("label", "slice", "n", "accuracy", "gap", "gap_low", "gap_high")
            }
            for row in pairs.to_dict("records")
        )
    stored = data.reliance(word)
    worst = data.worst_pseudo_group(words)
    command, python = mitigation_text(data.run, words, model_name)
    return SliceCard(
        word=word,
        n_images=int(table["n"].sum()),
        labels=labels,
        pairs=pair_records,
        reliance=None if stored is None else stored.summary,
        words=tuple(words),
        worst_pseudo_group=worst,
        mitigation_command=command,
        mitigation_python=python,
    )


def plain(value):
    return value.item() if hasattr(value, "item") else value


def mitigation_text(run, words, model_name: str | None) -> tuple[str, str]:
    """The ``texplain mitigate`` command and the Python that reweight the run's model's last
    layer with the pseudo-groups label x ``words``, trained on the run's images."""
    source = run.manifest.get("source", {})
    kind, location = source.get("kind"), source.get("location")
    src = "demo" if kind == "demo" else location if kind in ("folder", "csv", "files") else "SRC"
    model = model_name or "MODEL_DIR"
    directory = str(run.directory)
    command = (
        f"texplain mitigate --model {model} --train {src} --run {directory} "
        f"--words {','.join(words)} --method reweight --test TEST --out fixed"
    )
    python = "\n".join(
        [
            "from texplain_widgets import mitigate",
            "from texplain_widgets.model_names import resolve_model",
            "",
            f"model = resolve_model({json.dumps(model)})  # the run's model",
            f'result = mitigate(model, {json.dumps(src)}, method="reweight", words={json.dumps(list(words))},',
            f'                  run={json.dumps(directory)}, test="TEST")',
            "print(result)  # before/after: average, per class, worst pseudo-group",
            f"# {TEST_NOTE}",
        ]
    )
    return f"{command}\n# {TEST_NOTE}", python
