"""Exercises of lesson 05: recall, the most confused pairs and precision, from a confusion matrix."""

from __future__ import annotations

import warnings

import numpy as np

from . import Exercise, Incorrect, NotAttempted, expect, is_blank


def _matrix(env) -> np.ndarray:
    cm = env.get("cm")
    if cm is None:
        raise NotAttempted("run the lesson's cells above first: the check needs its confusion matrix `cm`")
    return np.asarray(cm)


def _number(value, name: str) -> float:
    expect(np.ndim(value) == 0 and np.issubdtype(np.asarray(value).dtype, np.number),
           f"`{name}` is a {type(value).__name__}, not a single number")
    return float(value)


def _judge_recall(recall_9, env):
    cm = _matrix(env)
    value = _number(recall_9, "recall_9")
    expect(0 <= value <= 1, f"recall_9 is {value:g}: a recall is a share, between 0 and 1 "
           "(divide a count by a total)")
    recall, precision = cm[9, 9] / cm[9].sum(), cm[9, 9] / max(cm[:, 9].sum(), 1)
    if abs(value - recall) < 1e-6:
        return f"{value:.2%} of the real 9s were read as 9s"
    expect(abs(value - precision) > 1e-6, "that is the share of the images *called* 9 that are 9s: "
           "precision, a column of the matrix; recall reads row 9")
    raise Incorrect("not the recall of 9: divide the diagonal cell of row 9 by the number of "
                    "real 9s (the whole of row 9)")


def _judge_pairs(confused, env):
    cm = _matrix(env)
    try:
        pairs = [tuple(int(v) for v in pair) for pair in confused]
    except (TypeError, ValueError):
        pairs = None
    expect(pairs is not None and all(len(p) == 2 for p in pairs),
           "`confused` should be a list of (true, predicted) pairs of digits, such as [(0, 6), ...]")
    expect(len(pairs) == 3, f"`confused` holds {len(pairs)} pairs; the question asks for three")
    expect(all(0 <= t <= 9 and 0 <= p <= 9 for t, p in pairs), "each pair holds two digits, 0 to 9")
    expect(len(set(pairs)) == 3, "the same pair appears twice")
    expect(all(t != p for t, p in pairs), "a pair (d, d) is on the diagonal: those are the right "
           "answers, not mistakes; leave the diagonal out")
    off = cm.copy()
    np.fill_diagonal(off, -1)
    top = sorted(off.ravel(), reverse=True)[:3]
    got = sorted((cm[t, p] for t, p in pairs), reverse=True)
    if got != top:
        third = top[-1]
        for t, p in pairs:
            if cm[t, p] < third and cm[p, t] >= third and (p, t) not in pairs:
                raise Incorrect(f"({t}, {p}) looks turned round: a pair is (true, predicted), and "
                                f"the rows of `cm` are the true digits, so cm[{t}, {p}] counts the "
                                f"{t}s read as {p}")
        t, p = min(pairs, key=lambda pair: cm[pair])
        raise Incorrect(f"another off-diagonal cell holds more mistakes than your pair ({t}, {p})")
    return "those are the cells with the most mistakes: " + ", ".join(
        f"{t} read as {p} ({cm[t, p]}x)" for t, p in pairs)


def _judge_precisions(precisions, env):
    expect(callable(precisions), "`precisions` should be a function that takes a matrix")
    cm = _matrix(env)
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 5, (10, 10)) + np.diag(rng.integers(20, 40, 10))
    empty = np.diag([4, 3, 0, 2, 2, 2, 2, 2, 2, 2])
    empty[2, 0] = empty[2, 5] = 1  # the two real 2s read as 0 and 5: nothing is called 2
    examples = [cm, noisy, empty]
    for matrix in examples:
        with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)  # 0 / 0 is judged by its result below
            got = precisions(matrix.copy())
        expect(got is not None, "your function returned None: did you forget `return`?")
        if is_blank(got):
            raise NotAttempted("fill in the ____ in `precisions`, run that cell, then this check again.")
        try:
            got = np.asarray(got, dtype=float)
        except (TypeError, ValueError):
            raise Incorrect("your function should return ten numbers, a NumPy array") from None
        expect(got.shape == (10,), f"your function returned shape {got.shape}; ten precisions, shape (10,)")
        expect(np.isfinite(got).all(), "a digit no image was called gives nan: divide only where the "
               "column is not empty, and give 0 for an empty one")
        columns = matrix.sum(axis=0)
        want = np.divide(np.diag(matrix), columns, out=np.zeros(10), where=columns > 0)
        if not np.allclose(got, want, atol=1e-6):
            rows = matrix.sum(axis=1)
            recall = np.divide(np.diag(matrix), rows, out=np.zeros(10), where=rows > 0)
            expect(not np.allclose(got, recall, atol=1e-6),
                   "those are recalls (the diagonal over each row); precision divides by each column")
            expect(False, "not every value is the diagonal cell over its column's total")
    return "the diagonal over each column's total, and 0 for a digit never predicted"


EXERCISES = [
    Exercise(
        id="05.1",
        names=("recall_9",),
        judge=_judge_recall,
        hints=["Recall reads one row of `cm`: row 9 holds every real 9. How many of them are on the "
               "diagonal, out of how many?",
               "`cm[9, 9]` is the number of 9s read right; `cm[9].sum()` the number of real 9s."],
        answer="recall_9 = cm[9, 9] / cm[9].sum()\n",
        why="Row 9 counts every real 9 by what the network answered; the diagonal cell cm[9, 9] is "
            "the ones it got right, so their share is the recall.",
        wrong=["recall_9 = cm[9, 9] / cm[:, 9].sum()\n", "recall_9 = cm[9, 9]\n"],
    ),
    Exercise(
        id="05.2",
        names=("confused",),
        judge=_judge_pairs,
        hints=["Copy `cm`, set its diagonal to 0 (`np.fill_diagonal`), then find the three largest cells.",
               "`np.argsort(off, axis=None)[::-1][:3]` gives the flat positions of the three largest "
               "cells; `np.unravel_index(positions, off.shape)` turns them into rows and columns."],
        answer="""\
off = cm.copy()
np.fill_diagonal(off, 0)
largest = np.argsort(off, axis=None)[::-1][:3]
confused = [(int(t), int(p)) for t, p in zip(*np.unravel_index(largest, off.shape))]
""",
        why="With the diagonal (the right answers) set to 0, the largest cells left are the most "
            "frequent mistakes; a cell's row is the true digit and its column the answer.",
        wrong=["""\
largest = np.argsort(cm, axis=None)[::-1][:3]
confused = [(int(t), int(p)) for t, p in zip(*np.unravel_index(largest, cm.shape))]
"""],
    ),
    Exercise(
        id="05.3",
        names=("precisions",),
        judge=_judge_precisions,
        hints=["Precision of digit d is `matrix[d, d]` over the total of column d: "
               "`np.diag(matrix)` and `matrix.sum(axis=0)` give all ten of each at once.",
               "`np.divide(a, b, out=np.zeros(10), where=b > 0)` divides only where b is not 0 "
               "and leaves 0 elsewhere."],
        answer="""\
def precisions(matrix):
    called = matrix.sum(axis=0)
    return np.divide(np.diag(matrix), called, out=np.zeros(len(called)), where=called > 0)
""",
        why="Column d counts every image the network called d, and its diagonal cell the ones that "
            "really are d; where a column is empty there is nothing to divide, and 0 says so.",
        wrong=["""\
def precisions(matrix):
    return np.diag(matrix) / matrix.sum(axis=1)
""", """\
def precisions(matrix):
    return np.diag(matrix) / matrix.sum(axis=0)
"""],
    ),
]
