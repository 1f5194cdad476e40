"""Time training epochs of the default model fed four ways, and its pooling layer two ways.

Usage: python benchmarks/input_pipeline.py   (needs a full MNIST copy; ~3 minutes on 2 cores)

Each feed trains a fresh default model for 4 epochs on the 60,000 training images and
reports the mean of epochs 2 to 4 (epoch 1 includes tracing). Run it on an idle machine.
"""

import time

import digitlib as dl  # first: it loads TensorFlow without its start-up log lines
import keras
import numpy as np
import tensorflow as tf
from digitlib.models import steps_per_epoch
from digitlib.training import EpochClock, compile_model, dataset

BATCH = 256
EPOCHS = 4


def epoch_seconds(model, **fit_args) -> float:
    """Train ``model`` for EPOCHS epochs; return the mean seconds of all epochs but the first."""
    clock = EpochClock()
    model.fit(epochs=EPOCHS, verbose=0, callbacks=[clock], **fit_args)
    return float(np.mean(clock.seconds[1:]))


def fresh_model(scale_inside: bool = False):
    """Return the default model, compiled; with a Rescaling layer when fed raw uint8."""
    dl.set_seed(0)
    model = dl.build_model("default")
    if scale_inside:
        model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255),
                                  *model.layers])
    return compile_model(model, dl.recipe("default"), 60_000)


def rebuilt_each_epoch(x, y):
    """Return the tf.data pipeline without repeat(): fit rebuilds its iterator every epoch."""
    return (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=0)
            .batch(BATCH).prefetch(tf.data.AUTOTUNE))


def pooling_milliseconds(layer, shape=(256, 24, 24, 32), repeats: int = 20) -> float:
    """Return the milliseconds one forward and backward pass of ``layer`` takes on ``shape``."""
    x = tf.nn.relu(tf.random.stateless_normal(shape, seed=(0, 0)))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(layer(x) * 1.5)
        return tape.gradient(loss, x)

    step()
    start = time.perf_counter()
    for _ in range(repeats):
        step().numpy()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    data = dl.load_mnist()
    x, y = dl.prepare_images(data.x_train), data.y_train
    raw = data.x_train.reshape(-1, 28, 28, 1)
    steps = steps_per_epoch(len(x), BATCH)
    ways = [
        ("NumPy float32 arrays passed to fit()", dict(x=x, y=y, batch_size=BATCH), False),
        ("NumPy uint8 arrays, scaled inside the model", dict(x=raw, y=y, batch_size=BATCH), True),
        ("tf.data, rebuilt every epoch", dict(x=rebuilt_each_epoch(x, y), shuffle=False), False),
        ("tf.data, repeated (digitlib.training.dataset)",
         dict(x=dataset(x, y, BATCH), steps_per_epoch=steps, shuffle=False), False),
    ]
    print(f"seconds per epoch of the default model on {len(x):,} images, batch {BATCH} "
          f"(mean of epochs 2-{EPOCHS}):")
    for name, fit_args, scale_inside in ways:
        seconds = epoch_seconds(fresh_model(scale_inside), **fit_args)
        print(f"  {name:48} {seconds:6.2f} s", flush=True)
    print("max pooling 2 x 2 on a 256 x 24 x 24 x 32 batch, forward + backward:")
    for name, layer in (("keras.layers.MaxPooling2D", keras.layers.MaxPooling2D(2)),
                        ("digitlib.layers.MaxPool2x2", dl.layers.MaxPool2x2())):
        print(f"  {name:48} {pooling_milliseconds(layer):6.1f} ms", flush=True)


if __name__ == "__main__":
    main()
