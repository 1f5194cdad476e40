"""Share what the benchmarks need: where results go, the machine's description, the lessons' split.

Imports no benchmark: each script in this folder answers one question and imports only this
module, lesson_fit.py (lesson 4's fit, mirrored) and custom_layers.py (the layers under test).
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def out_path(name: str, given: str | Path | None, suffixes: tuple[str, ...]) -> Path:
    """Return where a benchmark writes (``given``, or results/NAME-YYYY-MM-DD); refuse an existing file.

    The path has no suffix; the benchmark adds each of ``suffixes``. A published result is never
    overwritten: if any of the files exists, exit with one line naming it.
    """
    out = Path(given) if given else RESULTS / f"{name}-{datetime.date.today():%Y-%m-%d}"
    for suffix in suffixes:
        if out.with_suffix(suffix).exists():
            raise SystemExit(f"{out.with_suffix(suffix)} exists: results are never overwritten; "
                             "pass --out with a new path")
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically: a reader sees the old file or the new, never half."""
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def machine() -> str:
    """Describe this machine in one line: CPU, cores, memory, TensorFlow and Keras."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = subprocess.run(
        [sys.executable, "-c", "import os; os.environ['TF_CPP_MIN_LOG_LEVEL']='3';"
         "import tensorflow as tf, keras; print(tf.__version__, keras.__version__)"],
        capture_output=True, text=True).stdout.split()
    tf_v, keras_v = (versions + ["?", "?"])[:2]
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB memory, no GPU; "
            f"TensorFlow {tf_v}, Keras {keras_v}, Python {platform.python_version()}")


def lessons_split(all_images: bool = False) -> dict:
    """Load MNIST and split it as the lessons do: 54,000 images train, 6,000 validate.

    With ``all_images`` every one of the 60,000 trains, as the original project did. Returns
    the arrays by name and the data's ``source``.
    """
    import digitlib as dl

    data = dl.load_mnist("auto")
    x_train, y_train, x_val, y_val = dl.split_validation(
        dl.prepare_images(data.x_train), data.y_train, 0 if all_images else 0.1, seed=0)
    return {"x_train": x_train, "y_train": y_train, "x_val": x_val, "y_val": y_val,
            "x_test": dl.prepare_images(data.x_test), "y_test": data.y_test,
            "source": data.source}


def shifted_views(x, views=None) -> list:
    """Return ``x`` as the best model reads it: each of its views, moved by Keras' layers.

    ``views``: (down, right) shifts in pixels; by default the best model's five.
    """
    import numpy as np

    import digitlib as dl

    keras = dl.models.keras
    image = keras.Input(x.shape[1:])
    return [np.asarray(keras.Model(image, dl.models.shift(image, *view)).predict(
        x, batch_size=1000, verbose=0)) for view in (views or dl.models.BEST_VIEWS)]


def random_strokes():
    """Return a layer that, in training only, thickens a quarter of the digits and thins another.

    A 2 x 2 grey dilation or erosion, drawn per digit. A layer of the benchmarks, not Keras':
    a model that holds it needs this code to load, so the lessons' models never do.
    """
    import digitlib as dl

    keras = dl.models.keras
    ops = keras.ops

    class RandomStrokes(keras.layers.Layer):
        def call(self, images, training=False):
            if not training:
                return images
            thick = ops.max_pool(images, 2, strides=1, padding="same")
            thin = -ops.max_pool(-images, 2, strides=1, padding="same")
            pick = keras.random.uniform((ops.shape(images)[0], 1, 1, 1))
            return ops.where(pick < 0.25, thick, ops.where(pick < 0.5, thin, images))

    return RandomStrokes()


#: The batch size the default trained in until 2026-12-03, before it took random shifts.
UNSHIFTED_BATCH_SIZE = 128


def default_network_layers() -> list:
    """Return a new default's layers without its RandomTranslation: the network it trains."""
    import digitlib as dl

    return [layer for layer in dl.build_model("default").layers
            if not isinstance(layer, dl.models.keras.layers.RandomTranslation)]
