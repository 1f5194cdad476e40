"""Look inside a saved model file, without loading it, for anything but Keras' own objects."""

from __future__ import annotations

import functools
import importlib
import inspect
import json
import re
import zipfile
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from .errors import DataError

#: Classes whose saved config holds or runs Python code: a Lambda layer's function,
#: a serialised lambda, a layer that loads a TensorFlow SavedModel from a path, a pickled
#: PyTorch module, a JAX or Flax layer's functions.
CODE_CLASSES = {"Lambda", "__lambda__", "TFSMLayer", "TorchModuleWrapper", "JaxLayer",
                "FlaxLayer"}

#: The only modules a saved config may name: Keras' own (digitlib's models are plain Keras).
TRUSTED_MODULES = ("keras",)

#: Keras' public modules whose classes and functions a model file may name: its layers,
#: initializers, regularizers, constraints, activations, losses, metrics and optimizers, and
#: what holds them (models, learning-rate schedules, dtype policies).
KINDS = ("layers", "initializers", "regularizers", "constraints", "activations", "losses",
         "metrics", "optimizers", "optimizers.schedules", "models", "dtype_policies")

#: Public names in those modules that are tools, not modelling objects.
NOT_MODELLING = {"get", "serialize", "deserialize", "Input", "clone_model", "load_model",
                 "model_from_json", "save_model"}

#: Serialised values that are data, not references to code.
DATA_MARKERS = {"__keras_tensor__", "__tensor__", "__numpy__", "__bytes__", "__slice__",
                "__ellipsis__"}

#: The kinds whose functions (not only classes) a model file may name.
FUNCTION_KINDS = ("activations", "losses", "metrics")

KEYS_NAMING_ACTIVATIONS = ("activation", "recurrent_activation")

#: Where Keras keeps a backend's own build of its optimizers: a model compiled on PyTorch saves
#: its Adam as ``keras.src.backend.torch.optimizers.torch_adam.Adam``.
BACKEND_OPTIMIZERS = re.compile(r"keras\.src\.backend\.(tensorflow|jax|torch|numpy)"
                                r"\.(optimizers(\.\w+)?|optimizer)")


def check_model_file(path: str | Path) -> None:
    """Raise DataError if the ``.keras`` or ``.h5`` file at ``path`` names anything but Keras'.

    Reads the model's config as JSON (``config.json`` in a ``.keras`` zip, the
    ``model_config`` and ``training_config`` attributes of an ``.h5``) and deserialises
    nothing, so no code in the file can run. Every class or function the config names must
    be one of the layers, initializers, regularizers, constraints, activations, losses,
    metrics or optimizers (or models, schedules, dtype policies) in Keras' public modules;
    any other reference, ``keras.*`` included (``keras.utils.get_file``), is refused, and so
    are the layers that carry code (``Lambda``, ``TFSMLayer``).
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


class KerasObjects(NamedTuple):
    """The names a model file may use for Keras' own classes and functions."""

    qualified: frozenset  # "keras.layers.Dense", "keras.Sequential", "keras.activations.relu"
    bare: frozenset  # "Dense", "relu": the .h5 format names no module
    functions: frozenset  # "relu", "categorical_crossentropy": saved under "builtins"
    activations: frozenset  # "relu": what a layer's activation may name as a string


@functools.cache
def keras_objects() -> KerasObjects:
    """Return the names of the classes in Keras' :data:`KINDS` modules and of its functions.

    Functions are the activations, losses and metrics; a class counts under every public
    module that exports it (``keras.layers.Dense``; ``keras.Sequential`` too).
    """
    from .backend import import_keras

    keras = import_keras()
    from keras.src.models.functional import Functional  # what keras.Model(inputs, outputs) is

    objects = {f"{Functional.__module__}.Functional": Functional}
    for kind in KINDS:
        module = importlib.import_module(f"keras.{kind}")
        for name, obj in vars(module).items():
            if name.startswith("_") or name in NOT_MODELLING:
                continue
            if inspect.isclass(obj) or (kind in FUNCTION_KINDS and inspect.isfunction(obj)):
                objects[f"keras.{kind}.{name}"] = obj
    for name, obj in list(objects.items()):  # Keras saves some under their top-level name
        short = name.rsplit(".", 1)[1]
        if getattr(keras, short, None) is obj:
            objects[f"keras.{short}"] = obj

    def short_names(prefixes=("",)):
        return frozenset(name.rsplit(".", 1)[1] for name, obj in objects.items()
                         if name.startswith(prefixes) and inspect.isfunction(obj))

    return KerasObjects(frozenset(objects), frozenset(n.rsplit(".", 1)[1] for n in objects),
                        short_names(), short_names(("keras.activations.",)))


def _refused(item: dict) -> str | None:
    """Return why the serialised object ``item`` is not one of Keras' own, or None."""
    qualified, bare, functions, _ = keras_objects()
    name, module = item.get("class_name"), item.get("module")
    if name in DATA_MARKERS or not isinstance(name, str):
        return None
    registered = item.get("registered_name")
    if name == "function":
        name = item.get("config")
        if not isinstance(name, str):
            return "a function reference without a name"
        if registered not in (None, "function", name):
            return f"a function registered as {registered!r}"
        known = f"{module}.{name}" in qualified if module not in (None, "builtins") \
            else name in functions
    else:
        if registered not in (None, name):
            return f"a class registered as {registered!r}"
        known = f"{module}.{name}" in qualified if module is not None else name in bare
        known = known or (isinstance(module, str) and BACKEND_OPTIMIZERS.fullmatch(module)
                          and f"keras.optimizers.{name}" in qualified)
    if known:
        return None
    where = f"{module}.{name}" if module not in (None, "builtins") else name
    return (f"a reference to {where}, which is not a layer, initializer, regularizer, "
            f"constraint, activation, loss, metric or optimizer that Keras ships")


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
            if isinstance(module, str) and module.split(".")[0] not in TRUSTED_MODULES \
                    and module != "builtins":
                return f"a reference to the module {module!r}"
            for key in ("class_name", "registered_name"):  # "package>Class": not Keras' own
                value = item.get(key)
                if isinstance(value, str) and ">" in value and not value.startswith("keras"):
                    return f"a layer registered outside Keras, {value!r}"
            reason = _refused(item) if "class_name" in item else None
            if reason:
                return reason
            for key in KEYS_NAMING_ACTIVATIONS:
                value = item.get(key)
                if isinstance(value, str) and value not in keras_objects().activations:
                    return (f"an activation named {value!r}, which is not one that Keras "
                            f"ships")
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None
