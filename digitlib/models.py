"""Build the lessons' models by name, with the training recipe that goes with each.

The names and the recipes live in :mod:`digitlib.recipes`, which needs no Keras; the
benchmarks and the sweeps read them from here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from .backend import import_keras
from .errors import DataError, ParameterError
from .params import check_parameters
from .recipes import OPTIMIZER_NAMES, RECIPES, SCHEDULES, Recipe

keras = import_keras()
layers = keras.layers

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
#: The endings of the model files Keras 3 loads: its own format and legacy HDF5.
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5")


def seed_cnn() -> keras.Model:
    """Build the original project's CNN: two convolutions, pooling, dropout, two dense layers."""
    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
        layers.Conv2D(32, 3, activation="relu"),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Dropout(0.25),
        layers.Flatten(),
        layers.Dense(256, activation="relu"),
        layers.Dropout(0.5),
        layers.Dense(NUM_CLASSES, activation="softmax"),
    ], name="seed")


def kerasio_cnn() -> keras.Model:
    """Build keras.io's "Simple MNIST convnet" for comparison."""
    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
        layers.Conv2D(32, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(NUM_CLASSES, activation="softmax"),
    ], name="kerasio")


def default_cnn() -> keras.Model:
    """Build the lessons' default CNN: shift while training, crop, one strided and one plain convolution."""
    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
        # Training only: each digit moved by up to 2 pixels each way, anew in every batch.
        layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant"),
        layers.Cropping2D(2),  # 28 × 28 -> 24 × 24: the border holds 0.24% of the ink
        layers.Conv2D(32, 6, strides=2, activation="relu"),  # 6 × 6 filters, 2 pixels apart -> 10 × 10 × 32
        layers.MaxPooling2D(2),  # -> 5 × 5 × 32
        layers.Conv2D(128, 3, activation="relu"),  # -> 3 × 3 × 128, kept unpooled
        layers.Flatten(),  # -> 1,152 values
        layers.Dropout(0.1),
        layers.Dense(256, activation="relu"),
        layers.Dropout(0.3),
        layers.Dense(NUM_CLASSES, activation="softmax"),
    ], name="default")


#: How many networks vote in the ``best`` ensemble, and the shifts, in pixels (down, right),
#: of the copies of each digit they all read: test-time augmentation.
BEST_MEMBERS = 3
BEST_VIEWS = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1))
#: Batch normalisation's averages follow the last ~10 batches (Keras' default: ~100), so that
#: they fit the weights after a one-epoch quick run too.
BN_MOMENTUM = 0.9


def _conv_bn(filters: int, size: int) -> list:
    """Return a convolution, its batch normalisation and the ReLU after both."""
    return [layers.Conv2D(filters, size, use_bias=False),  # the normalisation brings its own bias
            layers.BatchNormalization(momentum=BN_MOMENTUM),
            layers.Activation("relu")]


def best_member(number: int = 0) -> keras.Model:
    """Build one network of the ``best`` ensemble: random shifts, batch-normalised convolutions."""
    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
        # Training only: each digit moved by up to 2 pixels each way, anew in every batch.
        layers.RandomTranslation(2 / 28, 2 / 28, fill_mode="constant"),
        # Not normalised: on the full-size image that would cost a fifth of the training time.
        layers.Conv2D(32, 5, activation="relu"),  # -> 24 × 24 × 32
        layers.MaxPooling2D(2),  # -> 12 × 12 × 32
        *_conv_bn(64, 3),  # -> 10 × 10 × 64
        *_conv_bn(64, 3),  # -> 8 × 8 × 64
        layers.MaxPooling2D(2),  # -> 4 × 4 × 64
        layers.Flatten(),  # -> 1,024 values
        layers.Dropout(0.2),
        layers.Dense(256, use_bias=False),
        layers.BatchNormalization(momentum=BN_MOMENTUM),
        layers.Activation("relu"),
        layers.Dropout(0.3),
        layers.Dense(NUM_CLASSES, activation="softmax"),
    ], name=f"member_{number}")


def shift(image, down: int, right: int):
    """Return Keras layers' copy of ``image`` moved ``down`` and ``right`` pixels, zeros let in."""
    if (down, right) == (0, 0):
        return image
    pad = ((max(down, 0), max(-down, 0)), (max(right, 0), max(-right, 0)))
    crop = ((max(-down, 0), max(down, 0)), (max(-right, 0), max(right, 0)))
    name = f"shift_{down}_{right}".replace("-", "m")
    moved = layers.ZeroPadding2D(pad, name=f"{name}_pad")(image)
    return layers.Cropping2D(crop, name=f"{name}_crop")(moved)


def best_cnn() -> keras.Model:
    """Build the most accurate model: three networks voting over five shifted copies of a digit."""
    image = keras.Input(INPUT_SHAPE, name="image")
    views = [shift(image, down, right) for down, right in BEST_VIEWS]
    networks = [best_member(number) for number in range(BEST_MEMBERS)]
    votes = [network(view) for network in networks for view in views]
    return keras.Model(image, layers.Average(name="vote")(votes), name="best")


def members(model: keras.Model) -> list:
    """Return the networks to train one after the other: an ensemble's members, or ``[model]``."""
    inner = [layer for layer in model.layers if isinstance(layer, keras.Model)]
    return inner or [model]


@dataclass(frozen=True)
class ModelSpec:
    build: Callable[[], keras.Model]
    recipe: Recipe


_BUILDERS = {"seed": seed_cnn, "kerasio": kerasio_cnn, "default": default_cnn, "best": best_cnn}
#: Each model that ``RECIPES`` names, with its builder (a name without one fails here, at import).
MODELS: dict[str, ModelSpec] = {name: ModelSpec(_BUILDERS[name], recipe)
                                for name, recipe in RECIPES.items()}


def model_names() -> list[str]:
    """Return the names of the models :func:`build_model` knows."""
    return list(MODELS)


def _spec(name: str) -> ModelSpec:
    check_parameters(model=name)
    return MODELS[name]


def build_model(name: str = "default") -> keras.Model:
    """Build the untrained, uncompiled model registered as ``name``."""
    return _spec(name).build()


def recipe(name: str = "default", **overrides) -> Recipe:
    """Return the training recipe of model ``name``, with any non-None overrides applied."""
    base = _spec(name).recipe
    changes = {key: value for key, value in overrides.items() if value is not None}
    unknown = set(changes) - set(Recipe.__dataclass_fields__)
    if unknown:
        raise ParameterError(f"recipe has no setting {sorted(unknown)[0]!r}")
    if "optimizer" in changes and "learning_rate" not in changes and (
            changes["optimizer"] != base.optimizer):
        changes["learning_rate"] = 0.001  # Keras' default for every optimizer here but sgd
    result = replace(base, **changes)
    if result.optimizer not in OPTIMIZER_NAMES:
        raise ParameterError(
            f"optimizer {result.optimizer!r} is unknown; known: {', '.join(OPTIMIZER_NAMES)}")
    if result.schedule not in SCHEDULES:
        raise ParameterError(f"schedule {result.schedule!r} is unknown; known: {SCHEDULES}")
    check_parameters(label_smoothing=result.label_smoothing)
    if not 0 <= result.ema_momentum < 1:
        raise ParameterError(
            f"ema_momentum must be at least 0 and below 1, not {result.ema_momentum!r}")
    return result


def steps_per_epoch(num_examples: int, batch_size: int) -> int:
    """Return how many batches one epoch over ``num_examples`` takes."""
    return math.ceil(num_examples / batch_size)


def load_model(path, compile: bool = True):
    """Load a model saved as ``.keras`` or ``.h5``, refusing one that holds code.

    Raises:
        DataError: the file is missing, not a loadable model, or holds Python code (a
            ``Lambda`` layer, say), which is never run: the file is read as JSON first.
    """
    from .model_files import check_model_file

    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such model file")
    if path.suffix.lower() not in MODEL_SUFFIXES:
        raise DataError(f"{path}: not a model file; a trained model is a .keras or .h5 file, "
                        "such as mnist.keras")
    check_model_file(path)
    try:
        return keras.models.load_model(path, compile=compile, safe_mode=True)
    except Exception as error:  # Keras raises many types for a damaged file
        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
        reason = re.split(r"(?<=[.!?])\s", reason, maxsplit=1)[0].rstrip(".") if reason else ""
        raise DataError(f"{path}: not a loadable Keras model "
                        f"({reason or type(error).__name__})") from None
