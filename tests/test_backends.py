"""Plain Keras on every backend: the models use only Keras' own parts, and their files cross backends."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import digitlib as dl
from digitlib.runs import RunDir
from tests.conftest import fit_default

BACKENDS = ("tensorflow", "jax", "torch")
#: CI sets this, so that a missing backend fails there instead of being skipped.
REQUIRE = os.environ.get("DIGITLIB_REQUIRE_BACKENDS") == "1"


def need_backend(name: str) -> None:
    """Skip (or, in CI, fail) when the package behind a Keras backend is not installed."""
    if importlib.util.find_spec(name) is None:
        message = (f"the {name} backend is not installed: pip install -e '.[{name}]'"
                   if name != "tensorflow" else "tensorflow is not installed")
        if REQUIRE:
            pytest.fail(message)
        pytest.skip(message)


def python(code: str, backend: str, *args, timeout: int = 300) -> dict:
    """Run ``code`` in a fresh Python on ``backend``; return the JSON it prints last."""
    env = {**os.environ, "KERAS_BACKEND": backend}
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


# Loads a model file with nothing but Keras and predicts the digits of an .npy file.
BARE_PREDICT = """
import json, sys
import numpy as np
import keras
model = keras.models.load_model(sys.argv[1])
x = np.load(sys.argv[2])
probabilities = np.asarray(model.predict(x, verbose=0))
print(json.dumps({"backend": keras.backend.backend(), "digitlib": "digitlib" in sys.modules,
                  "probabilities": probabilities.tolist()}))
"""


@pytest.mark.parametrize("name", ["seed", "kerasio", "default", "best"])
def test_every_model_is_built_from_keras_own_layers(name):
    model = dl.build_model(name)
    foreign = [type(layer).__module__ for layer in model.layers
               if not type(layer).__module__.startswith("keras.")]
    assert not foreign, f"{name} uses layers from outside Keras: {foreign}"


def test_default_model_reads_only_the_centre_24_x_24():
    model = dl.build_model("default")
    x = np.random.default_rng(1).random((4, 28, 28, 1), dtype=np.float32)
    framed = x.copy()
    framed[:, :2], framed[:, -2:], framed[:, :, :2], framed[:, :, -2:] = 1, 0, 1, 0
    np.testing.assert_array_equal(model.predict(framed, verbose=0), model.predict(x, verbose=0))
    inner = x.copy()
    inner[:, 2, 2] = 1 - inner[:, 2, 2]  # the first pixel inside the frame
    assert not np.allclose(model.predict(inner, verbose=0), model.predict(x, verbose=0))


@pytest.fixture(scope="module")
def trained_files(tmp_path_factory):
    """Train the default model briefly on real digits; save it as .keras and .h5."""
    folder = tmp_path_factory.mktemp("trained")
    data = dl.load_mnist("sample")
    x, y = dl.prepare_images(data.x_train[:2000]), data.y_train[:2000]
    dl.set_seed(0)
    model = dl.build_model("default")
    fit_default(model, x, y, epochs=2)
    x_test = dl.prepare_images(data.x_test[:200])
    np.save(folder / "x_test.npy", x_test)
    run = RunDir(folder)
    run.save_model(model, "mnist.keras")
    run.save_model(model, "mnist.h5")
    return folder, model.predict(x_test, verbose=0)


@pytest.mark.parametrize("file", ["mnist.keras", "mnist.h5"])
def test_saved_model_opens_in_bare_keras_without_digitlib(trained_files, file):
    folder, expected = trained_files
    out = python(BARE_PREDICT, "tensorflow", folder / file, folder / "x_test.npy")
    assert out["digitlib"] is False
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-5)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_model_trained_on_tensorflow_reads_the_same_digits_on_other_backends(trained_files, backend):
    need_backend(backend)
    folder, expected = trained_files
    out = python(BARE_PREDICT, backend, folder / "mnist.keras", folder / "x_test.npy")
    assert out["backend"] == backend and out["digitlib"] is False
    got = np.asarray(out["probabilities"])
    assert (got.argmax(axis=1) == expected.argmax(axis=1)).all()
    np.testing.assert_allclose(got, expected, atol=1e-4)


# Trains the default twice with one seed on a backend, as lesson 4 does; saves the first model.
TRAIN_TWICE = """
import json, sys
import digitlib as dl
from tests.conftest import fit_default
data = dl.load_mnist("sample")
x, y = dl.prepare_images(data.x_train[:600]), data.y_train[:600]
losses = []
for attempt in range(2):
    dl.set_seed(3)
    model = dl.build_model("default")
    losses.append(fit_default(model, x, y, epochs=1, batch_size=64)["loss"])
    if attempt == 0:
        dl.runs.RunDir(sys.argv[1]).save_model(model, "mnist.keras")
import keras
backend = keras.backend.backend()
if backend == "tensorflow":
    from tensorflow.python.framework.config import is_op_determinism_enabled
    deterministic = is_op_determinism_enabled()
elif backend == "torch":
    import torch
    deterministic = torch.are_deterministic_algorithms_enabled()
else:
    deterministic = True  # JAX on a CPU has no switch: its kernels are deterministic
print(json.dumps({"backend": backend, "losses": losses, "deterministic": deterministic}))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_same_seed_same_numbers_and_the_file_opens_on_tensorflow(backend, tmp_path, trained_files):
    need_backend(backend)
    out = python(TRAIN_TWICE, backend, tmp_path)
    assert out["backend"] == backend
    assert out["deterministic"] is True  # set_seed turned the backend's switch on
    assert out["losses"][0] == out["losses"][1]
    folder, _ = trained_files
    x_test = np.load(folder / "x_test.npy")
    there = python(BARE_PREDICT, backend, tmp_path / "mnist.keras", folder / "x_test.npy")
    here = dl.load_model(tmp_path / "mnist.keras").predict(x_test, verbose=0)
    assert (np.asarray(there["probabilities"]).argmax(axis=1) == here.argmax(axis=1)).all()


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_lessons_run_end_to_end_on_backend(backend, tmp_path):
    """Lessons 01-06 on a subset, every kernel on ``backend``; predict there; TensorFlow reads the model."""
    need_backend(backend)
    full = bool(os.environ.get("DIGITLIB_DATA"))
    size, floor = (12_000, 0.98) if full else (4_000, 0.85)  # without a copy: the 5,000-digit sample
    run_dir = tmp_path / f"on {backend}"
    env = {**os.environ, "KERAS_BACKEND": backend}
    done = subprocess.run(
        [sys.executable, "-m", "digitlib", "run", "--quiet", "--run-dir", str(run_dir), "--last", "06",
         "-p", "train_size", str(size), "-p", "epochs", "3",  # 3 x 43 steps of 256 digits
         "-p", "show_adadelta_demo", "False"],
        env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"on the {backend} backend" in (run_dir / "04_train.ipynb").read_text()
    for lesson in run_dir.glob("*.ipynb"):  # TensorFlow loads for tf.data, quietly here too
        text = lesson.read_text()
        for marker in ("cuda_drivers", "cuInit", "absl::InitializeLog", "oneDNN"):
            assert marker not in text, f"TensorFlow log line in {lesson.name}"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= floor, metrics
    assert metrics["backend"] == backend and f"on {backend} (" in done.stdout
    data = dl.load_mnist("auto" if full else "sample")
    x_test = dl.prepare_images(data.x_test[:500])
    np.save(tmp_path / "x.npy", x_test)
    there = python(BARE_PREDICT, backend, run_dir / "mnist.keras", tmp_path / "x.npy")
    here = dl.load_model(run_dir / "mnist.keras").predict(x_test, verbose=0)
    assert (np.asarray(there["probabilities"]).argmax(axis=1) == here.argmax(axis=1)).all()
    photos = [str(path) for path in dl.imaging.example_photos()[:3]]
    read = subprocess.run([sys.executable, "-m", "digitlib", "predict", "--model",
                           str(run_dir / "mnist.keras"), *photos],
                          env=env, capture_output=True, text=True, timeout=300)
    assert read.returncode == 0, read.stderr[-2000:]
    lines = read.stdout.strip().splitlines()
    assert len(lines) == 3 and all(line.split("\t")[1] in "0123456789" for line in lines)


@pytest.mark.parametrize("backend, message", [
    ("jaxx", "KERAS_BACKEND is 'jaxx', which is not a Keras backend"),
    ("openvino", "Keras is set to run on openvino (KERAS_BACKEND or ~/.keras/keras.json), "
                 "but openvino is not installed"),
])
def test_missing_or_unknown_backend_is_one_line_before_any_work(tmp_path, backend, message):
    run_dir = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "digitlib", "run", "--run-dir", str(run_dir)],
                          env={**os.environ, "KERAS_BACKEND": backend},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith(f"digitlib: {message}") and done.stderr.count("\n") == 1
    assert not run_dir.exists()


# Trains the best ensemble briefly on a backend, its networks one after the other as lesson 4
# does, saves it in both formats, prints its answers.
TRAIN_BEST = """
import json, sys
import numpy as np
import keras
import digitlib as dl
data = dl.load_mnist("sample")
x, y = dl.prepare_images(data.x_train[:600]), keras.utils.to_categorical(data.y_train[:600], 10)
dl.set_seed(0)
model = dl.build_model("best")
members = [layer for layer in model.layers if isinstance(layer, keras.Model)]
for member in members:
    member.compile(optimizer=keras.optimizers.Adam(0.005, use_ema=True, ema_momentum=0.99),
                   loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1))
    member.fit(x, y, batch_size=64, epochs=1, shuffle=True, verbose=0)
run = dl.runs.RunDir(sys.argv[1])
run.save_model(model, "mnist.keras")
run.save_model(model, "mnist.h5")
x_test = np.load(sys.argv[2])
import keras
print(json.dumps({"backend": keras.backend.backend(), "networks": len(members),
                  "probabilities": np.asarray(model.predict(x_test, verbose=0)).tolist()}))
"""


@pytest.mark.parametrize("backend", BACKENDS)
def test_best_ensemble_trains_on_backend_and_both_files_open_in_bare_keras(backend, tmp_path,
                                                                           trained_files):
    need_backend(backend)
    folder, _ = trained_files
    x_test = folder / "x_test.npy"
    out = python(TRAIN_BEST, backend, tmp_path, x_test)
    assert out["backend"] == backend and out["networks"] == 3
    expected = np.asarray(out["probabilities"])
    for file in ("mnist.keras", "mnist.h5"):
        for reader in sorted({backend, "tensorflow"}):
            there = python(BARE_PREDICT, reader, tmp_path / file, x_test)
            assert there["backend"] == reader and there["digitlib"] is False
            got = np.asarray(there["probabilities"])
            assert (got.argmax(axis=1) == expected.argmax(axis=1)).all(), (file, reader)
            np.testing.assert_allclose(got, expected, atol=1e-4)
    if backend != "tensorflow":
        return
    here = dl.load_model(tmp_path / "mnist.keras").predict(np.load(x_test), verbose=0)
    np.testing.assert_allclose(here, expected, atol=1e-5)
    photos = [str(path) for path in dl.imaging.example_photos()[:2]]
    read = subprocess.run([sys.executable, "-m", "digitlib", "predict", "--model",
                           str(tmp_path / "mnist.keras"), *photos],
                          capture_output=True, text=True, timeout=300)
    assert read.returncode == 0, read.stderr[-2000:]
    assert [line.split("\t")[0] for line in read.stdout.strip().splitlines()] == photos
