"""Train MNIST recipes side by side and write a table of time, accuracy and memory.

Usage (from the repository root, with DIGITLIB_DATA pointing at a full MNIST copy):

    python benchmarks/recipes.py                       # seed, kerasio, default, best
    python benchmarks/recipes.py --models default kerasio --seeds 0 1 2
    python benchmarks/recipes.py --models seed --all-training-images  # as the original did
    python benchmarks/recipes.py --models kerasio default custom-default  # plain vs custom layers
    python benchmarks/recipes.py --models default unshifted-default --seeds 0 1 2  # against the default before it
    python benchmarks/recipes.py --models kerasio --seeds 0 1 2 --until-target  # keras.io to 99%

Each (model, seed) trains in its own process, so peak memory is that recipe's alone. Every
recipe trains on the lessons' 54,000-image training split (or, with --all-training-images, on
all 60,000 as the original project did) and is tested on the 10,000 test images.
Test accuracy is measured after every epoch (outside the timed part), which gives the
time to first reach 99.0%. Results go to OUT.{md,json,csv} (--out; by default
benchmarks/results/recipes-YYYY-MM-DD), never over an existing file.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from _common import (UNSHIFTED_BATCH_SIZE, default_network_layers, lessons_split, machine,
                     out_path, write_text)

TARGET = 0.99
#: Networks outside digitlib's registry, trained by the default recipe: the previous default,
#: built with the TensorFlow-only layers of custom_layers.py, and the default until 2026-12-03:
#: today's network without its random shifts, trained in batches of 128.
EXTRA = {"custom-default", "unshifted-default"}


def unshifted_default():
    """Build today's default without its RandomTranslation layer: the default network until 2026-12-03."""
    import digitlib as dl

    keras = dl.models.keras
    return keras.Sequential([keras.Input((28, 28, 1)), *default_network_layers()],
                            name="unshifted_default")


def run_one(model: str, seed: int, epochs: int | None, learning_rate: float | None = None,
            all_images: bool = False, until_target: bool = False) -> dict:
    """Train one recipe in this process and return its measurements.

    With ``until_target`` training stops after the first epoch that reaches 99.0%. An
    ensemble (``best``) trains member after member, as lesson 4 does (lesson_fit.train), and is tested once,
    at the end.
    """
    import numpy as np

    import digitlib as dl
    from lesson_fit import EpochClock, compile_model

    data = lessons_split(all_images)
    x_train, y_train, x_test, y_test = (data[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    dl.set_seed(seed)
    if model in EXTRA:
        from custom_layers import custom_default

        net = custom_default() if model == "custom-default" else unshifted_default()
        recipe = dl.recipe("default", epochs=epochs, learning_rate=learning_rate,
                           batch_size=UNSHIFTED_BATCH_SIZE if model == "unshifted-default" else None)
    else:
        net = dl.build_model(model)
        recipe = dl.recipe(model, epochs=epochs, learning_rate=learning_rate)
    if len(dl.models.members(net)) > 1:
        return _run_ensemble(net, recipe, model, seed, data)
    compile_model(net, recipe, len(x_train))
    y_train = dl.one_hot(y_train)
    clock = (_until_target(EpochClock) if until_target else EpochClock)(test_data=(x_test, y_test))
    # NumPy arrays, reshuffled every epoch: lesson 4's fit, and the published recipes' own.
    net.fit(x_train, y_train, batch_size=recipe.batch_size, epochs=recipe.epochs, shuffle=True,
            verbose=0, callbacks=[clock])
    elapsed = np.cumsum(clock.seconds)
    reached = [i for i, acc in enumerate(clock.test_accuracy) if acc >= TARGET]
    return _row(model, seed, recipe, net, data, len(clock.seconds), float(elapsed[-1]),
                clock.test_accuracy,
                seconds_to_99=float(elapsed[reached[0]]) if reached else None,
                epochs_to_99=reached[0] + 1 if reached else None)


def _row(model: str, seed: int, recipe, net, data: dict, epochs: int, seconds: float,
         accuracy_per_epoch: list, seconds_to_99=None, epochs_to_99=None) -> dict:
    """Return one training's measurements as a row of the results table."""
    import digitlib as dl

    networks = len(dl.models.members(net))
    return {
        "model": model, "seed": seed, "epochs": epochs,
        "batch_size": recipe.batch_size, "optimizer": recipe.optimizer,
        "learning_rate": recipe.learning_rate, "params": net.count_params(),
        "train_images": len(data["x_train"]),
        "train_seconds": seconds,
        "seconds_to_99": seconds_to_99, "epochs_to_99": epochs_to_99,
        "final_accuracy": accuracy_per_epoch[-1],
        "accuracy_per_epoch": accuracy_per_epoch,
        "images_per_second": len(data["x_train"]) * epochs * networks / seconds,
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "data_source": data["source"],
    }


def _until_target(clock_class):
    """Return an ``EpochClock`` that also ends training after the first epoch at 99.0%."""

    class ClockUntilTarget(clock_class):
        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            if self.test_accuracy[-1] >= TARGET:
                self.model.stop_training = True

    return ClockUntilTarget


def _run_ensemble(net, recipe, model: str, seed: int, data: dict) -> dict:
    """Train an ensemble as lesson 4 does and test it once, at the end (no time to 99%)."""
    from lesson_fit import accuracy, train

    result = train(net, recipe, data["x_train"], data["y_train"], seed=seed)
    return _row(model, seed, recipe, net, data, recipe.epochs, result["train_seconds"],
                [accuracy(net, data["x_test"], data["y_test"])])


def markdown(rows: list[dict], machine: str) -> str:
    """Return the results as a markdown table with the machine they ran on."""
    lines = [
        f"Measured on {machine}.", "",
        "| recipe | seed | optimizer | epochs | batch | training images | params | time to 99.0% | "
        "training time | final test accuracy | images/s | peak memory |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        to99 = (f"{r['seconds_to_99']:.1f} s (epoch {r['epochs_to_99']})"
                if r["seconds_to_99"] is not None else "not reached")
        lines.append(
            f"| {r['model']} | {r['seed']} | {r['optimizer']} {r['learning_rate']:g} | "
            f"{r['epochs']} | {r['batch_size']} | {r['train_images']:,} | "
            f"{r['params']:,} | {to99} | {r['train_seconds']:.1f} s | "
            f"{r['final_accuracy']:.2%} | {r['images_per_second']:,.0f} | "
            f"{r['peak_memory_mb']:,.0f} MB |")
    return "\n".join(lines) + "\n"


def write_results(out: Path, rows: list[dict], desc: str) -> str:
    """Write the rows so far as markdown, JSON and CSV; return the markdown table."""
    table = markdown(rows, desc)
    write_text(out.with_suffix(".md"), table)
    write_text(out.with_suffix(".json"), json.dumps({"machine": desc, "runs": rows}, indent=2))
    stream = io.StringIO()
    fields = [k for k in rows[0] if k != "accuracy_per_epoch"]
    writer = csv.DictWriter(stream, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_text(out.with_suffix(".csv"), stream.getvalue())
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["seed", "kerasio", "default", "best"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--epochs", type=int, help="override every recipe's epochs")
    parser.add_argument("--learning-rate", type=float,
                        help="override every recipe's learning rate, e.g. 1.0 for the original")
    parser.add_argument("--all-training-images", action="store_true",
                        help="train on all 60,000 training images instead of the lessons' 54,000")
    parser.add_argument("--out", help="output path without suffix (default: "
                        "benchmarks/results/recipes-YYYY-MM-DD); an existing file is refused")
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "SEED"), help=argparse.SUPPRESS)
    parser.add_argument("--until-target", action="store_true",
                        help="stop each training after the first epoch that reaches 99.0%%")
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one[0], int(args.one[1]), args.epochs, args.learning_rate,
                                 args.all_training_images, args.until_target)))
        return 0

    out = out_path("recipes", args.out, (".md", ".json", ".csv"))
    rows = []
    desc = machine()
    for model in args.models:
        for seed in args.seeds:
            start = time.perf_counter()
            cmd = [sys.executable, __file__, "--one", model, str(seed)]
            if args.epochs:
                cmd += ["--epochs", str(args.epochs)]
            if args.learning_rate:
                cmd += ["--learning-rate", str(args.learning_rate)]
            if args.all_training_images:
                cmd += ["--all-training-images"]
            if args.until_target:
                cmd += ["--until-target"]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{model} seed {seed} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
                return 1
            row = json.loads(done.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(f"{model:8} seed {seed}: {row['final_accuracy']:.4f} in "
                  f"{row['train_seconds']:.1f} s training "
                  f"({time.perf_counter() - start:.0f} s with start-up and evaluation)",
                  flush=True)
            table = write_results(out, rows, desc)  # after every run: nothing is lost
    print()
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
