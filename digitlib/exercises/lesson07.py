"""Exercises of lesson 7: the best learning rate, spotting divergence, an experiment of your own."""

from __future__ import annotations

import math
import numbers

import numpy as np

from . import Exercise, NotAttempted, expect, is_blank


def _judge_best_rate(best_learning_rate, env):
    summary = env.get("summary")
    if summary is None:
        raise NotAttempted("run the lesson's experiment first: `summary` is not there yet")
    expect(not isinstance(best_learning_rate, tuple),
           "that is a pair (optimizer, learning rate); give just Adam's learning rate, as a number")
    expect(isinstance(best_learning_rate, numbers.Real) and not isinstance(best_learning_rate, bool),
           f"give a number, the learning rate; you gave {type(best_learning_rate).__name__}")
    adam = summary.loc["adam", "mean"]
    tried = [rate for rate in adam.index if math.isclose(rate, best_learning_rate, rel_tol=1e-6)]
    expect(tried, f"Adam was not trained at {best_learning_rate:g}; pick one of the rates in `summary`")
    expect(adam[tried[0]] >= adam.max() - 1e-12,
           f"Adam at {best_learning_rate:g} has a lower mean validation accuracy than another of its rates")
    return f"Adam at {best_learning_rate:g} reached the highest mean validation accuracy, {adam.max():.3f}"


#: Made-up loss histories and whether each diverged.
HISTORIES = [
    ([2.3, 1.2, 0.6, 0.4], False, "a loss that falls steadily"),
    ([1.0, 0.7, 0.8, 0.5, 0.55, 0.3], False, "a noisy loss that falls"),
    ([2.301, 2.296, 2.292, 2.289], False, "a loss that falls very slowly"),
    ([0.5, 0.9, 3.0, 40.0], True, "a loss that rises"),
    ([55000.0, 2.39, 2.4, 2.41], True, "a loss that blows up, then stays above guessing"),
    ([2.3, 1.1, float("nan")], True, "a loss that ends in nan"),
    ([2.3, float("nan"), 0.5], True, "a loss with nan in the middle"),
    ([2.3, float("inf"), 2.4], True, "a loss that is infinite in one epoch"),
]


def _judge_diverged(diverged, env):
    expect(callable(diverged), f"`diverged` should be a function; it is a {type(diverged).__name__}")
    for losses, answer, what in HISTORIES:
        for given in (list(losses), np.array(losses)):
            got = diverged(given)
            if is_blank(got):
                raise NotAttempted("fill in the ____ in `diverged`, run the cell, then check again")
            expect(isinstance(got, (bool, np.bool_)),
                   f"for {what} your function returned {type(got).__name__}, not True or False")
            kind = "list" if isinstance(given, list) else "NumPy array"
            expect(bool(got) == answer,
                   f"for {what} (given as a {kind}) your function said "
                   f"{'it diverged' if got else 'it did not diverge'}")
    return f"it tells all {len(HISTORIES)} made-up histories apart, as lists and as arrays"


def _judge_own_sweep(hypothesis, my_results, env):
    expect(isinstance(hypothesis, str), "`hypothesis` should be a sentence, as a string")
    expect(len(hypothesis.split()) >= 5,
           "write the hypothesis as a sentence: what you expect to happen, and why")
    expect(isinstance(my_results, dict), "`my_results` should be a dict: value tried -> history")
    if not my_results:
        raise NotAttempted("`my_results` is empty: train once per value and store each history")
    expect(len(my_results) >= 3, f"try at least 3 values; `my_results` has {len(my_results)}")
    val_losses = []
    for value, history in my_results.items():
        history = getattr(history, "history", history)  # a History object or its .history
        expect(isinstance(history, dict) and "val_accuracy" in history and "loss" in history,
               f"my_results[{value!r}] should be the history.history that fit returned, "
               "with validation_data given (it needs 'loss' and 'val_accuracy')")
        accuracy = np.asarray(history["val_accuracy"], dtype=float)
        expect(accuracy.ndim == 1 and len(accuracy) >= 1 and np.all((accuracy >= 0) & (accuracy <= 1)),
               f"my_results[{value!r}]['val_accuracy'] should hold one accuracy per epoch, from 0 to 1")
        val_losses.append(tuple(np.asarray(history.get("val_loss", history["loss"]), dtype=float)))
    expect(len(set(val_losses)) == len(val_losses),
           "two of your runs have exactly the same losses: did each value really train its own network?")
    return (f"{len(my_results)} runs trained; now compare their val_accuracy with your hypothesis. "
            "Did it hold?")


EXERCISES = [
    Exercise(
        id="07.1", names=("best_learning_rate",), judge=_judge_best_rate,
        hints=['`summary.loc["adam"]` is a table with one row per learning rate; its column '
               '"mean" is what to compare.',
               'A Series\' `.idxmax()` returns the index (here the learning rate) of its largest value.'],
        answer='best_learning_rate = summary.loc["adam", "mean"].idxmax()\n',
        why="`summary.loc[\"adam\", \"mean\"]` is Adam's mean validation accuracy per learning rate, "
            "and `idxmax` returns the learning rate where it is highest.",
        wrong=['best_learning_rate = summary["mean"].idxmax()\n',
               'best_learning_rate = 1.0\n']),
    Exercise(
        id="07.2", names=("diverged",), judge=_judge_diverged,
        hints=["Two tests: is any loss not finite (`np.isfinite`)? Is the last loss above "
               "`np.log(10)`, the loss of guessing?",
               "`not np.all(np.isfinite(losses))` catches nan and infinity; then compare "
               "`losses[-1] > np.log(10)`, and return a bool."],
        answer=("def diverged(losses):\n"
                "    losses = np.asarray(losses, dtype=float)\n"
                "    return bool(not np.isfinite(losses).all() or losses[-1] > np.log(10))\n"),
        why="nan and infinity are what an overflowing loss turns into, and `nan > x` is always "
            "False, so they need their own test; a network that ends worse than guessing "
            "(loss above log 10) went the wrong way.",
        wrong=["def diverged(losses):\n    return bool(losses[-1] > losses[0])\n",
               "def diverged(losses):\n    return bool(not np.isfinite(losses).all())\n"]),
    Exercise(
        id="07.3", names=("hypothesis", "my_results"), judge=_judge_own_sweep,
        hints=["Copy `train` from the lesson and give it the setting you vary as an argument; "
               "pass `validation_data=(x_val, y_val)` to fit, and store `history.history`.",
               "`for size in [16, 64, 256]:` then build, compile and fit a fresh "
               "`dl.build_model(\"default\")` on `x_train[:2000]` for one epoch with "
               "`batch_size=size`, and set `my_results[size] = history.history`."],
        answer=("hypothesis = (\"Smaller batches take more steps in one epoch, so after one epoch \"\n"
                "              \"they reach a higher validation accuracy than large ones.\")\n"
                "my_results = {}\n"
                "for size in [16, 64, 256]:\n"
                "    keras.utils.set_random_seed(seed)\n"
                "    model = dl.build_model(\"default\")\n"
                "    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001),\n"
                "                  loss=\"sparse_categorical_crossentropy\", metrics=[\"accuracy\"])\n"
                "    history = model.fit(x_train[:2000], y_train[:2000], epochs=1, batch_size=size,\n"
                "                        validation_data=(x_val, y_val), verbose=0)\n"
                "    my_results[size] = history.history\n"
                "    print(size, round(history.history[\"val_accuracy\"][-1], 3))\n"),
        why="Each value trains its own fresh network from the same seed on the same images, so "
            "the batch size is the only difference; the hypothesis, written first, is what the "
            "accuracies confirm or refute.",
        wrong=['hypothesis = "Smaller batches learn more in one epoch, because they take more steps."\n'
               'my_results = {16: 0.93, 64: 0.9, 256: 0.8}\n']),
]
