"""The project's front door: README, CI script and packaging agree with each other."""

import re
import tomllib
from pathlib import Path

import digitlib as dl

ROOT = Path(__file__).resolve().parents[1]


def readme_test_command() -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Tests", 1)[1]
    return re.search(r"```bash\n(.+?)\n```", section, re.S).group(1).strip()


def test_ci_runs_exactly_the_readme_test_command():
    script = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert script[-1].strip() == readme_test_command()


def test_ci_installs_into_a_fresh_virtual_environment():
    script = (ROOT / ".ci" / "run").read_text()
    assert "python3 -m venv --clear .venv" in script and "pip install" in script
    assert "DIGITLIB_DATA" in script


def test_console_script_and_version():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert meta["scripts"]["digitlib"] == "digitlib.cli:main"
    assert meta["version"] == dl.__version__


def test_public_functions_have_one_line_imperative_docstrings():
    for name in dl.__all__:
        obj = getattr(dl, name)
        if callable(obj) and not isinstance(obj, type):
            doc = (obj.__doc__ or "").strip()
            assert doc, f"{name} has no docstring"
            first = doc.splitlines()[0]
            assert first.endswith("."), f"{name}: {first!r}"
            verb = first.split()[0]
            assert not (verb.endswith("s") and not verb.endswith("ss")), (
                f"{name}: summary should be imperative, 'Return' not 'Returns' ({first!r})")


def _relative_links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)  # not inside code blocks
    return [link for link in re.findall(r"\]\(([^)\s]+)\)", text)
            if not re.match(r"[a-z]+:", link) and not link.startswith("#")]


def test_readme_is_a_front_door_and_every_page_it_links_exists():
    readme = ROOT / "README.md"
    assert len(readme.read_bytes()) <= 12_000
    pages = [readme, *sorted((ROOT / "docs").glob("*.md"))]
    for page in pages:
        for link in _relative_links(page):
            target = (page.parent / link.split("#")[0]).resolve()
            assert target.exists(), f"{page.name} links to {link}, which does not exist"
    linked = {(ROOT / link.split("#")[0]).resolve() for link in _relative_links(readme)}
    for doc in (ROOT / "docs").glob("*.md"):
        assert doc.resolve() in linked, f"README does not link {doc.name}"
