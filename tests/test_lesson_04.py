"""Lesson 4: its recipes are digitlib's, its training code is plain Keras, and `digitlib run` runs it."""

import ast
import json
import os
import subprocess
import sys
import types
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pytest

import digitlib as dl

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "notebooks" / "04_train.ipynb"
sys.path.insert(0, str(ROOT / "benchmarks"))


def cell(cell_id: str) -> str:
    """Return the source of the lesson's cell ``cell_id``."""
    nb = nbformat.read(LESSON, as_version=4)
    return next(c.source for c in nb.cells if c.get("id") == cell_id)


def code() -> str:
    nb = nbformat.read(LESSON, as_version=4)
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


def lesson_recipes() -> dict:
    """Return the ``RECIPES`` literal of the lesson, read without running it."""
    tree = ast.parse(cell("c06"))
    assign = next(node for node in tree.body if isinstance(node, ast.Assign)
                  and getattr(node.targets[0], "id", "") == "RECIPES")
    return ast.literal_eval(assign.value)


def test_lesson_recipes_are_digitlibs():
    recipes = lesson_recipes()
    assert set(recipes) == set(dl.models.MODELS)
    for name, values in recipes.items():
        registered = dl.recipe(name).as_dict()
        assert values == {key: registered[key] for key in values}, name
        assert set(registered) - set(values) == {"model", "description"}


def run_cells(*cell_ids, **names) -> dict:
    """Run the lesson's cells ``cell_ids`` in a namespace holding ``names``; return it."""
    import keras
    import math
    import matplotlib.pyplot as plt

    env = {"keras": keras, "np": np, "math": math, "plt": plt, "dl": dl, **names}
    for cell_id in cell_ids:
        exec(cell(cell_id), env)  # noqa: S102
    plt.close("all")
    return env


@pytest.mark.parametrize("model, overrides", [("default", {}), ("best", {}),
                                              ("seed", {"learning_rate": 1.0}),
                                              ("default", {"optimizer": "sgd", "epochs": 2})])
def test_lesson_optimizer_and_schedule_are_the_benchmarks(model, overrides):
    from lesson_fit import make_optimizer

    params = {"epochs": None, "batch_size": None, "optimizer": None, "learning_rate": None,
              "label_smoothing": None, **overrides}
    env = run_cells("c06", "c08", net=types.SimpleNamespace(name=model),
                    x_train=np.zeros((1000, 1)), **params)
    theirs = make_optimizer(dl.recipe(model, **overrides), math_ceil(1000, env["recipe"]["batch_size"]))
    ours = env["make_optimizer"]()
    if model == "best":  # the lesson adds the moving average in its ensemble cell
        assert theirs.use_ema and not ours.use_ema
        return
    ours, theirs = ours.get_config(), theirs.get_config()
    ours.pop("name"), theirs.pop("name")  # Keras numbers each new optimizer's name
    assert ours == theirs


def math_ceil(n, d):
    return -(-n // d)


def test_lesson_warms_up_then_decays_the_rate():
    env = run_cells("c06", "c08", net=types.SimpleNamespace(name="default"),
                    x_train=np.zeros((25_600, 1)), epochs=2, batch_size=None, optimizer=None,
                    learning_rate=None, label_smoothing=None)
    schedule, total = env["schedule"], env["total_steps"]
    assert total == 200 and env["warmup_steps"] == 20
    values = [float(schedule(step)) for step in (0, 10, 20, 100, 199)]
    assert values[0] == pytest.approx(0.0, abs=1e-7)
    assert values[2] == pytest.approx(0.01, rel=1e-3)  # the peak, after 10% warm-up
    assert values[1] < values[2] > values[3] > values[4] >= 0


@pytest.mark.parametrize("smoothing, floor", [(0.1, 0.5004), (0.0, 0.0)])
def test_lesson_computes_the_loss_floor_keras_reaches(smoothing, floor):
    import keras

    env = run_cells("c10", recipe={"label_smoothing": smoothing})
    assert env["loss_floor"] == pytest.approx(floor, abs=1e-3)
    if smoothing:  # Keras' loss at probabilities equal to the smoothed target is the floor
        target = np.full((1, 10), smoothing / 10, "float32")
        target[0, 3] += 1 - smoothing
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=smoothing)
        assert float(loss(np.eye(10, dtype="float32")[[3]], target)) == pytest.approx(
            env["loss_floor"], rel=1e-4)


def test_lesson_trains_with_plain_keras_not_digitlib_helpers():
    source = code()
    for call in (".compile(", ".fit(", "keras.optimizers.Adam(",
                 "keras.optimizers.schedules.CosineDecay(", "shuffle=True", "verbose=2",
                 "np.exp(", "history.history", "label_smoothing="):
        assert call in source, call
    for helper in ("dl.recipe", "dl.make_optimizer", "dl.train", "dl.training", "dl.models.recipe",
                   "dl.plots", "dl.models.members", "NBVAL"):
        assert helper not in source, helper


def test_numpy_section_trains_and_diverges_at_a_large_rate():
    rng = np.random.default_rng(0)
    x = rng.random((600, 784), dtype=np.float32) * (rng.random((600, 784)) < 0.2)
    y = (x[:, :392].sum(axis=1) > x[:, 392:].sum(axis=1)).astype(int)  # a learnable rule
    env = run_cells("n01", "n05", x_train=x.reshape(-1, 28, 28, 1), y_train=y)
    _, _, small = env["train_numpy"](0.5, epochs=3)
    _, _, large = env["train_numpy"](50.0, epochs=3)
    assert small[0] == pytest.approx(np.log(10), rel=1e-4)
    assert np.mean(small[-5:]) < 0.7 * small[0]
    assert max(large) > 2 * large[0] and np.all(np.isfinite(large))


def test_lesson_runs_in_the_chain_and_writes_what_later_lessons_read(tmp_path):
    """`digitlib run` trains through lesson 4's own fit; its parameters reach the recipe."""
    run_dir = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "digitlib", "run", "--quiet", "--run-dir", str(run_dir),
         "--last", "04", "-p", "train_size", "1200", "-p", "epochs", "1",
         "-p", "learning_rate", "0.005", "-p", "show_adadelta_demo", "False"],
        capture_output=True, text=True, timeout=900, env={**os.environ})
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    history = json.loads((run_dir / "history.json").read_text())
    assert history["model"] == "default" and history["networks"] == 1 and history["epochs"] == 1
    assert history["recipe"]["learning_rate"] == 0.005 and history["recipe_is_default"] is False
    assert history["recipe"]["label_smoothing"] == 0.1 and history["train_seconds"] > 0
    assert set(history["history"]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history["history"]["loss"]) == 1 and history["train_examples"] < 1200
    assert history["backend"] and history["member_histories"] == []
    lesson = nbformat.read(run_dir / "04_train.ipynb", as_version=4)
    errors = [o for c in lesson.cells if c.cell_type == "code" for o in c.outputs
              if o.get("output_type") == "error"]
    assert not errors
    printed = "".join(o.get("text", "") for c in lesson.cells if c.cell_type == "code"
                      for o in c.outputs)
    assert "val_accuracy" in printed and "trained 1 epoch on" in printed  # fit(verbose=2)
    import keras

    model = keras.models.load_model(run_dir / "mnist.keras")
    assert model.loss.get_config()["label_smoothing"] == pytest.approx(0.1)
