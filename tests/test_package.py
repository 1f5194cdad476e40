"""Unit tests of digitlib on tiny arrays: preprocessing, models, training, evaluation, files."""

import os

import matplotlib
import numpy as np
import pytest

import digitlib as dl
from digitlib.runs import MANIFEST, RunDir
from tests.conftest import fit_default, tiny_arrays

matplotlib.use("Agg")


# --- preprocessing --------------------------------------------------------------------------

def test_prepare_images_shape_dtype_and_scale():
    x = np.array([[[0, 255] * 14] * 28, [[51] * 28] * 28], dtype=np.uint8)
    out = dl.prepare_images(x)
    assert out.shape == (2, 28, 28, 1) and out.dtype == np.float32
    assert out.min() == 0.0 and out.max() == 1.0
    assert out[1, 0, 0, 0] == pytest.approx(0.2)


def test_prepare_images_single_image_and_bad_shape():
    assert dl.prepare_images(np.zeros((28, 28), np.uint8)).shape == (1, 28, 28, 1)
    with pytest.raises(dl.ParameterError, match="28x28"):
        dl.prepare_images(np.zeros((3, 32, 32), np.uint8))


def test_one_hot():
    encoded = dl.one_hot(np.array([0, 3, 9]))
    assert encoded.shape == (3, 10) and encoded.dtype == np.float32
    assert encoded.argmax(axis=1).tolist() == [0, 3, 9] and encoded.sum() == 3


def test_split_validation_is_stratified():
    y = np.repeat(np.arange(10), 100)
    x_train, y_train, x_val, y_val = dl.split_validation(np.arange(1000), y, 0.1, seed=0)
    assert len(x_val) == 100 and np.bincount(y_val).tolist() == [10] * 10
    assert not set(x_train) & set(x_val)
    with pytest.raises(dl.ParameterError, match="validation_fraction"):
        dl.split_validation(np.arange(1000), y, 1.5)


def test_split_validation_of_zero_keeps_every_image():
    y = np.repeat(np.arange(10), 10)
    x_train, y_train, x_val, y_val = dl.split_validation(np.arange(100), y, 0)
    assert len(x_train) == 100 and len(x_val) == 0 and len(y_val) == 0
    dl.check_parameters(validation_fraction=0)
    with pytest.raises(dl.ParameterError, match="validation_fraction"):
        dl.check_parameters(validation_fraction=-0.1)


# --- parameters -----------------------------------------------------------------------------

@pytest.mark.parametrize("params, fragment", [
    ({"epochs": 0}, "epochs"), ({"epochs": 2.0}, "epochs"), ({"batch_size": True}, "batch_size"),
    ({"seed": -1}, "seed"), ({"train_size": 60001}, "train_size"), ({"model": "x"}, "model"),
    ({"learning_rate": 0}, "learning_rate"), ({"run_dir": ""}, "run_dir"),
    ({"optimizer": "lbfgs"}, "optimizer"), ({"validation_fraction": 1}, "validation_fraction"),
    ({"label_smoothing": -0.1}, "label_smoothing"), ({"label_smoothing": "0.1"}, "label_smoothing"),
    ({"show_adadelta_demo": "false"}, "show_adadelta_demo"), ({"show_adadelta_demo": 1}, "show_adadelta_demo"),
])
def test_check_parameters_names_the_bad_one(params, fragment):
    with pytest.raises(dl.ParameterError) as info:
        dl.check_parameters(**params)
    assert str(info.value).startswith(fragment)


def test_check_parameters_accepts_defaults():
    dl.check_parameters(run_dir="../runs/default", data="auto", model="default", epochs=None,
                        batch_size=None, optimizer=None, learning_rate=None, seed=0,
                        train_size=None, validation_fraction=0.1, label_smoothing=None,
                        show_adadelta_demo=True)


# --- models and recipes ---------------------------------------------------------------------

def test_seed_model_is_the_original_cnn():
    model = dl.build_model("seed")
    kinds = [layer.__class__.__name__ for layer in model.layers]
    assert kinds == ["Conv2D", "Conv2D", "MaxPooling2D", "Dropout", "Flatten", "Dense",
                     "Dropout", "Dense"]
    assert model.count_params() == 2_380_938
    recipe = dl.recipe("seed")
    assert (recipe.optimizer, recipe.learning_rate, recipe.batch_size) == ("adadelta", 0.001, 128)


@pytest.mark.parametrize("name", ["seed", "kerasio", "default", "best"])
def test_every_model_maps_digits_to_ten_probabilities(name):
    model = dl.build_model(name)
    probs = np.asarray(model(np.zeros((2, 28, 28, 1), np.float32), training=False))
    assert probs.shape == (2, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert model.name == name


def test_shift_moves_every_pixel_and_lets_zeros_in():
    keras = dl.models.keras
    image = np.zeros((1, 28, 28, 1), np.float32)
    image[0, 0, 5] = image[0, 27, 27] = image[0, 10, 0] = 1
    inputs = keras.Input((28, 28, 1))
    for down, right in dl.models.BEST_VIEWS:
        moved = np.asarray(keras.Model(inputs, dl.models.shift(inputs, down, right))(image))
        assert moved.shape == image.shape
        expected = np.zeros_like(image)
        for row, col in ((0, 5), (27, 27), (10, 0)):
            if 0 <= row + down < 28 and 0 <= col + right < 28:
                expected[0, row + down, col + right] = 1
        np.testing.assert_array_equal(moved, expected)


def first_kernel(network):
    """Return the weights of the first layer of ``network`` that has a kernel."""
    return next(layer.kernel for layer in network.layers if hasattr(layer, "kernel"))


def test_best_is_three_networks_voting_over_five_shifted_copies():
    dl.set_seed(0)
    model = dl.build_model("best")
    members = dl.models.members(model)
    assert [m.name for m in members] == ["member_0", "member_1", "member_2"]
    assert dl.models.members(dl.build_model("default"))[0].name == "default"
    assert len({float(np.asarray(first_kernel(m)).sum()) for m in members}) == 3  # own weights
    kinds = {type(layer).__name__ for layer in members[0].layers}
    assert {"RandomTranslation", "BatchNormalization"} <= kinds
    x = np.random.default_rng(0).random((3, 28, 28, 1), dtype=np.float32)
    keras = dl.models.keras
    inputs = keras.Input((28, 28, 1))
    votes = [np.asarray(member(keras.Model(inputs, dl.models.shift(inputs, *view))(x),
                               training=False))
             for member in members for view in dl.models.BEST_VIEWS]
    assert len(votes) == 15
    np.testing.assert_allclose(model.predict(x, verbose=0), np.mean(votes, axis=0), atol=1e-6)


def test_recipe_rejects_a_moving_average_of_one_or_more():
    with pytest.raises(dl.DigitlibError, match="ema_momentum must be at least 0 and below 1"):
        dl.recipe("best", ema_momentum=1.0)


def test_unknown_model_lists_known_ones():
    with pytest.raises(dl.DigitlibError, match="known models: seed, kerasio, default, best"):
        dl.build_model("lenet")


def test_recipe_overrides_and_optimizer_default_rate():
    assert dl.recipe("default", epochs=7).epochs == 7
    assert dl.recipe("default", epochs=None) == dl.recipe("default")
    assert dl.recipe("seed", learning_rate=1.0).learning_rate == 1.0
    switched = dl.recipe("seed", optimizer="adam")
    assert switched.optimizer == "adam" and switched.learning_rate == 0.001
    with pytest.raises(dl.ParameterError, match="optimizer 'nope'"):
        dl.recipe("seed", optimizer="nope")


def test_recipes_smooth_labels_only_where_lesson_4_says():
    assert dl.recipe("default").label_smoothing == 0.1 and dl.recipe("seed").label_smoothing == 0


# --- training, seeding, saving --------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_training():
    data = dl.load_mnist("sample")
    x = dl.prepare_images(data.x_train[:1000])
    return x, data.y_train[:1000], dl.prepare_images(data.x_test[:300]), data.y_test[:300]


def train_once(tiny_training, seed):
    x, y, x_test, y_test = tiny_training
    dl.set_seed(seed)
    model = dl.build_model("default")
    history = fit_default(model, x, y, epochs=2, batch_size=64)
    return model, {"history": history}, dl.accuracy(model, x_test, y_test)


def test_training_learns_and_same_seed_gives_same_numbers(tiny_training):
    model_a, result_a, acc_a = train_once(tiny_training, seed=5)
    _, result_b, acc_b = train_once(tiny_training, seed=5)
    assert acc_a > 0.6  # from 10% (chance) after two short epochs on 1,000 real digits
    assert acc_a == acc_b
    assert result_a["history"]["loss"] == result_b["history"]["loss"]
    assert len(result_a["history"]["loss"]) == 2


def test_different_seed_gives_different_numbers(tiny_training):
    _, result_a, _ = train_once(tiny_training, seed=1)
    _, result_b, _ = train_once(tiny_training, seed=2)
    assert result_a["history"]["loss"] != result_b["history"]["loss"]


def test_keras_and_h5_files_give_the_same_predictions(tiny_training, tmp_path):
    model, _, _ = train_once(tiny_training, seed=0)
    run = RunDir(tmp_path)
    x = tiny_training[2][:50]
    expected = model.predict(x, verbose=0)
    for name in ("mnist.keras", "mnist.h5"):
        run.save_model(model, name)
        reloaded = run.load_model(name)
        np.testing.assert_allclose(reloaded.predict(x, verbose=0), expected, atol=1e-6)
        assert reloaded.loss.label_smoothing == 0.1  # the recipe's smoothed loss comes back too
    assert sorted(p.name for p in tmp_path.iterdir()) == [MANIFEST, "mnist.h5", "mnist.keras"]


def test_load_model_rejects_a_damaged_file(tmp_path):
    bad = tmp_path / "mnist.keras"
    bad.write_bytes(b"not a model")
    with pytest.raises(dl.DataError, match="mnist.keras: not a loadable Keras model"):
        dl.load_model(bad)


# --- run folder -----------------------------------------------------------------------------

def test_missing_artifact_names_the_lesson(tmp_path):
    run = RunDir(tmp_path / "runs" / "default")
    with pytest.raises(dl.MissingArtifactError) as info:
        run.load_model("mnist.keras")
    assert str(info.value) == (
        f"no trained model in {tmp_path / 'runs' / 'default'}: run 04_train first")
    with pytest.raises(dl.MissingArtifactError, match="run 02_preprocess first"):
        run.load_prepared()
    with pytest.raises(dl.MissingArtifactError, match="run 01_load_data first"):
        run.load_mnist()


def test_atomic_write_leaves_old_file_on_crash(tmp_path):
    run = RunDir(tmp_path)
    run.save_json("history.json", {"epochs": 1})
    with pytest.raises(RuntimeError):
        with run.atomic("history.json") as tmp:
            tmp.write_text('{"epo')
            raise RuntimeError("crash while writing")
    assert run.load_json("history.json") == {"epochs": 1}
    assert sorted(os.listdir(tmp_path)) == [MANIFEST, "history.json"]


def test_atomic_model_save_survives_failing_save(tmp_path):
    class Exploding:
        def save(self, path):
            open(path, "wb").write(b"half a model")
            raise OSError("disk full")

    run = RunDir(tmp_path)
    with pytest.raises(OSError):
        run.save_model(Exploding(), "mnist.keras")
    assert not list(tmp_path.iterdir())


def test_arrays_and_json_round_trip(tmp_path):
    run = RunDir(tmp_path)
    arrays = tiny_arrays()
    run.save_arrays("split.npz", **arrays)
    loaded = run.load_arrays("split.npz")
    for key, value in arrays.items():
        np.testing.assert_array_equal(loaded[key], value)
    run.save_json("metrics.json", {"acc": np.float32(0.5), "n": np.int64(3)})
    assert run.load_json("metrics.json") == {"acc": 0.5, "n": 3}


# --- plots ----------------------------------------------------------------------------------

def test_plots_return_figures():
    from matplotlib.figure import Figure

    arrays = tiny_arrays()
    x, y = arrays["x_train"], arrays["y_train"]
    probs = np.full((len(x), 10), 0.1)
    figures = [
        dl.plots.sample_grid(x, y, n=12),
        dl.plots.class_balance(y, arrays["y_test"]),
        dl.plots.pixel_histogram(x),
        dl.plots.misclassified_gallery(x, y, probs, [0, 1, 2]),
        dl.plots.probability_bars(probs[:3], x[:3], titles=["a", "b", "c"]),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    assert sum(bool(ax.images) for ax in figures[0].axes) == 12


def test_notebook_figures_are_jpeg_for_photos_and_palette_png_otherwise():
    import base64
    import io

    from IPython.core.interactiveshell import InteractiveShell
    from PIL import Image

    shell = InteractiveShell.instance()
    arrays = tiny_arrays()
    photo = dl.plots.photo_grid([np.full((60, 40, 3), 200, np.uint8)] * 2, titles=["a", "b"])
    chart = dl.plots.class_balance(arrays["y_train"], arrays["y_test"])
    photo_data, _ = shell.display_formatter.format(photo)
    chart_data, _ = shell.display_formatter.format(chart)
    assert "image/jpeg" in photo_data and "image/png" not in photo_data
    assert "image/png" in chart_data and "image/jpeg" not in chart_data
    png = Image.open(io.BytesIO(base64.b64decode(chart_data["image/png"])))
    assert png.mode == "P"  # a palette: charts use few colours
    assert png.width <= 8 * dl.plots.DPI + 10  # an 8-inch figure at DPI, cropped tight


def test_artifacts_are_readable_by_others_as_ordinary_files(tmp_path):
    """Atomic writes go through a private temporary file; the artifact gets the usual mode."""
    mask = os.umask(0o022)
    try:
        path = RunDir(tmp_path).save_json("metrics.json", {"acc": 0.5})
    finally:
        os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o644
