"""The run folder records the data instead of copying it; importing digitlib is cheap."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest

import digitlib as dl
from digitlib.data import checksum
from digitlib.runs import MANIFEST, RunDir
from tests.conftest import ROOT

HEAVY = ("tensorflow", "keras", "matplotlib", "pandas", "sklearn", "PIL", "scipy", "jax", "torch")


@pytest.fixture
def recorded(tiny_npz, tmp_path):
    """A run folder whose dataset.json records the tiny npz as its source."""
    path, arrays = tiny_npz
    run = RunDir(tmp_path / "run")
    mnist = dl.load_mnist(path)
    run.save_dataset(mnist)
    return run, path, arrays


def test_dataset_json_records_source_and_checksum_not_the_data(recorded):
    run, path, _ = recorded
    record = run.load_json("dataset.json")
    assert record["origin"] == str(path.resolve()) and len(record["sha256"]) == 64
    assert record["train"] == 40 and record["test"] == 20 and record["full"] is False
    assert sorted(p.name for p in run.path.iterdir()) == [MANIFEST, "dataset.json"]


def test_run_reloads_the_same_digits(recorded):
    run, _, arrays = recorded
    mnist = run.load_mnist()
    for key, value in arrays.items():
        np.testing.assert_array_equal(getattr(mnist, key), value)


def test_a_changed_source_fails_in_one_line_naming_it_and_the_lesson(recorded):
    run, path, arrays = recorded
    arrays["x_test"] = arrays["x_test"].copy()
    arrays["x_test"][0, 0, 0] ^= 1  # one pixel, one bit
    np.savez(path, **arrays)
    with pytest.raises(dl.DataError) as info:
        run.load_mnist()
    message = str(info.value)
    assert "\n" not in message and str(path.resolve()) in message
    assert "01_load_data" in message and "has changed" in message


def test_a_vanished_source_fails_in_one_line_naming_it_and_the_lesson(recorded):
    run, path, _ = recorded
    path.unlink()
    with pytest.raises(dl.DataError) as info:
        run.load_mnist()
    message = str(info.value)
    assert "\n" not in message and str(path.resolve()) in message
    assert "01_load_data" in message and "no such file" in message


def test_a_record_without_checksum_says_to_rerun_lesson_1(tmp_path):
    run = RunDir(tmp_path)
    run.save_json("dataset.json", {"source": "old run", "full": True})
    with pytest.raises(dl.DataError, match="records no data source.*run 01_load_data again"):
        run.load_mnist()


def test_prepared_data_comes_from_the_split_indices(recorded):
    run, _, arrays = recorded
    train, val = np.array([5, 1, 7]), np.array([0, 9])
    run.save_arrays("split.npz", train_index=train, val_index=val)
    prepared = run.load_prepared()
    np.testing.assert_array_equal(prepared["x_train"], dl.prepare_images(arrays["x_train"][train]))
    np.testing.assert_array_equal(prepared["y_val"], arrays["y_train"][val])
    assert prepared["x_test"].shape == (20, 28, 28, 1) and prepared["x_test"].dtype == np.float32
    run.save_arrays("split.npz", train_index=np.array([40]), val_index=val)
    with pytest.raises(dl.DataError, match="split.npz: train_index .* run 02_preprocess again"):
        run.load_prepared()


def test_checksum_sees_every_array():
    a = dl.data.MNIST(*(np.zeros((2, 28, 28), np.uint8), np.zeros(2, np.uint8)) * 2, source="x")
    b = dl.data.MNIST(a.x_train, a.y_train, a.x_test, np.ones(2, np.uint8), source="x")
    assert checksum(a) != checksum(b) and checksum(a) == checksum(dl.data.MNIST(
        a.x_train.copy(), a.y_train, a.x_test, a.y_test, source="y"))


# --- lazy imports ---------------------------------------------------------------------------

def _python(code: str, **env):
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_import_digitlib_loads_no_heavy_library():
    loaded = _python("import sys, digitlib as dl; dl.RunDir; dl.check_parameters(seed=1); "
                     "dl.set_seed(1); dl.load_mnist; "
                     f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))")
    assert loaded == ""


def test_functions_load_their_modules_when_used():
    out = _python("import sys, digitlib as dl; dl.plots; import digitlib.sweeps, digitlib.prediction; "
                  "print('matplotlib' in sys.modules, callable(dl.sweep), "
                  "type(dl.sweep).__name__, type(dl.predict).__name__)")
    assert out == "True True function function"


def test_help_and_parameter_errors_need_no_tensorflow():
    for args in (["--help"], ["run", "-p", "model", "nope"], ["run", "-p", "epochs", "0"]):
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "digitlib", *args], capture_output=True,
            text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        seconds = time.perf_counter() - start
        imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()
                    if line.startswith("import time:")}
        assert not {"tensorflow", "keras", "pandas", "matplotlib"} & imported, args
        assert result.returncode == (0 if args == ["--help"] else 2), result.stderr[-300:]
        assert seconds < 5, f"digitlib {' '.join(args)} took {seconds:.1f} s"


def test_set_seed_reaches_keras_when_digitlib_loads_it_later():
    out = _python("import digitlib as dl; dl.set_seed(3); m = dl.build_model('default'); "
                  "w1 = m.get_weights()[0].sum(); "
                  "import keras; keras.utils.set_random_seed(3); "
                  "w2 = dl.build_model('default').get_weights()[0].sum(); print(w1 == w2)")
    assert out == "True"


def test_the_optimizers_digitlib_accepts_are_those_lesson_4_makes():
    import re

    import nbformat

    from digitlib.recipes import OPTIMIZER_NAMES

    # Adam, and the keys of lesson 4's OTHER_OPTIMIZERS
    source = "\n".join(c.source for c in nbformat.read(ROOT / "notebooks" / "04_train.ipynb",
                                                       as_version=4).cells)
    table = re.search(r"OTHER_OPTIMIZERS = \{(.*?)\}", source, re.S).group(1)
    assert set(OPTIMIZER_NAMES) == {"adam", *re.findall(r'"(\w+)":', table)}


def test_tensorflow_loads_quietly_after_digitlib():
    code = ("import digitlib, keras; keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])"
            "(keras.ops.ones((1, 2)))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0 and result.stderr == "", result.stderr[-500:]


def test_lessons_1_and_2_steps_need_no_tensorflow(tiny_npz, tmp_path):
    """What lessons 1 and 2 call, from loading to the saved split, loads no TensorFlow."""
    path, _ = tiny_npz
    loaded = _python(
        "import sys, numpy as np, matplotlib; matplotlib.use('Agg'); import digitlib as dl\n"
        f"run = dl.RunDir({str(tmp_path / 'run')!r}); dl.set_seed(0)\n"
        f"mnist = dl.load_mnist({str(path)!r}); run.save_dataset(mnist)\n"
        "dl.plots.class_balance(mnist.y_train, mnist.y_test); dl.plots.sample_grid(mnist.x_train, mnist.y_train)\n"
        "mnist = run.load_mnist(); x = dl.prepare_images(mnist.x_train); dl.one_hot(mnist.y_train[:5])\n"
        "from sklearn.model_selection import train_test_split\n"
        "i, _, y, _ = train_test_split(np.arange(40), mnist.y_train, train_size=20,\n"
        "                              stratify=mnist.y_train, random_state=0)\n"
        "i_fit, y_fit, i_val, y_val = dl.split_validation(i, y, 0.5, seed=0)\n"
        "run.save_arrays('split.npz', train_index=i_fit, val_index=i_val)\n"
        "print(','.join(m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules))")
    assert loaded == ""
