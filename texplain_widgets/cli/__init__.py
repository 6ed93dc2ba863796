"""The ``texplain`` command line, one module per command (explain, train, inspect, saliency, demo,
run, reference); :mod:`.options` holds the options they share and :mod:`.tables` how word tables
print. ``texplain = "texplain_widgets.cli:main"``."""

from .main import main

__all__ = ["main"]
