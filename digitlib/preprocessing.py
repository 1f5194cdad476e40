"""Turn MNIST's uint8 arrays into what a Keras model trains on."""

from __future__ import annotations

import numpy as np

from .errors import ParameterError
from .params import check_parameters


def prepare_images(x: np.ndarray) -> np.ndarray:
    """Reshape uint8 digits (N, 28, 28) to float32 (N, 28, 28, 1) scaled to [0, 1]."""
    x = np.asarray(x)
    if x.ndim == 2:
        x = x[np.newaxis]
    if x.shape[-2:] != (28, 28) and x.shape[-3:] != (28, 28, 1):
        raise ParameterError(f"images must be 28x28, got shape {x.shape}")
    scaled = x.reshape(-1, 28, 28, 1).astype(np.float32)
    if x.dtype == np.uint8:
        scaled /= 255.0
    return scaled


def one_hot(y: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """Encode integer labels as float32 one-hot rows."""
    return np.eye(num_classes, dtype=np.float32)[np.asarray(y, dtype=np.int64)]


def split_validation(x: np.ndarray, y: np.ndarray, fraction: float = 0.1, seed: int = 0):
    """Split off a stratified validation set; return (x_train, y_train, x_val, y_val).

    A ``fraction`` of 0 holds nothing out, as the original project did: every image trains
    and the validation arrays are empty.
    """
    check_parameters(validation_fraction=fraction)
    if fraction == 0:
        return x, y, x[:0], y[:0]
    from sklearn.model_selection import train_test_split

    x_train, x_val, y_train, y_val = train_test_split(
        x, y, test_size=fraction, stratify=y, random_state=seed
    )
    return x_train, y_train, x_val, y_val
