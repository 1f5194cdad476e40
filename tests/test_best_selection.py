"""best_variants.py chooses on validation: its figures, and where the test figures stay out."""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import best_variants  # noqa: E402


def _probabilities(labels, right: float, wrong_at=()):
    """Return probabilities giving ``right`` to each true label, all of it to 0 at ``wrong_at``."""
    p = np.full((len(labels), 10), (1 - right) / 9)
    p[np.arange(len(labels)), labels] = right
    for i in wrong_at:
        p[i] = 0.0
        p[i, (labels[i] + 1) % 10] = 1.0
    return p


@pytest.fixture
def kept(tmp_path, monkeypatch):
    monkeypatch.setattr(best_variants, "KEPT", tmp_path)
    y_val, y = np.arange(20) % 10, np.arange(30) % 10

    def save(name, val_wrong, test_wrong, val_views9_right=0.9):
        np.savez(tmp_path / f"{name}.npz",
                 val_alone=_probabilities(y_val, 0.8, val_wrong),
                 val_views=_probabilities(y_val, 0.9, val_wrong),
                 val_views9=_probabilities(y_val, val_views9_right, val_wrong), y_val=y_val,
                 alone=_probabilities(y, 0.8, test_wrong), views=_probabilities(y, 0.9, test_wrong),
                 views9=_probabilities(y, 0.9, test_wrong), y=y)

    save("a", val_wrong=[0], test_wrong=[0, 1, 2])
    save("b", val_wrong=[1], test_wrong=[])
    save("c", val_wrong=[], test_wrong=[], val_views9_right=0.99)
    return tmp_path


def test_log_loss_is_the_mean_cross_entropy_of_the_true_labels():
    p = np.array([[0.5, 0.5], [0.25, 0.75]])
    assert best_variants.log_loss(p, np.array([0, 1])) == pytest.approx(
        -(math.log(0.5) + math.log(0.75)) / 2)
    # a wrong answer given all the probability costs a large, finite loss: the true label's
    # probability is clipped to the smallest a float tells from 0
    assert best_variants.log_loss(np.array([[0.0, 1.0]]), np.array([0])) == pytest.approx(
        -math.log(np.finfo(float).eps))


def test_combine_scores_validation_only_unless_the_test_is_asked_for(kept):
    alone = best_variants.combine(["a"])
    assert alone["val_alone"] == pytest.approx(19 / 20)
    assert not {"alone", "views", "views9"} & set(alone)
    assert alone["val_views_loss"] > best_variants.combine(["c"])["val_views_loss"]
    # the vote's figures are those of the networks' average probabilities
    y_val = np.arange(20) % 10
    average = (_probabilities(y_val, 0.9, [0]) + _probabilities(y_val, 0.9)) / 2
    assert best_variants.combine(["a", "c"])["val_views_loss"] == pytest.approx(
        best_variants.log_loss(average, y_val))
    tested = best_variants.combine(["a"], test=True)
    assert tested["alone"] == pytest.approx(27 / 30)
    assert tested["views9"] == pytest.approx(27 / 30)


def test_the_selection_table_holds_no_test_figure(kept):
    out = kept / "selection"
    best_variants.table(["a,b", "c"], str(out))
    text = out.with_suffix(".md").read_text()
    assert "| 2 | a, b | 95.00% / 95.00% |" in text
    assert "vote with nine views" in text and "loss, nine views" in text
    figures = json.loads(out.with_suffix(".json").read_text())
    for row in figures["ensembles"]:
        assert all(key.startswith("val") for key in row["ensemble"])
    c = figures["ensembles"][1]["ensemble"]
    assert c["val_views9_loss"] < c["val_views_loss"]
    with pytest.raises(SystemExit, match="never overwritten"):
        best_variants.table(["c"], str(out))
