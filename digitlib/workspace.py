"""Keep the learner's own copy of the lessons, where their answers live, beside the committed ones.

``digitlib lab`` copies the lessons once into ``my-lessons/`` at the top of the checkout (git
ignores it) and starts JupyterLab there, so that answering exercises never edits the committed
``notebooks/`` and ``git pull`` never fights with the learner's work. When a lesson changes
upstream, a copy the learner has not edited is replaced by the new version; an edited one is
kept, and the new version is put beside it in ``my-lessons/new-versions/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from .errors import DigitlibError

WORKSPACE = Path(__file__).resolve().parents[1] / "my-lessons"
#: What each copy was made from: {lesson file name: SHA-256 of the lesson it copies}.
RECORD = ".digitlib-copies.json"
NEW_VERSIONS = "new-versions"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _copy(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_record(folder: Path, record: dict) -> None:
    handle, tmp = tempfile.mkstemp(dir=folder, prefix=f"{RECORD}.", suffix=".tmp")
    with os.fdopen(handle, "w") as file:
        json.dump(record, file, indent=1, sort_keys=True)
    os.replace(tmp, folder / RECORD)


def sync_lessons(lessons: Path, folder: Path = WORKSPACE) -> list[str]:
    """Copy the lessons into ``folder`` without overwriting the learner's edits; return what changed.

    Returns one line for each lesson copied, updated, or offered in ``new-versions/``.
    """
    if not lessons.is_dir():
        raise DigitlibError(f"lesson notebooks not found in {lessons}")
    if folder.resolve() == lessons.resolve():
        raise DigitlibError(f"{folder} is the committed lessons' folder: choose another one")
    folder.mkdir(parents=True, exist_ok=True)
    record_path = folder / RECORD
    try:
        record = json.loads(record_path.read_text()) if record_path.is_file() else {}
    except (OSError, ValueError):
        raise DigitlibError(f"{record_path}: unreadable; delete it and run digitlib lab again") from None
    changes = []
    for source in sorted(lessons.glob("[0-9][0-9]_*.ipynb")):
        target, upstream = folder / source.name, _digest(source)
        if not target.exists():
            _copy(source, target)
            changes.append(f"copied {source.name}")
        elif record.get(source.name) == upstream:
            continue  # the learner's copy starts from today's lesson
        elif record.get(source.name) == _digest(target):  # an untouched copy of an older lesson
            _copy(source, target)
            changes.append(f"updated {source.name}")
        else:
            offered = folder / NEW_VERSIONS / source.name
            if not offered.exists() or _digest(offered) != upstream:
                _copy(source, offered)
                changes.append(f"a new version of {source.name} is in {NEW_VERSIONS}/; "
                               "your copy, with your answers, is unchanged")
            continue  # the record keeps naming what the learner's copy started from
        record[source.name] = upstream
    images = lessons / "images"
    if images.is_dir():
        for picture in images.iterdir():
            if picture.is_file() and not (folder / "images" / picture.name).exists():
                _copy(picture, folder / "images" / picture.name)
    _write_record(folder, record)
    return changes
