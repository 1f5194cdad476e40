"""Time lesson 4's default fit on TensorFlow fed NumPy arrays (as the lesson does) against a tf.data stream.

Usage, from the repository root, after `digitlib run` has made runs/default (lessons 01-03):

    python benchmarks/tf_feed.py runs/default --out /tmp/tf-feed

Both fits use the default recipe (Adam 0.01 with warm-up and cosine decay, label smoothing 0.1,
batch 128, 4 epochs) on the lessons' 54,000 training images, one after the other in one process;
compare the times only within one run. Prints one line per feed and writes them to OUT.txt
(--out; by default benchmarks/results/tf-feed-YYYY-MM-DD.txt), never over an existing file.
"""

import argparse
import time

import numpy as np

import digitlib as dl
import keras

from _common import out_path, write_text


def fit(x, y, x_val, y_val, feed: str) -> tuple[float, float]:
    """Train the default network on ``feed`` ("arrays" or "tf.data"); return seconds and accuracy."""
    dl.set_seed(0)
    net = dl.build_model("default")
    per_epoch = int(np.ceil(len(x) / 128))
    steps = per_epoch * 4
    schedule = keras.optimizers.schedules.CosineDecay(0.0, steps - steps // 10, warmup_target=0.01,
                                                      warmup_steps=steps // 10)
    net.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule),
                loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1), metrics=["accuracy"])
    hot, val_hot = keras.utils.to_categorical(y, 10), keras.utils.to_categorical(y_val, 10)
    start = time.perf_counter()
    if feed == "arrays":
        history = net.fit(x, hot, batch_size=128, epochs=4, validation_data=(x_val, val_hot),
                          shuffle=True, verbose=0)
    else:
        import tensorflow as tf

        options = tf.data.Options()
        options.autotune.enabled = False
        stream = (tf.data.Dataset.from_tensor_slices((x, hot.astype("float32")))
                  .shuffle(len(x), seed=0).repeat().batch(128).prefetch(2).with_options(options))
        history = net.fit(stream, steps_per_epoch=per_epoch, epochs=4,
                          validation_data=(x_val, val_hot), validation_batch_size=1000, verbose=0)
    return time.perf_counter() - start, history.history["val_accuracy"][-1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", nargs="?", default="runs/default",
                        help="a run folder lessons 01-03 have filled (default: runs/default)")
    parser.add_argument("--out", help="output path without suffix (default: "
                        "benchmarks/results/tf-feed-YYYY-MM-DD); an existing file is refused")
    args = parser.parse_args(argv)
    out = out_path("tf-feed", args.out, (".txt",)).with_suffix(".txt")
    prepared = dl.RunDir(args.run_dir).load_prepared()
    lines = []
    for feed in ("arrays", "tf.data"):
        seconds, accuracy = fit(prepared["x_train"], prepared["y_train"], prepared["x_val"],
                                prepared["y_val"], feed)
        lines.append(f"{feed:8s} {seconds:6.1f} s  validation accuracy {accuracy:.4f}")
        print(lines[-1], flush=True)
        write_text(out, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
