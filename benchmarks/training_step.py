"""Time the default model's training step with two speed-ups it does not use.

Usage: python benchmarks/training_step.py   (~2 minutes on 2 cores; needs no MNIST copy)

The speed-ups are ``digitlib.layers.ConvMaxPool``, which computes the first convolution and
its pooling together, and running 8 training steps per call into TensorFlow
(``steps_per_execution``). Each variant trains on the same in-memory random batches; the four
take turns so that a machine slowing down affects all alike. Run it on an idle machine.
"""

import statistics
import time

import digitlib as dl  # first: it loads TensorFlow without its start-up log lines
import keras
import numpy as np
import tensorflow as tf
from digitlib.layers import ConvMaxPool, MaxPool2x2, SpaceToDepth

BATCH = 256
STEPS = 48  # a multiple of 8, so every variant runs whole calls
ROUNDS = 7


def fused_first_layer() -> keras.Model:
    """Return the default model with its first convolution and pooling as one ConvMaxPool."""
    crop, fold, conv, pool, *rest = dl.build_model("default").layers
    assert isinstance(conv, keras.layers.Conv2D) and isinstance(pool, MaxPool2x2)
    return keras.Sequential([keras.Input((28, 28, 1)),
                             keras.layers.Cropping2D.from_config(crop.get_config()),
                             SpaceToDepth(fold.block_size),
                             ConvMaxPool(conv.filters, conv.kernel_size[0]),
                             *[layer.__class__.from_config(layer.get_config()) for layer in rest]])


def compiled(model, steps_per_call: int) -> keras.Model:
    """Compile ``model`` plainly, running ``steps_per_call`` training steps per call."""
    model.compile(optimizer=keras.optimizers.Adam(0.001), loss="sparse_categorical_crossentropy",
                  steps_per_execution=steps_per_call)
    return model


def layer_milliseconds(layer, shape=(BATCH, 12, 12, 4), repeats: int = 30) -> float:
    """Return the median milliseconds of one forward pass and the kernel's gradient."""
    x = tf.random.stateless_normal(shape, seed=(0, 0))
    layer.build(shape)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x) * 1.5)
        return tape.gradient(loss, layer.trainable_weights)

    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        [g.numpy() for g in step()]
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((BATCH * STEPS, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, BATCH * STEPS)
    batches = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH).cache().repeat()
    variants = {
        "Conv2D + MaxPool2x2, 1 step per call (default)": compiled(dl.build_model("default"), 1),
        "ConvMaxPool, 1 step per call": compiled(fused_first_layer(), 1),
        "Conv2D + MaxPool2x2, 8 steps per call": compiled(dl.build_model("default"), 8),
        "ConvMaxPool, 8 steps per call": compiled(fused_first_layer(), 8),
    }
    for model in variants.values():  # trace and warm up
        model.fit(batches, steps_per_epoch=16, epochs=1, verbose=0)
    times = {name: [] for name in variants}
    for _ in range(ROUNDS):
        for name, model in variants.items():
            start = time.perf_counter()
            model.fit(batches, steps_per_epoch=STEPS, epochs=1, verbose=0)
            times[name].append((time.perf_counter() - start) / STEPS * 1000)
    print(f"default model, one training step on a batch of {BATCH} "
          f"(median of {ROUNDS} rounds of {STEPS} steps):")
    for name, values in times.items():
        print(f"  {name:48} {statistics.median(values):6.1f} ms", flush=True)
    print(f"first convolution and pooling alone on {BATCH} x 12 x 12 x 4, forward + kernel gradient:")
    both = keras.Sequential([keras.layers.Conv2D(32, 3, activation="relu"), MaxPool2x2()])
    for name, layer in (("Conv2D(32, 3) + MaxPool2x2", both), ("ConvMaxPool(32, 3)", ConvMaxPool(32, 3))):
        print(f"  {name:48} {layer_milliseconds(layer):6.1f} ms", flush=True)


if __name__ == "__main__":
    main()
