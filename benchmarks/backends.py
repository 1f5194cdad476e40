"""Train the default through the lessons on each Keras backend, one after the other, in one table.

Usage (from the repository root, with DIGITLIB_DATA pointing at a full MNIST copy and the
backends installed: pip install -e '.[jax,torch]'):

    python benchmarks/backends.py                              # tensorflow, jax, torch (~6 min on 2 cores)
    python benchmarks/backends.py --backends tensorflow jax --seed 1

Each backend runs lessons 01 to 05 with ``digitlib run`` (Adadelta demo off) into its own run
folder under a temporary directory, exactly the ``fit`` a learner runs in lesson 4: NumPy arrays,
``shuffle=True``, validation after each epoch. The time is ``train_seconds`` from history.json
(the whole ``fit``); the accuracy is lesson 5's ``test_accuracy`` on the 10,000 test images.
Results go to OUT.{md,json} (--out; by default benchmarks/results/backends-YYYY-MM-DD), never
over an existing file.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import machine, out_path, write_text


def run_one(backend: str, seed: int, run_dir: Path) -> dict:
    """Run the lessons on ``backend`` into ``run_dir``; return its training time and accuracy."""
    done = subprocess.run(
        [sys.executable, "-m", "digitlib", "run", "--quiet", "--run-dir", str(run_dir), "--last", "05",
         "-p", "seed", str(seed), "-p", "show_adadelta_demo", "False"],
        env={**os.environ, "KERAS_BACKEND": backend}, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{backend} failed:\n{done.stdout[-1500:]}{done.stderr[-1500:]}")
    history = json.loads((run_dir / "history.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return {"backend": history["backend"], "seed": seed, "epochs": history["epochs"],
            "train_seconds": history["train_seconds"], "test_accuracy": metrics["test_accuracy"],
            "version": _version(backend), "data_source": metrics.get("data_source")}


def _version(backend: str) -> str:
    try:
        return importlib.metadata.version(backend)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def markdown(rows: list[dict], machine: str) -> str:
    """Return the rows as a markdown table with the machine they ran on."""
    tensorflow = next((r["train_seconds"] for r in rows if r["backend"] == "tensorflow"), None)
    lines = [f"Measured on {machine}, one after the other in one run, through `digitlib run`.", "",
             "| backend | seed | epochs | fit time | × TensorFlow's | test accuracy |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        ratio = f"{r['train_seconds'] / tensorflow:.2f}" if tensorflow else "–"
        lines.append(f"| {r['backend']} {r['version']} | {r['seed']} | {r['epochs']} | "
                     f"{r['train_seconds']:.1f} s | {ratio} | {r['test_accuracy']:.2%} |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax", "torch"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="output path without suffix (default: "
                        "benchmarks/results/backends-YYYY-MM-DD); an existing file is refused")
    args = parser.parse_args(argv)
    out = out_path("backends", args.out, (".md", ".json"))
    desc, rows = machine(), []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends:
            try:
                rows.append(run_one(backend, args.seed, Path(tmp) / backend))
            except RuntimeError as error:
                print(error, file=sys.stderr)
                return 1
            print(f"{backend:10}: {rows[-1]['test_accuracy']:.2%} in "
                  f"{rows[-1]['train_seconds']:.1f} s", flush=True)
            write_text(out.with_suffix(".md"), markdown(rows, desc))  # after every run
            write_text(out.with_suffix(".json"), json.dumps({"machine": desc, "runs": rows},
                                                            indent=2))
    print()
    print(markdown(rows, desc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
