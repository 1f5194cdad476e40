"""Train a model by its recipe and keep what the lessons plot and report."""

from __future__ import annotations

import time

import numpy as np

from ._quiet import import_keras
from .models import Recipe, make_optimizer, members, steps_per_epoch
from .preprocessing import one_hot
from .seeds import set_seed  # noqa: F401  (dl.training.set_seed, as before)

keras = import_keras()

# Scoring keeps no gradients, so it can take large batches: validating 6,000 images took
# 0.15-0.2 s per epoch in batches of 1,000, against 0.46 s in batches of 256 (measured on an
# earlier default network).
EVAL_BATCH_SIZE = 1000


def loss(label_smoothing: float = 0.0):
    """Return Keras' cross-entropy for one-hot labels, with the recipe's label smoothing.

    With smoothing s and k classes the target is 1 - s + s/k for the true class and s/k for
    each other one, so the network gains nothing by growing ever more certain of the
    training images.
    """
    return keras.losses.CategoricalCrossentropy(label_smoothing=float(label_smoothing))


def compile_model(model, recipe: Recipe, num_examples: int):
    """Compile ``model`` with the recipe's optimizer, schedule and loss, for one-hot labels."""
    model.compile(
        optimizer=make_optimizer(recipe, steps_per_epoch(num_examples, recipe.batch_size)),
        loss=loss(recipe.label_smoothing),
        metrics=["accuracy"],
    )
    return model


class EpochClock(keras.callbacks.Callback):
    """Record the seconds each epoch takes, and test accuracy after it when given test data."""

    def __init__(self, test_data=None):
        super().__init__()
        self.test_data = test_data
        self.seconds: list[float] = []
        self.test_accuracy: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        if self.test_data is not None:
            x, y = self.test_data
            self.test_accuracy.append(accuracy(self.model, x, y))


def accuracy(model, x, y, batch_size: int = EVAL_BATCH_SIZE) -> float:
    """Return the fraction of ``x`` that ``model`` labels as ``y``."""
    probs = model.predict(x, batch_size=batch_size, verbose=0)
    return float(np.mean(probs.argmax(axis=1) == np.asarray(y)))


def dataset(x, y, batch_size: int, seed: int = 0):
    """Return an endless tf.data stream of ``(x, y)`` batches, reshuffled on every pass.

    It feeds ``fit`` on every Keras backend (TensorFlow, JAX and PyTorch all accept a
    tf.data stream). Pass ``steps_per_epoch=steps_per_epoch(len(x), batch_size)`` to ``fit`` with it. The
    stream repeats instead of being rebuilt each epoch: rebuilding cost up to 5 s of idle
    time per epoch on a 2-core CPU (see benchmarks/README.md). The arrays are wrapped once,
    not copied per epoch. tf.data's autotuning is off: its background thread, which wakes
    about 20 s and 41 s after the stream starts and then every minute, sometimes held
    ``fit`` from returning until its next wake-up, idle for up to 18 s. Two batches
    prefetched are all this stream needs.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return (tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
            .repeat()
            .batch(batch_size)
            .prefetch(2)
            .with_options(options))


def mean_history(histories: list[dict]) -> dict:
    """Return the per-epoch mean of several ``fit`` histories: an ensemble's learning curves."""
    if len(histories) == 1:
        return {key: [float(v) for v in values] for key, values in histories[0].items()}
    return {key: [float(v) for v in np.mean([h[key] for h in histories], axis=0)]
            for key in histories[0]}


def train(model, recipe: Recipe, x_train, y_train, x_val=None, y_val=None,
          verbose: int = 0, callbacks=(), seed: int = 0) -> dict:
    """Compile and fit ``model`` by ``recipe`` on integer labels; return its history and seconds.

    An ensemble (``best``) trains its members one after the other, each on its own
    shuffle of the data; the ensemble itself stays uncompiled (``predict`` needs nothing more).
    """
    networks = members(model)
    validation = (x_val, one_hot(y_val)) if x_val is not None and len(x_val) else None
    histories, clock = [], EpochClock()
    start = time.perf_counter()
    for number, network in enumerate(networks):
        compile_model(network, recipe, len(x_train))
        batches = dataset(x_train, one_hot(y_train), recipe.batch_size, seed + number)
        history = network.fit(batches, validation_data=validation, epochs=recipe.epochs,
                              validation_batch_size=EVAL_BATCH_SIZE,
                              steps_per_epoch=steps_per_epoch(len(x_train), recipe.batch_size),
                              shuffle=False,  # the dataset reshuffles itself every epoch
                              verbose=verbose, callbacks=[clock, *callbacks])
        histories.append(history.history)
    seconds = time.perf_counter() - start
    return {
        "history": mean_history(histories),
        "member_histories": [mean_history([h]) for h in histories] if len(networks) > 1 else [],
        "train_seconds": seconds,
        "epoch_seconds": clock.seconds,
        "recipe": recipe.as_dict(),
    }
