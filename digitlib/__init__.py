"""digitlib: the helper package behind the handwritten-digit lessons.

Import it as ``import digitlib as dl``. Importing it quiets TensorFlow's C++ log
lines first, so lesson outputs and test logs stay readable.
"""

from . import _quiet  # noqa: F401  (sets TF_CPP_MIN_LOG_LEVEL before TensorFlow loads)
from ._quiet import import_keras as _import_keras

_import_keras()

from . import drawing, evaluation, imaging, models, plots, preprocessing  # noqa: E402
from .data import MNIST, load_mnist  # noqa: E402
from .drawing import DrawingPad  # noqa: E402
from .errors import (  # noqa: E402
    DataError,
    DigitlibError,
    ImageError,
    LessonError,
    MissingArtifactError,
    ParameterError,
)
from .evaluation import (  # noqa: E402
    confusion_matrix,
    misclassified,
    most_confused_pairs,
    per_class_report,
)
from .models import build_model, load_model, make_optimizer, model_names, recipe  # noqa: E402
from .params import check_parameters  # noqa: E402
from .predict import predict  # noqa: E402
from .preprocessing import one_hot, prepare_images, split_validation, take_subset  # noqa: E402
from .runs import RunDir  # noqa: E402
from .sweep import sweep  # noqa: E402
from .training import accuracy, compile_model, set_seed, train  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "MNIST", "DataError", "DigitlibError", "DrawingPad", "ImageError", "LessonError",
    "MissingArtifactError", "ParameterError", "RunDir", "accuracy", "build_model",
    "check_parameters", "compile_model", "confusion_matrix", "drawing", "evaluation", "imaging",
    "load_mnist", "load_model", "make_optimizer", "misclassified", "model_names",
    "models", "most_confused_pairs", "one_hot", "per_class_report", "plots", "predict",
    "prepare_images", "preprocessing", "recipe", "set_seed", "split_validation", "sweep",
    "take_subset", "train",
]
