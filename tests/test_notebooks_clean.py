"""The committed lessons render on GitHub: executed, clean, parameterised, linked."""

import ast
import json
import re
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))
ABSOLUTE_PATH = re.compile(r"(/root/|/home/\w+|/tmp/|/work/|/Users/|[A-Z]:\\\\)")


@pytest.fixture(params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def notebook(request):
    return request.param, nbformat.read(request.param, as_version=4)


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_the_five_core_lessons_exist():
    names = [p.stem for p in NOTEBOOKS]
    for lesson in ("01_load_data", "02_preprocess", "03_build_model", "04_train", "05_evaluate"):
        assert lesson in names


def test_valid_nbformat(notebook):
    _, nb = notebook
    nbformat.validate(nb)


def test_opens_with_title_and_learning_goals(notebook):
    _, nb = notebook
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert "What you'll learn" in first.source and "What you'll need" in first.source


def test_links_to_neighbours(notebook):
    path, nb = notebook
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    index = NOTEBOOKS.index(path)
    if index > 0:
        assert f"({NOTEBOOKS[index - 1].name})" in text
    if index < len(NOTEBOOKS) - 1:
        assert f"({NOTEBOOKS[index + 1].name})" in text


def test_one_parameters_cell_of_plain_literals(notebook):
    _, nb = notebook
    tagged = [c for c in code_cells(nb) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    tree = ast.parse(tagged[0].source)
    assert tree.body, "empty parameters cell"
    for node in tree.body:
        assert isinstance(node, ast.Assign), ast.dump(node)
        ast.literal_eval(node.value)  # raises on anything but a literal
    names = [node.targets[0].id for node in tree.body]
    assert names[0] == "run_dir"


def test_setup_imports_digitlib_before_keras_and_no_ritual(notebook):
    """digitlib quiets TensorFlow itself; imported first, it also keeps Keras' import quiet."""
    _, nb = notebook
    setup = next(c.source for c in code_cells(nb) if "import digitlib as dl" in c.source)
    assert "TF_CPP_MIN_LOG_LEVEL" not in setup and "os.environ" not in setup
    for heavy in ("import keras", "import tensorflow"):
        assert heavy not in setup or setup.index("import digitlib") < setup.index(heavy)


MAX_LESSON_BYTES = 300_000


def test_lesson_is_light_to_open(notebook):
    """A lesson opens quickly on GitHub: at most 300 KB, figures included."""
    path, _ = notebook
    assert path.stat().st_size <= MAX_LESSON_BYTES, (
        f"{path.name} is {path.stat().st_size / 1000:.0f} KB, more than "
        f"{MAX_LESSON_BYTES / 1000:.0f} KB: shrink its figures (see digitlib.plots)")


def test_committed_executed_without_errors(notebook):
    _, nb = notebook
    cells = code_cells(nb)
    assert all(c.execution_count for c in cells), "not every code cell was executed"
    outputs = [o for c in cells for o in c.outputs]
    assert outputs and not [o for o in outputs if o.output_type == "error"]
    assert any({"image/png", "image/jpeg"} & set(o.get("data", {})) for o in outputs), (
        "no figure rendered")


def test_no_run_noise_in_metadata(notebook):
    _, nb = notebook
    assert "papermill" not in nb.metadata and "widgets" not in nb.metadata
    for cell in nb.cells:
        assert not {"papermill", "execution"} & set(cell.metadata), cell.metadata


def test_no_absolute_paths_or_tensorflow_logs_in_outputs(notebook):
    _, nb = notebook
    for cell in code_cells(nb):
        text = json.dumps(cell.outputs)
        assert not ABSOLUTE_PATH.search(text), cell.source[:80]
        for marker in ("cuda_drivers", "cuInit", "absl::InitializeLog", "oneDNN",
                       "WARNING:absl", "WARNING:tensorflow", "node_def_util"):
            assert marker not in text, f"TensorFlow log in output of: {cell.source[:60]}"


def test_outputs_are_short_text(notebook):
    _, nb = notebook
    for cell in code_cells(nb):
        for output in cell.outputs:
            text = output.get("text", "") or output.get("data", {}).get("text/plain", "")
            assert len(text) < 8000, f"long output in: {cell.source[:60]}"


def test_checked_cells_exist(notebook):
    _, nb = notebook
    checked = [c for c in code_cells(nb) if c.source.startswith("# NBVAL_CHECK_OUTPUT")
               or "nbval-check-output" in c.metadata.get("tags", [])]
    assert checked, "no cell is compared by nbval"
