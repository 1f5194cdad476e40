"""Import TensorFlow and Keras without their start-up chatter on stderr."""

import contextlib
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow is first imported


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


def import_keras():
    """Import TensorFlow and Keras once, hiding the C++ log lines printed before logging starts.

    TF_CPP_MIN_LOG_LEVEL cannot silence the lines TensorFlow prints while it loads and
    looks for a GPU (they come before its logging is set up), so stderr is muted for that.
    The backend is the user's choice, made the Keras way (``KERAS_BACKEND`` or
    ``~/.keras/keras.json``); digitlib never sets it.
    """
    if "keras" not in sys.modules:
        with muted_stderr():
            import keras

            if keras.backend.backend() == "tensorflow":
                import tensorflow

                tensorflow.config.list_physical_devices()  # the GPU probe logs here, once
    import keras

    return keras
