"""Sweeps on real Dask processes: a scheduler and two workers on 127.0.0.1, one killed mid-run.

Each process starts from a working folder of its own and keeps its temporary files there,
so nothing reaches the client but what the workers send back. The processes are stopped
by the fixture's finalizer, whatever the test does.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from digitlib.cli import main
from digitlib.sweeps import TABLE, TOPIC

TINY = ["-p", "train_size", "600", "-p", "epochs", "1", "-p", "batch_size", "32",  # 17 steps
        "-p", "show_adadelta_demo", "False"]


def dask_command() -> str:
    beside = Path(sys.executable).with_name("dask")
    command = str(beside) if beside.exists() else shutil.which("dask")
    if command is None:
        pytest.skip("needs the dask command (pip install distributed)")
    return command


class Processes:
    """Start processes, each in its own session; stop them all at the end."""

    def __init__(self):
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list, cwd: Path) -> subprocess.Popen:
        cwd.mkdir(parents=True)
        (cwd / "tmp").mkdir()
        env = {**os.environ, "TMPDIR": str(cwd / "tmp")}
        env.pop("DASK_SCHEDULER_ADDRESS", None)
        log = open(cwd / "log.txt", "w")
        proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        log.close()
        self.running[name] = proc
        return proc

    def stop(self):
        for proc in self.running.values():  # the whole session: nanny, worker, kernels
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in self.running.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


@pytest.fixture
def cluster(tmp_path, request):
    """Start `dask scheduler` and two `dask worker`s on 127.0.0.1; yield a client and them."""
    from distributed import Client

    dask = dask_command()
    procs = Processes()
    request.addfinalizer(procs.stop)
    scheduler_file = tmp_path / "scheduler.json"
    procs.start("scheduler", [dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                              "--dashboard-address", "127.0.0.1:0",
                              "--scheduler-file", str(scheduler_file)], tmp_path / "scheduler")
    for name in ("worker-a", "worker-b"):
        procs.start(name, [dask, "worker", "--scheduler-file", str(scheduler_file),
                           "--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0",
                           "--nthreads", "2", "--name", name], tmp_path / name)
    client = Client(scheduler_file=str(scheduler_file), timeout="120s")
    request.addfinalizer(client.close)
    client.wait_for_workers(2, timeout=180)
    return client, procs


def test_killed_worker_its_run_finishes_elsewhere(tmp_path, cluster, capsys):
    client, procs = cluster
    address = client.scheduler.address
    events, killed = [], threading.Event()

    def on_event(event):  # runs as each lesson starts on a worker
        _, message = event
        events.append(message)
        if message["lesson"] == "02_preprocess" and not killed.is_set():
            killed.set()  # this worker is mid-run: lesson 01 done, lesson 02 starting
            os.kill(procs.running[message["name"]].pid, signal.SIGKILL)
            message["killed"] = True

    client.subscribe_topic(TOPIC, on_event)
    sweep_dir = tmp_path / "sweep"
    code = main(["sweep", "--sweep-dir", str(sweep_dir), "-q", "--scheduler", address,
                 "-p", "seed", "0,1", *TINY])
    out = capsys.readouterr().out
    assert killed.is_set(), "no lesson 02 started, so no worker was killed"
    assert code == 0, out
    assert "2 runs (0 failed)" in out

    table = pd.read_csv(sweep_dir / TABLE)
    assert list(table["run_dir"]) == ["seed=0", "seed=1"]
    assert table["error"].isna().all()
    assert ((table["test_accuracy"] > 0.1) & (table["test_accuracy"] <= 1)).all()
    assert table["data_source"].notna().all()
    victim = next(m for m in events if m.get("killed"))
    survivor = next(a for a in client.scheduler_info()["workers"] if a != victim["worker"])
    assert set(table["worker"]) == {survivor}, "a run was recorded from the killed worker"
    restarted = [m for m in events if m["run"] == victim["run"] and m["lesson"] == "01_load_data"]
    assert [m["worker"] for m in restarted] == [victim["worker"], survivor]
    for name in table["run_dir"]:
        record = json.loads((sweep_dir / name / "params.json").read_text())
        assert record["worker"] == survivor
        assert (sweep_dir / name / "mnist.keras").is_file()
        assert (sweep_dir / name / "dataset.json").is_file()  # where the data came from
        assert not (sweep_dir / name / "split.npz").exists()  # the data stays on the worker
    assert not list(sweep_dir.glob(".*"))
    for name in ("worker-a", "worker-b"):  # nothing was written where the workers started
        assert sorted(p.name for p in (tmp_path / name).iterdir()) == ["log.txt", "tmp"]
