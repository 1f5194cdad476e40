"""Train the plain-Keras default against the custom-layer network it replaced, over several seeds.

Usage (from the repository root, with DIGITLIB_DATA pointing at a full MNIST copy, on the
TensorFlow backend, which the custom layers need):

    python benchmarks/default_variants.py                 # seeds 0 1 2 (~5 minutes on 2 cores)
    python benchmarks/default_variants.py --seeds 0 1 2 3 4

Every variant trains as lesson 4 and `digitlib run` do (``digitlib.train``: the 54,000-image
split, validation on the 6,000 held out after each epoch, the default recipe) and is tested on
the 10,000 test images. The variants take turns for each seed, so they share the machine's
speed of the moment. The time is the whole ``fit``, validation included. Results go to
benchmarks/results/default-variants.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import digitlib as dl  # first: it loads TensorFlow without its start-up log lines
import keras

from benchmark import lessons_split, machine
from custom_layers import MaxPool2x2, SpaceToDepth
from lesson_fit import train

HERE = Path(__file__).resolve().parent
layers = keras.layers


def _head(pool) -> list:
    return [pool, layers.Conv2D(128, 3, activation="relu"), layers.Flatten(), layers.Dropout(0.1),
            layers.Dense(256, activation="relu"), layers.Dropout(0.3),
            layers.Dense(10, activation="softmax")]


def custom_default() -> keras.Model:
    """Build the previous default: 2 × 2 pixels folded by SpaceToDepth, MaxPool2x2's cheap gradient."""
    return keras.Sequential([
        keras.Input((28, 28, 1)), layers.Cropping2D(2), SpaceToDepth(2),
        layers.Conv2D(32, 3, activation="relu"), *_head(MaxPool2x2())])


def plain_fold() -> keras.Model:
    """Build the same network in plain Keras: the fold as Reshape/Permute, MaxPooling2D."""
    return keras.Sequential([
        keras.Input((28, 28, 1)), layers.Cropping2D(2),
        layers.Reshape((12, 2, 12, 2)), layers.Permute((1, 3, 2, 4)), layers.Reshape((12, 12, 4)),
        layers.Conv2D(32, 3, activation="relu"), *_head(layers.MaxPooling2D(2))])


def plain_strided() -> keras.Model:
    """Build the default: a 6 × 6 convolution 2 pixels apart sees what 3 × 3 on the fold sees."""
    return dl.build_model("default")


# name -> network
VARIANTS = {
    "previous default, custom layers: SpaceToDepth + Conv2D(32, 3) + MaxPool2x2": custom_default,
    "plain Keras: Reshape/Permute fold + Conv2D(32, 3) + MaxPooling2D": plain_fold,
    "**default**, plain Keras: Conv2D(32, 6, strides=2) + MaxPooling2D": plain_strided,
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "default-variants")
    args = parser.parse_args(argv)

    data = lessons_split()
    x_train, y_train, x_val, y_val, x_test, y_test = (
        data[k] for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"))
    recipe = dl.recipe("default")
    rows = {name: {"variant": name, "epochs": recipe.epochs, "seeds": args.seeds,
                   "test_accuracy": [], "fit_seconds": []} for name in VARIANTS}
    for seed in args.seeds:
        for name, build in VARIANTS.items():
            dl.set_seed(seed)
            net = build()
            result = train(net, recipe, x_train, y_train, x_val, y_val, seed=seed)
            rows[name]["params"] = net.count_params()
            rows[name]["test_accuracy"].append(dl.accuracy(net, x_test, y_test))
            rows[name]["fit_seconds"].append(result["train_seconds"])
            print(f"{name}, seed {seed}: {rows[name]['test_accuracy'][-1]:.2%} in "
                  f"{result['train_seconds']:.1f} s", flush=True)
    rows = list(rows.values())

    lines = [f"Measured on {machine()}.", "",
             "| variant | params | test accuracy, seeds " + ", ".join(map(str, args.seeds))
             + " | mean | fit time, each | fit time, mean |", "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row['variant']} | {row['params']:,} | "
            + " / ".join(f"{a:.2%}" for a in row["test_accuracy"])
            + f" | {statistics.mean(row['test_accuracy']):.2%} | "
            + " / ".join(f"{t:.1f}" for t in row["fit_seconds"])
            + f" s | {statistics.mean(row['fit_seconds']):.1f} s |")
    table = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".md").write_text(table)
    args.out.with_suffix(".json").write_text(json.dumps({"machine": machine(), "rows": rows},
                                                         indent=2))
    print()
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
