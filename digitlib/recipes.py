"""Name the lessons' models and the training recipe of each, without loading Keras.

``RECIPES`` is the registry of model names: the parameter checks read it before any Keras
loads, and :mod:`digitlib.models` builds each model it names. Its recipes are the ones
lesson 4 writes out in its ``RECIPES`` cell and trains by (a test checks that the two agree).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

#: The optimizers lesson 4 can make from a recipe (a test checks them against the lesson).
OPTIMIZER_NAMES = ("adadelta", "adam", "adamw", "sgd", "rmsprop")
SCHEDULES = ("constant", "warmup_cosine")


@dataclass(frozen=True)
class Recipe:
    """Say how to train one model: optimizer, learning rate, schedule, epochs, batch size, loss."""

    model: str
    optimizer: str
    learning_rate: float
    epochs: int  # an ensemble's: each member's
    batch_size: int
    schedule: str = "constant"  # or "warmup_cosine"
    label_smoothing: float = 0.0  # share of each target spread over the other classes
    ema_momentum: float = 0.0  # > 0: end on a moving average of the weights, this momentum
    description: str = ""

    def as_dict(self) -> dict:
        """Return the recipe as plain values, e.g. for metrics.json."""
        return asdict(self)


RECIPES: dict[str, Recipe] = {recipe.model: recipe for recipe in (
    Recipe("seed", "adadelta", 0.001, 10, 128,
           description="the original project's CNN and Adadelta at Keras' default learning rate"),
    Recipe("kerasio", "adam", 0.001, 15, 128,
           description="keras.io's Simple MNIST convnet recipe"),
    Recipe("default", "adam", 0.01, 4, 256, "warmup_cosine", label_smoothing=0.1,
           description="small CNN on the cropped digit, trained with random shifts of up to 2 "
                       "pixels, a strided first convolution, Adam with warm-up and cosine decay "
                       "in batches of 256, label smoothing"),
    Recipe("best", "adam", 0.005, 7, 128, "warmup_cosine", label_smoothing=0.1,
           ema_momentum=0.99,
           description="three batch-normalised CNNs, each trained on its own with random shifts "
                       "and a moving average of its weights, voting over five shifted copies of "
                       "every digit"),
)}
