"""Check the lessons' parameters before any work starts."""

from __future__ import annotations

import difflib
import numbers
from pathlib import Path

from .errors import ParameterError
from .recipes import OPTIMIZER_NAMES, RECIPES

MAX_TRAIN_SIZE = 60_000


def _whole(name, value, minimum=1, allow_none=False):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        extra = " or None" if allow_none else ""
        raise ParameterError(f"{name} must be a whole number >= {minimum}{extra}, got {value!r}")


def _positive(name, value, allow_none=True):
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
        raise ParameterError(f"{name} must be a positive number or None, got {value!r}")


def _text(name, value):
    if not isinstance(value, str) or not value.strip():
        raise ParameterError(f"{name} must be a non-empty string, got {value!r}")


def _model(name, value):
    if value not in RECIPES:
        raise ParameterError(f"{name} {value!r} is unknown; known models: {', '.join(RECIPES)}")


def _optimizer(name, value):
    if value is None:
        return
    if value not in OPTIMIZER_NAMES:
        raise ParameterError(
            f"{name} {value!r} is unknown; known optimizers: {', '.join(OPTIMIZER_NAMES)}")


def _fraction(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ParameterError(f"{name} must be a number from 0 up to (not including) 1, "
                             f"got {value!r}")


def _flag(name, value):
    if not isinstance(value, bool):
        raise ParameterError(f"{name} must be True or False, got {value!r}")


#: The values ``data`` takes besides the path of a copy of MNIST.
DATA_SOURCES = ("auto", "keras", "sample")


def _data(name, value):
    _text(name, value)
    if value not in DATA_SOURCES and not Path(value).exists():
        raise ParameterError(f"{name} {value!r} is neither {', '.join(map(repr, DATA_SOURCES))} "
                             "nor an existing folder or file")


CHECKS = {
    "run_dir": _text,
    "data": _data,
    "model": _model,
    "optimizer": _optimizer,
    "epochs": lambda n, v: _whole(n, v, allow_none=True),
    "batch_size": lambda n, v: _whole(n, v, allow_none=True),
    "seed": lambda n, v: _whole(n, v, minimum=0),
    "train_size": lambda n, v: (_whole(n, v, minimum=10, allow_none=True),
                                v is not None and v > MAX_TRAIN_SIZE and _too_big(n, v)),
    "learning_rate": _positive,
    "validation_fraction": _fraction,
    "label_smoothing": lambda n, v: v is not None and _fraction(n, v),
    "show_adadelta_demo": _flag,
    "test_index": lambda n, v: _whole(n, v, minimum=0),
    "patch_size": lambda n, v: (_whole(n, v), v > 28 and _too_wide(n, v)),
}


def _too_wide(name, value):
    raise ParameterError(f"{name} is {value}, but a digit is only 28 pixels wide")


def _too_big(name, value):
    raise ParameterError(f"{name} is {value}, but MNIST has only {MAX_TRAIN_SIZE} training images")


def check_train_size(train_size, available: int) -> None:
    """Raise ParameterError unless ``train_size`` is None or at most ``available`` images."""
    check_parameters(train_size=train_size)
    if train_size is not None and train_size > available:
        raise ParameterError(f"train_size is {train_size}, but this copy of MNIST has only "
                             f"{available:,} training images")


def unknown_message(name: str, known, where: str = "the lessons") -> str:
    """Return the one-line error for a parameter ``name`` that is not one of ``known``."""
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ";"
    return f"parameter {name!r} is not used by {where}{hint} known: {', '.join(sorted(known))}"


def check_parameters(**params) -> dict:
    """Raise ParameterError naming the first parameter that is unknown or cannot work; return them.

    Raises:
        ParameterError: for a name the lessons do not know (with the closest known name,
            "did you mean 'epochs'?") or a value that cannot work.
    """
    for name, value in params.items():
        check = CHECKS.get(name)
        if check is None:
            raise ParameterError(unknown_message(name, CHECKS))
        check(name, value)
    return params
