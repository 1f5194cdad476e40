"""The benchmarks' TensorFlow-only speed layers compute what the standard layers compute."""

import sys
from pathlib import Path

import numpy as np
import pytest

import digitlib as dl
from digitlib.backend import import_keras

keras = import_keras()
if keras.backend.backend() != "tensorflow":
    pytest.skip("the custom layers of benchmarks/ are TensorFlow only", allow_module_level=True)

import tensorflow as tf  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from custom_layers import MaxPool2x2, SpaceToDepth  # noqa: E402


def test_space_to_depth_moves_each_2x2_block_into_channels():
    x = np.arange(2 * 28 * 28, dtype=np.float32).reshape(2, 28, 28, 1)
    y = np.asarray(SpaceToDepth(2)(x))
    assert y.shape == (2, 14, 14, 4)
    # Block (row 3, column 5) of the second image holds pixels (6..7, 10..11), row by row.
    np.testing.assert_array_equal(y[1, 3, 5], x[1, 6:8, 10:12, 0].ravel())
    assert sorted(y.ravel()) == sorted(x.ravel())  # nothing lost, nothing added


def test_max_pool_matches_keras_forward_and_gradient():
    x = tf.random.stateless_normal((3, 12, 10, 5), seed=(1, 2))  # no ties
    weights = tf.random.stateless_normal((3, 6, 5, 5), seed=(3, 4))

    def value_and_grad(layer):
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = layer(x)
            loss = tf.reduce_sum(out * weights)
        return out.numpy(), tape.gradient(loss, x).numpy()

    ours, ours_grad = value_and_grad(MaxPool2x2())
    theirs, theirs_grad = value_and_grad(keras.layers.MaxPooling2D(2))
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_allclose(ours_grad, theirs_grad)
    assert np.count_nonzero(ours_grad) == ours.size  # one winner per block


def test_max_pool_after_relu_trains_like_keras():
    # Ties at zero are common after a ReLU; their gradient must still vanish.
    x = tf.random.stateless_normal((2, 8, 8, 3), seed=(5, 6))
    grads = []
    for pool in (MaxPool2x2(), keras.layers.MaxPooling2D(2)):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(pool(tf.nn.relu(x)) ** 2)
        grads.append(tape.gradient(loss, x).numpy())
    np.testing.assert_allclose(grads[0], grads[1])


def test_max_pool_rejects_odd_sizes():
    with pytest.raises(dl.ParameterError, match="MaxPool2x2 needs even height and width"):
        keras.Sequential([keras.Input((5, 6, 1)), MaxPool2x2()])


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_models_with_the_layers_reload(tmp_path, suffix):
    layers = keras.layers
    model = keras.Sequential([keras.Input((28, 28, 1)), SpaceToDepth(2), layers.Conv2D(8, 3),
                              MaxPool2x2(), layers.Flatten(), layers.Dense(10, activation="softmax")])
    x = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    path = tmp_path / f"m{suffix}"
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0),
                               model.predict(x, verbose=0), atol=1e-6)
    # digitlib opens only plain-Keras files: layers from another module are refused, unrun.
    with pytest.raises(dl.DataError, match="holds code"):
        dl.load_model(path)
