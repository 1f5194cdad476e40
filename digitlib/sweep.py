"""Run the lessons once per combination of parameter values and collect the results.

``sweep(sweep_dir, {"optimizer": "adadelta,adam", "learning_rate": [0.001, 1.0]})`` runs
lessons 01 to 05 four times, each into its own folder under ``sweep_dir`` named after its
parameters (``optimizer=adadelta,learning_rate=0.001``), and writes ``sweep.csv`` there
with one row per run. A run that finished is skipped when the same sweep runs again.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from functools import partial
from pathlib import Path

import pandas as pd

from .errors import DigitlibError, MissingArtifactError, ParameterError
from .runs import RunDir

TABLE = "sweep.csv"
DONE = "params.json"
METRICS = ("test_accuracy", "test_loss", "train_seconds")
_UNSAFE = re.compile(r"[^A-Za-z0-9._=,+-]")
_MAX_NAME = 120


def parse_values(name: str, values) -> list:
    """Return the values of one swept parameter: a list as given, or a comma string typed."""
    from .lessons import parse_value

    if isinstance(values, str):
        parts = values.split(",")
        if any(not part.strip() for part in parts):
            raise ParameterError(f"parameter {name!r} has an empty value in {values!r}")
        return [parse_value(part.strip()) for part in parts]
    if isinstance(values, (list, tuple)):
        if not values:
            raise ParameterError(f"parameter {name!r} has no values")
        return list(values)
    return [values]


def combinations(grid) -> list[dict]:
    """Return the runs of ``grid`` in a stable order, each as ``{name: value}``.

    ``grid`` is either a dict of parameter values (every combination, the last name
    varying fastest), or a list of dicts, one per run, for sweeps that are not a product.
    """
    if grid is None:
        return [{}]
    if isinstance(grid, dict):
        names = list(grid)
        values = [parse_values(name, grid[name]) for name in names]
        return [dict(zip(names, combo)) for combo in itertools.product(*values)]
    runs = [dict(run) for run in grid]
    if not runs:
        raise ParameterError("the sweep has no runs")
    if any(not isinstance(name, str) for run in runs for name in run):
        raise ParameterError("parameter names must be strings")
    return runs


def run_name(params: dict) -> str:
    """Return a folder name that reads as the run's parameters, e.g. ``optimizer=adam``."""
    if not params:
        return "run"
    name = _UNSAFE.sub("_", ",".join(f"{key}={value}" for key, value in params.items()))
    if len(name) > _MAX_NAME:
        digest = hashlib.sha1(name.encode()).hexdigest()[:10]
        name = f"{name[:_MAX_NAME - 11]}-{digest}"
    return name


def plan(sweep_dir, grid=None, first: str = "01", last: str = "05", fixed=None) -> list[dict]:
    """Check every run of the sweep before any starts; return each run's name and parameters.

    Raises:
        ParameterError: naming the first parameter or value that cannot work.
    """
    from .lessons import lesson_paths, resolve_parameters

    fixed = dict(fixed or {})
    paths = lesson_paths(first, last)
    runs, names = [], set()
    for params in combinations(grid):
        if "run_dir" in params or "run_dir" in fixed:
            raise ParameterError("the sweep chooses each run's run_dir; do not set it")
        both = sorted(set(params) & set(fixed))
        if both:
            raise ParameterError(f"parameter {both[0]!r} is both swept and fixed")
        name = run_name(params)
        if name in names:
            raise ParameterError(f"two runs of the sweep would share the folder {name!r}")
        names.add(name)
        given = {**params, **fixed}
        resolve_parameters(paths, {**given, "run_dir": str(Path(sweep_dir) / name)})
        runs.append({"name": name, "swept": params, "given": given})
    return runs


def _marker(run: dict, first: str, last: str) -> dict:
    return {"parameters": run["given"], "lessons": [first, last]}


def is_done(run_dir: Path, run: dict, first: str = "01", last: str = "05") -> bool:
    """Return whether ``run_dir`` holds a finished run of these parameters and lessons."""
    path = Path(run_dir) / DONE
    if not path.is_file():
        return False
    try:
        recorded = json.loads(path.read_text())
    except ValueError:
        return False
    return recorded == json.loads(json.dumps(_marker(run, first, last)))


def _one_line(error: Exception) -> str:
    text = str(error).strip()
    text = text.splitlines()[0] if text else ""
    return text if isinstance(error, DigitlibError) else f"{type(error).__name__}: {text}"


def _execute_run(run: dict, sweep_dir: Path, paths: list, first: str, last: str,
                 stop: threading.Event) -> str | None:
    """Run the lessons of one run unless it finished before; return None or its error."""
    from .lessons import execute, lesson_parameters

    folder = RunDir(sweep_dir / run["name"])
    if is_done(folder.path, run, first, last):
        return None
    (folder / DONE).unlink(missing_ok=True)
    (folder / "metrics.json").unlink(missing_ok=True)  # never report an older run's score
    parameters = {**run["given"], "run_dir": str(folder.path)}
    try:
        for path in paths:
            if stop.is_set():
                return "interrupted"
            used = {k: v for k, v in parameters.items() if k in lesson_parameters(path)}
            execute(path, folder / path.name, used)
    except Exception as error:  # a failed run is a row of the table, not the end of the sweep
        return _one_line(error)
    folder.save_json(DONE, _marker(run, first, last))
    return None


def _execute_all(runs: list[dict], work, jobs: int, bar,
                 stop: threading.Event) -> dict[str, str | None]:
    """Run ``work`` on every run, ``jobs`` at a time; return each run's error by name."""
    errors = {}
    if jobs == 1:  # in this thread, so that Ctrl-C stops the lesson at once
        for run in runs:
            errors[run["name"]] = work(run)
            bar.update()
        return errors
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {pool.submit(work, run): run["name"] for run in runs}
        try:
            for future in as_completed(futures):
                errors[futures[future]] = future.result()
                bar.update()
        except BaseException:  # Ctrl-C: start no more lessons; running ones finish first
            stop.set()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    return errors


def _row(sweep_dir: Path, run: dict, error: str | None) -> dict:
    metrics_path = sweep_dir / run["name"] / "metrics.json"
    metrics = {}
    if error is None and metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text())
    return {**run["given"], **{key: metrics.get(key) for key in METRICS},
            "run_dir": run["name"], "error": error}


def write_table(sweep_dir, rows: list[dict]) -> pd.DataFrame:
    """Write the rows to ``sweep.csv`` in ``sweep_dir`` atomically; return them as a table."""
    table = pd.DataFrame(rows)
    with RunDir(sweep_dir).atomic(TABLE) as tmp:
        table.to_csv(tmp, index=False)
    return table


def sweep(sweep_dir, grid=None, jobs: int = 1, first: str = "01", last: str = "05",
          progress: bool = True, fixed=None) -> pd.DataFrame:
    """Run lessons ``first`` to ``last`` once per combination of ``grid``; return the table.

    Args:
        sweep_dir: folder that receives one run folder per combination, and ``sweep.csv``.
        grid: ``{name: values}`` for every combination, values a list or a comma-separated
            string typed like papermill's ``-p`` ("adadelta,adam", "0.001,1.0"); or a list
            of ``{name: value}`` dicts, one per run.
        jobs: how many runs execute at once (each lesson runs in its own kernel).
        first, last: the lesson numbers each run executes.
        progress: show a progress bar over the runs on stderr.
        fixed: parameters given to every run, e.g. ``{"epochs": 2, "train_size": 6000}``.

    Returns:
        One row per run, in the grid's order: its parameters, ``test_accuracy``,
        ``test_loss``, ``train_seconds``, ``run_dir`` (relative to ``sweep_dir``) and
        ``error`` (None when the run succeeded). The same table is in ``sweep.csv``.

    Raises:
        ParameterError: before any run starts, when a parameter or value cannot work.

    Interrupting it (Ctrl-C) with ``jobs`` above 1 starts no new lesson but lets the
    running ones finish; finished runs are skipped when the same sweep runs again.
    """
    from tqdm import tqdm

    from ._quiet import muted_stderr
    from .lessons import lesson_paths

    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ParameterError(f"jobs must be a whole number >= 1, got {jobs!r}")
    sweep_dir = Path(sweep_dir).resolve()
    runs = plan(sweep_dir, grid, first, last, fixed)
    paths = lesson_paths(first, last)
    sweep_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    work = partial(_execute_run, sweep_dir=sweep_dir, paths=paths, first=first, last=last,
                   stop=stop)
    with muted_stderr() as stderr:  # the kernels' own start-up chatter
        with tqdm(total=len(runs), unit="run", disable=not progress, file=stderr) as bar:
            errors = _execute_all(runs, work, jobs, bar, stop)
    return write_table(sweep_dir, [_row(sweep_dir, run, errors[run["name"]]) for run in runs])


def load_table(sweep_dir) -> pd.DataFrame:
    """Read the ``sweep.csv`` of a sweep."""
    path = Path(sweep_dir) / TABLE
    if not path.is_file():
        raise MissingArtifactError(f"no {TABLE} in {sweep_dir}: run the sweep first")
    return pd.read_csv(path)


def load_histories(sweep_dir, table: pd.DataFrame | None = None) -> dict[str, dict]:
    """Return each run's per-epoch training history, by run folder, in the table's order."""
    table = load_table(sweep_dir) if table is None else table
    histories = {}
    for name in table["run_dir"]:
        path = Path(sweep_dir) / name / "history.json"
        if path.is_file():
            histories[name] = json.loads(path.read_text())["history"]
    return histories
