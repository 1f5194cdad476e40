"""load_mnist: every source, the official counts, and a clear DataError for every bad file."""

import gzip
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest

import digitlib as dl
from digitlib.data import IDX_FILES
from tests.conftest import tiny_arrays, write_idx

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def assert_official(data):
    assert data.x_train.shape == (60000, 28, 28) and data.x_train.dtype == np.uint8
    assert data.x_test.shape == (10000, 28, 28) and data.y_test.dtype == np.uint8
    assert np.bincount(data.y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(data.y_test).tolist() == TEST_COUNTS
    assert data.y_train[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    assert data.y_test[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert data.x_train.mean() == pytest.approx(33.3184, abs=1e-3)
    assert data.is_full


# --- the full copy, in every layout -------------------------------------------------------

def test_full_copy_as_folder(full_mnist_dir):
    data = dl.load_mnist(full_mnist_dir)
    assert_official(data)
    assert "mnist.npz" in data.source and str(full_mnist_dir.resolve()) not in data.source


def test_full_copy_as_npz_file(full_mnist_dir):
    assert_official(dl.load_mnist(full_mnist_dir / "mnist.npz"))


def test_full_copy_as_gzipped_idx(full_mnist_dir, tmp_path):
    for name in IDX_FILES.values():
        shutil.copy(full_mnist_dir / f"{name}.gz", tmp_path)
    data = dl.load_mnist(tmp_path)
    assert_official(data)
    assert data.source.startswith("gzipped IDX files")


def test_full_copy_as_plain_idx(full_mnist_dir, tmp_path):
    for name in IDX_FILES.values():
        with gzip.open(full_mnist_dir / f"{name}.gz") as src, open(tmp_path / name, "wb") as dst:
            shutil.copyfileobj(src, dst)
    data = dl.load_mnist(str(tmp_path))
    assert_official(data)
    assert data.source.startswith("IDX files")


def test_auto_uses_environment_variable(full_mnist_dir, monkeypatch):
    monkeypatch.setenv("DIGITLIB_DATA", str(full_mnist_dir))
    data = dl.load_mnist()
    assert_official(data)
    assert "DIGITLIB_DATA" in data.source


# --- tiny files in each layout ------------------------------------------------------------

def test_tiny_npz_round_trip(tiny_npz):
    path, arrays = tiny_npz
    data = dl.load_mnist(path)
    for key, value in arrays.items():
        np.testing.assert_array_equal(getattr(data, key), value)
    assert not data.is_full


def test_npz_labels_of_wider_integer_type_become_uint8(tmp_path):
    arrays = tiny_arrays()
    arrays["y_train"] = arrays["y_train"].astype(np.int64)
    np.savez(tmp_path / "mnist.npz", **arrays)
    assert dl.load_mnist(tmp_path).y_train.dtype == np.uint8


def test_tiny_idx_plain_and_gzipped_mixed(tiny_idx_dir):
    folder, arrays = tiny_idx_dir
    name = IDX_FILES["y_test"]
    (folder / name).unlink()
    write_idx(folder / name, arrays["y_test"], gz=True)
    data = dl.load_mnist(folder)
    np.testing.assert_array_equal(data.y_test, arrays["y_test"])
    np.testing.assert_array_equal(data.x_train, arrays["x_train"])


# --- every malformed case raises DataError naming the file --------------------------------

def expect_data_error(source, *fragments):
    with pytest.raises(dl.DataError) as info:
        dl.load_mnist(source)
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    assert isinstance(info.value, dl.DigitlibError)
    return message


def test_missing_path(tmp_path):
    expect_data_error(tmp_path / "nowhere", "nowhere", "no such file")


def test_empty_folder(tmp_path):
    expect_data_error(tmp_path, str(tmp_path), "neither mnist.npz nor")


def test_empty_npz(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"")
    expect_data_error(tmp_path, "mnist.npz", "empty")


def test_truncated_npz(tiny_npz):
    path, _ = tiny_npz
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    expect_data_error(path, "mnist.npz")


def test_npz_that_is_not_a_zip(tmp_path):
    path = tmp_path / "mnist.npz"
    path.write_text("this is not an archive\n" * 10)
    expect_data_error(path, "mnist.npz", "not")


def test_npz_with_pickled_objects(tmp_path):
    arrays = tiny_arrays()
    arrays["y_train"] = np.array([object()] * 40, dtype=object)
    np.savez(tmp_path / "mnist.npz", **arrays)
    expect_data_error(tmp_path / "mnist.npz", "mnist.npz")


def test_npz_missing_array(tmp_path):
    arrays = tiny_arrays()
    del arrays["y_test"]
    np.savez(tmp_path / "mnist.npz", **arrays)
    expect_data_error(tmp_path / "mnist.npz", "mnist.npz", "'y_test' is missing")


@pytest.mark.parametrize("key, value, fragment", [
    ("x_train", np.zeros((40, 28, 27), np.uint8), "shape"),
    ("x_test", np.zeros((20, 784), np.uint8), "shape"),
    ("x_train", np.zeros((40, 28, 28), np.float32), "dtype float32"),
    ("y_train", np.zeros((40, 1), np.uint8), "y_train has shape"),
    ("y_test", np.zeros(20, np.float64), "integers"),
    ("y_train", np.zeros(39, np.uint8), "40 train images but 39 labels"),
    ("y_test", np.full(20, 10, np.uint8), "outside 0-9"),
    ("y_train", np.full(40, -1, np.int16), "outside 0-9"),
    ("x_test", np.zeros((0, 28, 28), np.uint8), "0 test images"),
])
def test_npz_with_bad_array(tmp_path, key, value, fragment):
    arrays = tiny_arrays()
    arrays[key] = value
    np.savez(tmp_path / "mnist.npz", **arrays)
    expect_data_error(tmp_path / "mnist.npz", "mnist.npz", fragment)


def test_idx_wrong_magic(tiny_idx_dir):
    folder, arrays = tiny_idx_dir
    name = IDX_FILES["x_train"]
    write_idx(folder / name, arrays["x_train"], magic=2049)
    expect_data_error(folder, name, "magic number 2049, expected 2051")


def test_idx_labels_file_holding_images(tiny_idx_dir):
    folder, arrays = tiny_idx_dir
    name = IDX_FILES["y_test"]
    write_idx(folder / name, arrays["x_test"])
    expect_data_error(folder, name, "magic number 2051")


def test_idx_header_promises_more_than_file_holds(tiny_idx_dir):
    folder, _ = tiny_idx_dir
    path = folder / IDX_FILES["x_test"]
    path.write_bytes(path.read_bytes()[:-100])
    expect_data_error(folder, IDX_FILES["x_test"], "promises more data")


def test_idx_shorter_than_header(tiny_idx_dir):
    folder, _ = tiny_idx_dir
    (folder / IDX_FILES["y_train"]).write_bytes(b"\x00\x00")
    expect_data_error(folder, IDX_FILES["y_train"], "too short")


def test_idx_corrupt_gzip(tiny_idx_dir):
    folder, arrays = tiny_idx_dir
    name = IDX_FILES["x_train"]
    (folder / name).unlink()
    gz = write_idx(folder / name, arrays["x_train"], gz=True)
    raw = bytearray(gz.read_bytes())
    raw[20:40] = b"\xff" * 20
    gz.write_bytes(bytes(raw))
    expect_data_error(folder, f"{name}.gz")


def test_idx_truncated_gzip(tiny_idx_dir):
    folder, arrays = tiny_idx_dir
    name = IDX_FILES["y_train"]
    (folder / name).unlink()
    gz = write_idx(folder / name, arrays["y_train"], gz=True)
    gz.write_bytes(gz.read_bytes()[:-12])
    expect_data_error(folder, f"{name}.gz", "gzip")


def test_idx_gz_that_is_not_gzip(tiny_idx_dir):
    folder, _ = tiny_idx_dir
    name = IDX_FILES["y_test"]
    (folder / name).unlink()
    (folder / f"{name}.gz").write_bytes(b"plain text, not gzip")
    expect_data_error(folder, f"{name}.gz", "gzip")


@pytest.mark.parametrize("key", list(IDX_FILES))
def test_idx_one_file_missing(tiny_idx_dir, key):
    folder, _ = tiny_idx_dir
    (folder / IDX_FILES[key]).unlink()
    expect_data_error(folder, IDX_FILES[key], "missing")


def test_bad_source_type():
    expect_data_error(42, "42")


# --- Keras' download, offline -------------------------------------------------------------

@pytest.fixture
def keras_origin(monkeypatch, tmp_path):
    """Redirect Keras' MNIST download to a URL the test chooses, caching under tmp_path."""
    import keras.src.datasets.mnist as keras_mnist
    from keras.src.utils.file_utils import get_file

    state = {}
    (tmp_path / "keras").mkdir()  # get_file falls back to /tmp when the folder is missing

    def redirected(fname, origin, file_hash=None, **kwargs):
        state["asked"] = origin
        return get_file(fname, origin=state["url"], cache_dir=str(tmp_path / "keras"))

    monkeypatch.setattr(keras_mnist, "get_file", redirected)
    monkeypatch.delenv("DIGITLIB_DATA", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # never the user's ~/.keras
    return state


def test_keras_cache_tests_never_read_the_users_copy(keras_origin, tmp_path):
    from digitlib.data import keras_cache

    assert keras_cache() == tmp_path / "keras" / "datasets" / "mnist.npz"
    assert not keras_cache().exists()  # nothing cached here yet, whatever ~/.keras holds


def test_keras_source_downloads_through_get_file(full_mnist_dir, keras_origin, tmp_path):
    keras_origin["url"] = (full_mnist_dir / "mnist.npz").as_uri()
    data = dl.load_mnist("keras")
    assert_official(data)
    assert keras_origin["asked"].endswith("mnist.npz")
    assert data.source.startswith("Keras")
    assert (tmp_path / "keras" / "datasets" / "mnist.npz").is_file()  # cached for next time


def test_keras_source_failure_is_a_data_error(keras_origin):
    keras_origin["url"] = "http://127.0.0.1:9/mnist.npz"
    expect_data_error("keras", "Keras could not load MNIST")


def test_auto_falls_back_to_sample_with_warning(keras_origin):
    keras_origin["url"] = "http://127.0.0.1:9/mnist.npz"
    with pytest.warns(UserWarning, match="5,000-digit sample.*DIGITLIB_DATA"):
        data = dl.load_mnist("auto")
    assert data.source.startswith("sample")
    assert len(data.x_train) + len(data.x_test) == 5000


def test_sample_is_stratified_and_deterministic():
    first, second = dl.load_mnist("sample"), dl.load_mnist("sample")
    assert first.x_train.shape == (4000, 28, 28) and first.x_test.shape == (1000, 28, 28)
    assert first.x_train.dtype == np.uint8 and first.x_train.max() > 200
    assert np.bincount(first.y_test).tolist() == [100] * 10
    np.testing.assert_array_equal(first.x_train, second.x_train)


def test_environment_variable_pointing_nowhere(monkeypatch, tmp_path):
    monkeypatch.setenv("DIGITLIB_DATA", str(tmp_path / "missing"))
    expect_data_error("auto", "missing")


def test_no_warning_when_environment_variable_is_set(monkeypatch, tiny_npz):
    path, _ = tiny_npz
    monkeypatch.setenv("DIGITLIB_DATA", str(path.parent))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        data = dl.load_mnist()
    assert Path(path.parent).name in data.source
