"""Lesson 3: the networks it writes are the ones ``dl.build_model`` builds, and its exercises judge."""

import ast
from pathlib import Path

import nbformat
import numpy as np
import pytest

import digitlib as dl
from digitlib.exercises import ____, lesson, solution_code

keras = pytest.importorskip("keras")
layers = keras.layers

LESSON = Path(__file__).resolve().parents[1] / "notebooks" / "03_build_model.ipynb"


def _lesson_networks() -> dict:
    """Run the lesson's cells that build a ``keras.Sequential`` and return its networks by name."""
    nb = nbformat.read(LESSON, as_version=4)
    namespace = {"keras": keras, "layers": layers}
    for cell in nb.cells:
        if cell.cell_type == "code" and "keras.Sequential(" in cell.source and not any(
                tag.startswith("exercise:") for tag in cell.metadata.get("tags", [])):
            exec(compile(ast.parse(cell.source), LESSON.name, "exec"), namespace)
    return {value.name: value for value in namespace.values() if isinstance(value, keras.Model)}


def _configs(model) -> list:
    """Return each layer's kind and full configuration, its name aside."""
    return [(type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "name"})
            for layer in model.layers]


def test_lesson_writes_the_seed_and_default_networks():
    assert {"seed", "default"} <= set(_lesson_networks())


@pytest.mark.parametrize("name", ["seed", "default"])
def test_lesson_network_is_the_one_build_model_builds(name):
    ours, theirs = _lesson_networks()[name], dl.build_model(name)
    assert _configs(ours) == _configs(theirs)
    assert ours.count_params() == theirs.count_params()


def test_configs_tell_networks_apart():
    """The comparison above would notice a changed layer setting."""
    networks = _lesson_networks()
    assert _configs(networks["seed"]) != _configs(networks["default"])
    changed = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="tanh")])
    same = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(32, 3, activation="relu")])
    assert _configs(changed) != _configs(same)


# --- the exercises, judged directly (the chain in test_exercises.py runs them in the lesson) ---

ENV = {"np": np, "keras": keras, "layers": layers, "____": ____}


def _verdict(exercise, code):
    namespace = dict(ENV)
    exec(code, namespace)
    return exercise.verdict(*(namespace[name] for name in exercise.names), env=namespace)


@pytest.mark.parametrize("exercise", list(lesson(3)), ids=lambda e: e.id)
def test_solution_is_correct_and_wrong_answers_are_not(exercise):
    assert _verdict(exercise, solution_code(exercise.id)).startswith("Correct")
    for wrong in exercise.wrong:
        assert _verdict(exercise, wrong).startswith("Incorrect: "), wrong


@pytest.mark.parametrize("exercise", list(lesson(3)), ids=lambda e: e.id)
def test_committed_blank_is_not_attempted(exercise):
    nb = nbformat.read(LESSON, as_version=4)
    cell = next(c for c in nb.cells if f"exercise:{exercise.id}" in c.metadata.get("tags", []))
    assert _verdict(exercise, cell.source).startswith("Not attempted")


def test_naive_softmax_is_told_why_it_fails():
    relu_and_naive = ("def relu(x):\n    return np.maximum(x, 0)\n\n\n"
                      "def softmax(z):\n    return np.exp(z) / np.sum(np.exp(z))\n")
    verdict = _verdict(lesson(3).q2, relu_and_naive)
    assert verdict.startswith("Incorrect") and "np.exp(1000)" in verdict


def test_other_correct_answers_pass():
    ex = lesson(3)
    assert _verdict(ex.q1, "conv_shape = (None, 8, 8, 16)\nconv_params = 12816\n"
                           "dense_params = 8 * 8 * 16 * 10 + 10\n").startswith("Correct")
    assert _verdict(ex.q2, "def relu(x):\n    return np.where(x > 0, x, 0.0)\n\n\n"
                           "def softmax(z):\n    e = np.exp(z - z.max())\n"
                           "    return e / e.sum()\n").startswith("Correct")
    assert _verdict(ex.q3, "def conv2d(image, kernel, stride=1):\n"
                           "    w = np.lib.stride_tricks.sliding_window_view(image, kernel.shape)\n"
                           "    return (w[::stride, ::stride] * kernel).sum(axis=(2, 3))\n"
                           ).startswith("Correct")
    functional = ("i = keras.Input((28, 28, 1))\nh = layers.Conv2D(32, (3, 3), activation='relu')(i)\n"
                  "h = layers.MaxPooling2D((2, 2))(h)\nh = layers.Conv2D(64, 3, activation='relu')(h)\n"
                  "h = layers.MaxPooling2D(2)(h)\nh = layers.Dropout(0.5)(layers.Flatten()(h))\n"
                  "kerasio_model = keras.Model(i, layers.Dense(10, activation='softmax')(h))\n")
    assert _verdict(ex.q4, functional).startswith("Correct")


def test_wrong_types_are_incorrect_not_a_crash():
    ex = lesson(3)
    assert ex.q1.verdict("8x8x16", 1.5, "10250").startswith("Incorrect")
    assert ex.q2.verdict(3, "softmax").startswith("Incorrect")
    assert ex.q3.verdict(lambda image, kernel, stride=1: "map").startswith("Incorrect")
    assert ex.q4.verdict(keras.Sequential([layers.Dense(3)])).startswith("Incorrect")
    assert ex.q4.verdict([layers.Conv2D(32, 3)]).startswith("Incorrect")


def test_wrong_setting_is_told_what_the_description_asks():
    """The message names the description's value for that layer, in the description's words."""
    ex = lesson(3)
    wrong_filters = ("kerasio_model = keras.Sequential([keras.Input((28, 28, 1)),\n"
                     "    layers.Conv2D(32, 3, activation='relu'), layers.MaxPooling2D(2),\n"
                     "    layers.Conv2D(32, 3, activation='relu'), layers.MaxPooling2D(2),\n"
                     "    layers.Flatten(), layers.Dropout(0.5), layers.Dense(10, activation='softmax')])\n")
    verdict = _verdict(ex.q4, wrong_filters)
    assert verdict.startswith("Incorrect") and "layer 3" in verdict and "64 filters" in verdict
    wrong_rate = wrong_filters.replace("32, 3, activation='relu'), layers.MaxPooling2D(2),\n    layers.Flatten",
                                       "64, 3, activation='relu'), layers.MaxPooling2D(2),\n    layers.Flatten"
                                       ).replace("Dropout(0.5)", "Dropout(0.25)")
    assert "half the values" in _verdict(ex.q4, wrong_rate)
