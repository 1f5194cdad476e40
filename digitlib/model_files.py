"""Look inside a saved model file, without loading it, for layers that carry Python code."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path, PurePosixPath

from .errors import DataError

#: Classes whose saved config holds or runs Python code: a Lambda layer's function,
#: a serialised lambda, a layer that loads a TensorFlow SavedModel from a path.
CODE_CLASSES = {"Lambda", "__lambda__", "TFSMLayer"}

#: The only modules a saved config may name: Keras' own (digitlib's models are plain Keras).
TRUSTED_MODULES = ("keras",)


def check_model_file(path: str | Path) -> None:
    """Raise DataError if the ``.keras`` or ``.h5`` file at ``path`` holds code.

    Reads the model's config as JSON (``config.json`` in a ``.keras`` zip, the
    ``model_config`` and ``training_config`` attributes of an ``.h5``) and deserialises
    nothing, so no code in the file can run.
    """
    path = Path(path)
    for config in _configs(path):
        reason = _code_in(config)
        if reason:
            raise DataError(f"{path}: the model holds code ({reason}) and was not loaded")


def _configs(path: Path) -> list:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for name in archive.namelist():
                member = PurePosixPath(name)
                if member.is_absolute() or ".." in member.parts:
                    raise DataError(f"{path}: the model file names a path outside itself "
                                    f"({name!r}) and was not loaded")
            if "config.json" not in archive.namelist():
                return []
            return [_json(path, archive.read("config.json"))]
    import h5py

    if not h5py.is_hdf5(path):
        return []
    with h5py.File(path, "r") as h5:
        texts = [h5.attrs[key] for key in ("model_config", "training_config") if key in h5.attrs]
    return [_json(path, text) for text in texts]


def _json(path: Path, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        raise DataError(f"{path}: not a loadable Keras model (its config is not JSON)") from None


def _code_in(config) -> str | None:
    """Return what in ``config`` carries code (e.g. "a Lambda layer"), or None."""
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            name = item.get("class_name")
            if isinstance(name, str) and name.split(">")[-1].split(".")[-1] in CODE_CLASSES:
                return f"a {name.split('>')[-1]} layer" if name != "__lambda__" else "a lambda"
            module = item.get("module")
            if isinstance(module, str) and module.split(".")[0] not in TRUSTED_MODULES:
                return f"a reference to the module {module!r}"
            for key in ("class_name", "registered_name"):  # "package>Class": not Keras' own
                value = item.get(key)
                if isinstance(value, str) and ">" in value and not value.startswith("keras"):
                    return f"a layer registered outside Keras, {value!r}"
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None
