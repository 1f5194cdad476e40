"""Tests of reading digits from photos: digitlib.prediction and the ``digitlib predict`` command.

A session fixture trains the default CNN for one epoch on 12,000 digits of the full MNIST
(DIGITLIB_DATA), or on the small sample when there is no full copy, in about 15 seconds.
"""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import digitlib as dl
from digitlib import imaging
from digitlib.cli import main
from digitlib.prediction import Prediction, predict_files
from tests.conftest import train_quick_default

ROOT = Path(__file__).resolve().parents[1]

TRAIN_SIZE = 12_000
PHOTOS = 300


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """Train a quick default model; return its .keras path, the model and test digits."""
    model, path, full, mnist = train_quick_default(tmp_path_factory.mktemp("model"), TRAIN_SIZE,
                                                   epochs=1, sample_epochs=1)
    return {"path": path, "model": model, "full": full,
            "x_test": mnist.x_test[:PHOTOS], "y_test": mnist.y_test[:PHOTOS]}


@pytest.fixture(scope="session")
def photos(trained):
    """Return synthetic photos of the test digits: dark ink on light paper, 2-6x, shifted."""
    rng = np.random.default_rng(0)
    return [imaging.synthetic_photo(digit, rng) for digit in trained["x_test"]]


def accuracy(predictions, labels) -> float:
    return float(np.mean([p.digit for p in predictions] == np.asarray(labels)))


def same(first, second) -> bool:
    """Return whether two lists of predictions agree, up to float rounding between batches."""
    return len(first) == len(second) and all(
        a.digit == b.digit and np.allclose(a.probabilities, b.probabilities, atol=1e-5)
        for a, b in zip(first, second))


def write_photo(folder, name, digit, seed=0):
    path = folder / name
    Image.fromarray(imaging.synthetic_photo(digit, np.random.default_rng(seed))).save(path)
    return path


@pytest.fixture
def files(tmp_path, trained):
    """Return two good photo files, a text file, an empty file and a missing path."""
    good = [write_photo(tmp_path, f"digit_{k}.png", trained["x_test"][k], seed=k)
            for k in range(2)]
    text = tmp_path / "notes.png"
    text.write_text("not pixels")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    return {"good": good, "bad": [text, empty, tmp_path / "missing.png"]}


# --- accuracy on photos ----------------------------------------------------------------------

def test_photos_are_read_almost_as_well_as_mnist(trained, photos):
    y = trained["y_test"]
    plain = dl.accuracy(trained["model"], dl.prepare_images(trained["x_test"]), y)
    on_photos = accuracy(dl.predict(trained["model"], photos), y)
    assert on_photos >= plain - 0.03, (on_photos, plain)


def test_a_plain_resize_of_the_photos_fails(trained, photos):
    plain = np.stack([imaging.plain_resize(photo) for photo in photos])
    guessed = dl.accuracy(trained["model"], dl.prepare_images(plain), trained["y_test"])
    assert guessed < 0.5


def test_example_photos_are_read(trained):
    if not trained["full"]:
        pytest.skip("accuracy threshold needs a model trained on the full MNIST")
    paths = imaging.example_photos()
    truth = [int(p.stem.split("_")[1]) for p in paths]
    right = accuracy(dl.predict(trained["path"], paths), truth)
    assert right >= 0.8, right


# --- predict() -------------------------------------------------------------------------------

def test_prediction_fields_agree(trained, files):
    [prediction] = dl.predict(trained["model"], files["good"][0])
    assert isinstance(prediction.digit, int) and isinstance(prediction.probability, float)
    assert prediction.probabilities.shape == (10,)
    assert prediction.digit == int(np.argmax(prediction.probabilities))
    assert prediction.probability == pytest.approx(prediction.probabilities.max())
    assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        prediction.digit = 3
    assert "probabilities" not in repr(prediction)


def test_predict_accepts_paths_arrays_and_mixtures(trained, files, photos):
    model = trained["model"]
    path = files["good"][0]
    by_path = dl.predict(model, [path])
    assert len(by_path) == 1
    for one in (str(path), np.asarray(Image.open(path)), Image.open(path), path.read_bytes()):
        assert same(dl.predict(model, one), by_path)
    mixed = dl.predict(model, [path, photos[5], str(files["good"][1])])
    one_by_one = by_path + dl.predict(model, photos[5]) + dl.predict(model, files["good"][1])
    assert same(mixed, one_by_one)


def test_predict_reads_a_stack_of_mnist_digits(trained):
    x = trained["x_test"][:6]
    predictions = dl.predict(trained["model"], x)
    direct = trained["model"].predict(dl.prepare_images(x), verbose=0).argmax(axis=1)
    assert len(predictions) == 6
    assert np.mean([p.digit for p in predictions] == direct) >= 5 / 6


def test_predict_loads_keras_and_h5_files(trained, files, tmp_path):
    expected = dl.predict(trained["model"], files["good"])
    h5 = dl.RunDir(tmp_path).save_model(trained["model"], "mnist.h5")
    for model_file in (trained["path"], str(h5)):
        got = dl.predict(model_file, files["good"])
        assert [p.digit for p in got] == [p.digit for p in expected]
        np.testing.assert_allclose(got[0].probabilities, expected[0].probabilities, atol=1e-5)


def test_predict_raises_on_a_bad_image_naming_it(trained, files):
    with pytest.raises(dl.ImageError, match=r"notes\.png: not an image"):
        dl.predict(trained["model"], [files["good"][0], files["bad"][0]])


def test_missing_and_broken_model_files(tmp_path, files):
    with pytest.raises(dl.DataError, match=r"nope\.keras: no such model file"):
        dl.predict(tmp_path / "nope.keras", files["good"])
    broken = tmp_path / "broken.keras"
    broken.write_bytes(b"not a zip archive")
    with pytest.raises(dl.DataError, match="broken.keras: not a loadable Keras model"):
        dl.predict(broken, files["good"])


# --- predict_files() -------------------------------------------------------------------------

def test_predict_files_keeps_order_and_isolates_bad_files(trained, files):
    good, bad = files["good"], files["bad"]
    paths = [bad[0], good[0], bad[1], good[1], bad[2]]
    results = list(predict_files(trained["path"], paths))
    assert [path for path, _ in results] == paths
    kinds = [type(result) for _, result in results]
    assert kinds == [dl.ImageError, Prediction, dl.ImageError, Prediction, dl.ImageError]
    for path, result in results:
        if isinstance(result, dl.ImageError):
            assert str(result).startswith(f"{path}: ")
    assert [r.digit for _, r in results[1::2]] == [p.digit for p in dl.predict(trained["model"],
                                                                                 good)]


def test_predict_files_loads_the_model_once_and_at_once(trained, files, monkeypatch):
    calls = []
    real = dl.models.load_model
    monkeypatch.setattr(dl.models, "load_model", lambda *a, **k: calls.append(a) or real(*a, **k))
    results = predict_files(trained["path"], files["good"] * 3)
    assert len(calls) == 1  # before the first result is asked for
    assert len(list(results)) == 6 and len(calls) == 1
    with pytest.raises(dl.DataError, match="no such model file"):
        predict_files(trained["path"].with_name("gone.keras"), files["good"])  # no next() needed


# --- the command line ------------------------------------------------------------------------

def output_lines(text):
    return [line.split("\t") for line in text.splitlines()]


def test_cli_prints_path_digit_probability(trained, files, capsys):
    good = [str(p) for p in files["good"]]
    assert main(["predict", "--model", str(trained["path"]), *good]) == 0
    captured = capsys.readouterr()
    rows = output_lines(captured.out)
    assert [row[0] for row in rows] == good
    expected = dl.predict(trained["model"], good)
    assert [int(row[1]) for row in rows] == [p.digit for p in expected]
    for row, prediction in zip(rows, expected):
        assert float(row[2]) == pytest.approx(prediction.probability, abs=1e-4)
    assert captured.err == ""


def test_cli_reports_bad_files_and_exits_1(trained, files, capsys):
    paths = [str(files["bad"][0]), str(files["good"][0]), str(files["bad"][2])]
    assert main(["predict", "--model", str(trained["path"]), *paths]) == 1
    captured = capsys.readouterr()
    assert [row[0] for row in output_lines(captured.out)] == [paths[1]]
    errors = captured.err.splitlines()
    assert errors == [f"digitlib: {paths[0]}: not an image file Pillow can read",
                      f"digitlib: {paths[2]}: no such file"]


def test_cli_without_a_trained_model(tmp_path, files, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["predict", str(files["good"][0])]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"digitlib: no trained model at {tmp_path.resolve()}/runs/default/"
                            "mnist.keras, the default: give the path of one with --model PATH, "
                            "or train one here with `digitlib run`\n")


def test_cli_as_a_subprocess(trained, files):
    paths = [str(files["good"][1]), str(files["bad"][1])]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "digitlib", "predict", "--model",
                           str(trained["path"]), *paths],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert done.returncode == 1
    [row] = output_lines(done.stdout)
    assert row[0] == paths[0] and row[1] in "0123456789" and 0 < float(row[2]) <= 1
    assert done.stderr.strip().splitlines() == [f"digitlib: {paths[1]}: file is empty"]


def test_cli_with_a_model_path_that_does_not_exist(tmp_path, files, capsys):
    """A path the user typed is missing: say so, not which lesson writes the default one."""
    missing = tmp_path / "nope.keras"
    assert main(["predict", "--model", str(missing), str(files["good"][0])]) == 2
    assert capsys.readouterr().err == f"digitlib: {missing}: no such model file\n"
