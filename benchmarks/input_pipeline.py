"""Time one training epoch of the default model fed three ways: NumPy, tf.data, uint8.

Usage: python benchmarks/input_pipeline.py   (needs a full MNIST copy; ~3 minutes on 2 cores)

Each way runs a warm-up epoch (tracing and start-up) and then times a second one.
"""

import time

import keras

import digitlib as dl
from digitlib.training import compile_model, dataset

BATCH = 256


def timed_epoch(model, **fit_args) -> float:
    """Run one warm-up epoch, then return the seconds a second epoch takes."""
    model.fit(epochs=1, verbose=0, **fit_args)
    start = time.perf_counter()
    model.fit(epochs=1, verbose=0, **fit_args)
    return time.perf_counter() - start


def fresh_model(scale_inside: bool = False):
    """Return the default model, compiled; with a Rescaling layer when fed raw uint8."""
    dl.set_seed(0)
    model = dl.build_model("default")
    if scale_inside:
        model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Rescaling(1 / 255),
                                  *model.layers])
    return compile_model(model, dl.recipe("default"), 60_000)


def main() -> None:
    data = dl.load_mnist()
    x, y = dl.prepare_images(data.x_train), data.y_train
    raw = data.x_train.reshape(-1, 28, 28, 1)
    ways = [
        ("NumPy float32 arrays passed to fit()", fresh_model(),
         dict(x=x, y=y, batch_size=BATCH)),
        ("tf.data pipeline over float32 arrays", fresh_model(),
         dict(x=dataset(x, y, BATCH), shuffle=False)),
        ("NumPy uint8 arrays, scaled inside the model", fresh_model(scale_inside=True),
         dict(x=raw, y=y, batch_size=BATCH)),
    ]
    print(f"one epoch of the default model on {len(x):,} images, batch {BATCH}:")
    for name, model, fit_args in ways:
        print(f"  {name:45} {timed_epoch(model, **fit_args):6.1f} s", flush=True)


if __name__ == "__main__":
    main()
