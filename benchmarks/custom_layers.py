"""TensorFlow-only layers that made an earlier default network faster on a CPU.

The lessons' models use only what ships with Keras, so that a saved model opens in a bare
``keras.models.load_model`` on any backend. These layers are kept here, outside the package,
to measure what they were worth against the plain network (benchmarks/README.md).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from digitlib.errors import ParameterError


@keras.saving.register_keras_serializable(package="digitlib_benchmarks")
class SpaceToDepth(keras.layers.Layer):
    """Fold each 2 × 2 block of pixels into 4 channels: 28 × 28 × 1 becomes 14 × 14 × 4.

    No information is lost, only rearranged. A convolution on the folded image sees
    the same pixels as one on the full-size image but runs on a quarter of the positions,
    and avoids TensorFlow's slowest CPU case: a convolution over a single input channel.
    """

    def __init__(self, block_size: int = 2, **kwargs):
        super().__init__(**kwargs)
        self.block_size = block_size

    def call(self, inputs):
        return _space_to_depth(inputs, self.block_size)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        b = self.block_size
        return (n, None if h is None else h // b, None if w is None else w // b, c * b * b)

    def get_config(self):
        return {**super().get_config(), "block_size": self.block_size}


def _space_to_depth(x, b):
    # The same result as tf.nn.space_to_depth, but one transpose costs half as much on a CPU.
    n, h, w, c = tf.unstack(tf.shape(x))
    blocks = tf.reshape(x, (n, h // b, b, w // b, b, c))
    blocks = tf.transpose(blocks, (0, 1, 3, 2, 4, 5))
    return tf.reshape(blocks, (n, h // b, w // b, b * b * c))


def _to_maxima(x, maxima, upstream):
    # The gradient of a max: it goes to the input(s) equal to their group's maximum.
    return tf.cast(tf.equal(x, maxima), x.dtype) * upstream


def _check_even(layer, input_shape):
    if input_shape[1] is not None and (input_shape[1] % 2 or input_shape[2] % 2):
        raise ParameterError(
            f"{type(layer).__name__} needs even height and width, got {tuple(input_shape[1:3])}")


@tf.custom_gradient
def _max_pool_2x2(x):
    pooled = tf.nn.max_pool2d(x, 2, 2, "VALID")

    def grad(upstream):
        # View x as 2 x 2 blocks; broadcasting lines each block up with its pooled value,
        # so nothing is copied out to full size before the one multiply.
        n, h, w, c = tf.unstack(tf.shape(x))
        blocks = tf.reshape(x, (n, h // 2, 2, w // 2, 2, c))
        grad = _to_maxima(blocks, pooled[:, :, None, :, None, :], upstream[:, :, None, :, None, :])
        return tf.reshape(grad, (n, h, w, c))

    return pooled, grad


@keras.saving.register_keras_serializable(package="digitlib_benchmarks")
class MaxPool2x2(keras.layers.Layer):
    """Keep the largest value of each 2 × 2 block, like ``MaxPooling2D(2)``, with a faster gradient.

    The forward pass is TensorFlow's own max pooling. Its gradient, which on a CPU costs
    several times the pooling itself, is replaced by one mask and one multiplication: the
    gradient goes to the input(s) equal to their block's maximum. After a ReLU the only likely ties are
    zeros, whose gradient the ReLU discards, so training follows the same path.
    Inputs need even height and width.
    """

    def call(self, inputs):
        return _max_pool_2x2(inputs)

    def build(self, input_shape):
        _check_even(self, input_shape)
        super().build(input_shape)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        return (n, None if h is None else h // 2, None if w is None else w // 2, c)


def head(pool) -> list:
    """Return the layers the previous default put after its first convolution, ``pool`` first."""
    layers = keras.layers
    return [pool, layers.Conv2D(128, 3, activation="relu"), layers.Flatten(), layers.Dropout(0.1),
            layers.Dense(256, activation="relu"), layers.Dropout(0.3),
            layers.Dense(10, activation="softmax")]


def custom_default() -> keras.Model:
    """Build the previous default: 2 × 2 pixels folded by SpaceToDepth, MaxPool2x2's cheap gradient."""
    layers = keras.layers
    return keras.Sequential([
        keras.Input((28, 28, 1)), layers.Cropping2D(2), SpaceToDepth(2),
        layers.Conv2D(32, 3, activation="relu"), *head(MaxPool2x2())])
