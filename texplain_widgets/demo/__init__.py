"""The offline demo: a spurious kite/balloon world, its classifiers and a ready TExplain."""
