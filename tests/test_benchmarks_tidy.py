"""benchmarks/ stays tidy: cited results, an archive with a manifest, scripts that import no other."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
RESULTS = BENCHMARKS / "results"
ARCHIVE = RESULTS / "archive"
#: Modules the benchmark scripts share; they import no benchmark script.
HELPERS = {"_common", "lesson_fit", "custom_layers"}
#: The pages whose figures must name an existing results file.
PAGES = [ROOT / "README.md", BENCHMARKS / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _citing_text() -> str:
    """Return every text a result can be cited from: the pages, the lessons and the tests."""
    files = [*PAGES, *sorted((ROOT / "notebooks").glob("*.ipynb")), *sorted((ROOT / "tests").glob("*.py"))]
    return "\n".join(path.read_text(encoding="utf-8") for path in files)


def _published() -> list[Path]:
    return sorted(p for p in RESULTS.iterdir() if p.is_file())


def test_every_results_file_outside_the_archive_is_cited():
    assert _published(), "benchmarks/results/ holds no results"
    text = _citing_text()
    uncited = [p.name for p in _published() if p.name not in text]
    assert not uncited, f"cited nowhere (cite them or move them to results/archive/): {uncited}"


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_no_benchmark_imports_another():
    modules = {p.stem: p for p in BENCHMARKS.glob("*.py")}
    scripts = modules.keys() - HELPERS
    for name, path in modules.items():
        others = (_imports(path) & scripts) - {name}
        assert not others, f"{path.name} imports the benchmark(s) {sorted(others)}"
    assert HELPERS <= modules.keys()
    assert {"recipes", "best", "backends", "chain_profile"} <= scripts
    assert not _imports(modules["_common"]) & modules.keys(), "_common.py imports a local module"


def _manifest_names() -> list[str]:
    return re.findall(r"^- `([^`]+)`: \S", (ARCHIVE / "README.md").read_text(encoding="utf-8"), re.M)


def test_every_archived_file_has_one_manifest_line():
    archived = sorted(p.name for p in ARCHIVE.iterdir() if p.name != "README.md")
    assert archived
    names = _manifest_names()
    assert sorted(names) == archived, "archive/README.md needs one line per file, and no other"


def _named_paths() -> list[tuple[Path, str]]:
    """Return each page and every results path it names, placeholders left out."""
    named = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        pattern = r"(?:benchmarks/)?results/[\w./-]*" if page.parent == BENCHMARKS else r"benchmarks/results/[\w./-]*"
        for found in re.findall(pattern, text):
            found = found.rstrip(".")
            if "YYYY" not in found and "NAME" not in found:
                named.append((page, found))
    return named


def test_every_results_path_a_page_names_exists():
    named = _named_paths()
    assert any(page.name == "results.md" for page, _ in named)
    for page, found in named:
        path = ROOT / found if found.startswith("benchmarks/") else BENCHMARKS / found
        assert path.exists(), f"{page.relative_to(ROOT)} names {found}, which does not exist"


@pytest.mark.parametrize("script", ["recipes", "backends", "best", "chain_profile", "fit_return", "robustness"])
def test_a_benchmark_refuses_to_overwrite_a_result(script, tmp_path):
    suffix = ".txt" if script == "fit_return" else ".md"
    existing = tmp_path / f"old{suffix}"
    existing.write_text("a published result\n")
    done = subprocess.run([sys.executable, str(BENCHMARKS / f"{script}.py"), "--out", str(tmp_path / "old")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert done.stderr.strip().splitlines()[-1] == (
        f"{existing} exists: results are never overwritten; pass --out with a new path")
    assert existing.read_text() == "a published result\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [existing.name]


def test_the_default_output_is_dated_and_new(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import _common

    out = _common.out_path("recipes", None, (".md",))
    assert re.fullmatch(r"recipes-\d{4}-\d{2}-\d{2}", out.name)
    assert out.parent == RESULTS
    assert not out.with_suffix(".md").exists()


def test_chain_profile_runs_the_lessons_in_its_own_run_folder(tmp_path):
    """Each lesson gets the profile's run folder, so its artifacts land there and are counted."""
    run_dir = tmp_path / "run"
    out = tmp_path / "profile"
    subprocess.run([sys.executable, str(BENCHMARKS / "chain_profile.py"), "--first", "01", "--last", "01",
                    "--no-imports", "--run-dir", str(run_dir), "--out", str(out)],
                   check=True, capture_output=True, text=True, cwd=tmp_path)
    profile = json.loads(out.with_suffix(".json").read_text())
    assert "dataset.json" in profile["run_folder_files"] and profile["run_folder_mb"] > 0
    assert (run_dir / "dataset.json").is_file()
