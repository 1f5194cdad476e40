"""Lesson 4's compile and fit, mirrored for the benchmarks that must time inside training.

The lessons train in notebooks/04_train.ipynb, and ``digitlib run`` runs that. The benchmarks
that measure what a lesson cannot (test accuracy after every epoch, time to 99%, variants of a
network) train here instead, the same way: the recipe's optimizer and warm-up + cosine
schedule, label-smoothed cross-entropy, ``fit`` on NumPy arrays with ``shuffle=True``, an
ensemble's networks one after the other. tests/test_lesson_04.py checks that this optimizer
and schedule are the lesson's. ``dataset`` is the old ``tf.data`` feed, kept for fit_return.py.
"""

from __future__ import annotations

import time

import numpy as np

import digitlib as dl
from digitlib.evaluation import accuracy  # noqa: F401  (for the benchmarks)
from digitlib.models import Recipe, members, steps_per_epoch

keras = dl.models.keras

OTHER_OPTIMIZERS = {"adadelta": keras.optimizers.Adadelta, "adamw": keras.optimizers.AdamW,
                    "rmsprop": keras.optimizers.RMSprop, "sgd": keras.optimizers.SGD}


def make_optimizer(recipe: Recipe, steps: int):
    """Return lesson 4's optimizer for ``recipe`` over ``steps`` batches per epoch."""
    total = steps * recipe.epochs
    warmup = max(1, total // 10)
    schedule = recipe.learning_rate
    if recipe.schedule == "warmup_cosine":
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0, warmup_target=recipe.learning_rate, warmup_steps=warmup,
            decay_steps=max(1, total - warmup))
    if recipe.optimizer != "adam":
        return OTHER_OPTIMIZERS[recipe.optimizer](learning_rate=schedule)
    if recipe.ema_momentum:  # only best's recipe: lesson 4's "Only for model='best'" cell
        return keras.optimizers.Adam(learning_rate=schedule, use_ema=True,
                                     ema_momentum=recipe.ema_momentum)
    return keras.optimizers.Adam(learning_rate=schedule)


def compile_model(model, recipe: Recipe, num_examples: int):
    """Compile ``model`` as lesson 4 does, for one-hot labels."""
    model.compile(
        optimizer=make_optimizer(recipe, steps_per_epoch(num_examples, recipe.batch_size)),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=recipe.label_smoothing),
        metrics=["accuracy"])
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


def train(model, recipe: Recipe, x_train, y_train, x_val=None, y_val=None, callbacks=(),
          seed: int = 0) -> dict:
    """Train ``model`` (each network of an ensemble in turn) as lesson 4 does; return the figures."""
    del seed  # the caller seeds with dl.set_seed; fit shuffles with Keras' own generator
    networks = members(model)
    validation = (x_val, dl.one_hot(y_val)) if x_val is not None and len(x_val) else None
    histories, clock = [], EpochClock()
    start = time.perf_counter()
    for network in networks:
        compile_model(network, recipe, len(x_train))
        history = network.fit(x_train, dl.one_hot(y_train), batch_size=recipe.batch_size,
                              epochs=recipe.epochs, validation_data=validation, shuffle=True,
                              verbose=0, callbacks=[clock, *callbacks])
        histories.append({k: [float(v) for v in vs] for k, vs in history.history.items()})
    seconds = time.perf_counter() - start
    mean = {k: [float(v) for v in np.mean([h[k] for h in histories], axis=0)] for k in histories[0]}
    return {"history": mean, "member_histories": histories if len(networks) > 1 else [],
            "train_seconds": seconds, "epoch_seconds": clock.seconds, "recipe": recipe.as_dict()}


def dataset(x, y, batch_size: int, seed: int = 0):
    """Return the endless, reshuffling tf.data stream the lessons once fed to ``fit``."""
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return (tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
            .repeat()
            .batch(batch_size)
            .prefetch(2)
            .with_options(options))
