"""Skip re-executing the lessons (nbval) when only the small MNIST sample is available."""

import os
from pathlib import Path

import pytest

REASON = (
    "the committed lessons are checked against the full MNIST, which is not available here: "
    "set DIGITLIB_DATA to a folder holding mnist.npz or the four IDX files, or download it "
    "once with python -c 'import keras; keras.datasets.mnist.load_data()'"
)


def full_mnist_available() -> bool:
    """Return whether the lessons will load the full MNIST rather than the sample."""
    env = os.environ.get("DIGITLIB_DATA")
    if env:
        return Path(env).exists()
    keras_home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return (keras_home / "datasets" / "mnist.npz").is_file()


def pytest_collection_modifyitems(config, items):
    if full_mnist_available():
        return
    skip = pytest.mark.skip(reason=REASON)
    for item in items:
        if str(item.fspath).endswith(".ipynb"):
            item.add_marker(skip)
