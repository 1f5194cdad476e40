"""Give every test session its own run folder, and skip nbval without the full MNIST.

With ``DIGITLIB_REQUIRE_DATA=1`` (as CI sets) a missing MNIST fails each lesson instead.

This file sits at the top of the checkout, not in notebooks/, so that it is not listed
among the lessons in JupyterLab.
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
CHECKOUT_RUNS = ROOT / "runs"

REASON = (
    "the committed lessons are checked against the full MNIST, which is not available here: "
    "set DIGITLIB_DATA to a folder holding mnist.npz or the four IDX files, or download it "
    "once with python -c 'import keras; keras.datasets.mnist.load_data()'"
)


def full_mnist_available() -> bool:
    """Return whether the lessons will load the full MNIST rather than the sample."""
    from digitlib.data import DATA_ENV, keras_cache

    folder = os.environ.get(DATA_ENV)
    return Path(folder).exists() if folder else keras_cache().is_file()


def data_required() -> bool:
    """Return whether a missing full MNIST must fail the tests that need it (CI)."""
    return os.environ.get("DIGITLIB_REQUIRE_DATA") == "1"


def _snapshot(folder: Path):
    """Return every path under ``folder`` with its modification time, or None if absent."""
    if not folder.exists():
        return None
    return {(str(p), p.stat().st_mtime_ns) for p in folder.rglob("*")}


def pytest_configure(config):
    """Point the lessons' run folders (the checkout's runs/) at a fresh temporary folder.

    The variable is set before any test or nbval kernel starts, and kernels inherit it:
    ``digitlib.runs.run_path`` then maps ``../runs/default`` and every other folder
    inside the checkout's runs/ to the same place under this session's folder.
    """
    config._digitlib_runs = tempfile.mkdtemp(prefix="digitlib-test-runs-")
    config._digitlib_saved_runs_env = os.environ.get("DIGITLIB_RUNS")
    config._digitlib_checkout_runs = _snapshot(CHECKOUT_RUNS)
    os.environ["DIGITLIB_RUNS"] = config._digitlib_runs


def pytest_collection_modifyitems(config, items):
    if full_mnist_available() or data_required():
        return
    skip = pytest.mark.skip(reason=REASON)
    for item in items:
        if str(item.fspath).endswith(".ipynb"):
            item.add_marker(skip)


def pytest_runtest_setup(item):
    """Fail a lesson, before its kernel starts, when CI requires the full MNIST and lacks it."""
    if str(item.fspath).endswith(".ipynb") and data_required() and not full_mnist_available():
        pytest.fail(f"DIGITLIB_REQUIRE_DATA=1, yet {REASON}", pytrace=False)


def pytest_sessionfinish(session, exitstatus):
    """Fail the session if anything created or changed the checkout's runs/ folder."""
    config = session.config
    if _snapshot(CHECKOUT_RUNS) != getattr(config, "_digitlib_checkout_runs", None):
        print(f"\nthe tests created or changed {CHECKOUT_RUNS}; they must use $DIGITLIB_RUNS")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config):
    folder = getattr(config, "_digitlib_runs", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        saved = config._digitlib_saved_runs_env
        if saved is None:
            os.environ.pop("DIGITLIB_RUNS", None)
        else:
            os.environ["DIGITLIB_RUNS"] = saved
