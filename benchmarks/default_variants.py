"""Train the default recipe and the variants it was chosen from, over several seeds.

Usage (from the repository root, with DIGITLIB_DATA pointing at a full MNIST copy):

    python benchmarks/default_variants.py                 # seeds 0 1 2 (~7 minutes on 2 cores)
    python benchmarks/default_variants.py --seeds 0 1 2 3 4

Every variant trains as lesson 4 and `digitlib run` do (``digitlib.train``: the 54,000-image
split, validation on the 6,000 held out after each epoch) and is tested on the 10,000 test
images. The time is the whole ``fit``, validation included. Results go to
benchmarks/results/default-variants.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import statistics
from functools import partial
from pathlib import Path

import digitlib as dl  # first: it loads TensorFlow without its start-up log lines
import keras
from digitlib.layers import MaxPool2x2, SpaceToDepth

from benchmark import lessons_split, machine

HERE = Path(__file__).resolve().parent
layers = keras.layers


def previous_default() -> keras.Model:
    """Build the default network before it cropped: 28 × 28 input, pooled after each convolution."""
    return keras.Sequential([
        keras.Input((28, 28, 1)), SpaceToDepth(2),
        layers.Conv2D(32, 3, activation="relu"), MaxPool2x2(),
        layers.Conv2D(128, 3, activation="relu"), MaxPool2x2(),
        layers.Flatten(), layers.Dropout(0.1), layers.Dense(256, activation="relu"),
        layers.Dropout(0.3), layers.Dense(10, activation="softmax"),
    ])


def pooled_twice() -> keras.Model:
    """Build the default with the second pooling back: 3 × 3 × 128 pooled to 1 × 1 × 128."""
    built = dl.build_model("default").layers
    second_conv = max(i for i, layer in enumerate(built) if isinstance(layer, layers.Conv2D))
    fresh = [layer.__class__.from_config(layer.get_config()) for layer in built]
    return keras.Sequential([keras.Input((28, 28, 1)), *fresh[:second_conv + 1],
                             layers.MaxPooling2D(2), *fresh[second_conv + 1:]])


default = partial(dl.build_model, "default")

# name -> (network, recipe overrides)
VARIANTS = {
    "previous default: 28 × 28, pooled twice, 5 epochs": (previous_default, {"epochs": 5}),
    "cropped to 24 × 24, pooled once, 5 epochs": (default, {"epochs": 5}),
    "**default**: cropped, pooled once, 4 epochs": (default, {}),
    "default without label smoothing": (default, {"label_smoothing": 0}),
    "default pooled twice": (pooled_twice, {}),
    "default, 3 epochs": (default, {"epochs": 3}),
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "default-variants")
    args = parser.parse_args(argv)

    data = lessons_split()
    x_train, y_train, x_val, y_val, x_test, y_test = (
        data[k] for k in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"))
    rows = []
    for name, (build, overrides) in VARIANTS.items():
        accuracies, seconds = [], []
        for seed in args.seeds:
            dl.set_seed(seed)
            net = build()
            recipe = dl.recipe("default", **overrides)
            result = dl.train(net, recipe, x_train, y_train, x_val, y_val, seed=seed)
            accuracies.append(dl.training.accuracy(net, x_test, y_test))
            seconds.append(result["train_seconds"])
            print(f"{name}, seed {seed}: {accuracies[-1]:.2%} in {seconds[-1]:.1f} s", flush=True)
        rows.append({"variant": name, "epochs": recipe.epochs, "params": net.count_params(),
                     "seeds": args.seeds, "test_accuracy": accuracies, "fit_seconds": seconds})

    lines = [f"Measured on {machine()}.", "",
             "| variant | params | test accuracy, seeds " + ", ".join(map(str, args.seeds))
             + " | mean | fit time, mean |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(
            f"| {row['variant']} | {row['params']:,} | "
            + " / ".join(f"{a:.2%}" for a in row["test_accuracy"])
            + f" | {statistics.mean(row['test_accuracy']):.2%} | "
            f"{statistics.mean(row['fit_seconds']):.1f} s |")
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
