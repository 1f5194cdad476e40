"""`digitlib sweep`: expanding grids, checking them up front, running, resuming, the CLI.

The runs with a stand-in for the lessons go to a Dask cluster of threads in this process,
so that the stand-in patched in here is what the workers call. test_sweep_dask.py runs the
real lessons on real scheduler and worker processes.
"""

import json
import os
import shutil
import signal
import threading
from pathlib import Path

import pandas as pd
import pytest

import digitlib.data
import digitlib.lessons
import digitlib.sweeps
from digitlib import ParameterError
from digitlib.cli import main
from digitlib.errors import DigitlibError, LessonError
from digitlib.sweeps import (
    combinations,
    plan,
    run_name,
    sweep,
)

SWEEP = digitlib.sweeps

TINY = {"train_size": 200, "epochs": 1, "batch_size": 32, "show_adadelta_demo": False}  # 6 steps
#: A data source that exists, so it passes the up-front checks, but holds no MNIST.
NOT_MNIST = str(Path(__file__).resolve().parents[1] / "pyproject.toml")
#: Three runs of lessons 01-05: two that train, and one whose data file is not MNIST, which
#: fails in lesson 01.
REAL_RUNS = [
    {"optimizer": "adam", "learning_rate": 0.001},
    {"optimizer": "sgd", "learning_rate": 0.01},
    {"data": NOT_MNIST},
]
NOT_MNIST_RUN = run_name({"data": NOT_MNIST})


# Expanding the grid ---------------------------------------------------------------------

def test_grid_is_the_product_in_a_stable_order():
    runs = combinations({"optimizer": ["adadelta", "adam"], "learning_rate": [0.001, 1.0]})
    assert runs == [
        {"optimizer": "adadelta", "learning_rate": 0.001},
        {"optimizer": "adadelta", "learning_rate": 1.0},
        {"optimizer": "adam", "learning_rate": 0.001},
        {"optimizer": "adam", "learning_rate": 1.0},
    ]


def test_comma_strings_are_typed_like_papermill():
    runs = combinations({"epochs": "1,3", "learning_rate": "0.5", "optimizer": "adam,sgd",
                         "show_adadelta_demo": "False", "train_size": "None"})
    assert len(runs) == 4
    first = runs[0]
    assert first == {"epochs": 1, "learning_rate": 0.5, "optimizer": "adam",
                     "show_adadelta_demo": False, "train_size": None}
    assert type(first["epochs"]) is int and type(first["learning_rate"]) is float
    assert [r["epochs"] for r in runs] == [1, 1, 3, 3]


def test_single_values_and_lists_kept_as_given():
    assert combinations({"epochs": 2, "optimizer": ["adam"]}) == [{"epochs": 2,
                                                                  "optimizer": "adam"}]
    assert combinations({"data": ["1,2"]}) == [{"data": "1,2"}]  # a list is not split
    assert combinations({}) == [{}]


def test_explicit_combinations_are_kept_in_order():
    runs = [{"optimizer": "adadelta", "learning_rate": 0.001},
            {"optimizer": "adadelta", "learning_rate": 1.0},
            {"optimizer": "adam"}]
    assert combinations(runs) == runs
    assert combinations(iter(runs)) == runs


@pytest.mark.parametrize("grid, message", [
    ({"epochs": "1,,3"}, "empty value"),
    ({"epochs": []}, "no values"),
    ([], "no runs"),
])
def test_empty_values_rejected(grid, message):
    with pytest.raises(ParameterError, match=message):
        combinations(grid)


def test_run_names_read_as_parameters_and_are_safe():
    assert run_name({"optimizer": "adadelta", "learning_rate": 0.001}) == \
        "optimizer=adadelta,learning_rate=0.001"
    assert run_name({"data": "../my data/mnist"}) == "data=.._my_data_mnist"
    assert run_name({}) == "run"
    long = run_name({"data": "x" * 500})
    assert len(long) <= 120 and long != run_name({"data": "x" * 499})


# Checking before anything runs ----------------------------------------------------------

@pytest.fixture
def no_execute(monkeypatch):
    """Fail the test if any lesson is executed."""
    def execute(*args, **kwargs):
        raise AssertionError("a lesson ran")
    monkeypatch.setattr(digitlib.lessons, "execute", execute)


@pytest.mark.parametrize("grid, fixed, message", [
    ({"optimizer": "adam,adadelta", "epochs": "1,zero"}, None, "epochs must be a whole"),
    ({"optimiser": "adam,sgd"}, None, "'optimiser' is not used"),
    ({"optimizer": "adam,nesterov"}, None, "optimizer 'nesterov' is unknown"),
    ({"learning_rate": "0.1,-1"}, None, "learning_rate must be a positive"),
    ({"epochs": "1,2"}, {"epochs": 3}, "'epochs' is both swept and fixed"),
    ({"epochs": "1,2"}, {"run_dir": "x"}, "run_dir"),
    ([{"epochs": 1}, {"epochs": 1}], None, "share the folder"),
    ({"epochs": "1,2"}, {"train_size": 70000}, "only 60000"),
])
def test_bad_parameter_rejected_before_any_run(tmp_path, no_execute, grid, fixed, message):
    sweep_dir = tmp_path / "sweep"
    with pytest.raises(ParameterError, match=message) as caught:
        sweep(sweep_dir, grid, fixed=fixed, progress=False)
    assert "\n" not in str(caught.value)
    assert not sweep_dir.exists()


def test_plan_names_every_run(tmp_path):
    runs = plan(tmp_path, {"optimizer": "adadelta,adam"}, fixed={"epochs": 2})
    assert [r["name"] for r in runs] == ["optimizer=adadelta", "optimizer=adam"]
    assert runs[1]["given"] == {"optimizer": "adam", "epochs": 2}


def test_jobs_must_be_positive(tmp_path, no_execute):
    with pytest.raises(ParameterError, match="jobs"):
        sweep(tmp_path, {"epochs": "1,2"}, jobs=0)


# Running, with the lessons replaced by a fast stand-in ------------------------------------

def threads_cluster():
    """Return a Dask cluster of two worker threads in this process."""
    from distributed import LocalCluster

    return LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                        dashboard_address="127.0.0.1:0")


@pytest.fixture(scope="module")
def in_process():
    with threads_cluster() as cluster:
        yield cluster.scheduler_address


@pytest.fixture
def on_threads(in_process, monkeypatch):
    """Send this test's sweeps to the in-process cluster, by DASK_SCHEDULER_ADDRESS."""
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", in_process)
    return in_process


class FakeLessons:
    """Stand in for lessons.execute: score = learning rate; a rate of 13 or 99 epochs fail."""

    def __init__(self, barrier=None):
        self.calls = []
        self.given = {}
        self.barrier = barrier
        self.lock = threading.Lock()

    def __call__(self, path, output, parameters):
        run_dir = Path(parameters["run_dir"])  # the worker's temporary folder of the run
        with self.lock:
            self.calls.append((run_dir.name, path.stem[:2]))
            self.given.setdefault(run_dir, {}).update(parameters)
        if self.barrier is not None and path.stem.startswith("01"):
            self.barrier.wait()  # only passes when two runs are in lesson 01 at once
        given = self.given[run_dir]
        if path.stem.startswith("01"):  # what lesson 01 records: the data and its checksum
            try:
                mnist = digitlib.data.load_mnist(given.get("data", "auto"))
            except DigitlibError as error:
                raise LessonError(f"lesson 01_load_data failed: DataError: {error}") from None
            digitlib.RunDir(run_dir).save_dataset(mnist)
        if path.stem.startswith("04"):
            if given.get("learning_rate") == 13 or given.get("epochs") == 99:
                raise LessonError("lesson 04_train failed: ValueError: unlucky rate")
            (run_dir / "history.json").write_text(json.dumps(
                {"history": {"val_accuracy": [0.5, given.get("learning_rate", 0.0)]}}))
        if path.stem.startswith("05"):
            (run_dir / "metrics.json").write_text(json.dumps(
                {"test_accuracy": given.get("learning_rate", 0.0), "test_loss": 1.5,
                 "train_seconds": 2.0, "epochs": given.get("epochs")}))
        output.write_text("{}")


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """Return a small MNIST-shaped .npz, quick for the stand-in lesson 01 to load."""
    return write_tiny_mnist(tmp_path_factory.mktemp("data") / "mnist.npz", seed=0)


def write_tiny_mnist(path, seed):
    """Write 40 training and 20 test digits of noise, in Keras' mnist.npz layout."""
    import numpy as np

    rng = np.random.default_rng(seed)
    np.savez(path, x_train=rng.integers(0, 256, (40, 28, 28), dtype=np.uint8),
             y_train=np.arange(40, dtype=np.uint8) % 10,
             x_test=rng.integers(0, 256, (20, 28, 28), dtype=np.uint8),
             y_test=np.arange(20, dtype=np.uint8) % 10)
    return path


@pytest.fixture
def fake(monkeypatch, on_threads, tiny_data):
    monkeypatch.setenv("DIGITLIB_DATA", str(tiny_data))
    lessons = FakeLessons()
    monkeypatch.setattr(digitlib.lessons, "execute", lessons)
    return lessons


def test_table_has_one_row_per_run_in_grid_order(tmp_path, fake):
    table = sweep(tmp_path, {"optimizer": "adam,sgd", "learning_rate": "0.25,0.5"},
                  fixed={"epochs": 2}, progress=False)
    assert list(table.columns) == ["optimizer", "learning_rate", "epochs", "test_accuracy",
                                   "test_loss", "train_seconds", "data_source", "worker",
                                   "run_dir", "error"]
    assert list(table["run_dir"]) == ["optimizer=adam,learning_rate=0.25",
                                      "optimizer=adam,learning_rate=0.5",
                                      "optimizer=sgd,learning_rate=0.25",
                                      "optimizer=sgd,learning_rate=0.5"]
    assert list(table["test_accuracy"]) == [0.25, 0.5, 0.25, 0.5]
    assert table["error"].isna().all() and (table["epochs"] == 2).all()
    assert len(fake.calls) == 4 * 5
    on_disk = pd.read_csv(tmp_path / "sweep.csv")
    assert on_disk[["run_dir", "test_accuracy"]].equals(table[["run_dir", "test_accuracy"]])
    assert not list(tmp_path.glob(".*")), "a temporary file was left behind"
    assert set(table["worker"]) == {fake_worker(tmp_path)}
    record = json.loads((tmp_path / table["run_dir"][0] / "params.json").read_text())
    assert record["parameters"] == {"optimizer": "adam", "learning_rate": 0.25, "epochs": 2}
    assert sorted(record["lessons"]) == [f"{p.name}" for p in digitlib.lessons.lesson_paths()]
    assert record["digitlib"].startswith(digitlib.__version__ + "+")


def fake_worker(sweep_dir):
    """Return the address of the one worker the in-process cluster has."""
    return json.loads(next(Path(sweep_dir).glob("*/params.json")).read_text())["worker"]


def test_run_folders_hold_what_the_worker_sent_back(tmp_path, fake):
    sweep(tmp_path, {"learning_rate": "0.5"}, progress=False)
    folder = tmp_path / "learning_rate=0.5"
    assert sorted(p.name for p in folder.iterdir()) == [
        "01_load_data.ipynb", "02_preprocess.ipynb", "03_build_model.ipynb", "04_train.ipynb",
        "05_evaluate.ipynb", "dataset.json", "history.json", "metrics.json", "params.json"]
    assert folder.stat().st_mode & 0o755 == 0o755
    ran_in = {run_dir for run_dir in fake.given}
    assert len(ran_in) == 1 and tmp_path not in next(iter(ran_in)).parents
    assert not next(iter(ran_in)).exists(), "the worker left its temporary folder"


def test_lessons_run_in_a_private_folder_removed_after(tmp_path, monkeypatch, on_threads):
    """papermill changes the process's working folder to the lesson's: back to it at the end."""
    import stat
    import tempfile

    folders, cwd = set(), os.getcwd()

    def execute(path, output, parameters):
        folders.add(path.parent)
        assert path.read_text() == (digitlib.lessons.notebooks_dir() / path.name).read_text()
        private = path.parent.parent
        assert stat.S_IMODE(private.stat().st_mode) == 0o700  # mkdtemp's: this user's only
        assert private.parent == Path(tempfile.gettempdir())
        os.chdir(path.parent)  # as papermill does, and may leave it when threads interleave
    monkeypatch.setattr(digitlib.lessons, "execute", execute)
    sweep(tmp_path, {"learning_rate": "0.25,0.5,0.75"}, jobs=2, progress=False)
    assert folders and not any(folder.parent.exists() for folder in folders), \
        "a private folder stayed"
    assert os.getcwd() == cwd


def test_lessons_get_only_their_own_parameters(tmp_path, monkeypatch, on_threads):
    seen = []
    monkeypatch.setattr(digitlib.lessons, "execute",
                        lambda path, output, parameters: seen.append((path.stem, parameters)))
    sweep(tmp_path, {"optimizer": "adam"}, fixed={"train_size": 300}, progress=False)
    by_lesson = dict(seen)
    assert set(by_lesson["02_preprocess"]) == {"run_dir", "train_size"}
    assert by_lesson["04_train"]["optimizer"] == "adam"
    assert "train_size" not in by_lesson["04_train"]
    assert list(by_lesson["05_evaluate"]) == ["run_dir"]
    assert Path(by_lesson["05_evaluate"]["run_dir"]).name == "optimizer=adam"


def test_failed_run_is_a_row_not_the_end(tmp_path, fake):
    table = sweep(tmp_path, [{"learning_rate": 0.5}, {"learning_rate": 13},
                             {"learning_rate": 0.75}], progress=False)
    assert list(table["test_accuracy"].isna()) == [False, True, False]
    assert table["error"][1] == "lesson 04_train failed: ValueError: unlucky rate"
    assert table["error"][[0, 2]].isna().all()
    assert ("learning_rate=0.75", "05") in fake.calls


def test_unexpected_crash_is_recorded_in_one_line(tmp_path, monkeypatch, on_threads):
    def crash(path, output, parameters):
        raise RuntimeError("Kernel died\nwith a long story")
    monkeypatch.setattr(digitlib.lessons, "execute", crash)
    table = sweep(tmp_path, {"epochs": "1,2"}, progress=False)
    assert list(table["error"]) == ["lesson 01_load_data failed: RuntimeError: Kernel died"] * 2


def test_runs_execute_in_parallel(tmp_path, monkeypatch, on_threads):
    lessons = FakeLessons(barrier=threading.Barrier(2, timeout=20))
    monkeypatch.setattr(digitlib.lessons, "execute", lessons)
    table = sweep(tmp_path, {"learning_rate": "0.25,0.5"}, jobs=2, progress=False)
    assert table["error"].isna().all(), table["error"].tolist()


def test_resume_skips_finished_runs_and_retries_failed_ones(tmp_path, fake):
    grid = [{"learning_rate": 0.5}, {"learning_rate": 13}]
    sweep(tmp_path, grid, fixed={"epochs": 1}, progress=False)
    done = tmp_path / "learning_rate=0.5"
    stamp = (done / "metrics.json").stat().st_mtime_ns
    fake.calls.clear()
    table = sweep(tmp_path, grid, fixed={"epochs": 1}, progress=False)
    assert {name for name, _ in fake.calls} == {"learning_rate=13"}
    assert (done / "metrics.json").stat().st_mtime_ns == stamp
    assert table["test_accuracy"][0] == 0.5  # read back from the finished run


def test_changed_parameters_rerun_the_folder(tmp_path, fake):
    sweep(tmp_path, {"learning_rate": "0.5"}, fixed={"epochs": 1}, progress=False)
    fake.calls.clear()
    table = sweep(tmp_path, {"learning_rate": "0.5"}, fixed={"epochs": 2}, progress=False)
    assert len(fake.calls) == 5 and table["epochs"][0] == 2


def test_interrupted_run_is_not_taken_as_finished(tmp_path, fake):
    sweep(tmp_path, {"learning_rate": "0.5"}, progress=False)
    (tmp_path / "learning_rate=0.5" / "params.json").unlink()  # as if stopped in lesson 05
    fake.calls.clear()
    sweep(tmp_path, {"learning_rate": "0.5"}, progress=False)
    assert len(fake.calls) == 5


def test_failed_rerun_of_a_stale_run_keeps_its_results(tmp_path, fake, capfd):
    """A stale run that runs again and fails leaves its folder as it was, until one succeeds."""
    sweep(tmp_path, {"learning_rate": "0.5"}, fixed={"epochs": 1}, progress=False)
    folder = tmp_path / "learning_rate=0.5"
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    capfd.readouterr()
    failed = sweep(tmp_path, {"learning_rate": "0.5"}, fixed={"epochs": 99}, progress=False)
    assert failed["error"][0] == "lesson 04_train failed: ValueError: unlucky rate"
    assert failed["test_accuracy"].isna().all()
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before
    assert "learning_rate=0.5 failed; its earlier results stay" in capfd.readouterr().err
    assert not list(tmp_path.glob(".*"))
    fake.calls.clear()
    table = sweep(tmp_path, {"learning_rate": "0.5"}, fixed={"epochs": 1}, progress=False)
    assert fake.calls == [] and table["test_accuracy"][0] == 0.5  # still the first run's
    table = sweep(tmp_path, {"learning_rate": "0.25"}, fixed={"epochs": 1}, progress=False)
    assert table["error"].isna().all()


def test_failed_run_replaces_an_unfinished_one(tmp_path, fake):
    """A folder that holds no finished run gets the latest attempt, and its notebooks."""
    sweep(tmp_path, {"learning_rate": "13"}, progress=False)
    folder = tmp_path / "learning_rate=13"
    (folder / "01_load_data.ipynb").write_text("an older attempt")
    sweep(tmp_path, {"learning_rate": "13"}, progress=False)
    assert (folder / "01_load_data.ipynb").read_text() == "{}"
    assert not (folder / "params.json").exists()


def test_interrupt_stops_the_sweep_without_marking_runs_done(tmp_path, monkeypatch):
    """Ctrl-C while two runs are in lesson 02: no run is finished, none starts a lesson."""
    calls, in_lesson_02 = [], threading.Semaphore(0)
    release = threading.Event()

    def execute(path, output, parameters):
        calls.append((Path(parameters["run_dir"]).name, path.stem[:2]))
        if path.stem.startswith("02"):
            in_lesson_02.release()
            release.wait(timeout=60)

    def interrupt_when_both_are_in_lesson_02():
        in_lesson_02.acquire()
        in_lesson_02.acquire()
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C does: a real signal wakes a blocked wait

    monkeypatch.setattr(digitlib.lessons, "execute", execute)
    # Ctrl-C as Python handles it by default, whatever handler an earlier test left.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    grid = {"learning_rate": "0.25,0.5,0.75,1.5"}
    watcher = threading.Thread(target=interrupt_when_both_are_in_lesson_02, daemon=True)
    with threads_cluster() as cluster:
        watcher.start()
        try:
            with pytest.raises(KeyboardInterrupt):
                sweep(tmp_path, grid, progress=False, scheduler=cluster.scheduler_address)
        finally:
            release.set()
            signal.signal(signal.SIGINT, previous)
    # the cluster has closed, so its threads are done: the two runs stopped after lesson 02
    assert sorted(calls) == sorted([(name, lesson) for name in ("learning_rate=0.25",
                                                                "learning_rate=0.5")
                                    for lesson in ("01", "02")])
    assert not list(tmp_path.glob("*/params.json")), "an interrupted run was marked finished"
    assert not list(tmp_path.glob(".*")), "a half-written run folder was left behind"

    fake = FakeLessons()
    monkeypatch.setattr(digitlib.lessons, "execute", fake)
    with threads_cluster() as cluster:
        table = sweep(tmp_path, grid, progress=False, scheduler=cluster.scheduler_address)
    assert table["error"].isna().all() and len(pd.read_csv(tmp_path / "sweep.csv")) == 4
    assert len(fake.calls) == 4 * 5


# Stale runs: finished means the same parameters, lessons and digitlib --------------------

@pytest.fixture
def lesson_copy(tmp_path, monkeypatch):
    """Point the sweep at a copy of the lessons that the test may edit."""
    folder = tmp_path / "notebooks"
    shutil.copytree(digitlib.lessons.notebooks_dir(), folder)
    monkeypatch.setenv("DIGITLIB_NOTEBOOKS", str(folder))
    return folder


def edit_lesson(path, change):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    change(nb)
    nbformat.write(nb, path)


def test_edited_lesson_reruns_and_says_so(tmp_path, fake, lesson_copy, capfd):
    sweep_dir = tmp_path / "sweep"
    grid = {"learning_rate": "0.25,0.5"}
    sweep(sweep_dir, grid, progress=False)
    capfd.readouterr()

    def outputs_gone(nb):  # what re-executing a lesson changes: not its content
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
    edit_lesson(lesson_copy / "04_train.ipynb", outputs_gone)
    fake.calls.clear()
    sweep(sweep_dir, grid, progress=False)
    assert fake.calls == []
    assert "2 of 2 runs finished before" in capfd.readouterr().err

    def code_changed(nb):
        cell = next(c for c in nb.cells if c.cell_type == "code")
        cell.source += "\nx = 1"
    edit_lesson(lesson_copy / "04_train.ipynb", code_changed)
    sweep(sweep_dir, grid, progress=False)
    assert len(fake.calls) == 2 * 5
    err = capfd.readouterr().err
    assert "running learning_rate=0.25 again: lesson 04_train changed since it ran" in err
    assert "running learning_rate=0.5 again: lesson 04_train changed" in err


def test_other_digitlib_reruns_and_says_so(tmp_path, fake, monkeypatch, capfd):
    sweep(tmp_path, {"learning_rate": "0.5"}, progress=False)
    monkeypatch.setattr(SWEEP, "code_version", lambda: "0.2.0+000000000000")
    fake.calls.clear()
    table = sweep(tmp_path, {"learning_rate": "0.5"}, progress=False)
    assert len(fake.calls) == 5 and table["error"].isna().all()
    assert "digitlib changed since it ran" in capfd.readouterr().err
    record = json.loads((tmp_path / "learning_rate=0.5" / "params.json").read_text())
    assert record["digitlib"] == "0.2.0+000000000000"


def test_other_backend_reruns_and_says_so(tmp_path, fake, monkeypatch, capfd):
    """The same parameters on another backend are another run."""
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    sweep(tmp_path, {"learning_rate": "0.5"}, progress=False)
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    fake.calls.clear()
    sweep(tmp_path, {"learning_rate": "0.5"}, progress=False)
    assert len(fake.calls) == 5
    assert ("ran learning_rate=0.5 again: the Keras backend changed since it ran "
            "(tensorflow -> jax)") in capfd.readouterr().err
    record = json.loads((tmp_path / "learning_rate=0.5" / "params.json").read_text())
    assert record["environment"]["backend"] == "jax"


def test_record_is_made_on_the_worker(tmp_path, fake, tiny_data):
    """params.json: the worker's backend and versions, and the SHA-256 lesson 01 recorded."""
    from importlib.metadata import version

    from digitlib.backend import keras_backend

    sweep(tmp_path, {"learning_rate": "0.5"}, progress=False)
    folder = tmp_path / "learning_rate=0.5"
    record = json.loads((folder / "params.json").read_text())
    dataset = json.loads((folder / "dataset.json").read_text())
    assert record["environment"] == {
        "backend": keras_backend(), "keras": version("keras"),
        "tensorflow": version("tensorflow"), "data_sha256": dataset["sha256"]}
    assert dataset["origin"] == str(tiny_data)


def test_same_digits_elsewhere_reused_other_digits_rerun(tmp_path, fake, monkeypatch, capfd):
    """Reuse follows the data's SHA-256, not the path it was read from."""
    sweep_dir = tmp_path / "sweep"
    sweep(sweep_dir, {"learning_rate": "0.5"}, progress=False)
    moved = tmp_path / "moved.npz"
    shutil.copy(os.environ["DIGITLIB_DATA"], moved)
    monkeypatch.setenv("DIGITLIB_DATA", str(moved))
    fake.calls.clear()
    sweep(sweep_dir, {"learning_rate": "0.5"}, progress=False)
    assert fake.calls == []
    assert "1 of 1 runs finished before" in capfd.readouterr().err
    write_tiny_mnist(moved, seed=1)
    sweep(sweep_dir, {"learning_rate": "0.5"}, progress=False)
    assert len(fake.calls) == 5
    assert "ran learning_rate=0.5 again: the data's SHA-256 changed" in capfd.readouterr().err


def test_relative_data_path_is_sent_absolute(tmp_path, monkeypatch, on_threads, tiny_data):
    """A relative -p data means the file beside the user, not one beside the lessons."""
    seen = {}
    monkeypatch.setattr(digitlib.lessons, "execute",
                        lambda path, output, parameters: seen.update({path.stem: parameters}))
    shutil.copy(tiny_data, tmp_path / "mine.npz")
    monkeypatch.chdir(tmp_path)
    table = sweep(tmp_path / "sweep", {"seed": "0"}, fixed={"data": "mine.npz"},
                  progress=False, last="01")
    assert seen["01_load_data"]["data"] == str(tmp_path / "mine.npz")
    assert table["data"][0] == str(tmp_path / "mine.npz")


def dead_kernel():
    from nbclient.exceptions import DeadKernelError

    return DeadKernelError("Kernel died")


def missing_kernel():
    from jupyter_client.kernelspec import NoSuchKernel

    return NoSuchKernel("python3")


def timed_out():
    from nbclient.exceptions import CellTimeoutError

    return CellTimeoutError("A cell timed out while it was being executed, after 600 seconds."
                            "\nThe message was: Cell execution timed out.")


@pytest.mark.parametrize("error, name", [(dead_kernel, "DeadKernelError"),
                                         (missing_kernel, "NoSuchKernel"),
                                         (timed_out, "CellTimeoutError")])
def test_dead_missing_or_slow_kernel_one_line_naming_the_lesson(tmp_path, fake, monkeypatch,
                                                                 capsys, error, name):
    def execute(path, output, parameters):
        if path.stem.startswith("03"):
            raise error()
        fake(path, output, parameters)
    monkeypatch.setattr(digitlib.lessons, "execute", execute)
    code = main(["sweep", "--sweep-dir", str(tmp_path), "-q", "-p", "learning_rate", "0.5,1"])
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.splitlines() == [
        line for line in err.splitlines()
        if line.startswith("digitlib: run learning_rate=") and
        f" failed: lesson 03_build_model failed: {name}: " in line]
    assert len(err.splitlines()) == 2


def test_workers_that_keep_dying_one_line(tmp_path, monkeypatch, on_threads, capsys):
    from distributed import KilledWorker

    def run_task(task):
        from types import SimpleNamespace

        raise KilledWorker(task["name"], SimpleNamespace(address="tcp://127.0.0.1:1"), 2)
    monkeypatch.setattr(SWEEP, "run_task", run_task)
    code = main(["sweep", "--sweep-dir", str(tmp_path), "-q", "-p", "seed", "0,1"])
    err = capsys.readouterr().err
    assert code == 1 and err == "".join(
        f"digitlib: run seed={seed} failed: the workers that ran it died (killed, or out of "
        "memory?) until Dask gave up\n" for seed in (0, 1))


def test_older_metrics_without_todays_keys_reruns(tmp_path, fake, capfd):
    sweep(tmp_path, {"learning_rate": "0.5"}, progress=False)
    metrics = tmp_path / "learning_rate=0.5" / "metrics.json"
    metrics.write_text(json.dumps({"test_accuracy": 0.5}))
    capfd.readouterr()
    fake.calls.clear()
    table = sweep(tmp_path, {"learning_rate": "0.5"}, progress=False)
    assert len(fake.calls) == 5 and table["error"].isna().all()
    assert (f"running learning_rate=0.5 again: {metrics} has no test_loss, train_seconds "
            "(written by an older digitlib?)") in capfd.readouterr().err
    assert "train_seconds" in json.loads(metrics.read_text())


@pytest.mark.parametrize("written", ['{"test_accuracy": 0.5}', "[0.5]", "not json"])
def test_run_leaving_metrics_without_todays_keys_fails_in_one_line(tmp_path, fake, monkeypatch,
                                                                    capsys, written):
    def execute(path, output, parameters):
        fake(path, output, parameters)
        if path.stem.startswith("05"):
            (Path(parameters["run_dir"]) / "metrics.json").write_text(written)
    monkeypatch.setattr(digitlib.lessons, "execute", execute)
    code = main(["sweep", "--sweep-dir", str(tmp_path), "-q", "-p", "learning_rate", "0.5,1"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 2 and "Traceback" not in err
    for line, name in zip(err.splitlines(), ("learning_rate=0.5", "learning_rate=1")):
        assert line.startswith(f"digitlib: run {name} failed: {tmp_path / name / 'metrics.json'} ")


def test_record_that_is_not_an_object_is_not_finished(tmp_path, fake, capfd):
    sweep(tmp_path, {"learning_rate": "0.5"}, progress=False)
    (tmp_path / "learning_rate=0.5" / "params.json").write_text("[1, 2]")
    fake.calls.clear()
    table = sweep(tmp_path, {"learning_rate": "0.5"}, progress=False)
    assert len(fake.calls) == 5 and table["error"].isna().all()


def test_worker_with_another_digitlib_fails_the_run():
    task = {"name": "run", "record": {"digitlib": "0.0.1+ffffffffffff"}, "stop": None,
            "lessons": []}
    result = SWEEP.run_task(task)
    assert result["error"].startswith("this worker runs digitlib ")
    assert "the client 0.0.1+ffffffffffff" in result["error"]


def test_older_record_without_lessons_is_not_finished(tmp_path, fake, capfd):
    sweep(tmp_path, {"learning_rate": "0.5"}, progress=False)
    done = tmp_path / "learning_rate=0.5" / "params.json"
    done.write_text(json.dumps({"parameters": {"learning_rate": 0.5}, "lessons": ["01", "05"]}))
    fake.calls.clear()
    sweep(tmp_path, {"learning_rate": "0.5"}, progress=False)
    assert len(fake.calls) == 5
    assert "again: its lessons changed" in capfd.readouterr().err


# The scheduler -----------------------------------------------------------------------

def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_scheduler_fails_before_any_work(tmp_path, no_execute, monkeypatch):
    monkeypatch.setattr(SWEEP, "CONNECT_TIMEOUT", "1s")
    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(DigitlibError, match="cannot reach the Dask scheduler at "
                       + address.replace(".", r"\.")) as caught:
        sweep(tmp_path / "s", {"epochs": "1,2"}, scheduler=address, progress=False)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "s").exists()


def test_cli_unreachable_scheduler_one_line(tmp_path, no_execute, monkeypatch, capsys):
    monkeypatch.setattr(SWEEP, "CONNECT_TIMEOUT", "1s")
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", f"tcp://127.0.0.1:{free_port()}")
    address = f"tcp://127.0.0.1:{free_port()}"  # the option wins over the variable
    code = main(["sweep", "--sweep-dir", str(tmp_path / "s"), "-q", "--scheduler", address,
                 "-p", "epochs", "1,2"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"digitlib: cannot reach the Dask scheduler at {address}: ")
    assert not (tmp_path / "s").exists()


def test_each_finished_run_keeps_its_history(tmp_path, fake):
    table = sweep(tmp_path, {"learning_rate": "0.75,13,0.25"}, progress=False)
    histories = {name: json.loads((tmp_path / name / "history.json").read_text())["history"]
                 for name in table["run_dir"] if (tmp_path / name / "history.json").is_file()}
    assert list(histories) == ["learning_rate=0.75", "learning_rate=0.25"]
    assert histories["learning_rate=0.25"]["val_accuracy"] == [0.5, 0.25]


# The command line ------------------------------------------------------------------------

def test_cli_exit_0_when_every_run_passes(tmp_path, fake, capsys):
    code = main(["sweep", "--sweep-dir", str(tmp_path), "-q", "--jobs", "2",
                 "-p", "optimizer", "adam,sgd", "-p", "learning_rate", "0.5", "-p", "epochs", "3"])
    out = capsys.readouterr().out
    assert code == 0
    assert "2 runs (0 failed)" in out
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == ["optimizer=adam",
                                                                       "optimizer=sgd"]
    assert (pd.read_csv(tmp_path / "sweep.csv")["epochs"] == 3).all()  # one value: fixed, not in the names


def test_cli_exit_1_when_a_run_fails(tmp_path, fake, capsys):
    code = main(["sweep", "--sweep-dir", str(tmp_path), "-q", "-p", "learning_rate", "0.5,13"])
    captured = capsys.readouterr()
    assert code == 1
    assert "2 runs (1 failed)" in captured.out
    assert captured.err == ("digitlib: run learning_rate=13 failed: lesson 04_train failed: "
                            "ValueError: unlucky rate\n")


@pytest.mark.parametrize("args, message", [
    (["-p", "optimiser", "adam,sgd"], "parameter 'optimiser' is not used by these lessons"),
    (["-p", "epochs", "1,x"], "epochs must be a whole number"),
    (["-p", "epochs", "1,"], "empty value"),
    (["-p", "epochs", "1", "-p", "epochs", "2"], "given twice"),
    (["-p", "run_dir", "a,b"], "run_dir"),
    (["--jobs", "0", "-p", "epochs", "1,2"], "jobs must be"),
    (["--first", "08", "--last", "09"], "--last 09: there is no lesson 09"),
])
def test_cli_bad_input_exit_2_one_line(tmp_path, no_execute, capsys, args, message):
    code = main(["sweep", "--sweep-dir", str(tmp_path / "s"), "-q", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("digitlib: ") and err.count("\n") == 1 and message in err
    assert "Traceback" not in err and not (tmp_path / "s").exists()


# The real lessons, on a tiny subset ------------------------------------------------------

@pytest.fixture(scope="module")
def real_sweep(tmp_path_factory):
    """Run lessons 01-05 for two tiny configurations and one that fails, two at a time."""
    sweep_dir = tmp_path_factory.mktemp("sweeps") / "real sweep"
    table = sweep(sweep_dir, REAL_RUNS, jobs=2, fixed=TINY, progress=False)
    return sweep_dir, table


def test_real_sweep_writes_one_row_per_run(real_sweep):
    sweep_dir, table = real_sweep
    assert list(table["run_dir"]) == ["optimizer=adam,learning_rate=0.001",
                                      "optimizer=sgd,learning_rate=0.01", NOT_MNIST_RUN]
    on_disk = pd.read_csv(sweep_dir / "sweep.csv")
    assert list(on_disk["run_dir"]) == list(table["run_dir"])
    assert (on_disk["train_size"] == 200).all() and (on_disk["epochs"] == 1).all()
    for i in (0, 1):
        assert on_disk["error"].isna()[i]
        assert 0.1 < on_disk["test_accuracy"][i] <= 1.0 and on_disk["train_seconds"][i] > 0
        metrics = json.loads((sweep_dir / table["run_dir"][i] / "metrics.json").read_text())
        assert metrics["test_accuracy"] == pytest.approx(on_disk["test_accuracy"][i])
        assert metrics["recipe"]["optimizer"] == table["optimizer"][i]
        assert metrics["recipe"]["learning_rate"] == table["learning_rate"][i]
        assert metrics["train_examples"] == 180


def test_real_failure_recorded_with_the_lessons_error(real_sweep):
    sweep_dir, table = real_sweep
    error = table["error"][2]
    assert error.startswith("lesson 01_load_data failed: ") and "pyproject.toml" in error
    assert "\n" not in error
    assert not (sweep_dir / NOT_MNIST_RUN / "params.json").exists()


def test_real_runs_keep_lesson_4s_history(real_sweep):
    sweep_dir, table = real_sweep
    for name in table["run_dir"][:2]:
        history = json.loads((sweep_dir / name / "history.json").read_text())
        assert history["epochs"] == 1 and len(history["history"]["val_accuracy"]) == 1


def test_real_resume_runs_only_the_failed_run(real_sweep, monkeypatch, on_threads):
    sweep_dir, table = real_sweep
    finished = sweep_dir / table["run_dir"][0] / "05_evaluate.ipynb"
    stamp = finished.stat().st_mtime_ns
    lessons = FakeLessons()
    monkeypatch.setattr(digitlib.lessons, "execute", lessons)
    again = sweep(sweep_dir, REAL_RUNS, jobs=2, fixed=TINY, progress=False)
    assert {name for name, _ in lessons.calls} == {NOT_MNIST_RUN}
    assert finished.stat().st_mtime_ns == stamp
    assert list(again["test_accuracy"][:2]) == pytest.approx(list(table["test_accuracy"][:2]))
