"""Find, run and clean the lesson notebooks with papermill and nbformat."""

from __future__ import annotations

import ast
import logging
import os
import re
from pathlib import Path

from .errors import LessonError, ParameterError
from .params import CHECKS, check_parameters, unknown_message

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
#: The folder that holds the digitlib package: the checkout, in a clone of the repository.
CHECKOUT = Path(__file__).resolve().parents[1]


def notebooks_dir() -> Path:
    """Return the folder holding the lesson notebooks of this checkout."""
    folder = Path(os.environ.get("DIGITLIB_NOTEBOOKS", NOTEBOOKS))
    if not folder.is_dir():
        raise LessonError(f"lesson notebooks not found in {folder}: run from a clone of the "
                          "repository or set DIGITLIB_NOTEBOOKS")
    return folder


def lesson_number(text, flag: str = "lesson") -> int:
    """Return the lesson number that ``text`` names ("4", "04" or 4), or raise naming ``flag``."""
    try:
        number = int(str(text).strip())
    except ValueError:
        number = -1
    if number < 0:
        raise ParameterError(f"{flag} must be a lesson number such as 4 or 04, got {text!r}")
    return number


def lesson_paths(first="01", last="05") -> list[Path]:
    """Return the lesson notebooks numbered from ``first`` to ``last``, in order.

    The numbers compare as numbers, so ``last="5"`` and ``last="05"`` are the same lesson;
    ``last=None`` is the last lesson there is, and a ``last`` past it is an error.
    """
    found = sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
    final = max((int(p.name[:2]) for p in found), default=0)
    low = lesson_number(first, "--first")
    high = final if last is None else lesson_number(last, "--last")
    if last is not None and high > final:
        raise ParameterError(f"--last {last}: there is no lesson {high:02d}; the last lesson "
                             f"is {final:02d}")
    if low > high:
        raise ParameterError(f"--first {first} comes after --last {last if last else final}")
    chosen = [p for p in found if low <= int(p.name[:2]) <= high]
    if not chosen:
        raise ParameterError(f"no lessons numbered {low:02d} to {high:02d} in {notebooks_dir()}")
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
    return {name: ast.literal_eval(found["default"]) for name, found in _inspect(path).items()}


def parameter_help(path: Path) -> dict[str, str]:
    """Return each parameter of a lesson with the comment beside it in its parameters cell."""
    return {name: found["help"] for name, found in _inspect(path).items()}


def _inspect(path: Path) -> dict:
    import papermill

    return papermill.inspect_notebook(str(path))


#: The Jupyter kernel that runs each lesson.
KERNEL = "python3"

def resolve_parameters(paths: list[Path], given: dict, run_dir=None) -> dict[Path, dict]:
    """Check ``given`` against the lessons; return what papermill gives each lesson.

    Each lesson receives only the given parameters it declares, and keeps its own
    defaults for the rest: defaults never pass from one lesson to another. Every given
    name must be declared by at least one of the lessons. ``run_dir`` is the run folder,
    given to every lesson that declares one.

    Raises:
        ParameterError: naming the first parameter that no lesson uses or whose value
            cannot work, with the closest known name.
    """
    declared = {path: lesson_parameters(path) for path in paths}
    known = sorted({name for names in declared.values() for name in names})
    for name in given:
        if name not in known:
            raise ParameterError(unknown_message(
                name, known, f"these lessons ({lessons_label(paths)})"))
    check_parameters(**{k: v for k, v in given.items() if k in CHECKS})
    plan = {}
    for path, defaults in declared.items():
        params = {k: v for k, v in given.items() if k in defaults}
        if run_dir is not None and "run_dir" in defaults:
            params["run_dir"] = str(run_dir)
        plan[path] = params
    return plan


def lessons_label(paths: list[Path]) -> str:
    """Return the numbers of the notebooks ``paths``: ``01 to 05``, or ``04`` for one."""
    first, last = paths[0].name[:2], paths[-1].name[:2]
    return first if first == last else f"{first} to {last}"


def check_run_dir(run_dir) -> Path:
    """Return ``run_dir`` resolved; refuse one that is or holds the lessons or the checkout.

    Raises:
        ParameterError: ``run_dir`` is the lessons' folder or the checkout, or holds one.
    """
    run_dir = Path(run_dir).resolve()
    for what, folder in (("the lessons' folder", notebooks_dir().resolve()),
                         ("the digitlib checkout", CHECKOUT)):
        if run_dir == folder or run_dir in folder.parents:
            where = "is" if run_dir == folder else f"holds {folder},"
            raise ParameterError(f"run folder {run_dir} {where} {what}: a run must not write "
                                 "there; choose another --run-dir")
    return run_dir


def _outputs(paths: list[Path]) -> dict[str, str]:
    """Return each name that the lessons ``paths`` write in a run folder, with its lesson."""
    from .runs import ARTIFACTS

    names = {}
    for path in paths:
        names[path.name] = path.stem
        names.update({n: path.stem for n, (lesson, _) in ARTIFACTS.items() if lesson == path.stem})
    return names


def check_not_foreign(run_dir: Path, paths: list[Path]) -> None:
    """Refuse to run ``paths`` into ``run_dir`` where they would replace a file no run wrote.

    Raises:
        ParameterError: naming the first such file and the lesson that would replace it.
    """
    from .runs import MANIFEST, written

    ours = written(run_dir)
    for name, lesson in sorted(_outputs(paths).items()):
        if (Path(run_dir) / name).exists() and name not in ours:
            raise ParameterError(f"{Path(run_dir) / name} is not recorded as a run's output "
                                 f"(in {MANIFEST}) and {lesson} would replace it: move it "
                                 "away, or choose another --run-dir")


def clear_previous(run_dir: Path, first) -> list[Path]:
    """Remove what runs of lessons numbered ``first`` and later left in ``run_dir``; return it.

    Only names that a run recorded writing there (:func:`digitlib.runs.written`) are
    removed, so a file of yours with a lesson's or an artifact's name stays. What earlier
    lessons wrote stays too: it is the input of a run that starts at ``first``.
    """
    import shutil

    from .runs import record_written, written

    ours = written(run_dir)
    start = lesson_number(first, "--first")
    paths = [path for path in sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
             if int(path.name[:2]) >= start]
    removed = []
    for name in sorted(_outputs(paths)):
        target = Path(run_dir) / name
        if name not in ours:
            continue
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        else:
            continue
        removed.append(target)
    if removed:
        record_written(run_dir, remove=[p.name for p in removed])
    return removed


def sample_warning(notebook: Path) -> str | None:
    """Return the warning an executed lesson printed about falling back to the sample, if any."""
    import nbformat

    for cell in nbformat.read(notebook, as_version=4).cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                found = re.search(r"UserWarning: (Could not get the full MNIST.*)", output.text)
                if found:
                    return found.group(1).strip()
    return None


def execute(path: Path, output: Path, parameters: dict, timeout: float | None = None) -> None:
    """Execute one lesson with papermill; raise LessonError, in one line, if it fails.

    ``timeout`` is the most seconds any one cell may run (None: no limit).

    Raises:
        LessonError: the lesson raised (with its own error), its kernel died or is not
            installed, or a cell ran past ``timeout``.
    """
    import papermill
    from jupyter_client.kernelspec import NoSuchKernel
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    logging.getLogger("papermill").setLevel(logging.WARNING)
    name = f"lesson {path.stem}"
    try:
        papermill.execute_notebook(
            str(path), str(output), parameters=parameters, cwd=str(path.parent),
            progress_bar=False, log_output=False, kernel_name=KERNEL,
            execution_timeout=timeout,
            # Once the last cell is done, stop the kernel at once: waiting for a kernel that
            # has loaded TensorFlow to exit cost 1.5-5 s per lesson (benchmarks/chain_profile.py).
            shutdown_kernel="immediate",
        )
    except papermill.PapermillExecutionError as error:
        raise LessonError(f"{name} failed: {error.ename}: "
                          f"{_first_line(error.evalue)}", notebook=output) from None
    except DeadKernelError:
        raise LessonError(f"{name} stopped: its Python kernel died (killed, or out of "
                          "memory?)") from None
    except CellTimeoutError:
        raise LessonError(f"{name} timed out: a cell ran longer than {timeout:g} s") from None
    except NoSuchKernel:
        raise LessonError(f"{name} cannot start: no Jupyter kernel named {KERNEL!r} "
                          "(pip install ipykernel)") from None
    except Exception as error:  # the kernel did not start or answer, the notebook is broken
        raise LessonError(f"{name} could not run: {type(error).__name__}: "
                          f"{_first_line(error) or 'no message'}") from None
    finally:
        if output.exists():
            try:
                clean_file(output)
            except Exception:  # a notebook cut short by a dead kernel: leave it as it is
                pass


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
