"""Lesson 5's results: the committed lesson's accuracy, and a subset run that must not fail in it."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "notebooks" / "05_evaluate.ipynb"


def _printed(nb) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                   for o in c.get("outputs", []) if o.get("output_type") == "stream")


def test_committed_lesson_shows_the_default_reaching_99_percent():
    """The committed lesson ran the default recipe on every training image: it must read 99%."""
    text = _printed(nbformat.read(LESSON, as_version=4))
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", text).group(1))
    trained = re.search(r"the '(\w+)' network, trained (\d+) epochs on ([\d,]+) images", text)
    assert trained, "the lesson no longer prints what it evaluated"
    assert trained.group(1) == "default" and int(trained.group(3).replace(",", "")) == 54_000
    assert accuracy >= 99.0, f"the default recipe reached only {accuracy}%"


def test_a_run_on_a_subset_finishes_lessons_5_and_6(tmp_path, full_mnist_dir):
    """A small subset of the full MNIST reads far below 99%: lessons 5 and 6 still finish."""
    run_dir = tmp_path / "run"
    result = subprocess.run(
        [sys.executable, "-m", "digitlib", "run", "--last", "06", "--run-dir", str(run_dir),
         "-p", "train_size", "1200", "-p", "epochs", "1"],
        capture_output=True, text=True, cwd=tmp_path, timeout=1200,
        env={**os.environ, "DIGITLIB_DATA": str(full_mnist_dir),
             "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stdout[-1500:] + result.stderr[-1500:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["train_examples"] == 1080 and metrics["test_accuracy"] < 0.99
    assert (run_dir / "06_predict_your_digits.ipynb").is_file()
