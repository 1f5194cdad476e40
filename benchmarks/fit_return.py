"""Measure how long fit() takes to return after training ends, with and without tf.data autotuning.

Usage (from the repository root, with DIGITLIB_DATA pointing at a full MNIST copy):

    python benchmarks/fit_return.py            # 5 trainings of the default recipe per stream
    python benchmarks/fit_return.py --runs 8

With autotuning on, tf.data starts a background thread that wakes about 20 s and 41 s after
the stream starts, then every minute. On this project's 2-core machine, fit() sometimes sat
idle after its last epoch until that thread's next wake-up. lesson_fit.dataset (the lessons' old feed) turns
autotuning off; this script shows the difference: the seconds between Keras' on_train_end
and fit() returning, for each training, printed and written to OUT.txt (--out; by default
benchmarks/results/fit-return-YYYY-MM-DD.txt), never over an existing file.
"""

from __future__ import annotations

import argparse
import time

from _common import out_path, write_text


def autotuned(x, y, batch_size: int, seed: int):
    """Return digitlib's stream as it was before: prefetch(AUTOTUNE), autotuning on."""
    import tensorflow as tf

    return (tf.data.Dataset.from_tensor_slices((x, y))
            .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
            .repeat().batch(batch_size).prefetch(tf.data.AUTOTUNE))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="trainings per stream (seeds 0, 1, ...)")
    parser.add_argument("--out", help="output path without suffix (default: "
                        "benchmarks/results/fit-return-YYYY-MM-DD); an existing file is refused")
    args = parser.parse_args(argv)
    out = out_path("fit-return", args.out, (".txt",)).with_suffix(".txt")
    lines = []

    def report(line: str) -> None:
        print(line, flush=True)
        lines.append(line)
        write_text(out, "\n".join(lines) + "\n")  # after every line: nothing is lost

    import digitlib as dl
    from digitlib.models import keras, steps_per_epoch
    from lesson_fit import compile_model, dataset

    class TrainEnd(keras.callbacks.Callback):
        def on_train_end(self, logs=None):
            self.at = time.perf_counter()

    data = dl.load_mnist("auto")
    x, y, x_val, y_val = dl.split_validation(dl.prepare_images(data.x_train), data.y_train, 0.1)
    y, y_val = dl.one_hot(y), dl.one_hot(y_val)  # the recipe's loss takes one-hot labels
    recipe = dl.recipe("default")
    report(f"default recipe, {recipe.epochs} epochs on {len(x):,} images; "
           "seconds from the end of training to fit() returning:")
    for name, stream in [("autotuning on (prefetch AUTOTUNE)", autotuned),
                         ("lesson_fit.dataset", dataset)]:
        delays = []
        for seed in range(args.runs):
            dl.set_seed(seed)
            net = compile_model(dl.build_model("default"), recipe, len(x))
            clock = TrainEnd()
            start = time.perf_counter()
            net.fit(stream(x, y, recipe.batch_size, seed), epochs=recipe.epochs,
                    steps_per_epoch=steps_per_epoch(len(x), recipe.batch_size),
                    validation_data=(x_val, y_val), shuffle=False, verbose=0, callbacks=[clock])
            end = time.perf_counter()
            delays.append(end - clock.at)
            report(f"  {name:34} seed {seed}: fit {end - start:5.1f} s, "
                   f"returned {delays[-1]:4.1f} s after training ended")
        report(f"  {name:34} worst delay {max(delays):.1f} s, "
               f"{sum(d > 1 for d in delays)} of {len(delays)} over 1 s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
