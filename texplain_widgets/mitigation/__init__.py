"""Mitigation: fix a classifier's shortcut from the words, measured as worst-group accuracy.

>>> result = mitigate(model, "val/", method="reweight", words=["grass"], run="runs/val", test="test/")
>>> print(result)                       # before/after table with 95% intervals, and the note
>>> result.save_pretrained("fixed/")    # TExplain.from_pretrained("fixed/") after reweight

``reweight`` (:mod:`.reweight`) retrains the last layer on frozen features with the
(pseudo-)groups weighted equally, DFR-style; ``mask`` (:mod:`.mask`) fine-tunes with the words'
region masked, MaskTune-style; ``control`` is the same fine-tuning without masking.
"""

from .core import METHODS, Mitigation, mitigate
from .groups import USE_SHARE, pseudo_groups, word_use

__all__ = ["METHODS", "USE_SHARE", "Mitigation", "mitigate", "pseudo_groups", "word_use"]
