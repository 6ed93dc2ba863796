"""Dataset runs: explain every image of a source into a resumable store, then query it.

A run is a directory: ``manifest.json`` (model fingerprints, sampling settings, source, the
shard index with each file's size, rows and SHA-256; see :mod:`.manifest`) and Parquet shards of
three tables, written one chunk of images at a time:

``images/part-N.parquet``    id, name, path, label, group, predicted, class_name,
                             probability, n_sentences, sentences (list of strings)
``words/part-N.parquet``     image_id, word (lemma), count, sentences_with
``failures/part-N.parquet``  id, name, path, error

:func:`~texplain_widgets.runs.engine.explain_dataset` writes one (engine ``local`` or ``ray``);
:class:`~texplain_widgets.runs.explanation_set.ExplanationSet` reads it.
"""
