"""`digitlib run` removes only what a run wrote, and every failure is one line (issue 23)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

import digitlib.lessons
from digitlib.cli import main
from digitlib.lessons import CHECKOUT, execute
from digitlib.runs import ARTIFACTS, MANIFEST, RunDir, written

ROOT = Path(__file__).resolve().parents[1]
METRICS = {"model": "default", "test_accuracy": 0.99, "train_seconds": 1.0, "epochs": 1,
           "train_examples": 540, "data_source": "sample"}


def notebook(*sources, parameters="run_dir = '../runs/default'"):
    """Return a tiny lesson: a parameters cell, then one cell per source."""
    nb = new_notebook(cells=[new_code_cell(parameters, metadata={"tags": ["parameters"]}),
                             *[new_code_cell(source) for source in sources]])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


@pytest.fixture
def lessons(tmp_path, monkeypatch):
    """A copy of the seven lessons' parameter cells in a folder of their own, never executed.

    The fake execute writes the executed notebook and, through RunDir, each artifact of
    the lesson, and records which lessons ran and what the run folder held when each began.
    """
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for path in sorted(digitlib.lessons.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        [source] = [cell.source for cell in nbformat.read(path, as_version=4).cells
                    if "parameters" in cell.metadata.get("tags", [])]
        nbformat.write(notebook(parameters=source), folder / path.name)
    monkeypatch.setenv("DIGITLIB_NOTEBOOKS", str(folder))
    calls = []

    def fake_execute(path, output, parameters, timeout=None):
        held = sorted(p.name for p in Path(output).parent.iterdir())
        calls.append((path.stem, held))
        nbformat.write(notebook(), output)
        run = RunDir(parameters["run_dir"])
        for name, (lesson, _) in ARTIFACTS.items():
            if lesson == path.stem:
                run.save_json(name, METRICS if name == "metrics.json" else {"made by": lesson})

    monkeypatch.setattr("digitlib.lessons.execute", fake_execute)
    return folder, calls


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def one_line(err: str) -> str:
    assert err.startswith("digitlib: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


# --- the lessons' folder and the checkout are never a run folder -----------------------------

def test_run_dir_that_is_the_lessons_folder_is_refused(lessons, capsys):
    folder, calls = lessons
    before = snapshot(folder)
    assert main(["run", "--run-dir", str(folder), "--quiet"]) == 2
    assert "is the lessons' folder" in one_line(capsys.readouterr().err)
    assert snapshot(folder) == before and not calls


def test_dot_from_inside_the_lessons_folder_is_refused(lessons, capsys, monkeypatch):
    folder, calls = lessons
    before = snapshot(folder)
    monkeypatch.chdir(folder)
    assert main(["run", "--run-dir", ".", "--quiet", "--last", "7"]) == 2
    assert "is the lessons' folder" in one_line(capsys.readouterr().err)
    assert snapshot(folder) == before and not calls


@pytest.mark.parametrize("where", [CHECKOUT, CHECKOUT.parent, CHECKOUT / "notebooks" / ".."])
def test_run_dir_that_is_or_holds_the_checkout_is_refused(capsys, monkeypatch, where):
    def fail(*args, **kwargs):
        raise AssertionError("a lesson ran")

    monkeypatch.setattr("digitlib.lessons.execute", fail)
    assert main(["run", "--run-dir", str(where), "--quiet"]) == 2
    err = one_line(capsys.readouterr().err)
    assert "a run must not write there" in err


def test_run_dir_that_holds_the_lessons_folder_is_refused(lessons, capsys):
    folder, calls = lessons
    assert main(["run", "--run-dir", str(folder.parent), "--quiet"]) == 2
    assert f"holds {folder}, the lessons' folder" in one_line(capsys.readouterr().err)
    assert not calls


# --- clearing removes only what a run recorded -----------------------------------------------

def test_users_files_named_like_artifacts_stay(lessons, tmp_path, capsys):
    _, calls = lessons
    home = tmp_path / "home"
    (home / "experiments").mkdir(parents=True)
    (home / "experiments" / "notes.txt").write_text("mine")
    (home / "metrics.json").write_text('{"mine": true}')
    (home / "05_evaluate.ipynb").write_text("mine too")
    assert main(["run", "--run-dir", str(home), "--quiet", "--last", "4"]) == 0
    assert (home / "metrics.json").read_text() == '{"mine": true}'
    assert (home / "05_evaluate.ipynb").read_text() == "mine too"
    assert (home / "experiments" / "notes.txt").read_text() == "mine"
    assert [stem for stem, _ in calls] == ["01_load_data", "02_preprocess", "03_build_model",
                                           "04_train"]


def test_run_that_would_replace_a_users_file_is_refused(lessons, tmp_path, capsys):
    """A file of yours with a lesson's name is never replaced: the run stops before it starts."""
    _, calls = lessons
    home = tmp_path / "home"
    (home / "experiments").mkdir(parents=True)
    (home / "experiments" / "notes.txt").write_text("mine")
    (home / "07_experiments.ipynb").write_text("my own copy")
    before = snapshot(home)
    assert main(["run", "--run-dir", str(home), "--quiet", "--first", "6", "--last", "7"]) == 2
    err = one_line(capsys.readouterr().err)
    assert f"{home / '07_experiments.ipynb'} is not recorded as a run's output" in err
    assert "07_experiments would replace it" in err
    assert snapshot(home) == before and not calls


def test_run_into_home_through_lesson_7_keeps_a_users_experiments(lessons, tmp_path):
    """`--run-dir ~ --last 7` leaves ~/experiments alone: no run made it."""
    _, calls = lessons
    home = tmp_path / "home"
    (home / "experiments").mkdir(parents=True)
    (home / "experiments" / "notes.txt").write_text("mine")
    assert main(["run", "--run-dir", str(home), "--quiet", "--last", "7"]) == 0
    assert main(["run", "--run-dir", str(home), "--quiet", "--last", "7"]) == 0
    assert (home / "experiments" / "notes.txt").read_text() == "mine"
    assert "experiments" not in written(home)
    assert len(calls) == 14


def test_rerun_clears_what_the_earlier_run_wrote_from_first_on(lessons, tmp_path):
    _, calls = lessons
    run_dir = tmp_path / "run"
    assert main(["run", "--run-dir", str(run_dir), "--quiet", "--last", "7"]) == 0
    recorded = written(run_dir)
    assert {"01_load_data.ipynb", "dataset.json", "mnist.keras", "metrics.json",
            "07_experiments.ipynb"} <= recorded
    calls.clear()
    assert main(["run", "--run-dir", str(run_dir), "--quiet", "--first", "4", "--last", "5"]) == 0
    held_at_04 = dict(calls)["04_train"]
    assert {"dataset.json", "split.npz", "architecture.keras"} <= set(held_at_04)
    assert not {"mnist.keras", "history.json", "metrics.json", "05_evaluate.ipynb",
                "06_predict_your_digits.ipynb", "07_experiments.ipynb"} & set(held_at_04)
    assert "metrics.json" in written(run_dir)


def test_manifest_is_written_atomically_by_run_dir_writes(tmp_path):
    run = RunDir(tmp_path / "run")
    run.save_json("history.json", {})
    run.save_arrays("split.npz", train_index=[0])
    assert json.loads((tmp_path / "run" / MANIFEST).read_text()) == {
        "written": ["history.json", "split.npz"]}
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        MANIFEST, "history.json", "split.npz"]


# --- failures are one line ------------------------------------------------------------------

@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A lessons folder of tiny notebooks, run for real: write one with ``tiny(name, code)``."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    monkeypatch.setenv("DIGITLIB_NOTEBOOKS", str(folder))

    def write(name, *sources):
        nbformat.write(notebook(*sources), folder / f"{name}.ipynb")
        return folder / f"{name}.ipynb"

    return write


def test_killed_kernel_is_one_line(tiny, tmp_path, capsys):
    tiny("01_die", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    assert main(["run", "--run-dir", str(tmp_path / "run"), "--quiet", "--last", "1"]) == 1
    err = one_line(capsys.readouterr().err)
    assert "lesson 01_die stopped: its Python kernel died" in err


def test_killed_kernel_through_the_command_line(tiny, tmp_path):
    tiny("01_die", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)")
    done = subprocess.run([sys.executable, "-m", "digitlib", "run", "--run-dir",
                           str(tmp_path / "run"), "--quiet", "--last", "1"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1
    assert done.stderr == ("digitlib: lesson 01_die stopped: its Python kernel died (killed, "
                           "or out of memory?)\n")


def test_lesson_that_raises_is_one_line_naming_its_notebook(tiny, tmp_path):
    tiny("01_fail", "raise ValueError('no digits here')")
    done = subprocess.run([sys.executable, "-m", "digitlib", "run", "--run-dir",
                           str(tmp_path / "run"), "--quiet", "--last", "1"],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "01_fail" in done.stderr and "no digits here" in done.stderr
    assert str(tmp_path / "run" / "01_fail.ipynb") in done.stderr


def test_lesson_that_times_out_is_one_line(tiny, tmp_path):
    path = tiny("01_sleep", "import time\ntime.sleep(60)")
    with pytest.raises(digitlib.LessonError, match="^lesson 01_sleep timed out: a cell ran "
                                                   "longer than 2 s$"):
        execute(path, tmp_path / "out.ipynb", {}, timeout=2)


def test_missing_kernel_is_one_line(tiny, tmp_path, capsys, monkeypatch):
    tiny("01_hello", "print('hello')")
    monkeypatch.setattr("digitlib.lessons.KERNEL", "no-such-kernel-here")
    assert main(["run", "--run-dir", str(tmp_path / "run"), "--quiet", "--last", "1"]) == 1
    err = one_line(capsys.readouterr().err)
    assert "lesson 01_hello cannot start: no Jupyter kernel named 'no-such-kernel-here'" in err


def test_older_metrics_without_todays_keys_is_one_line(tiny, tmp_path, capsys):
    run_dir = tmp_path / "run"
    tiny("05_evaluate", "import digitlib as dl\n"
                        "dl.RunDir(run_dir).save_json('metrics.json', {'test_accuracy': 0.9})")
    assert main(["run", "--run-dir", str(run_dir), "--quiet", "--first", "5",
                 "--last", "5"]) == 2
    err = one_line(capsys.readouterr().err)
    assert f"{run_dir / 'metrics.json'}: no 'model' in it" in err
    assert "run 05_evaluate again" in err


@pytest.mark.parametrize("last", ["9", "09", "99"])
def test_last_past_the_last_lesson_is_refused(lessons, tmp_path, capsys, last):
    _, calls = lessons
    assert main(["run", "--run-dir", str(tmp_path / "r"), "--quiet", "--last", last]) == 2
    err = one_line(capsys.readouterr().err)
    final = sorted(digitlib.lessons.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))[-1].name[:2]
    assert f"--last {last}: there is no lesson {int(last):02d}; the last lesson is {final}" in err
    assert not calls and not (tmp_path / "r").exists()


def test_predict_without_a_model_says_where_it_looked(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DIGITLIB_RUNS", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "digit.png").write_bytes(b"")
    assert main(["predict", "digit.png"]) == 2
    err = one_line(capsys.readouterr().err)
    assert f"no trained model at {tmp_path / 'runs' / 'default' / 'mnist.keras'}" in err
    assert "--model PATH" in err


def test_predict_with_a_file_that_is_no_model_is_a_whole_sentence(tmp_path, capsys):
    history = tmp_path / "history.json"
    history.write_text('{"history": {}}')
    (tmp_path / "digit.png").write_bytes(b"")
    assert main(["predict", "--model", str(history), str(tmp_path / "digit.png")]) == 2
    assert capsys.readouterr().err == (
        f"digitlib: {history}: not a model file; a trained model is a .keras or .h5 file, "
        "such as mnist.keras\n")


def test_refresh_lessons_runs_through_the_last_lesson(tiny, monkeypatch, capsys):
    path = tiny("01_hello", "print('hello from 01')")
    tiny("02_hello", "print('hello from 02')")
    monkeypatch.setenv("DIGITLIB_DATA", "unused by these lessons")
    assert main(["refresh-lessons", "--first", "2"]) == 0
    assert capsys.readouterr().out == "executing 02_hello.ipynb\n"

    def printed(notebook_path):
        cells = nbformat.read(notebook_path, as_version=4).cells
        return "".join(o.get("text", "") for c in cells if c.cell_type == "code" for o in c.outputs)

    assert printed(path.parent / "02_hello.ipynb") == "hello from 02\n"
    assert printed(path) == ""  # before --first: left as it was
