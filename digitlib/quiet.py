"""Keep TensorFlow's start-up chatter, and that of the lessons' kernels, off stderr."""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import logging
import os
import sys


@contextlib.contextmanager
def muted_stderr():
    """Send file descriptor 2 to /dev/null in the block; yield a stream to the real stderr."""
    sys.stderr.flush()
    saved = os.dup(2)
    visible = os.fdopen(os.dup(saved), "w", buffering=1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield visible
    finally:
        visible.close()
        os.dup2(saved, 2)
        os.close(saved)


class _MutedLoader(importlib.abc.Loader):
    """Run TensorFlow's own loader with stderr muted, then probe its devices once."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        # TF_CPP_MIN_LOG_LEVEL cannot silence the lines TensorFlow prints while it loads
        # and looks for a GPU (they come before its logging is set up), so stderr is muted.
        with muted_stderr():
            self._loader.exec_module(module)
            module.config.list_physical_devices()  # the GPU probe logs here, once


class _QuietTensorFlow(importlib.abc.MetaPathFinder):
    """Find TensorFlow, the first time anything imports it, with a loader that mutes it."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # once only, and so that find_spec below finds the real one
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _MutedLoader(spec.loader)
        return spec


def quiet_tensorflow() -> None:
    """Make TensorFlow load without log lines, whichever backend loads it, unless it is loaded.

    On JAX and PyTorch TensorFlow still loads, for the tf.data stream that feeds ``fit``.
    """
    if "tensorflow" in sys.modules:
        return
    # Its log lines after loading, errors included: with deterministic kernels on (set_seed),
    # TensorFlow rewrites Keras' input pipeline and logs a harmless "NodeDef mentions
    # attribute" error line into the lesson's output. Set the variable yourself to see them.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # Its Python warnings too, such as "triggered tf.function retracing" when an ensemble's
    # members train one after the other: each member is its own function, as it should be.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    if not any(isinstance(finder, _QuietTensorFlow) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlow())


quiet_tensorflow()
