"""digitlib lab: the learner's own copy of the lessons survives updates to the committed ones."""

import json
import subprocess
import sys

import nbformat
import pytest

from digitlib.errors import DigitlibError
from digitlib.workspace import NEW_VERSIONS, RECORD, sync_lessons


def _lesson(folder, name, text):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text)])
    nbformat.write(nb, folder / name)


@pytest.fixture
def lessons(tmp_path):
    folder = tmp_path / "notebooks"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "pad.png").write_bytes(b"png")
    _lesson(folder, "01_load.ipynb", "one")
    _lesson(folder, "02_prep.ipynb", "two")
    return folder


def test_first_sync_copies_every_lesson_and_picture(lessons, tmp_path):
    mine = tmp_path / "mine"
    assert sync_lessons(lessons, mine) == ["copied 01_load.ipynb", "copied 02_prep.ipynb"]
    assert (mine / "01_load.ipynb").read_bytes() == (lessons / "01_load.ipynb").read_bytes()
    assert (mine / "images" / "pad.png").is_file()
    assert sorted(json.loads((mine / RECORD).read_text())) == ["01_load.ipynb", "02_prep.ipynb"]
    assert sync_lessons(lessons, mine) == []  # nothing new upstream: nothing to do


def test_an_update_never_overwrites_the_learners_answers(lessons, tmp_path):
    mine = tmp_path / "mine"
    sync_lessons(lessons, mine)
    _lesson(mine, "01_load.ipynb", "one, with my answer")  # the learner edits lesson 1
    _lesson(lessons, "01_load.ipynb", "one, improved")  # both lessons change upstream
    _lesson(lessons, "02_prep.ipynb", "two, improved")
    _lesson(lessons, "03_new.ipynb", "three")
    changes = sync_lessons(lessons, mine)
    assert changes[0].startswith(f"a new version of 01_load.ipynb is in {NEW_VERSIONS}/")
    assert changes[1:] == ["updated 02_prep.ipynb", "copied 03_new.ipynb"]
    assert "my answer" in (mine / "01_load.ipynb").read_text()
    assert "improved" in (mine / NEW_VERSIONS / "01_load.ipynb").read_text()
    assert "two, improved" in (mine / "02_prep.ipynb").read_text()
    assert sync_lessons(lessons, mine) == []  # offered once, not again
    assert "my answer" in (mine / "01_load.ipynb").read_text()


def test_the_committed_folder_is_refused(lessons):
    with pytest.raises(DigitlibError, match="committed lessons' folder"):
        sync_lessons(lessons, lessons)


def test_digitlib_lab_without_starting(tmp_path):
    mine = tmp_path / "mine"
    result = subprocess.run([sys.executable, "-m", "digitlib", "lab", "--no-start", "--folder", str(mine)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "copied 01_load_data.ipynb" in result.stdout
    assert "git pull never changes them" in result.stdout
    assert sorted(p.name for p in mine.glob("0*.ipynb"))[0] == "01_load_data.ipynb"
