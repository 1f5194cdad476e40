"""Seed every random number generator the lessons use, from one number."""

from __future__ import annotations

import random
import sys

import numpy as np

from .errors import ParameterError

_pending: int | None = None  # the seed Keras gets when digitlib first loads it


def set_seed(seed: int = 0) -> None:
    """Seed Python, NumPy and Keras, and make the backend's kernels deterministic.

    The same seed then gives the same numbers on the same machine and backend. TensorFlow
    and PyTorch each have a switch for deterministic kernels, turned on with the seed; JAX
    on a CPU is deterministic as it is. Keras is seeded now if it is loaded, otherwise when
    digitlib first loads it, so lessons that never train (1 and 2) do not pay for importing it.
    """
    global _pending
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ParameterError(f"seed must be a whole number, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed))
    _pending = int(seed)
    seed_keras()


def seed_keras() -> None:
    """Give Keras the seed :func:`set_seed` was called with, if Keras is loaded by now."""
    global _pending
    if _pending is not None and "keras" in sys.modules:
        keras = sys.modules["keras"]
        keras.utils.set_random_seed(_pending)
        _pending = None
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            tf.config.experimental.enable_op_determinism()
        elif backend == "torch":
            import torch

            torch.use_deterministic_algorithms(True)
