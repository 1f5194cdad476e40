"""Measure a trained model: accuracy, confusion matrix, per-class scores, its mistakes."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix as _confusion_matrix
from sklearn.metrics import precision_recall_fscore_support

CLASSES = list(range(10))


def accuracy(model, x, y, batch_size: int = 1000) -> float:
    """Return the fraction of ``x`` that ``model`` labels as ``y``."""
    probs = model.predict(x, batch_size=batch_size, verbose=0)  # no gradients: big batches
    return float(np.mean(np.asarray(probs).argmax(axis=1) == np.asarray(y)))


def confusion_matrix(y_true, y_pred) -> np.ndarray:
    """Return the 10x10 confusion matrix: rows are true digits, columns predictions."""
    return _confusion_matrix(y_true, y_pred, labels=CLASSES)


def per_class_report(y_true, y_pred) -> pd.DataFrame:
    """Return precision, recall, F1 and support for each digit, one row per digit."""
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=CLASSES, zero_division=0)
    return pd.DataFrame(
        {"precision": precision, "recall": recall, "f1": f1, "support": support},
        index=pd.Index(CLASSES, name="digit"),
    )


def most_confused_pairs(cm: np.ndarray, k: int = 5) -> pd.DataFrame:
    """Return the ``k`` (true, predicted) pairs the model mixes up most often."""
    off = np.array(cm, copy=True)
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None, kind="stable")[::-1][:k]
    rows = [(int(t), int(p), int(off[t, p])) for t, p in zip(*np.unravel_index(order, off.shape))
            if off[t, p] > 0]
    return pd.DataFrame(rows, columns=["true", "predicted", "count"])


def misclassified(y_true, probabilities, k: int | None = None) -> np.ndarray:
    """Return indices of wrong predictions, most confidently wrong first."""
    probabilities = np.asarray(probabilities)
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != np.asarray(y_true))
    confidence = probabilities[wrong, predicted[wrong]]
    ranked = wrong[np.argsort(-confidence, kind="stable")]
    return ranked if k is None else ranked[:k]
