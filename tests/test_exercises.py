"""The exercises: the checker itself, the lessons' contract, and every solution run in its lesson.

Contract (issue 25): each answer cell carries the tag ``exercise:NN.k``; the cell that checks it
carries ``check:NN.k`` and calls ``.check(``; ``dl.exercises.solution_code(id)`` put in place of
the answer cell makes the check print ``Correct``, and its first wrong answer makes it print
``Incorrect`` (both in one run of the lessons); the committed lessons print ``Not attempted``.
"""

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from digitlib import exercises
from digitlib.errors import ParameterError
from digitlib.exercises import Exercise, Incorrect, NotAttempted, ____, expect

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: A small run of every lesson: the chain the solutions are checked in.
CHAIN_PARAMETERS = ["-p", "train_size", "1200", "-p", "epochs", "1"]


def _tags(cell):
    return cell.get("metadata", {}).get("tags", [])


def _tagged(nb, prefix):
    """Return {id: cell} for the cells tagged ``prefix:<id>``."""
    found = {}
    for cell in nb.cells:
        for tag in _tags(cell):
            if tag.startswith(prefix + ":"):
                found[tag.split(":", 1)[1]] = cell
    return found


def _text(cell):
    return "".join(out.get("text", "") for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream")


# --- the checker ------------------------------------------------------------------------------

def _square_judge(function, env):
    got = function(3)
    expect(isinstance(got, (int, float)), f"your function returned {type(got).__name__}, not a number")
    expect(got == 9, "square(3) should be 3 times 3")
    return "square(3) is 9"


SQUARE = Exercise(id="99.1", names=("square",), judge=_square_judge,
                  hints=["Multiply x by itself.", "`return x * x`"],
                  answer="def square(x):\n    return x * x\n", why="x squared is x times x.",
                  wrong=["def square(x):\n    return x + x\n"])


def test_blank_runs_in_arithmetic_and_calls():
    assert (____ / 255 + 1) is ____
    assert ____(3).shape is ____


def test_verdicts_start_with_one_of_three_words():
    assert SQUARE.verdict(____).startswith("Not attempted")
    assert SQUARE.verdict(None).startswith("Not attempted")
    assert SQUARE.verdict(lambda x: ____).startswith("Incorrect")  # returns the blank: not a number
    assert SQUARE.verdict(lambda x: x + x).startswith("Incorrect: square(3)")
    assert SQUARE.verdict(lambda x: x ** 2) == "Correct: square(3) is 9"
    learner = {}
    exec("def square(x):\n    return 1 / 0\n", learner)  # code from a cell, as in a notebook
    assert SQUARE.verdict(learner["square"]) == \
        "Incorrect: your code raised ZeroDivisionError: division by zero"
    # the check itself fails on an answer of the wrong kind: it says so, not "your code raised"
    assert SQUARE.verdict(5).startswith("Incorrect: the check could not use your answer (TypeError")
    assert SQUARE.verdict(1, 2).startswith("Incorrect: the check takes `square`")


def test_lesson_06_images_allow_a_blends_overshoot_and_say_how_to_fix_the_rest():
    from digitlib.exercises.lesson06 import _image

    digit = np.zeros((28, 28))
    digit[8:20, 12:16] = 1.0
    overshoot = digit + 0.01 * np.sin(np.arange(28))  # what ndimage's default order=3 leaves
    assert _image(overshoot, "misread").min() == 0 and _image(overshoot, "misread").max() == 1
    with pytest.raises(Incorrect, match="divide the test digit by 255"):
        _image(digit * 255, "misread")
    with pytest.raises(Incorrect, match=r"down to -0\.5.*np\.clip"):
        _image(digit - 0.5, "misread")


def test_judge_may_say_not_attempted():
    def judge(value, env):
        raise NotAttempted("run the cell that trains first")

    assert Exercise("99.2", ("x",), judge, [], "x = 1", "").verdict(1) == \
        "Not attempted: run the cell that trains first"


def test_check_reads_the_callers_namespace(capsys):
    def judge(value, env):
        expect(value == env["target"] * 2, "double the target")

    exercise = Exercise("99.3", ("x",), judge, ["twice"], "x = 2 * target", "")
    globals()["target"] = 21  # the check reads the caller's globals, as in a notebook
    exercise.check(42)
    exercise.check(41)
    exercise.hint()
    exercise.hint(5)
    exercise.solution()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Correct."
    assert lines[1] == "Incorrect: double the target"
    assert lines[2] == "Hint 1: twice"
    assert lines[3] == "Hint 1: twice"  # there is no fifth hint: the last one
    assert "    x = 2 * target" in lines


def test_unknown_ids_are_one_line_errors():
    with pytest.raises(ParameterError, match="no exercise '4.x'"):
        exercises.solution_code("4.x")
    with pytest.raises(ParameterError, match="lesson 98 has no exercises"):
        exercises.lesson(98)


# --- every lesson's exercises ------------------------------------------------------------------

@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_lesson_has_checked_exercises(path):
    nb = nbformat.read(path, as_version=4)
    number = path.name[:2]
    answers, checks = _tagged(nb, "exercise"), _tagged(nb, "check")
    assert len(answers) >= 3, f"{path.name} has {len(answers)} exercises"
    assert set(answers) == set(checks), f"{path.name}: answer and check cells differ"
    known = {e.id: e for e in exercises.lesson(number)}
    assert set(answers) == set(known), f"{path.name}: cells {sorted(answers)}, exercises {sorted(known)}"
    order = {id(cell): i for i, cell in enumerate(nb.cells)}
    for exercise_id, cell in answers.items():
        check = checks[exercise_id]
        assert order[id(check)] > order[id(cell)], f"{exercise_id}: the check comes before the answer"
        assert ".check(" in check.source, exercise_id
        assert "____" in cell.source, f"{exercise_id}: the committed answer cell is not blank"
        assert _text(check).startswith("Not attempted"), f"{exercise_id}: {_text(check)!r}"
        ast.parse(exercises.solution_code(exercise_id))
        assert known[exercise_id].wrong, f"{exercise_id} has no wrong answer to test"
        assert known[exercise_id].hints, f"{exercise_id} has no hint"


def _bound_names(code: str) -> list[str]:
    """Return the names that ``code`` binds, at its top level or inside a loop or branch."""
    names = []
    for node in ast.parse(code).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store) \
                    and inner.id not in names:
                names.append(inner.id)
    return names


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.stem)
def test_checks_take_exactly_the_names_each_solution_binds(path):
    """So an answer cell with each of those names set to None gives ``Not attempted``, never an error.

    The check cell passes the exercise's names, bare, in order; the framework turns a None
    among them into "Not attempted" before the judge runs (test_verdicts_start_with_one_of_three_words).
    """
    nb = nbformat.read(path, as_version=4)
    for exercise_id, cell in _tagged(nb, "check").items():
        exercise = exercises._find(exercise_id)
        calls = [node for node in ast.walk(ast.parse(cell.source))
                 if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "check"]
        assert len(calls) == 1, exercise_id
        assert [ast.unparse(arg) for arg in calls[0].args] == list(exercise.names), exercise_id
        assert set(exercise.names) <= set(_bound_names(exercises.solution_code(exercise_id))), \
            f"{exercise_id}: the solution does not bind every name its check takes"


def _variant(kind: str, exercise_id: str) -> str:
    """Return the exercise's solution, or the first of its wrong answers."""
    if kind == "solution":
        return exercises.solution_code(exercise_id)
    return exercises._find(exercise_id).wrong[0]


def _with_answers(nb):
    """Put each exercise's solution in its answer cell, after a wrong answer and its own check.

    So one run of the lessons checks both: the copy of the check cell (tagged ``wrong:<id>``)
    must print Incorrect, and the lesson's check cell, after the solution, Correct. The
    solution that follows rebinds every name the wrong answer bound.
    """
    checks = _tagged(nb, "check")
    cells = []
    for cell in nb.cells:
        answered = [tag.split(":", 1)[1] for tag in _tags(cell) if tag.startswith("exercise:")]
        if answered:
            exercise_id = answered[0]
            cells.append(nbformat.v4.new_code_cell(_variant("wrong", exercise_id)))
            cells.append(nbformat.v4.new_code_cell(
                checks[exercise_id].source, metadata={"tags": [f"wrong:{exercise_id}"]}))
            cell.source = _variant("solution", exercise_id)
        cells.append(cell)
    nb.cells = cells
    return nb


@pytest.fixture(scope="module")
def answered_chain(tmp_path_factory):
    """Run every lesson with wrong answers then solutions; return {(kind, id): check output}."""
    tmp_path = tmp_path_factory.mktemp("exercises")
    lessons = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", lessons)
    for path in sorted(lessons.glob("[0-9][0-9]_*.ipynb")):
        nbformat.write(_with_answers(nbformat.read(path, as_version=4)), path)
    run_dir = tmp_path / "run"
    env = {**os.environ, "DIGITLIB_NOTEBOOKS": str(lessons), "PYTHONPATH": str(ROOT)}
    last = LESSONS[-1].name[:2]
    result = subprocess.run([sys.executable, "-m", "digitlib", "run", "--first", "01", "--last", last,
                             "--run-dir", str(run_dir), *CHAIN_PARAMETERS],
                            capture_output=True, text=True, env=env, cwd=tmp_path, timeout=1500)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    outputs = {}
    for path in sorted(run_dir.glob("[0-9][0-9]_*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            assert not any(o.get("output_type") == "error" for o in cell.get("outputs", [])), path.name
        for kind, verdict in (("check", "solution"), ("wrong", "wrong")):
            for exercise_id, cell in _tagged(nb, kind).items():
                outputs[verdict, exercise_id] = _text(cell).strip()
    return outputs


@pytest.mark.parametrize("kind, verdict", [("solution", "Correct"), ("wrong", "Incorrect")])
def test_every_exercise_in_its_lesson(answered_chain, kind, verdict):
    expected = {e.id for path in LESSONS for e in exercises.lesson(path.name[:2])}
    outputs = {exercise_id: text for (which, exercise_id), text in answered_chain.items()
               if which == kind}
    assert set(outputs) == expected
    for exercise_id, text in outputs.items():
        assert len(text.splitlines()) == 1, f"{exercise_id}: {text!r}"
        assert text.startswith(verdict), f"{kind} of {exercise_id}: {text}"
