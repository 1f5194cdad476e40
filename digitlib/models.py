"""Build the lessons' models by name, with the training recipe that goes with each."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

from ._quiet import import_keras
from .errors import DataError, ParameterError
from .params import check_parameters

keras = import_keras()
layers = keras.layers

INPUT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10


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
    """Build the lessons' default CNN: crop the border, one strided and one plain convolution."""
    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
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


def best_cnn() -> keras.Model:
    """Build the most accurate model: the default widened, with a third convolution and augmentation."""
    return keras.Sequential([
        keras.Input(INPUT_SHAPE),
        # Augmentation: only active while training, a new random variant of each digit per epoch.
        layers.RandomRotation(0.04, fill_mode="constant"),
        layers.RandomTranslation(0.1, 0.1, fill_mode="constant"),
        layers.RandomZoom(0.1, fill_mode="constant"),
        layers.Conv2D(32, 5, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dropout(0.3),
        layers.Dense(256, activation="relu"),
        layers.Dropout(0.4),
        layers.Dense(NUM_CLASSES, activation="softmax"),
    ], name="best")


@dataclass(frozen=True)
class Recipe:
    """Say how to train one model: optimizer, learning rate, schedule, epochs, batch size, loss."""

    model: str
    optimizer: str
    learning_rate: float
    epochs: int
    batch_size: int
    schedule: str = "constant"  # or "warmup_cosine"
    label_smoothing: float = 0.0  # share of each target spread over the other classes
    description: str = ""

    def as_dict(self) -> dict:
        """Return the recipe as plain values, e.g. for metrics.json."""
        return asdict(self)


@dataclass(frozen=True)
class ModelSpec:
    build: Callable[[], keras.Model]
    recipe: Recipe


MODELS: dict[str, ModelSpec] = {
    "seed": ModelSpec(seed_cnn, Recipe(
        "seed", "adadelta", 0.001, 10, 128,
        description="the original project's CNN and Adadelta at Keras' default learning rate")),
    "kerasio": ModelSpec(kerasio_cnn, Recipe(
        "kerasio", "adam", 0.001, 15, 128,
        description="keras.io's Simple MNIST convnet recipe")),
    "default": ModelSpec(default_cnn, Recipe(
        "default", "adam", 0.01, 4, 128, "warmup_cosine", label_smoothing=0.1,
        description="small CNN on the cropped digit, a strided first convolution, Adam with "
                    "warm-up and cosine decay, label smoothing")),
    "best": ModelSpec(best_cnn, Recipe(
        "best", "adam", 0.003, 20, 256, "warmup_cosine",
        description="augmentation, a third convolution and a longer schedule")),
}

OPTIMIZERS = {
    "adadelta": lambda lr: keras.optimizers.Adadelta(learning_rate=lr),
    "adam": lambda lr: keras.optimizers.Adam(learning_rate=lr),
    "adamw": lambda lr: keras.optimizers.AdamW(learning_rate=lr),
    "sgd": lambda lr: keras.optimizers.SGD(learning_rate=lr, momentum=0.9, nesterov=True),
    "rmsprop": lambda lr: keras.optimizers.RMSprop(learning_rate=lr),
}
SCHEDULES = ("constant", "warmup_cosine")


def model_names() -> list[str]:
    """Return the names of the models :func:`build_model` knows."""
    return list(MODELS)


def _spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ParameterError(f"model {name!r} is unknown; known models: {', '.join(MODELS)}")
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
    if result.optimizer not in OPTIMIZERS:
        raise ParameterError(
            f"optimizer {result.optimizer!r} is unknown; known: {', '.join(OPTIMIZERS)}")
    if result.schedule not in SCHEDULES:
        raise ParameterError(f"schedule {result.schedule!r} is unknown; known: {SCHEDULES}")
    check_parameters(label_smoothing=result.label_smoothing)
    return result


def make_optimizer(recipe: Recipe, steps_per_epoch: int):
    """Return the recipe's Keras optimizer, with its learning-rate schedule attached."""
    rate = recipe.learning_rate
    if recipe.schedule == "warmup_cosine":
        total = max(1, recipe.epochs * steps_per_epoch)
        warmup = max(1, total // 10)
        rate = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0, decay_steps=max(1, total - warmup),
            warmup_target=recipe.learning_rate, warmup_steps=warmup)
    return OPTIMIZERS[recipe.optimizer](rate)


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
    check_model_file(path)
    try:
        return keras.models.load_model(path, compile=compile, safe_mode=True)
    except Exception as error:  # Keras raises many types for a damaged file
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"{path}: not a loadable Keras model ({reason[:200]})") from None
