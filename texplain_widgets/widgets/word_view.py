"""What a widget shows of a set of sentences: word records and sentences with a word marked.

Pure functions of texts and tables (no widget state), so the Explorer and a test see the same.
"""

from __future__ import annotations

from ..words import word_spans, word_table
from ..words.trust import add_trust, prior_note

__all__ = ["marked_sentences", "word_records"]


def word_records(texts: list[str], n: int, table=None, reference=None) -> list[dict]:
    """The top ``n`` words of ``table`` (by default the word table of ``texts``, against
    ``reference`` when given) as JSON records ``{"word", "count", "share"}`` of plain Python
    types; a table with trust columns adds ``reference_share``, ``lift``, ``above_prior`` and
    ``note`` (the tooltip line, :func:`~texplain_widgets.words.trust.prior_note`), unless its lift
    is empty (a reference of other sampling settings)."""
    if table is None and texts:
        table = word_table(texts)
        if reference is not None:
            table = add_trust(table, len(texts), reference)
    if table is None:
        return []
    records = []
    for row in table.head(n).itertuples(index=False):
        record = {"word": str(row.word), "count": int(row.count), "share": float(row.share)}
        if "lift" in table and row.lift == row.lift:  # NaN: a reference of other settings
            record.update(
                reference_share=float(row.reference_share),
                lift=float(row.lift),
                above_prior=bool(row.above_prior),
            )
            record["note"] = prior_note(record)
        records.append(record)
    return records


def marked_sentences(texts: list[str], lemma: str, limit: int) -> list[dict]:
    """Up to ``limit`` of ``texts`` as ``{"text", "spans"}``: those where ``lemma`` occurs, its
    tokens' (start, end) offsets in ``spans`` (:func:`~texplain_widgets.words.word_spans`); the
    first ``limit`` unmarked when there are none (or ``lemma`` is "")."""
    limit = max(0, limit)
    found = []
    for text in texts if lemma and limit else []:
        spans = word_spans(text, lemma)
        if spans:
            found.append({"text": text, "spans": [[start, end] for start, end in spans]})
            if len(found) == limit:
                break
    return found or [{"text": text, "spans": []} for text in texts[:limit]]
