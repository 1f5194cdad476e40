"""Draw a digit with the mouse, a finger or a pen, and watch the network read it.

:class:`DrawingPad` is an `anywidget <https://anywidget.dev>`_ widget: a canvas and the
network's answer beside it, updated after every stroke. The strokes travel to Python
as points; Python draws them into a picture, prepares it like a photo
(:func:`digitlib.imaging.to_mnist`) and reads it with :func:`digitlib.predict`, so the
pad works with any model ``dl.predict`` accepts, on any Keras backend.
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import anywidget
import numpy as np
import traitlets
from PIL import Image, ImageDraw

from . import imaging
from .errors import DigitlibError, ParameterError, SeveralDigitsError
from .prediction import Prediction, _load, _prediction, _probabilities, predict

STATIC = Path(__file__).resolve().parent / "static"
SIDE = 280  # pixels: the canvas on screen, and the picture the strokes are drawn into
BRUSH = 0.075  # stroke width as a share of the canvas side: 21 of 280 pixels
DOT = 1.5  # ink spanning less than this many stroke widths is a dot, not a digit
PROMPT = "draw a digit"
ONE_AT_A_TIME = "one digit at a time"  # the answer while the canvas holds digits side by side
MAP_COLUMNS = 16  # feature maps per row in the pad's panel, for layers of more than 32 maps
MAP_WIDTH = 320  # pixels: the widest a layer's grid of maps is drawn


def convolutions(model) -> list:
    """Return the convolution layers of ``model``; of an ensemble's, its first network's."""
    import keras

    from .models import members

    network = members(model)[0]
    return [layer for layer in network.layers if isinstance(layer, keras.layers.Conv2D)]


def feature_map_model(model):
    """Return a Keras model that gives the feature maps of each convolution of ``model``.

    Its outputs are one ``(1, height, width, channels)`` array per convolution, in order,
    for a ``(1, 28, 28, 1)`` image: what :class:`DrawingPad` shows with ``feature_maps=True``.
    """
    import keras

    from .models import members

    network, layers = members(model)[0], convolutions(model)
    if not layers:
        raise ParameterError(f"model {model.name!r} has no convolution layer to show")
    return keras.Model(network.inputs[0], [layer.output for layer in layers])


def map_grid(maps: np.ndarray, columns: int | None = None) -> np.ndarray:
    """Lay one layer's feature maps ``(height, width, channels)`` out as a grid of grey levels.

    Each map is scaled by the layer's largest value and brightened by a square root, so 255
    is the strongest response in the layer and 0 none (the maps come after ReLU); a
    one-pixel gap of 64 separates maps. ``columns`` defaults to 8 for up to 32 maps, else 16.
    Returns a uint8 array.
    """
    maps = np.asarray(maps, dtype=np.float32)
    height, width, channels = maps.shape
    columns = columns or (8 if channels <= 32 else MAP_COLUMNS)
    top = float(maps.max())
    levels = np.sqrt(np.clip(maps / top, 0, 1)) if top > 0 else np.zeros_like(maps)
    rows = -(-channels // columns)
    grid = np.full((rows * (height + 1) - 1, min(channels, columns) * (width + 1) - 1), 64,
                   dtype=np.uint8)
    for k in range(channels):
        r, c = divmod(k, columns)
        grid[r * (height + 1):r * (height + 1) + height,
             c * (width + 1):c * (width + 1) + width] = np.round(levels[..., k] * 255)
    return grid


def _png(grid: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(grid, mode="L").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def render_strokes(strokes, side: int = SIDE, brush: float = BRUSH) -> np.ndarray:
    """Draw strokes as round-ended white lines on black; return grey levels in [0, 1].

    Args:
        strokes: a list of strokes, each a list of ``[x, y]`` points with x and y
            in [0, 1] across and down the canvas.
        side: the picture's width and height in pixels.
        brush: the stroke width as a share of ``side``.

    Raises:
        ParameterError: a stroke is not a list of ``[x, y]`` pairs of finite numbers.
    """
    picture = Image.new("L", (side, side), 0)
    draw = ImageDraw.Draw(picture)
    width = brush * side
    for points in _checked(strokes):
        xy = [(x * side, y * side) for x, y in points]
        if len(xy) > 1:
            draw.line(xy, fill=255, width=max(1, round(width)), joint="curve")
        for x, y in xy:  # round ends and joints, like a felt pen
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=255)
    return np.asarray(picture, dtype=np.float32) / 255.0


def _checked(strokes) -> list[np.ndarray]:
    checked = []
    for k, stroke in enumerate(strokes):
        try:
            points = np.asarray(stroke, dtype=np.float64).reshape(-1, 2)
        except (TypeError, ValueError):
            raise ParameterError(f"strokes[{k}] is not a list of [x, y] points") from None
        if not np.isfinite(points).all():
            raise ParameterError(f"strokes[{k}] holds a point that is not a finite number")
        checked.append(np.clip(points, 0.0, 1.0))
    return checked


def is_digit_sized(canvas: np.ndarray, brush: float = BRUSH) -> bool:
    """Return whether the ink spans more than a dot: ``DOT`` stroke widths or more."""
    rows, cols = np.nonzero(canvas > 0)
    if rows.size == 0:
        return False
    extent = max(rows.max() - rows.min(), cols.max() - cols.min()) + 1
    return extent >= DOT * brush * canvas.shape[0]


class DrawingPad(anywidget.AnyWidget):
    """Show a canvas to draw a digit on, and the network's answer after every stroke.

    Args:
        model: a Keras model, or the path of one saved as ``.keras`` or ``.h5``.
        feature_maps: also show, below the answer, the feature maps of each convolution
            of the network (an ensemble's first network) for the digit being drawn, in a
            panel with the CSS class ``dl-feature-maps``.

    Attributes:
        image: the drawing as the network reads it, a (28, 28) float32 array with ink
            1 and paper 0, made by :func:`digitlib.imaging.to_mnist`; all zeros while
            nothing but a dot is drawn.
        prediction: the :class:`digitlib.prediction.Prediction` of ``dl.predict`` for the
            drawing, or None while nothing but a dot is drawn ("draw a digit").
        strokes: the drawing as points, ``[[[x, y], ...], ...]`` with x and y in [0, 1];
            assigning it draws from Python.
        maps: with ``feature_maps=True``, the feature maps of each convolution for
            ``image``, one ``(height, width, channels)`` array per layer; else ``[]``.

    Raises:
        ParameterError: ``model`` is neither a Keras model nor a path.
        DataError: the model file is missing, broken or holds code.
    """

    _esm = STATIC / "drawing.js"
    _css = STATIC / "drawing.css"

    strokes = traitlets.List().tag(sync=True)
    revision = traitlets.Int(0).tag(sync=True)  # the page counts the drawings it sends ...
    answered = traitlets.Int(0).tag(sync=True)  # ... and Python says which one it answered
    answer = traitlets.Unicode(PROMPT).tag(sync=True)
    probabilities = traitlets.List(traitlets.Float()).tag(sync=True)
    seen = traitlets.List(traitlets.Float()).tag(sync=True)  # image, row by row, for the preview
    brush = traitlets.Float(BRUSH).tag(sync=True)
    # with feature_maps=True: one {"name", "shape", "png"} per convolution, for the panel
    layer_maps = traitlets.List(traitlets.Dict()).tag(sync=True)

    def __init__(self, model, feature_maps: bool = False, **kwargs):
        if isinstance(model, (str, os.PathLike)):
            model = _load(model)
        elif not callable(getattr(model, "predict", None)):
            raise ParameterError(
                f"model must be a Keras model or the path of one, got {type(model).__name__}")
        self._model = model
        self._probe = feature_map_model(model) if feature_maps else None
        self.image = np.zeros((imaging.SIZE, imaging.SIZE), dtype=np.float32)
        self.prediction: Prediction | None = None
        self.maps: list = []
        super().__init__(**kwargs)
        # The first prediction traces the model, which takes a while: do it now, not on
        # the first stroke.
        predict(model, render_strokes([[[0.5, 0.2], [0.5, 0.8]]]))
        self._read()

    def __repr__(self) -> str:
        return f"DrawingPad(prediction={self.prediction!r})"

    def clear(self) -> None:
        """Empty the canvas."""
        self.strokes = []

    @traitlets.observe("strokes")
    def _on_strokes(self, change) -> None:
        self._read()

    def _read(self) -> None:
        canvas = render_strokes(self.strokes, brush=self.brush)
        image, prediction, prompt = np.zeros_like(self.image), None, PROMPT
        if is_digit_sized(canvas, self.brush):
            try:
                image = imaging.to_mnist(canvas, name="the drawing")
                prediction = _prediction(_probabilities(self._model, [image])[0])  # as predict()
            except SeveralDigitsError:
                prompt = ONE_AT_A_TIME
            except DigitlibError:
                pass  # nothing readable yet: keep asking for a digit
        self.image, self.prediction = image, prediction
        layer_maps = self._feature_maps() if self._probe is not None else []
        with self.hold_sync():  # one message, so the page sees the answer whole
            self.layer_maps = layer_maps
            self.answer = prompt if prediction is None else str(prediction.digit)
            self.probabilities = [] if prediction is None else [
                float(p) for p in prediction.probabilities]
            self.seen = [round(float(v), 3) for v in image.ravel()]
            self.answered = self.revision

    def _feature_maps(self) -> list[dict]:
        """Compute ``maps`` for ``image``; return the panel's pictures of them."""
        import keras

        outputs = self._probe.predict_on_batch(self.image[None, :, :, None])  # compiled once
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        self.maps = [keras.ops.convert_to_numpy(out)[0] for out in outputs]
        pictures = []
        for layer, maps in zip(convolutions(self._model), self.maps):
            grid = map_grid(maps)
            pictures.append({"name": layer.name, "shape": list(maps.shape), "png": _png(grid),
                             "scale": max(1, round(MAP_WIDTH / grid.shape[1]))})
        return pictures
