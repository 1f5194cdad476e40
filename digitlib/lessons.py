"""Find, run and clean the lesson notebooks with papermill and nbformat."""

from __future__ import annotations

import ast
import logging
import os
import re
from pathlib import Path

from .errors import LessonError, ParameterError
from .params import check_parameters

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def notebooks_dir() -> Path:
    """Return the folder holding the lesson notebooks of this checkout."""
    folder = Path(os.environ.get("DIGITLIB_NOTEBOOKS", NOTEBOOKS))
    if not folder.is_dir():
        raise LessonError(f"lesson notebooks not found in {folder}: run from a clone of the "
                          "repository or set DIGITLIB_NOTEBOOKS")
    return folder


def lesson_paths(first: str = "01", last: str = "05") -> list[Path]:
    """Return the lesson notebooks numbered from ``first`` to ``last``, in order."""
    found = sorted(p for p in notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
    chosen = [p for p in found if first <= p.name[:2] <= last]
    if not chosen:
        raise ParameterError(f"no lessons numbered {first} to {last} in {notebooks_dir()}")
    return chosen


def parse_value(text: str):
    """Type a command-line value the way papermill's -p does: bool, None, int, float or str."""
    if text in ("True", "False"):
        return text == "True"
    if text == "None":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def lesson_parameters(path: Path) -> dict:
    """Return the default values of a lesson's ``parameters`` cell."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.get("metadata", {}).get("tags", []):
            tree = ast.parse(cell.source)
            return {
                node.targets[0].id: ast.literal_eval(node.value)
                for node in tree.body
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            }
    return {}


def resolve_parameters(paths: list[Path], given: dict) -> dict:
    """Check ``given`` against the lessons' parameters; raise naming the first bad one."""
    defaults: dict = {}
    for path in paths:
        defaults.update(lesson_parameters(path))
    unknown = [name for name in given if name not in defaults]
    if unknown:
        raise ParameterError(
            f"parameter {unknown[0]!r} is not used by these lessons; "
            f"known: {', '.join(sorted(defaults))}")
    check_parameters(**given)
    return {**defaults, **given}


def execute(path: Path, output: Path, parameters: dict) -> None:
    """Execute one lesson with papermill; raise LessonError with the lesson's own error."""
    import papermill

    logging.getLogger("papermill").setLevel(logging.WARNING)
    try:
        papermill.execute_notebook(
            str(path), str(output), parameters=parameters, cwd=str(path.parent),
            progress_bar=False, log_output=False, kernel_name="python3",
            # Once the last cell is done, stop the kernel at once: waiting for a kernel that
            # has loaded TensorFlow to exit cost 1.5-5 s per lesson (benchmarks/chain_profile.py).
            shutdown_kernel="immediate",
        )
    except papermill.PapermillExecutionError as error:
        raise LessonError(f"lesson {path.stem} failed: {error.ename}: "
                          f"{_first_line(error.evalue)}", notebook=output) from None
    finally:
        if output.exists():
            clean_file(output)


def _first_line(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text)).strip()
    return text.splitlines()[0] if text else ""


def clean(nb):
    """Strip run timestamps, papermill metadata and widget state from a notebook."""
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for key in ("papermill", "execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                output.get("metadata", {}).pop("papermill", None)
                output.get("data", {}).pop("application/vnd.jupyter.widget-view+json", None)
    return nb


def clean_file(path: Path) -> None:
    """Clean the notebook at ``path`` in place."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbformat.write(clean(nb), path)
