"""Measure a trained model's accuracy."""

from __future__ import annotations

import numpy as np

def accuracy(model, x, y, batch_size: int = 1000) -> float:
    """Return the fraction of ``x`` that ``model`` labels as ``y``."""
    probs = model.predict(x, batch_size=batch_size, verbose=0)  # no gradients: big batches
    return float(np.mean(np.asarray(probs).argmax(axis=1) == np.asarray(y)))
