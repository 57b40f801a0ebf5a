"""Recurrent models the trainer can run: the tutorial's raw-op cell and Keras built-in cells.

`registry.py` names the cell kinds; `build.py` builds one; `base.py` is what every model offers
the trainer.
"""
