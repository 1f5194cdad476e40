"""Train the plain-Keras default against the custom-layer network it replaced, over several seeds.

Usage (from the repository root, with DIGITLIB_DATA pointing at a full MNIST copy, on the
TensorFlow backend, which the custom layers need):

    python benchmarks/default_variants.py                 # seeds 0 1 2 (~5 minutes on 2 cores)
    python benchmarks/default_variants.py --seeds 0 1 2 3 4

Every variant trains as lesson 4 and `digitlib run` do (``digitlib.train``: the 54,000-image
split, validation on the 6,000 held out after each epoch, the default recipe) and is tested on
the 10,000 test images. The variants take turns for each seed, so they share the machine's
speed of the moment. The time is the whole ``fit``, validation included. Results go to
OUT.{md,json} (--out; by default benchmarks/results/default-variants-YYYY-MM-DD), never over an
existing file.
"""

from __future__ import annotations

import argparse
import json
import statistics

import digitlib as dl  # first: it loads TensorFlow without its start-up log lines
import keras

from _common import lessons_split, machine, out_path, write_text
from custom_layers import custom_default, head
from lesson_fit import train

layers = keras.layers


def plain_fold() -> keras.Model:
    """Build the same network in plain Keras: the fold as Reshape/Permute, MaxPooling2D."""
    return keras.Sequential([
        keras.Input((28, 28, 1)), layers.Cropping2D(2),
        layers.Reshape((12, 2, 12, 2)), layers.Permute((1, 3, 2, 4)), layers.Reshape((12, 12, 4)),
        layers.Conv2D(32, 3, activation="relu"), *head(layers.MaxPooling2D(2))])


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
    parser.add_argument("--out", help="output path without suffix (default: "
                        "benchmarks/results/default-variants-YYYY-MM-DD); an existing file is refused")
    args = parser.parse_args(argv)
    out = out_path("default-variants", args.out, (".md", ".json"))

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
    write_text(out.with_suffix(".md"), table)
    write_text(out.with_suffix(".json"), json.dumps({"machine": machine(), "rows": rows}, indent=2))
    print()
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
