"""The drawing pad's feature maps: what each convolution of the network makes of the drawing."""

import base64
import io

import keras
import numpy as np
import pytest
from PIL import Image

import digitlib as dl
from digitlib.drawing import convolutions, feature_map_model, map_grid

ONE = [[[0.52, 0.2], [0.5, 0.5], [0.48, 0.8]]]
ZERO = [[[0.5 + 0.2 * np.cos(a), 0.5 + 0.3 * np.sin(a)] for a in np.linspace(0, 6.4, 40)]]


def _decode(data_url: str) -> np.ndarray:
    raw = base64.b64decode(data_url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(raw)))


@pytest.mark.parametrize("name", ["default", "seed", "best"])
def test_pad_shows_each_convolution_for_the_drawing(name):
    model = dl.build_model(name)
    pad = dl.DrawingPad(model, feature_maps=True)
    pad.strokes = ONE
    layers = convolutions(model)
    assert [layer.name for layer in layers] == [m["name"] for m in pad.layer_maps]
    # the maps are the convolutions' outputs for the image the network reads, computed apart
    network = dl.models.members(model)[0]
    for layer, maps in zip(layers, pad.maps):
        probe = keras.Model(network.inputs[0], layer.output)
        expected = keras.ops.convert_to_numpy(probe(pad.image[None, :, :, None], training=False))[0]
        np.testing.assert_allclose(maps, expected, rtol=1e-5, atol=1e-6)
        assert maps.shape[-1] == layer.filters
    for shown, maps in zip(pad.layer_maps, pad.maps):
        assert shown["shape"] == list(maps.shape)
        np.testing.assert_array_equal(_decode(shown["png"]), map_grid(maps))


def test_maps_change_with_the_drawing_and_are_off_by_default():
    model = dl.build_model("default")
    plain = dl.DrawingPad(model)
    plain.strokes = ONE
    assert plain.maps == [] and plain.layer_maps == []
    pad = dl.DrawingPad(model, feature_maps=True)
    pad.strokes = ONE
    one, one_png = [m.copy() for m in pad.maps], pad.layer_maps[0]["png"]
    pad.strokes = ZERO
    assert pad.layer_maps[0]["png"] != one_png
    assert not np.allclose(one[0], pad.maps[0])


def test_map_grid_lays_maps_out_in_rows_scaled_by_the_layers_largest_value():
    maps = np.zeros((3, 2, 5), dtype=np.float32)
    maps[0, 0, 0], maps[2, 1, 4] = 2.0, 1.0
    grid = map_grid(maps, columns=4)
    assert grid.dtype == np.uint8 and grid.shape == (2 * 4 - 1, 4 * 3 - 1)
    assert grid[0, 0] == 255  # the layer's largest value
    assert grid[4 + 2, 1] == 180  # map 4 starts the second row: sqrt(1/2) of the largest
    assert grid[3, 0] == 64 and grid[0, 2] == 64  # the gaps between maps
    assert map_grid(np.zeros((2, 2, 1))).max() == 0  # a silent layer stays black


def test_a_model_without_convolutions_is_refused():
    flat = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(10, activation="softmax")])
    with pytest.raises(dl.ParameterError, match="no convolution layer"):
        feature_map_model(flat)
    assert dl.DrawingPad(flat).maps == []  # without feature maps the pad still reads digits
