"""The networks the benchmarks train beside the default: each shifts its training digits once at most."""

import sys
from pathlib import Path

import pytest

import digitlib as dl

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import recipes  # noqa: E402
import robustness  # noqa: E402


def _shift_layers(model) -> int:
    return sum(isinstance(layer, dl.models.keras.layers.RandomTranslation) for layer in model.layers)


def test_the_default_shifts_its_training_digits_in_batches_of_256():
    assert _shift_layers(dl.build_model("default")) == 1
    assert dl.models.recipe("default").batch_size == 256


@pytest.mark.parametrize("name, shifts", [("default", 1), ("unshifted", 0), ("augmented", 1),
                                          ("mild", 1), ("stroked", 1), ("previous-default", 0)])
def test_robustness_variants_put_their_augmentation_in_place_of_the_defaults(name, shifts):
    if name == "previous-default" and dl.models.keras.backend.backend() != "tensorflow":
        pytest.skip("the previous default is built from TensorFlow-only layers")
    model = robustness.VARIANTS[name]()
    assert _shift_layers(model) == shifts
    convolutions = [layer for layer in model.layers if isinstance(layer, dl.models.keras.layers.Conv2D)]
    assert len(convolutions) == 2


def test_the_former_defaults_keep_their_batch_of_128():
    assert robustness.BATCH_SIZES == {"previous-default": 128, "unshifted": 128}
    unshifted = recipes.unshifted_default()
    assert _shift_layers(unshifted) == 0
    assert unshifted.count_params() == dl.build_model("default").count_params()
