"""Train the default recipe on each Keras backend, fed two ways, and write one table.

Usage (from the repository root, with DIGITLIB_DATA pointing at a full MNIST copy and the
backends installed: pip install -e '.[jax,torch]'):

    python benchmarks/backends.py                              # tensorflow, jax, torch (~15 min on 2 cores)
    python benchmarks/backends.py --backends tensorflow jax --seed 1

Each (backend, feed) trains in its own process, one after the other, on the lessons'
54,000-image split with validation after each epoch, exactly as ``digitlib.train`` does, and
is tested on the 10,000 test images. The two feeds: ``tf.data``, the repeating stream of
``digitlib.training.dataset`` that the lessons use; and ``arrays``, NumPy arrays passed
straight to ``fit`` with ``shuffle=True``. The time is the whole ``fit``. Results go to
benchmarks/results/backends.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FEEDS = ("tf.data", "arrays")


def run_one(feed: str, seed: int) -> dict:
    """Train the default recipe in this process, on this process's backend; return the figures."""
    import digitlib as dl
    import keras
    from digitlib.training import EVAL_BATCH_SIZE, compile_model, dataset

    from benchmark import lessons_split

    data = lessons_split()
    x_train, y_train, x_val, y_val = (data[k] for k in ("x_train", "y_train", "x_val", "y_val"))
    dl.set_seed(seed)
    net = dl.build_model("default")
    recipe = dl.recipe("default")
    compile_model(net, recipe, len(x_train))
    y_hot, val = dl.one_hot(y_train), (x_val, dl.one_hot(y_val))
    if feed == "tf.data":
        fit_data = dict(x=dataset(x_train, y_hot, recipe.batch_size, seed), shuffle=False,
                        steps_per_epoch=dl.models.steps_per_epoch(len(x_train), recipe.batch_size))
    else:
        fit_data = dict(x=x_train, y=y_hot, batch_size=recipe.batch_size, shuffle=True)
    start = time.perf_counter()
    net.fit(**fit_data, epochs=recipe.epochs, validation_data=val,
            validation_batch_size=EVAL_BATCH_SIZE, verbose=0)
    seconds = time.perf_counter() - start
    return {"backend": keras.backend.backend(), "feed": feed, "seed": seed,
            "epochs": recipe.epochs, "train_seconds": seconds,
            "test_accuracy": dl.accuracy(net, data["x_test"], data["y_test"]),
            "version": _version(keras.backend.backend()), "data_source": data["source"]}


def _version(backend: str) -> str:
    import importlib

    return importlib.import_module(backend).__version__


def markdown(rows: list[dict], machine: str) -> str:
    """Return the rows as a markdown table with the machine they ran on."""
    lines = [f"Measured on {machine}, one after the other in one run.", "",
             "| backend | feed | seed | epochs | fit time | test accuracy |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['backend']} {r['version']} | {r['feed']} | {r['seed']} | {r['epochs']} | "
                     f"{r['train_seconds']:.1f} s | {r['test_accuracy']:.2%} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax", "torch"])
    parser.add_argument("--feeds", nargs="+", default=list(FEEDS), choices=FEEDS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "backends")
    parser.add_argument("--one", metavar="FEED", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(args.one, args.seed)))
        return 0

    from benchmark import machine

    desc, rows = machine(), []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for backend in args.backends:
        for feed in args.feeds:
            done = subprocess.run([sys.executable, __file__, "--one", feed, "--seed", str(args.seed)],
                                  env={**os.environ, "KERAS_BACKEND": backend},
                                  capture_output=True, text=True)
            if done.returncode != 0:
                print(f"{backend} {feed} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
                return 1
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"{backend:10} {feed:7}: {rows[-1]['test_accuracy']:.2%} in "
                  f"{rows[-1]['train_seconds']:.1f} s", flush=True)
            args.out.with_suffix(".md").write_text(markdown(rows, desc))  # after every run
            args.out.with_suffix(".json").write_text(json.dumps({"machine": desc, "runs": rows},
                                                                indent=2))
    print()
    print(markdown(rows, desc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
