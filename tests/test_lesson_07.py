"""Lesson 7: its committed run shows the experiment it describes, and its exercises judge fairly."""

import re
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from digitlib.exercises import lesson07
from digitlib.lessons import lesson_parameters

LESSON = Path(__file__).resolve().parents[1] / "notebooks" / "07_experiments.ipynb"
RUN_LINE = re.compile(r"^(adam|adadelta)\s+learning rate (\S+)\s+seed (\d+): (.*), "
                      r"validation accuracy ([\d.]+) \(\d+ s\)$", re.M)


def _committed():
    nb = nbformat.read(LESSON, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                     for o in c.outputs if o.get("output_type") == "stream")
    return code, text


def test_lesson_trains_in_plain_sight_and_keeps_its_parameters():
    code, _ = _committed()
    assert ".compile(" in code and ".fit(" in code and "keras.optimizers.Adam" in code
    assert "dl.sweep(" not in code  # the experiment runs in the kernel, not on Dask
    params = lesson_parameters(LESSON)
    assert set(params) == {"run_dir", "train_size", "epochs", "batch_size", "seed"}
    assert params["run_dir"] == "../runs/default"


def test_committed_run_shows_every_regime():
    _, text = _committed()
    runs = {(opt, float(rate), int(seed)): (ending, float(acc))
            for opt, rate, seed, ending, acc in RUN_LINE.findall(text)}
    assert len(runs) == 13, text[:500]
    assert {rate for opt, rate, _ in runs if opt == "adam"} == {1e-4, 1e-3, 1e-2, 1e-1, 1.0}
    accuracy = {key: acc for key, (_, acc) in runs.items()}
    assert accuracy["adadelta", 0.001, 0] < 0.5 < accuracy["adadelta", 1.0, 0]  # too small, right
    assert accuracy["adam", 1.0, 0] < 0.2  # diverged: about guessing
    assert accuracy["adam", 0.001, 0] > 0.9
    assert {seed for (opt, rate, seed) in runs if (opt, rate) == ("adam", 0.01)} == {0, 1, 2}
    assert re.search(r"reported about 85%", text)


def _summary(adam, adadelta=(0.1, 0.9)):
    rows = [("adam", rate, acc) for rate, acc in adam.items()]
    rows += [("adadelta", 0.001, adadelta[0]), ("adadelta", 1.0, adadelta[1])]
    frame = pd.DataFrame(rows, columns=["optimizer", "learning_rate", "val_accuracy"])
    return frame.groupby(["optimizer", "learning_rate"])["val_accuracy"].agg(["mean", "min", "max"])


@pytest.mark.parametrize("answer, verdict", [
    (0.001, "Correct"), (1e-3 + 1e-12, "Correct"), (0.01, "Incorrect"), (0.5, "Incorrect"),
    (("adam", 0.001), "Incorrect"), ("0.001", "Incorrect"), (True, "Incorrect"),
])
def test_best_rate_is_judged_on_the_lessons_summary(answer, verdict):
    env = {"summary": _summary({1e-4: 0.9, 1e-3: 0.97, 1e-2: 0.95, 0.1: 0.1, 1.0: 0.1})}
    assert lesson07.EXERCISES[0].verdict(answer, env=env).startswith(verdict)


def test_best_rate_waits_for_the_experiment():
    assert lesson07.EXERCISES[0].verdict(0.001, env={}).startswith("Not attempted")


def _diverged_any_way(losses):
    values = [float(v) for v in losses]
    return any(v != v or v in (float("inf"), float("-inf")) for v in values) or values[-1] > 2.302585


@pytest.mark.parametrize("function, verdict", [
    (_diverged_any_way, "Correct"),
    (lambda losses: bool(np.isnan(losses).any() or np.isinf(losses).any() or losses[-1] > np.log(10)), "Correct"),
    (lambda losses: losses[-1] > losses[0], "Incorrect"),
    (lambda losses: "yes", "Incorrect: for a loss that falls steadily your function returned str"),
    (42, "Incorrect: `diverged` should be a function"),
])
def test_diverged_is_judged_on_made_up_histories(function, verdict):
    assert lesson07.EXERCISES[1].verdict(function).startswith(verdict)


def test_own_sweep_needs_a_hypothesis_and_real_histories():
    judge = lesson07.EXERCISES[2]
    history = {16: {"loss": [0.5], "val_loss": [0.30], "val_accuracy": [0.91]},
               64: {"loss": [0.7], "val_loss": [0.35], "val_accuracy": [0.89]},
               256: {"loss": [1.2], "val_loss": [0.60], "val_accuracy": [0.80]}}
    sentence = "Smaller batches take more steps, so they learn more in one epoch."
    assert judge.verdict(sentence, history).startswith("Correct")
    assert judge.verdict(sentence, {}).startswith("Not attempted")
    assert judge.verdict("faster", history).startswith("Incorrect: write the hypothesis")
    assert judge.verdict(sentence, {16: 0.9, 64: 0.8, 256: 0.7}).startswith("Incorrect: my_results[16]")
    same = {k: {"loss": [0.5], "val_loss": [0.3], "val_accuracy": [0.9]} for k in (1, 2, 3)}
    assert "really train" in judge.verdict(sentence, same)
    assert judge.verdict(sentence, dict(list(history.items())[:2])).startswith("Incorrect: try at least 3")
