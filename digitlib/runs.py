"""Own the run folder: where each lesson reads and writes, always atomically."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from .errors import DataError, MissingArtifactError

DEFAULT_RUN_DIR = Path("runs") / "default"

#: Environment variable naming a folder that stands in for the checkout's ``runs/``.
RUNS_ENV = "DIGITLIB_RUNS"
CHECKOUT_RUNS = Path(__file__).resolve().parents[1] / "runs"

#: Every file a lesson leaves in the run folder, with the lesson that writes it
#: and what it is, for the message when a later lesson finds it missing.
#: The data itself is not copied here: dataset.json records where it came from and its
#: checksum, and split.npz which training images train and which validate.
ARTIFACTS = {
    "dataset.json": ("01_load_data", "record of the loaded data"),
    "split.npz": ("02_preprocess", "training and validation split"),
    "architecture.keras": ("03_build_model", "model architecture"),
    "mnist.keras": ("04_train", "trained model"),
    "mnist.h5": ("04_train", "trained model in HDF5"),
    "history.json": ("04_train", "training history"),
    "metrics.json": ("05_evaluate", "evaluation metrics"),
}

#: The record, in a run folder, of the lessons' outputs that digitlib wrote there (each
#: artifact a RunDir saves, each executed notebook and lesson folder `digitlib run` makes):
#: only these are ever removed when a run starts again, so a file of yours that merely
#: shares a name stays.
MANIFEST = ".digitlib-run.json"


def written(folder: str | os.PathLike) -> set[str]:
    """Return the names that digitlib recorded writing in ``folder`` (empty if none)."""
    try:
        names = json.loads((Path(folder) / MANIFEST).read_text()).get("written", [])
    except (OSError, ValueError, AttributeError):
        return set()
    return {name for name in names if isinstance(name, str)} if isinstance(names, list) else set()


def record_written(folder: str | os.PathLike, add=(), remove=()) -> None:
    """Add ``add`` to and drop ``remove`` from the names recorded in ``folder``, atomically."""
    folder = Path(folder)
    names = (written(folder) | set(add)) - set(remove)
    fd, tmp = tempfile.mkstemp(prefix=f"{MANIFEST}.", dir=folder)
    try:
        with os.fdopen(fd, "w") as stream:
            json.dump({"written": sorted(names)}, stream, indent=2)
            stream.write("\n")
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, folder / MANIFEST)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def run_path(path: str | os.PathLike) -> Path:
    """Return where the run folder ``path`` lives: moved under $DIGITLIB_RUNS if that is set.

    With ``DIGITLIB_RUNS`` set, a folder inside the checkout's ``runs/`` (such as the
    lessons' default ``../runs/default``) is the same folder under ``$DIGITLIB_RUNS``
    instead, so that the tests never read or write the checkout's runs. Any other path,
    and every path when the variable is not set, is returned as given.
    """
    path = Path(path)
    moved = os.environ.get(RUNS_ENV)
    if not moved:
        return path
    try:
        inside = path.resolve().relative_to(CHECKOUT_RUNS)
    except ValueError:
        return path
    return Path(moved) / inside


class RunDir:
    """Read and write the artifacts of one run, e.g. ``runs/default``."""

    def __init__(self, path: str | os.PathLike = DEFAULT_RUN_DIR, create: bool = True):
        self.path = run_path(path)
        if create:
            self.path.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def has(self, name: str) -> bool:
        """Return whether the artifact ``name`` exists in this run."""
        return (self.path / name).is_file()

    def require(self, name: str) -> Path:
        """Return the path of artifact ``name``, or raise naming the lesson that writes it."""
        path = self.path / name
        if not path.is_file():
            lesson, what = ARTIFACTS.get(name, ("an earlier lesson", name))
            raise MissingArtifactError(f"no {what} in {self.path}: run {lesson} first")
        return path

    @contextmanager
    def atomic(self, name: str):
        """Yield a temporary path to write ``name`` to; rename it into place on success."""
        target = self.path / name
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix,
                                   dir=self.path)
        os.close(fd)
        try:
            yield Path(tmp)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's files are private; an artifact is not
            os.replace(tmp, target)
            if name in ARTIFACTS:  # a lesson's output: a later run may clear it
                record_written(self.path, add=[name])
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def save_json(self, name: str, obj) -> Path:
        """Write ``obj`` as indented JSON, atomically."""
        with self.atomic(name) as tmp:
            tmp.write_text(json.dumps(obj, indent=2, default=_to_builtin) + "\n")
        return self.path / name

    def load_json(self, name: str):
        """Read the JSON artifact ``name``."""
        return json.loads(self.require(name).read_text())

    def save_arrays(self, name: str, **arrays: np.ndarray) -> Path:
        """Write named arrays to an uncompressed ``.npz``, atomically."""
        with self.atomic(name) as tmp:
            with open(tmp, "wb") as stream:
                np.savez(stream, **arrays)
        return self.path / name

    def load_arrays(self, name: str) -> dict[str, np.ndarray]:
        """Read every array of the ``.npz`` artifact ``name``."""
        with np.load(self.require(name), allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}

    def save_dataset(self, data) -> Path:
        """Record where ``data`` (an ``MNIST``) came from, and its checksum, in dataset.json."""
        from .data import describe

        return self.save_json("dataset.json", describe(data))

    def load_mnist(self):
        """Reload the MNIST that dataset.json records, checked against its checksum."""
        from .data import reload

        path = self.require("dataset.json")
        return reload(self.load_json("dataset.json"), where=path)

    def load_prepared(self) -> dict[str, np.ndarray]:
        """Return lesson 2's data: float32 images (N, 28, 28, 1) in [0, 1] and integer labels.

        The keys are ``x_train``, ``y_train``, ``x_val``, ``y_val`` (the images split.npz
        names, in its order) and ``x_test``, ``y_test``.
        """
        from .preprocessing import prepare_images

        split = self.load_arrays("split.npz")
        mnist = self.load_mnist()
        for key in ("train_index", "val_index"):
            index = split.get(key)
            if index is None or index.ndim != 1 or not np.issubdtype(index.dtype, np.integer) or (
                    len(index) and not 0 <= index.min() <= index.max() < len(mnist.x_train)):
                raise DataError(f"{self.path / 'split.npz'}: {key} is missing or does not "
                                f"index the {len(mnist.x_train):,} training images: "
                                "run 02_preprocess again")
        train, val = split["train_index"], split["val_index"]
        return {
            "x_train": prepare_images(mnist.x_train[train]), "y_train": mnist.y_train[train],
            "x_val": prepare_images(mnist.x_train[val]), "y_val": mnist.y_train[val],
            "x_test": prepare_images(mnist.x_test), "y_test": mnist.y_test,
        }

    def save_model(self, model, name: str = "mnist.keras") -> Path:
        """Save a Keras model (``.keras`` or ``.h5``), atomically."""
        absl = logging.getLogger("absl")
        level = absl.level
        if name.endswith(".h5"):
            absl.setLevel(logging.ERROR)  # HDF5 is legacy, and saved on purpose here
        try:
            with self.atomic(name) as tmp:
                model.save(tmp)
        finally:
            absl.setLevel(level)
        return self.path / name

    def load_model(self, name: str = "mnist.keras", compile: bool = True):
        """Load the model artifact ``name`` with :func:`digitlib.models.load_model`.

        Only this run folder's own check comes first: a missing artifact names the lesson that
        writes it.
        """
        from .models import load_model

        return load_model(self.require(name), compile=compile)


def _umask() -> int:
    """Return the process's umask (it can only be read by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _to_builtin(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
