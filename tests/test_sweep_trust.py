"""Sweeps of the real lessons that must not depend on where they were started or shared /tmp.

A relative ``data`` path means the file beside the user; a sweep leaves nothing in the
temporary directory; a worker on another Keras backend than the client's records its own.
"""

import json
import tempfile

import numpy as np
import pytest

from digitlib.sweeps import sweep
from test_sweep_dask import Processes, dask_command

def write_tiny_mnist(path):
    """Write 200 training and 50 test digits of noise, in Keras' mnist.npz layout."""
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 256, (200, 28, 28), dtype=np.uint8),
             y_train=np.arange(200, dtype=np.uint8) % 10,
             x_test=rng.integers(0, 256, (50, 28, 28), dtype=np.uint8),
             y_test=np.arange(50, dtype=np.uint8) % 10)
    return path


def test_relative_data_from_elsewhere_and_nothing_left_in_tmp(tmp_path, monkeypatch):
    """From the user's folder, ``data=mine.npz`` is that file; the sweep's TMPDIR ends empty."""
    home = tmp_path / "home"
    home.mkdir()
    write_tiny_mnist(home / "mine.npz")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", None)  # gettempdir() reads TMPDIR again
    monkeypatch.delenv("DASK_SCHEDULER_ADDRESS", raising=False)
    monkeypatch.chdir(home)
    table = sweep(tmp_path / "sweep", {"seed": "0"}, fixed={"data": "mine.npz"}, last="01",
                  progress=False)
    assert table["error"].isna().all(), table["error"].tolist()
    run = tmp_path / "sweep" / "seed=0"
    dataset = json.loads((run / "dataset.json").read_text())
    assert dataset["origin"] == str(home / "mine.npz")
    record = json.loads((run / "params.json").read_text())
    assert record["environment"]["data_sha256"] == dataset["sha256"]
    assert sorted(p.name for p in tmp.iterdir()) == []


def test_worker_on_another_backend_records_its_own(tmp_path, monkeypatch, request):
    """The client runs TensorFlow, the only worker JAX: the record says JAX.

    (Lesson 01 is enough: the kernels inherit the worker's environment. Run through lesson
    04, history.json says "jax" too; that takes minutes on a small machine.)
    """
    from distributed import Client

    dask = dask_command()
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    procs = Processes()
    request.addfinalizer(procs.stop)
    scheduler_file = tmp_path / "scheduler.json"
    procs.start("scheduler", [dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                              "--dashboard-address", "127.0.0.1:0",
                              "--scheduler-file", str(scheduler_file)], tmp_path / "scheduler")
    monkeypatch.setenv("KERAS_BACKEND", "jax")  # for the worker that starts now only
    procs.start("worker", [dask, "worker", "--scheduler-file", str(scheduler_file),
                           "--host", "127.0.0.1", "--dashboard-address", "127.0.0.1:0",
                           "--nthreads", "1", "--name", "jax-worker"], tmp_path / "worker")
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    client = Client(scheduler_file=str(scheduler_file), timeout="120s")
    request.addfinalizer(client.close)
    client.wait_for_workers(1, timeout=180)

    data = write_tiny_mnist(tmp_path / "mine.npz")
    sweep_dir = tmp_path / "sweep"
    table = sweep(sweep_dir, {"seed": "0"}, fixed={"data": str(data)}, last="01",
                  scheduler=client.scheduler.address, progress=False)
    assert table["error"].isna().all(), table["error"].tolist()
    run = sweep_dir / "seed=0"
    record = json.loads((run / "params.json").read_text())
    assert record["environment"]["backend"] == "jax"
    # the worker's own Dask scratch space stays while it runs; the sweep's folder does not
    assert [p.name for p in (tmp_path / "worker" / "tmp").iterdir()] == ["dask-scratch-space"]
