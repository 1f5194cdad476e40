"""`digitlib run`: the papermill chain 01->05 on a small subset, and its error paths."""

import json
import subprocess
import sys

import nbformat
import pytest

from digitlib.cli import main
from digitlib.lessons import parse_value
from digitlib.runs import MANIFEST

SMALL = ["-p", "train_size", "600", "-p", "epochs", "3", "-p", "batch_size", "32",
         "-p", "show_adadelta_demo", "False"]


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """Run lessons 01-05 once on 600 training images into a folder with a space in its name."""
    run_dir = tmp_path_factory.mktemp("runs") / "small run"
    code = main(["run", "--run-dir", str(run_dir), "--quiet", *SMALL, "-p", "seed", "3"])
    return code, run_dir


def test_chain_succeeds_and_writes_metrics(small_run):
    code, run_dir = small_run
    assert code == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    for key in ("test_accuracy", "test_loss", "train_seconds", "epochs", "model", "data_source"):
        assert key in metrics
    assert metrics["epochs"] == 3 and metrics["model"] == "default" and metrics["seed"] == 3
    assert metrics["train_examples"] == 540  # 600 minus the 10% validation split
    assert 0.3 < metrics["test_accuracy"] <= 1.0  # far above chance after three short epochs


def test_chain_leaves_executed_lessons_and_artifacts(small_run):
    _, run_dir = small_run
    for name in ("01_load_data", "02_preprocess", "03_build_model", "04_train", "05_evaluate"):
        nb = nbformat.read(run_dir / f"{name}.ipynb", as_version=4)
        assert "papermill" not in nb.metadata
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        assert not [o for o in outputs if o.output_type == "error"]
    for artifact in ("mnist.keras", "mnist.h5", "history.json", "dataset.json", "split.npz"):
        assert (run_dir / artifact).is_file()
    # the run holds what the lessons made, no copy of MNIST: one small split file, three models
    assert [p.name for p in run_dir.glob("*.npz")] == ["split.npz"]
    made = [p for p in run_dir.iterdir() if p.is_file() and p.suffix != ".ipynb"]
    assert sum(p.stat().st_size for p in made) < 30e6
    hidden = [p.name for p in run_dir.glob(".*")]
    assert hidden == [MANIFEST], f"a temporary file was left behind: {hidden}"


def test_chain_injects_typed_parameters(small_run):
    _, run_dir = small_run
    nb = nbformat.read(run_dir / "04_train.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    assert "epochs = 3\n" in injected.source and "show_adadelta_demo = False" in injected.source


def test_chain_with_no_validation_trains_on_every_image(tmp_path):
    """The original project's way: validation_fraction 0 holds nothing out."""
    run_dir = tmp_path / "all images"
    code = main(["run", "--run-dir", str(run_dir), "--quiet", *SMALL,
                 "-p", "model", "seed", "-p", "validation_fraction", "0"])
    assert code == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["train_examples"] == 600 and metrics["model"] == "seed"
    history = json.loads((run_dir / "history.json").read_text())["history"]
    assert history["loss"] and not [key for key in history if key.startswith("val_")]


def _outputs_text(notebook_path) -> str:
    nb = nbformat.read(notebook_path, as_version=4)
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def test_offline_sample_runs_every_lesson_with_the_demo(tmp_path):
    """With no MNIST copy and no network, the lessons fall back to the sample: all must run."""
    run_dir = tmp_path / "sample"
    code = main(["run", "--run-dir", str(run_dir), "--quiet", "-p", "data", "sample",
                 "-p", "epochs", "1"])
    assert code == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["data_source"].startswith("sample") and metrics["train_examples"] < 5000
    # Lesson 4's Adadelta demo ran on the fewer images the sample has, and showed its table.
    assert "validation accuracy" in _outputs_text(run_dir / "04_train.ipynb")


def test_quick_run_skips_the_demo_it_has_too_few_images_for(tmp_path):
    run_dir = tmp_path / "tiny"
    code = main(["run", "--run-dir", str(run_dir), "--quiet", "--last", "04",
                 "-p", "train_size", "600", "-p", "epochs", "1", "-p", "batch_size", "32"])
    assert code == 0
    text = _outputs_text(run_dir / "04_train.ipynb")
    assert "trained 1 epoch on 540 images" in text  # the demo trains on what the run has
    assert "Adadelta, learning rate 1:" in text


def test_summary_printed(tmp_path, capsys):
    from digitlib.cli import _summarise

    (tmp_path / "metrics.json").write_text(json.dumps({
        "model": "default", "test_accuracy": 0.99312, "train_seconds": 96.3, "epochs": 6,
        "train_examples": 54000, "data_source": "sample"}))
    _summarise(tmp_path, "shown", 1.0)
    out = capsys.readouterr().out
    assert "test accuracy 0.9931" in out and "96.3 s over 6 epochs" in out
    assert "shown/mnist.keras" in out


@pytest.mark.parametrize("args, fragment", [
    (["-p", "epochs", "0"], "epochs must be a whole number >= 1"),
    (["-p", "batch_size", "-5"], "batch_size"),
    (["-p", "model", "resnet"], "model 'resnet' is unknown; known models: seed"),
    (["-p", "train_size", "70000"], "train_size is 70000"),
    (["-p", "learning_rate", "fast"], "learning_rate must be a positive number"),
    (["-p", "optimizer", "adagrad"], "optimizer 'adagrad' is unknown"),
    (["-p", "colour", "red"], "parameter 'colour' is not used by these lessons"),
    (["-p", "show_adadelta_demo", "false"], "show_adadelta_demo must be True or False, got 'false'"),
])
def test_bad_parameter_fails_before_any_lesson(tmp_path, capsys, args, fragment):
    run_dir = tmp_path / "run"
    assert main(["run", "--run-dir", str(run_dir), "--quiet", *args]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.startswith("digitlib: ") and err.count("\n") == 1
    assert not run_dir.exists(), "work started before the parameters were checked"


def test_failing_lesson_names_lesson_and_notebook(tmp_path, capsys):
    run_dir = tmp_path / "empty"
    code = main(["run", "--run-dir", str(run_dir), "--quiet", "--first", "05"])
    err = capsys.readouterr().err
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1  # the error and the notebook that shows it, in one line
    assert "lesson 05_evaluate failed: MissingArtifactError" in lines[0]
    assert "run 04_train first" in lines[0]
    assert str(run_dir / "05_evaluate.ipynb") in lines[0]


def test_cli_as_module_prints_no_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "digitlib", "run", "--run-dir", str(tmp_path / "r"),
         "-p", "epochs", "-1"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.strip() == "digitlib: epochs must be a whole number >= 1 or None, got -1"


@pytest.mark.parametrize("text, value", [
    ("3", 3), ("0.5", 0.5), ("1e-3", 0.001), ("True", True), ("False", False),
    ("None", None), ("adam", "adam"), ("../runs/x", "../runs/x"),
])
def test_values_typed_like_papermill(text, value):
    assert parse_value(text) == value and type(parse_value(text)) is type(value)
