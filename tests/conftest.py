"""Fixtures shared by the tests: tiny MNIST-shaped data, the full copy when there is one."""

import gzip
import math
import os
import struct
from pathlib import Path

import numpy as np
import pytest

import digitlib  # noqa: F401  (quiets TensorFlow before any test imports it)
from digitlib.data import DATA_ENV

ROOT = Path(__file__).resolve().parents[1]


def full_data_dir() -> Path | None:
    """Return the folder of the full MNIST copy named by DIGITLIB_DATA, if there is one."""
    folder = os.environ.get(DATA_ENV)
    return Path(folder) if folder and Path(folder).is_dir() else None


@pytest.fixture
def full_mnist_dir():
    """Return the DIGITLIB_DATA folder; skip without it, or fail when CI requires the data."""
    path = full_data_dir()
    if path is None:
        message = "needs the full MNIST: set DIGITLIB_DATA to a folder holding it"
        if os.environ.get("DIGITLIB_REQUIRE_DATA") == "1":
            pytest.fail(f"DIGITLIB_REQUIRE_DATA=1, yet this test {message}", pytrace=False)
        pytest.skip(message)
    return path


def tiny_arrays(n_train=40, n_test=20, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": np.arange(n_train, dtype=np.uint8) % 10,
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": np.arange(n_test, dtype=np.uint8) % 10,
    }


def write_idx(path: Path, array: np.ndarray, gz: bool = False, magic=None):
    magic = magic or (2051 if array.ndim == 3 else 2049)
    raw = struct.pack(f">{1 + array.ndim}I", magic, *array.shape) + array.tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)
    return path


@pytest.fixture
def tiny_npz(tmp_path):
    arrays = tiny_arrays()
    path = tmp_path / "mnist.npz"
    np.savez(path, **arrays)
    return path, arrays


@pytest.fixture
def tiny_idx_dir(tmp_path):
    from digitlib.data import IDX_FILES

    arrays = tiny_arrays()
    folder = tmp_path / "idx"
    folder.mkdir()
    for key, name in IDX_FILES.items():
        write_idx(folder / name, arrays[key])
    return folder, arrays


def fit_default(model, x, y, epochs: int, batch_size: int = 128, x_val=None, y_val=None):
    """Compile and fit ``model`` on integer labels ``y`` with plain Keras, by lesson 4's default recipe.

    Adam warmed up to 0.01 over the first tenth of the steps, then a cosine decay; cross-entropy
    with label smoothing 0.1; NumPy arrays reshuffled every epoch. Returns ``fit``'s history.
    """
    import keras

    total = math.ceil(len(x) / batch_size) * epochs
    warmup = max(1, total // 10)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0, warmup_target=0.01, warmup_steps=warmup,
        decay_steps=max(1, total - warmup))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
                  metrics=["accuracy"])
    validation = None if x_val is None else (x_val, keras.utils.to_categorical(y_val, 10))
    return model.fit(x, keras.utils.to_categorical(y, 10), batch_size=batch_size, epochs=epochs,
                     validation_data=validation, shuffle=True, verbose=0).history


def train_quick_default(folder: Path, train_size: int, epochs: int, sample_epochs: int):
    """Train the default network on a stratified subset of the full MNIST, or on the sample.

    Returns the model, its saved ``mnist.keras`` in ``folder``, whether the full data was
    used, and the MNIST it came from. The sample trains ``sample_epochs`` instead.
    """
    import digitlib as dl

    data = full_data_dir()
    mnist = dl.load_mnist(data if data else "sample")
    x, y = mnist.x_train, mnist.y_train
    if data:
        from sklearn.model_selection import train_test_split

        x, _, y, _ = train_test_split(x, y, train_size=train_size, stratify=y, random_state=0)
    dl.set_seed(0)
    model = dl.build_model("default")
    fit_default(model, dl.prepare_images(x), y, epochs if data else sample_epochs)
    path = dl.RunDir(folder).save_model(model, "mnist.keras")
    return model, path, data is not None, mnist
