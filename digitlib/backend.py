"""Check the Keras backend before use, and import Keras quietly and seeded."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

from .quiet import quiet_tensorflow


def keras_backend() -> str:
    """Return the backend Keras will use, read without importing Keras (env, keras.json)."""
    backend = os.environ.get("KERAS_BACKEND")
    if backend:
        return backend
    config = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
    try:
        return json.loads(config.read_text()).get("backend") or "tensorflow"
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


#: The package behind each Keras backend, and the pip command that installs it here.
BACKENDS = {"tensorflow": ("tensorflow", "pip install -e ."),
            "jax": ("jax", "pip install -e '.[jax]'"),
            "torch": ("torch", "pip install -e '.[torch]' (README: Backends)"),
            "numpy": ("numpy", "pip install numpy"),
            "openvino": ("openvino", "pip install openvino")}


def check_backend() -> str:
    """Return the Keras backend chosen, or raise ParameterError if Keras cannot run on it."""
    from .errors import ParameterError

    backend = keras_backend()
    if backend not in BACKENDS:
        raise ParameterError(f"KERAS_BACKEND is {backend!r}, which is not a Keras backend; "
                             f"choose one of {', '.join(BACKENDS)}")
    package, install = BACKENDS[backend]
    if importlib.util.find_spec(package) is None:
        raise ParameterError(f"Keras is set to run on {backend} (KERAS_BACKEND or "
                             f"~/.keras/keras.json), but {package} is not installed: {install}")
    return backend


def import_keras():
    """Import and return Keras, quietly; raise ParameterError if its backend is missing."""
    if "keras" not in sys.modules:
        check_backend()
    quiet_tensorflow()
    import keras

    from .seeds import seed_keras

    seed_keras()
    return keras
