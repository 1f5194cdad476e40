"""digitlib: the helper package behind the handwritten-digit lessons.

Import it as ``import digitlib as dl``. Importing it is quick: it loads Keras (and with it
TensorFlow, JAX or PyTorch), matplotlib, pandas, scikit-learn, Pillow and SciPy only when a
function that needs them is first used, e.g. ``dl.build_model`` or ``dl.plots``. When Keras
runs on TensorFlow, digitlib loads it without TensorFlow's start-up log lines.
"""

from __future__ import annotations

import importlib

from .errors import (
    DataError,
    DigitlibError,
    ImageError,
    LessonError,
    MissingArtifactError,
    ParameterError,
    SeveralDigitsError,
)
from .params import check_parameters, check_train_size
from .runs import RunDir
from . import quiet  # noqa: F401  (TensorFlow then loads without its start-up log lines)
from .seeds import seed_keras as _seed_keras
from .seeds import set_seed

__version__ = "0.1.0"

#: The submodules ``dl.NAME`` loads on first use.
_SUBMODULES = ("data", "drawing", "evaluation", "exercises", "imaging", "model_files", "models",
               "plots", "preprocessing")

#: The functions and classes ``dl.NAME`` loads on first use, by the module that holds them.
_LAZY = {
    "MNIST": "data", "load_mnist": "data",
    "DrawingPad": "drawing",
    "accuracy": "evaluation",
    "build_model": "models", "load_model": "models",
    "model_names": "models", "recipe": "models",
    "predict": "prediction",
    "one_hot": "preprocessing", "prepare_images": "preprocessing",
    "split_validation": "preprocessing",
    "sweep": "sweeps",
}

__all__ = sorted([
    "DataError", "DigitlibError", "ImageError", "LessonError", "MissingArtifactError",
    "ParameterError", "RunDir", "SeveralDigitsError", "check_parameters", "check_train_size", "set_seed", *_SUBMODULES, *_LAZY,
])


def __getattr__(name: str):
    """Import a submodule, or the module holding a function, the first time it is used."""
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
    elif name in _LAZY:
        module = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = module  # later lookups skip this function
    _seed_keras()  # if that loaded Keras after dl.set_seed
    return module


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
