"""Read digits from photos with a trained model: the code behind ``digitlib predict``."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from . import imaging
from .errors import DigitlibError
from .preprocessing import prepare_images

BATCH = 256  # images preprocessed and predicted together by predict_files


@dataclass(frozen=True)
class Prediction:
    """Hold what the model read in one image: the digit, its probability, all ten."""

    digit: int
    probability: float
    probabilities: np.ndarray = field(compare=False, repr=False)


def predict(model, images) -> list[Prediction]:
    """Read the digit in each image, preprocessed MNIST-style by :func:`imaging.to_mnist`.

    Args:
        model: a Keras model, or the path of one saved as ``.keras`` or ``.h5``.
        images: one image or a list of them; an image is a path, the bytes of an image
            file, a Pillow image or an array. A 3-D array whose last axis is not 1, 3
            or 4 (such as MNIST's ``x_test[:5]``) counts as a stack of images.

    Returns:
        One :class:`Prediction` per image, in order.

    Raises:
        ImageError: an image cannot be read or holds no digit (naming it).
        DataError: the model file is missing, broken or holds code.
    """
    if isinstance(model, (str, os.PathLike)):
        model = _load(model)
    digits = [imaging.to_mnist(image) for image in _as_list(images)]
    return [_prediction(p) for p in _probabilities(model, digits)]


def predict_files(model_path: str | os.PathLike,
                  paths: Iterable) -> Iterator[tuple[object, Prediction | DigitlibError]]:
    """Load the model once, then yield ``(path, Prediction or error)`` for each path, in order.

    Each file is read on its own, so one unreadable file gives its ImageError and the
    others are still predicted.

    Raises:
        DataError: at once, when the model file is missing, broken or holds code.
    """
    model = _load(model_path)
    return _each_file(model, paths)


def _load(path):
    from .models import load_model

    return load_model(path, compile=False)  # predicting needs no optimizer or loss


def _each_file(model, paths: Iterable) -> Iterator[tuple[object, Prediction | DigitlibError]]:
    paths = list(paths)
    for start in range(0, len(paths), BATCH):
        chunk = paths[start:start + BATCH]
        results = [_read(path) for path in chunk]
        good = [r for r in results if not isinstance(r, DigitlibError)]
        predictions = (_prediction(p) for p in _probabilities(model, good))
        for path, result in zip(chunk, results):
            yield path, result if isinstance(result, DigitlibError) else next(predictions)


def _read(path) -> np.ndarray | DigitlibError:
    try:
        return imaging.to_mnist(path)
    except DigitlibError as error:
        return error


def _as_list(images) -> list:
    if isinstance(images, (str, os.PathLike, bytes, bytearray, memoryview, Image.Image)):
        return [images]
    if isinstance(images, np.ndarray):
        one = images.ndim == 2 or (images.ndim == 3 and images.shape[-1] in (1, 3, 4))
        return [images] if one else list(images)
    return list(images)


def _probabilities(model, digits: list[np.ndarray]) -> np.ndarray:
    if not digits:
        return np.zeros((0, 10), dtype=np.float32)
    x = prepare_images(np.stack(digits))
    if len(x) <= BATCH:  # one batch: skip predict's input pipeline, which costs ~0.1 s a call
        return np.asarray(model.predict_on_batch(x))
    return np.asarray(model.predict(x, batch_size=BATCH, verbose=0))


def _prediction(probabilities: np.ndarray) -> Prediction:
    digit = int(np.argmax(probabilities))
    return Prediction(digit, float(probabilities[digit]), probabilities)
