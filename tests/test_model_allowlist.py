"""Model files may name only the layers, activations, losses, ... that Keras ships."""

import json
import zipfile
from pathlib import Path

import h5py
import pytest

import digitlib as dl
from digitlib.backend import import_keras
from digitlib.cli import main

keras = import_keras()

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "digitlib" / "examples" / "photo_7_a.png"

#: keras.* functions that are no activation. Keras itself refuses the first two
#: (NON_MODELING_APIS), not the third, which changes a global setting when it runs.
NOT_ACTIVATIONS = ["keras.config.enable_unsafe_deserialization", "keras.utils.get_file",
                   "keras.config.set_epsilon"]


def set_activation(config, reference: str):
    """Make the Dense layer in ``config`` name ``reference`` as its activation."""
    module, name = reference.rsplit(".", 1)
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "Dense":
            layer["config"]["activation"] = {"module": module, "class_name": "function",
                                             "config": name, "registered_name": name}
    return config


def crafted(folder: Path, reference: str, suffix: str) -> Path:
    """Save a small Dense model as ``suffix``, then make its activation ``reference``."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="relu")])
    path = folder / f"crafted{suffix}"
    if suffix == ".keras":
        plain = folder / "plain.keras"
        model.save(plain)
        with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as target:
            for member in source.namelist():
                data = source.read(member)
                if member == "config.json":
                    data = json.dumps(set_activation(json.loads(data), reference))
                target.writestr(member, data)
        plain.unlink()
    else:
        model.save(path)
        with h5py.File(path, "r+") as h5:
            config = set_activation(json.loads(h5.attrs["model_config"]), reference)
            h5.attrs["model_config"] = json.dumps(config)
    return path


def message(path, reference):
    return (f"{path}: the model holds code (a reference to {reference}, which is not a layer, "
            f"initializer, regularizer, constraint, activation, loss, metric or optimizer that "
            f"Keras ships) and was not loaded")


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("reference", NOT_ACTIVATIONS)
def test_keras_function_that_is_no_activation_is_refused_unrun(tmp_path, reference, suffix):
    from keras.src.saving.serialization_lib import in_safe_mode

    path = crafted(tmp_path, reference, suffix)
    epsilon, safe_mode = keras.config.epsilon(), in_safe_mode()
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(dl.DataError) as info:
        dl.load_model(path)
    assert str(info.value) == message(path, reference)
    assert keras.config.epsilon() == epsilon and in_safe_mode() == safe_mode
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("reference", NOT_ACTIVATIONS[:2])
def test_predict_refuses_it_in_one_line(tmp_path, capsys, reference, suffix):
    path = crafted(tmp_path, reference, suffix)
    assert main(["predict", "--model", str(path), str(PHOTO)]) == 2
    err = capsys.readouterr().err
    assert err == f"digitlib: {message(path, reference)}\n"


def test_activation_string_keras_does_not_ship_is_refused(tmp_path):
    config = {"module": "keras", "class_name": "Sequential", "config": {"layers": [
        {"module": "keras.layers", "class_name": "Dense",
         "config": {"units": 2, "activation": "get_file"}}]}}
    path = tmp_path / "odd.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json.dumps(config))
    with pytest.raises(dl.DataError, match=r"holds code \(an activation named 'get_file'"):
        dl.load_model(path)


@pytest.mark.parametrize("name", dl.model_names())
def test_every_model_digitlib_builds_passes(tmp_path, name):
    from digitlib.model_files import check_model_file

    model = dl.build_model(name)
    # compiled as lesson 4 compiles it: a schedule, the optimizer, a smoothed loss, a metric
    schedule = keras.optimizers.schedules.CosineDecay(0.0, 900, warmup_target=0.01, warmup_steps=100)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule),
                  loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1), metrics=["accuracy"])
    for suffix in (".keras", ".h5"):
        model.save(tmp_path / f"{name}{suffix}")
        check_model_file(tmp_path / f"{name}{suffix}")


def test_keras_own_functions_pass_and_load(tmp_path):
    """Losses and metrics given as functions are saved under "builtins"; they are Keras'."""
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile(loss=keras.losses.categorical_crossentropy,
                  metrics=[keras.metrics.categorical_accuracy])
    model.save(tmp_path / "functions.keras")
    assert dl.load_model(tmp_path / "functions.keras").count_params() == model.count_params()


@pytest.mark.parametrize("module", ["keras.src.backend.torch.optimizers.torch_adam",
                                    "keras.src.backend.jax.optimizer",
                                    "keras.src.backend.tensorflow.optimizer"])
def test_a_backends_own_build_of_a_keras_optimizer_passes(module):
    """A model compiled on PyTorch saves its Adam under the backend's module: still Keras' Adam."""
    from digitlib.model_files import _code_in

    assert _code_in({"module": module, "class_name": "Adam", "config": {}}) is None
    assert "not a layer" in _code_in({"module": module, "class_name": "get_file", "config": {}})
    assert "not a layer" in _code_in({"module": "keras.src.backend.torch.core",
                                      "class_name": "Adam", "config": {}})
