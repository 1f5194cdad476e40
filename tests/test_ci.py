"""CI cannot pass by skipping: missing data fails it, and the packaging declares what is used."""

import ast
import os
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


# --- a missing MNIST fails CI, where elsewhere it skips ---------------------------------------

def run_pytest_without_data(tmp_path, require: bool) -> subprocess.CompletedProcess:
    """Run one lesson and one full-data test with no MNIST to be found."""
    env = {**os.environ, "DIGITLIB_DATA": str(tmp_path / "no-mnist"),
           "KERAS_HOME": str(tmp_path / "keras"), "DIGITLIB_REQUIRE_DATA": "1" if require else ""}
    env.pop("DIGITLIB_RUNS", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
         "notebooks/01_load_data.ipynb", "tests/test_data.py::test_full_copy_as_folder"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_missing_data_fails_when_required(tmp_path):
    result = run_pytest_without_data(tmp_path, require=True)
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "DIGITLIB_REQUIRE_DATA=1, yet" in out and " skipped" not in out
    assert "ERROR notebooks/01_load_data.ipynb::Cell 0" in out  # failed before its kernel ran
    assert "ERROR tests/test_data.py::test_full_copy_as_folder" in out


def test_missing_data_skips_otherwise(tmp_path):
    result = run_pytest_without_data(tmp_path, require=False)
    out = result.stdout + result.stderr
    assert result.returncode == 0 and " skipped" in out and "failed" not in out, out


def test_ci_requires_the_data_and_the_backends():
    script = (ROOT / ".ci" / "run").read_text()
    assert "export DIGITLIB_REQUIRE_DATA=1" in script
    assert "export DIGITLIB_REQUIRE_BACKENDS=1" in script


# --- CI starts from a fresh environment, with PyTorch's CPU build -----------------------------

def test_ci_makes_a_fresh_environment_with_pytorch_for_the_cpu():
    script = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m venv --clear .venv" in script
    torch_line = next(line for line in script.splitlines() if "install" in line and "torch=" in line)
    # The CPU build comes before the project, whose torch extra then needs nothing more.
    assert script.index(torch_line) < script.index("-e '.[test,jax,torch]'")
    assert "torch.version.cuda is None" in script  # and a CUDA build fails CI


# --- the packaging declares what the code imports ---------------------------------------------

def imported_distributions(folder: Path) -> set[str]:
    """Return the distributions that the Python files under ``folder`` import."""
    local = {p.stem for where in ("digitlib", "tests", "benchmarks") for p in (ROOT / where).rglob("*.py")}
    local |= {"digitlib", "conftest"}
    modules = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.split(".")[0])
    modules -= set(sys.stdlib_module_names) | local
    owners = packages_distributions()
    return {normalise(owners[m][0]) for m in modules if m in owners}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(*groups: str) -> set[str]:
    project = PYPROJECT["project"]
    lines = list(project["dependencies"])
    for group in groups:
        lines += project["optional-dependencies"][group]
    return {normalise(Requirement(line).name) for line in lines}


def test_digitlib_declares_every_package_it_imports():
    missing = imported_distributions(ROOT / "digitlib") - declared("jax", "torch")
    assert not missing, f"digitlib imports {sorted(missing)}, which pyproject.toml does not list"


def test_tests_declare_every_package_they_import():
    missing = (imported_distributions(ROOT / "tests") | imported_distributions(ROOT / "benchmarks")
               ) - declared("test", "jax", "torch")
    assert not missing, f"the tests import {sorted(missing)}, which pyproject.toml does not list"


def test_requires_python_admits_only_versions_the_code_runs_on():
    floor = SpecifierSet(PYPROJECT["project"]["requires-python"])
    assert "3.10" not in floor and "3.11" in floor  # tomllib, used by the tests, is 3.11+
    conda = re.search(r"^\s*- python=(\S+)", (ROOT / "environment.yml").read_text(), re.M)
    assert conda.group(1) in floor, "environment.yml's Python is outside requires-python"


def test_environment_yml_names_the_declared_packages():
    text = (ROOT / "environment.yml").read_text()
    for name in declared() - {"digitlib"}:
        assert re.search(rf"\b{re.escape(name)}\b", text), f"environment.yml does not name {name}"
