"""Run the lessons once per combination of parameter values on Dask and collect the results.

``sweep(sweep_dir, {"optimizer": "adadelta,adam", "learning_rate": [0.001, 1.0]})`` runs
lessons 01 to 05 four times, each as one Dask task, and writes each run into its own folder
under ``sweep_dir`` named after its parameters (``optimizer=adadelta,learning_rate=0.001``),
and ``sweep.csv`` there with one row per run.

With no scheduler address the runs go to a local cluster started for the sweep, ``jobs``
worker processes with one thread each (every lesson starts its own kernel). With an address
(``scheduler=``, or ``DASK_SCHEDULER_ADDRESS``) they go to that cluster. A worker runs the
lessons it is sent in a private temporary folder (``tempfile.mkdtemp``), removed when its
last run there ends, and sends back the files the sweep keeps; the client writes each run
folder whole, so workers need no shared disk. A relative ``data`` path is made absolute
first, against the folder the sweep was started in, as ``digitlib run`` does.

A run folder is finished when it holds ``params.json``, the record its worker made of what
decided its result: the parameters, the digest of each lesson notebook and of digitlib, the
worker's Keras backend, Keras and TensorFlow versions, and the SHA-256 of the data lesson 01
read. Running the same sweep again reuses a finished run only when a worker finds that
record unchanged where it would run it again; the others run again, saying why. A run that
runs again and fails leaves the earlier results in its folder until a run of it succeeds.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import shutil
import tempfile
import threading
import uuid
from pathlib import Path

from .errors import DigitlibError, LessonError, ParameterError

TABLE = "sweep.csv"
DONE = "params.json"
METRICS = ("test_accuracy", "test_loss", "train_seconds")
#: The files of a run folder that the sweep keeps, besides the executed notebooks: the
#: data's description, the learning curves, the trained model and its evaluation.
KEPT = ("dataset.json", "history.json", "mnist.keras", "metrics.json")
#: Dask's event topic on which workers announce each lesson they start.
TOPIC = "digitlib-sweep"
#: How long to wait for a scheduler given by address before giving up.
CONNECT_TIMEOUT = "10s"
#: How often a run whose task raised (not a lesson failing) is tried again.
RETRIES = 2
_PARTIAL = ".partial-"
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
        given = _resolved({**params, **fixed})
        resolve_parameters(paths, {**given, "run_dir": str(Path(sweep_dir) / name)})
        runs.append({"name": name, "swept": params, "given": given})
    return runs


def _resolved(given: dict) -> dict:
    """Return ``given`` with a relative ``data`` path made absolute, as ``digitlib run`` does.

    The lessons run on a worker, in a folder of its own: a path relative to where the
    sweep was started would mean another file there.
    """
    from .params import DATA_SOURCES

    data = given.get("data")
    if isinstance(data, str) and data not in DATA_SOURCES:
        return {**given, "data": str(Path(data).resolve())}
    return given


# What decides a run's result ---------------------------------------------------------------

def lesson_hash(path) -> str:
    """Return a digest of a lesson's cells (type, tags, source), blind to outputs."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    cells = [[cell.cell_type, sorted(cell.get("metadata", {}).get("tags", [])), cell.source]
             for cell in nb.cells]
    return hashlib.sha256(json.dumps(cells).encode()).hexdigest()


def code_version() -> str:
    """Return digitlib's version and a digest of its source, e.g. ``0.1.0+3f2a9c81d0e4``."""
    import digitlib

    digest = hashlib.sha256()
    package = Path(digitlib.__file__).parent
    for path in sorted(package.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return f"{digitlib.__version__}+{digest.hexdigest()[:12]}"


#: What a record says about where its run ran, and how a reason to run again names it.
ENVIRONMENT = {"backend": "the Keras backend", "keras": "Keras", "tensorflow": "TensorFlow",
               "data_sha256": "the data's SHA-256"}


def worker_environment() -> dict:
    """Return the Keras backend and the Keras and TensorFlow versions this machine's lessons get."""
    from importlib.metadata import PackageNotFoundError, version

    from .backend import keras_backend

    found = {"backend": keras_backend()}
    for key, package in (("keras", "keras"), ("tensorflow", "tensorflow")):
        try:
            found[key] = version(package)
        except PackageNotFoundError:
            found[key] = None
    return found


def data_sha256(source) -> str | None:
    """Return the SHA-256 that lesson 01 records for the data ``source`` names here, or None."""
    import warnings

    from .data import checksum, load_mnist

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the fallback to the sample: the lesson says so
            return checksum(load_mnist(source))
    except Exception:  # the run itself will fail, and say why
        return None


def _read_json(path: Path) -> dict | None:
    try:
        found = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def _read_record(run_dir: Path) -> dict | None:
    return _read_json(Path(run_dir) / DONE)


def metrics_problem(run_dir) -> str | None:
    """Return what is wrong with a finished run's ``metrics.json``, or None when it is sound."""
    path = Path(run_dir) / "metrics.json"
    if not path.is_file():
        return f"{path} is missing"
    metrics = _read_json(path)
    if metrics is None:
        return f"{path} is not a JSON object"
    missing = [key for key in METRICS if key not in metrics]
    if missing:
        return f"{path} has no {', '.join(missing)} (written by an older digitlib?)"
    return None


def _evaluates(lessons) -> bool:
    from .runs import ARTIFACTS

    return f"{ARTIFACTS['metrics.json'][0]}.ipynb" in lessons


def stale_reason(run_dir, record: dict) -> str | None:
    """Return why ``run_dir`` must run again for ``record``, or None when it may be reused.

    ``record`` holds what the client knows: the parameters and the digests of the lessons
    and of digitlib. Where the run ran (backend, versions, data) is checked by the worker
    that would run it again, with :func:`environment_reason`.
    """
    run_dir = Path(run_dir)
    found = _read_record(run_dir)
    if found is None:
        return "it has not finished" if run_dir.exists() else "new"
    if found.get("parameters") != record["parameters"]:
        return "its parameters changed"
    old, new = found.get("lessons"), record["lessons"]
    if not isinstance(old, dict) or list(old) != list(new):
        return "its lessons changed"
    changed = [name.removesuffix(".ipynb") for name in new if old[name] != new[name]]
    if changed:
        return f"lesson {', '.join(changed)} changed since it ran"
    if found.get("digitlib") != record["digitlib"]:
        return f"digitlib changed since it ran ({found.get('digitlib')} -> {record['digitlib']})"
    if _evaluates(new):
        problem = metrics_problem(run_dir)
        if problem:
            return problem
    return None


def environment_reason(recorded, now: dict) -> str | None:
    """Return how ``now`` differs from a record's ``environment``, or None when it does not."""
    recorded = recorded if isinstance(recorded, dict) else {}
    changed = [key for key in ENVIRONMENT if recorded.get(key) != now.get(key)]
    if not changed:
        return None
    return (f"{' and '.join(ENVIRONMENT[k] for k in changed)} changed since it ran "
            f"({', '.join(f'{recorded.get(k)} -> {now.get(k)}' for k in changed)})")


def _record(run: dict, lessons: dict, version: str) -> dict:
    """Return the part of ``params.json`` the client knows: parameters, lessons, digitlib."""
    return json.loads(json.dumps({"parameters": run["given"], "lessons": lessons,
                                  "digitlib": version}))


# On a worker ---------------------------------------------------------------------------

def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    text = text.splitlines()[0] if text else ""
    return text if isinstance(error, DigitlibError) else f"{type(error).__name__}: {text}"


def _announce(run: str, lesson: str) -> str | None:
    """Tell the scheduler which lesson of which run starts on this worker; return its address."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return None
    worker.log_event(TOPIC, {"run": run, "lesson": lesson, "worker": worker.address,
                             "name": worker.name})
    return worker.address


def _stopped(stop: str | None) -> bool:
    if stop is None:
        return False
    from distributed import Event

    return Event(stop).is_set()


class _PrivateFolder:
    """Hold this worker's private temporary folder while any run uses it; then remove it.

    papermill changes the working folder of the whole process while a lesson runs, so runs
    in threads of one worker share the folder, and it goes only when the last of them ends,
    after the process is back in the working folder it had before.
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.users = 0
        self.path: Path | None = None
        self.cwd: str | None = None

    def __enter__(self) -> Path:
        with self.lock:
            if self.users == 0:
                self.cwd = os.getcwd()
                self.path = Path(tempfile.mkdtemp(prefix="digitlib-sweep-"))
            self.users += 1
            return self.path

    def __exit__(self, *exc) -> None:
        with self.lock:
            self.users -= 1
            if self.users == 0:
                os.chdir(self.cwd)
                shutil.rmtree(self.path, ignore_errors=True)
                self.path = None

    def lessons(self, lessons: list) -> Path:
        """Return the folder inside holding these lesson notebooks, written once."""
        digest = hashlib.sha256(json.dumps([[name, text] for name, text, _ in lessons])
                                .encode()).hexdigest()[:16]
        with self.lock:
            folder = self.path / f"lessons-{digest}"
            if not folder.is_dir():
                folder.mkdir()
                for name, text, _ in lessons:
                    (folder / name).write_text(text)
            return folder


_PRIVATE = _PrivateFolder()


def _environment_here(task: dict, run_dir: Path | None = None) -> dict:
    """Return this worker's environment, with the SHA-256 of the run's data.

    After a run, the data's is the one lesson 01 recorded in ``dataset.json``; before, the
    one the data ``task`` names has here.
    """
    found = worker_environment()
    if run_dir is None:
        found["data_sha256"] = data_sha256(task.get("data", "auto"))
    else:
        found["data_sha256"] = (_read_json(run_dir / "dataset.json") or {}).get("sha256")
    return found


def run_task(task: dict) -> dict:
    """Run one run's lessons in a private temporary folder; return its error and files kept.

    This is what each Dask task executes. ``task`` holds the run's ``name``, each lesson's
    notebook text and parameters, the client's record of the run (``record``: parameters,
    lesson digests, digitlib version), the data it names and a stop event's name. With
    ``recorded`` (the environment of a finished run with that record), the run is reused
    when this worker finds the same; otherwise it runs, and the record is completed here.
    """
    from . import lessons

    result = {"name": task["name"], "error": None, "files": {}, "worker": None,
              "record": None, "reused": False, "rerun": None}
    if code_version() != task["record"]["digitlib"]:
        result["error"] = (f"this worker runs digitlib {code_version()}, the client "
                           f"{task['record']['digitlib']}; install the same on both")
        return result
    if task.get("recorded") is not None:
        result["rerun"] = environment_reason(task["recorded"], _environment_here(task))
        if result["rerun"] is None:
            result["reused"] = True
            return result
    with _PRIVATE as private:
        notebooks = _PRIVATE.lessons(task["lessons"])
        work = Path(tempfile.mkdtemp(prefix="run-", dir=private))
        run_dir = work / task["name"]  # named as the run: a lesson may show its folder
        run_dir.mkdir()
        try:
            for name, _, parameters in task["lessons"]:
                if _stopped(task.get("stop")):
                    result["error"] = "interrupted"
                    break
                path = notebooks / name
                result["worker"] = _announce(task["name"], path.stem) or result["worker"]
                try:
                    lessons.execute(path, run_dir / name, {**parameters, "run_dir": str(run_dir)})
                except DigitlibError:
                    raise
                except Exception as error:  # a dead kernel, a timeout: say in which lesson
                    raise LessonError(f"lesson {path.stem} failed: {_one_line(error)}") from None
        except Exception as error:  # a failed run is a row of the table, not the end of the sweep
            result["error"] = _one_line(error)
        for path in sorted(run_dir.iterdir()):
            if path.is_file() and (path.suffix == ".ipynb" or path.name in KEPT):
                result["files"][path.name] = path.read_bytes()
        if result["error"] is None:
            result["record"] = {**task["record"], "worker": result["worker"],
                                "lessons": {name: lesson_hash(notebooks / name)
                                            for name, _, _ in task["lessons"]},
                                "digitlib": code_version(),
                                "environment": _environment_here(task, run_dir)}
        shutil.rmtree(work, ignore_errors=True)
    return result


# On the client -------------------------------------------------------------------------

def _install(sweep_dir: Path, name: str, files: dict, record: dict | None) -> None:
    """Write one run folder whole: into a hidden folder first, then renamed into place."""
    partial = Path(tempfile.mkdtemp(prefix=f"{_PARTIAL}{name[:40]}.", dir=sweep_dir))
    partial.chmod(0o755)  # mkdtemp's folders are private; a run folder is an ordinary one
    old = None
    try:
        for file_name, data in files.items():
            (partial / Path(file_name).name).write_bytes(data)
        if record is not None:  # written last: the mark of a complete run
            (partial / DONE).write_text(json.dumps(record, indent=2) + "\n")
        target = sweep_dir / name
        if target.exists():
            old = sweep_dir / f"{_PARTIAL}old-{uuid.uuid4().hex}"
            target.rename(old)
        partial.rename(target)
    finally:
        for leftover in (partial, old):
            if leftover is not None and leftover.exists():
                shutil.rmtree(leftover, ignore_errors=True)


def _connect(scheduler: str | None, jobs: int):
    """Return a Dask client and the function that closes it, and any cluster started for it.

    A local cluster keeps its scratch space in a temporary folder of its own, removed
    when it closes.
    """
    import logging

    import dask
    from distributed import Client, LocalCluster

    address = (scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
               or dask.config.get("scheduler-address", None))
    if address:
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except Exception as error:
            raise DigitlibError(f"cannot reach the Dask scheduler at {address}: "
                                f"{_one_line(error)}") from None
        return client, client.close
    scratch = tempfile.mkdtemp(prefix="digitlib-dask-")
    try:
        with dask.config.set({"distributed.scheduler.allowed-failures": RETRIES,
                              "temporary-directory": scratch}):
            cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address="127.0.0.1:0",
                                   memory_limit=None, silence_logs=logging.ERROR,
                                   local_directory=scratch)
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise

    def close():
        try:
            client.close()
            cluster.close()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    try:
        client = Client(cluster, set_as_default=False)
    except BaseException:
        cluster.close()
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return client, close


def _run_all(client, tasks: list[dict], stop: str, bar, on_result) -> None:
    """Submit one task per run; call ``on_result`` for each as it finishes."""
    from distributed import Event, as_completed

    futures = {client.submit(run_task, task, key=f"digitlib-run-{uuid.uuid4().hex}",
                             retries=RETRIES, pure=False): task["name"] for task in tasks}
    try:
        for future in as_completed(futures, loop=client.loop):
            try:
                result = future.result()
            except Exception as error:  # retries spent, or the workers kept dying
                message = _one_line(error)
                if type(error).__name__ == "KilledWorker":
                    message = ("the workers that ran it died (killed, or out of memory?) "
                               "until Dask gave up")
                result = {"name": futures[future], "error": message, "files": {},
                          "worker": None, "record": None, "reused": False, "rerun": None}
            on_result(result)
            bar.update()
    except BaseException:  # Ctrl-C: running runs start no more lessons, the others none
        try:
            Event(stop, client=client).set()
            client.cancel(list(futures), force=True)
        except Exception:
            pass
        raise


def _row(sweep_dir: Path, run: dict, error: str | None, evaluated: bool) -> dict:
    run_dir = sweep_dir / run["name"]
    metrics, worker = {}, None
    if error is None and evaluated:
        error = metrics_problem(run_dir)
    if error is None:
        metrics = _read_json(run_dir / "metrics.json") or {}
        worker = (_read_record(run_dir) or {}).get("worker")
    return {**run["given"], **{key: metrics.get(key) for key in METRICS},
            "data_source": metrics.get("data_source"), "worker": worker,
            "run_dir": run["name"], "error": error}


def write_table(sweep_dir, rows: list[dict]):
    """Write the rows to ``sweep.csv`` in ``sweep_dir`` atomically; return them as a table."""
    import pandas as pd

    from .runs import RunDir

    table = pd.DataFrame(rows)
    with RunDir(sweep_dir).atomic(TABLE) as tmp:
        table.to_csv(tmp, index=False)
    return table


def sweep(sweep_dir, grid=None, jobs: int = 1, first: str = "01", last: str = "05",
          progress: bool = True, fixed=None, scheduler: str | None = None):
    """Run lessons ``first`` to ``last`` once per combination of ``grid``; return the table.

    Args:
        sweep_dir: folder that receives one run folder per combination, and ``sweep.csv``.
        grid: ``{name: values}`` for every combination, values a list or a comma-separated
            string typed like papermill's ``-p`` ("adadelta,adam", "0.001,1.0"); or a list
            of ``{name: value}`` dicts, one per run.
        jobs: how many runs execute at once on the local cluster (each lesson runs in its
            own kernel); a cluster given by address decides for itself.
        first, last: the lesson numbers each run executes.
        progress: show a progress bar over the finished runs on stderr.
        fixed: parameters given to every run, e.g. ``{"epochs": 2, "train_size": 6000}``.
        scheduler: address of a Dask scheduler (``tcp://host:8786``) to run on; None uses
            ``DASK_SCHEDULER_ADDRESS`` if set, else starts a local cluster for the sweep.

    Returns:
        One row per run, in the grid's order: its parameters, ``test_accuracy``,
        ``test_loss``, ``train_seconds``, ``data_source``, ``worker`` (the Dask worker that
        ran it), ``run_dir`` (relative to ``sweep_dir``) and ``error`` (None when the run
        succeeded). The same table is in ``sweep.csv``.

    Raises:
        ParameterError: before any run starts, when a parameter or value cannot work.
        DigitlibError: before any run starts, when the scheduler cannot be reached.

    Interrupting it (Ctrl-C) stops the runs; a run folder is only ever written whole, so
    no interrupted run counts as finished, and running the same sweep again resumes.
    """
    from tqdm import tqdm

    from .quiet import muted_stderr
    from .lessons import lesson_parameters, lesson_paths

    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise ParameterError(f"jobs must be a whole number >= 1, got {jobs!r}")
    sweep_dir = Path(sweep_dir).resolve()
    runs = plan(sweep_dir, grid, first, last, fixed)
    paths = lesson_paths(first, last)
    lessons = {path.name: lesson_hash(path) for path in paths}
    texts = {path.name: path.read_text() for path in paths}
    defaults = {path.name: lesson_parameters(path) for path in paths}
    version = code_version()
    records = {run["name"]: _record(run, lessons, version) for run in runs}
    errors: dict[str, str | None] = {}
    reused = []
    with muted_stderr() as stderr:  # the kernels' and workers' own start-up chatter
        tasks = []
        for run in runs:
            found = _read_record(sweep_dir / run["name"])
            reason = stale_reason(sweep_dir / run["name"], records[run["name"]])
            if reason not in (None, "new"):
                print(f"digitlib: running {run['name']} again: {reason}", file=stderr)
            tasks.append({"name": run["name"], "record": records[run["name"]],
                          "recorded": (found or {}).get("environment", {}) if reason is None
                          else None, "data": run["given"].get("data", "auto"),
                          "lessons": [(name, texts[name],
                                       {k: v for k, v in run["given"].items()
                                        if k in defaults[name]}) for name in texts]})
        client, close = _connect(scheduler, jobs)
        try:
            sweep_dir.mkdir(parents=True, exist_ok=True)
            for leftover in sweep_dir.glob(f"{_PARTIAL}*"):  # an earlier sweep's, cut off
                shutil.rmtree(leftover, ignore_errors=True)
            stop = f"digitlib-stop-{uuid.uuid4().hex}"
            for task in tasks:
                task["stop"] = stop

            def on_result(result):
                name, error = result["name"], result["error"]
                errors[name] = error
                if result["reused"]:
                    reused.append(name)
                    return
                if result["rerun"]:
                    print(f"digitlib: ran {name} again: {result['rerun']}", file=stderr)
                if error is not None and _read_record(sweep_dir / name) is not None:
                    print(f"digitlib: {name} failed; its earlier results stay in its folder "
                          "until a run of it succeeds", file=stderr)
                    return
                _install(sweep_dir, name, result["files"], result["record"])

            with tqdm(total=len(runs), unit="run", disable=not progress, file=stderr) as bar:
                _run_all(client, tasks, stop, bar, on_result)
        finally:
            close()
        if reused:
            print(f"digitlib: {len(reused)} of {len(runs)} runs finished before with these "
                  "parameters, lessons, digitlib, backend and data: reused", file=stderr)
    evaluated = _evaluates(lessons)
    return write_table(sweep_dir, [_row(sweep_dir, run, errors[run["name"]], evaluated)
                                   for run in runs])
