"""Tests of dl.DrawingPad without a browser: strokes set from Python, as the page sends them."""

import numpy as np
import pytest

import digitlib as dl
from digitlib import drawing, imaging
from digitlib.prediction import Prediction

ONE = [[[0.5, 0.2], [0.5, 0.5], [0.5, 0.8]]]
SEVEN = [[[0.3, 0.2], [0.7, 0.2], [0.45, 0.8]]]


class Recorder:
    """Stand in for a Keras model: softmax of fixed logits, and remember what it was shown."""

    def __init__(self):
        self.seen = []

    def predict_on_batch(self, x):
        self.seen.append(np.array(x))
        logits = np.tile(np.arange(10, dtype=np.float32), (len(x), 1))
        return np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)

    predict = predict_on_batch


@pytest.fixture
def pad():
    return dl.DrawingPad(Recorder())


def test_render_strokes_draws_thick_round_white_lines():
    canvas = drawing.render_strokes(ONE)
    assert canvas.shape == (drawing.SIDE, drawing.SIDE) and canvas.dtype == np.float32
    assert canvas[140, 140] == 1.0 and canvas[140, 40] == 0.0
    width = np.count_nonzero(canvas[140])
    assert abs(width - drawing.BRUSH * drawing.SIDE) <= 2, width
    assert canvas[int(0.2 * drawing.SIDE) - 8, 140] == 1.0  # the round end reaches past the point


def test_render_strokes_rejects_malformed_strokes():
    with pytest.raises(dl.ParameterError, match=r"strokes\[1\]"):
        drawing.render_strokes([[[0.1, 0.1]], [["a", "b"]]])
    with pytest.raises(dl.ParameterError, match="finite"):
        drawing.render_strokes([[[0.1, float("nan")]]])


def test_a_stroke_is_read_with_to_mnist_and_predict(pad):
    assert pad.prediction is None and pad.answer == drawing.PROMPT and not pad.image.any()
    pad.strokes = SEVEN
    canvas = drawing.render_strokes(SEVEN)
    assert np.array_equal(pad.image, imaging.to_mnist(canvas))
    assert pad.image.shape == (28, 28) and pad.image.max() == 1.0 and pad.image.min() == 0.0
    assert isinstance(pad.prediction, Prediction) and pad.prediction.digit == 9
    assert pad.answer == "9" and len(pad.probabilities) == 10
    assert np.isclose(sum(pad.probabilities), 1.0)
    assert np.allclose(pad._model.seen[-1][0, ..., 0], pad.image)  # dl.predict's own input
    assert len(pad.seen) == 784 and max(pad.seen) == 1.0


def test_a_dot_or_nothing_asks_for_a_digit(pad):
    pad.strokes = [[[0.5, 0.5]]]
    assert pad.prediction is None and pad.answer == drawing.PROMPT and not pad.image.any()
    assert pad.probabilities == [] and max(pad.seen) == 0.0
    pad.strokes = [[[0.5, 0.5], [0.52, 0.51]]]  # a dab, still no digit
    assert pad.prediction is None


def test_clear_empties_the_pad(pad):
    pad.strokes = ONE
    assert pad.prediction is not None
    pad.clear()
    assert pad.strokes == [] and pad.prediction is None and not pad.image.any()


def test_answered_follows_the_page_s_revision(pad):
    pad.set_state({"strokes": ONE, "revision": 3})  # what a message from the page does
    assert pad.answered == 3 and pad.prediction is not None


def test_the_pad_accepts_a_model_file_and_rejects_other_things(tmp_path):
    with pytest.raises(dl.DataError, match="missing.keras: no such model file"):
        dl.DrawingPad(tmp_path / "missing.keras")
    with pytest.raises(dl.ParameterError, match="model must be a Keras model"):
        dl.DrawingPad(42)


def test_the_pad_reads_with_a_real_keras_model(tmp_path):
    model = dl.build_model("default")
    path = tmp_path / "mnist.keras"
    model.save(path)
    pad = dl.DrawingPad(path)
    pad.strokes = ONE
    expected = dl.predict(model, drawing.render_strokes(ONE))[0]
    assert pad.prediction.digit == expected.digit
    assert np.allclose(pad.prediction.probabilities, expected.probabilities, atol=1e-5)


def test_the_widget_s_javascript_and_css_ship_with_the_package():
    script = (drawing.STATIC / "drawing.js").read_text()
    assert script.strip().endswith("export default { render };")
    assert ".digitlib-pad-canvas" in (drawing.STATIC / "drawing.css").read_text()


def test_two_digits_side_by_side_ask_for_one_at_a_time(pad):
    left_one = [[[0.2, 0.2], [0.2, 0.5], [0.2, 0.8]]]
    right_seven = [[[0.55, 0.2], [0.85, 0.2], [0.65, 0.8]]]
    pad.strokes = left_one + right_seven
    assert pad.answer == drawing.ONE_AT_A_TIME and pad.prediction is None
    pad.strokes = right_seven
    assert pad.answer == "9" and pad.prediction.digit == 9  # the Recorder always reads 9
    pad.clear()
    assert pad.answer == drawing.PROMPT
