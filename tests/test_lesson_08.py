"""Lesson 08, inside the network: it runs for every model the lessons train, and its parameters."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import digitlib as dl
from digitlib.errors import ParameterError
from digitlib.lessons import lesson_parameters, lesson_paths

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "notebooks" / "08_inside_the_network.ipynb"


def _digitlib(*args, cwd):
    result = subprocess.run([sys.executable, "-m", "digitlib", *map(str, args)],
                            capture_output=True, text=True, cwd=cwd, timeout=900,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stdout[-1500:] + result.stderr[-1500:]


def _figures(nb) -> int:
    return sum("image/png" in out.get("data", {}) for cell in nb.cells if cell.cell_type == "code"
               for out in cell.get("outputs", []))


def _printed(nb) -> str:
    return "".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                   for out in cell.get("outputs", []) if out.get("output_type") == "stream")


def test_the_chain_reaches_lesson_8_and_its_parameters_are_checked():
    assert [p.name for p in lesson_paths("01", "08")][-1] == LESSON.name
    defaults = lesson_parameters(LESSON)
    assert defaults["run_dir"] == "../runs/default"
    dl.check_parameters(**defaults)
    with pytest.raises(ParameterError, match="patch_size is 29, but a digit is only 28 pixels"):
        dl.check_parameters(patch_size=29)
    with pytest.raises(ParameterError, match="test_index must be a whole number >= 0"):
        dl.check_parameters(test_index=-1)


def test_committed_lesson_draws_figures_from_a_sub_model():
    nb = nbformat.read(LESSON, as_version=4)
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    assert "keras.Model(network.inputs[0], first.output)" in code
    assert _figures(nb) >= 3
    assert "looking inside the network 'default'" in _printed(nb)
    # the receptive field: 6 pixels, 8 after the pool (stride 2), 16 after the 3 x 3 (step 4)
    assert [line.split("sees")[1].split("pixels")[0].strip() for line in _printed(nb).splitlines()
            if "one pixel sees" in line] == ["6 ×  6", "8 ×  8", "16 × 16"]
    assert "architecture.keras" in code  # the filters before training are lesson 3's own


@pytest.fixture(scope="module")
def split_run(tmp_path_factory):
    """Return a run folder where lessons 1 and 2 ran on 1,200 training images."""
    folder = tmp_path_factory.mktemp("split") / "run"
    _digitlib("run", "--last", "02", "--run-dir", folder, "-p", "train_size", 1200, cwd=folder.parent)
    return folder


@pytest.mark.parametrize("model", ["default", "seed", "kerasio", "best"])
def test_lesson_looks_inside_every_model_the_lessons_train(split_run, tmp_path, model):
    run_dir = tmp_path / "run"
    shutil.copytree(split_run, run_dir)
    _digitlib("run", "--first", "03", "--last", "04", "--run-dir", run_dir, "-p", "model", model,
              "-p", "epochs", 1, cwd=tmp_path)
    _digitlib("run", "--first", "08", "--last", "08", "--run-dir", run_dir, cwd=tmp_path)
    nb = nbformat.read(run_dir / LESSON.name, as_version=4)
    printed = _printed(nb)
    network = dl.models.members(dl.build_model(model))[0]
    assert f"looking inside the network {network.name!r}" in printed
    shown = [layer for layer in network.layers
             if type(layer).__name__ in ("Conv2D", "MaxPooling2D")]
    for layer in shown:  # one line per convolution and pooling layer, with its maps
        assert f"{layer.output.shape[3]:3} maps" in printed
    assert "test digits are misread" in printed
    assert sum("one pixel sees" in line for line in printed.splitlines()) == len(shown)
    assert _figures(nb) >= 3
    checks = [cell for cell in nb.cells if any(t.startswith("check:08.")
                                               for t in cell.metadata.get("tags", []))]
    assert len(checks) >= 3
    assert all(_printed(nbformat.v4.new_notebook(cells=[c])).startswith("Not attempted")
               for c in checks)
