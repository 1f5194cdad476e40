"""Import TensorFlow and Keras without their start-up chatter on stderr."""

import contextlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is first imported
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@contextlib.contextmanager
def muted_stderr():
    """Send file descriptor 2 to /dev/null for the duration of the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def import_keras():
    """Import TensorFlow and Keras once, hiding the C++ log lines printed before logging starts."""
    if "keras" not in sys.modules:
        with muted_stderr():
            import tensorflow  # noqa: F401
            import keras  # noqa: F401
    import keras

    return keras
