"""Lesson 2's exercises: scale images, one-hot labels by hand, a stratified split of your own."""

from __future__ import annotations

import numpy as np

from . import Exercise, Incorrect, NotAttempted, expect, is_blank


def _returned(function, name, *args):
    expect(callable(function), f"`{name}` should be a function (def {name}(...): ...), "
           f"but it is {type(function).__name__}")
    result = function(*args)
    if result is None:
        raise Incorrect(f"your `{name}` returned None: did you forget `return`?")
    if is_blank(result):
        raise NotAttempted(f"your `{name}` still returns ____: fill in its return line")
    try:
        out = np.asarray(result)
    except ValueError:
        out = np.asarray(None)
    expect(out.dtype != object and out.ndim > 0, f"your `{name}` returned a "
           f"{type(result).__name__}; it should return one NumPy array of numbers")
    expect(out.dtype == bool or np.issubdtype(out.dtype, np.number),
           f"your `{name}` returned an array of {out.dtype}; it should hold numbers")
    return out


def _test_images():
    images = np.random.default_rng(2).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    images[0, 0, 0], images[1, 0, 0] = 0, 255
    images[2] //= 2  # a faint image: its darkest pixel is 127, not 255
    images[3] = images[3] // 4 + 60  # no blank paper and no full ink: from 60 to 123
    return images


def _judge_scale(scale, env):
    images = _test_images()
    out = _returned(scale, "scale", images.copy())
    expect(out.shape == (5, 28, 28, 1), f"for 5 images of 28 x 28 your function returned shape "
           f"{out.shape}; it should be (5, 28, 28, 1): add the channel axis with reshape")
    expected = images.reshape(5, 28, 28, 1) / 255.0
    expect(not np.array_equal(out, np.floor(expected)),
           "`//` is integer division: it rounds every value down to 0 or 1; divide with `/`")
    expect(out.dtype != bool and np.issubdtype(out.dtype, np.floating),
           f"your function returned {out.dtype} values; they should be floats: divide by 255 "
           "(or convert with astype('float32') first)")
    expect(out.max() <= 1.0 + 1e-6, f"your function returned floats up to {float(out.max()):g}: "
           "scale them to [0, 1] by dividing by 255")
    expect(out.min() >= 0, "your function returned negative values; the pixels should map into [0, 1]")
    stretched = out[2].max() > 0.99 or out[3].max() > 0.99 or out[3].min() < 0.01
    expect(not stretched or np.allclose(out, expected, atol=1e-6),
           "scale by 255, the largest possible pixel value, not by each image's own largest "
           "(or smallest): a faint image should stay faint")
    expect(np.allclose(out, expected, atol=1e-6), "the values are in [0, 1], but not the pixels "
           "divided by 255 in their own places: 0 should stay 0 and 255 become 1")
    if out.dtype != np.float32:
        return (f"values and shape are right; your function returns {out.dtype}, and Keras "
                "converts it to float32, the precision it computes in (astype('float32') "
                "saves it the work and half the memory)")
    return "float32 images of shape (N, 28, 28, 1) in [0, 1], as Keras trains on them"


def _judge_one_hot(one_hot, env):
    labels = np.array([3, 0, 9, 3, 7], dtype=np.uint8)
    out = _returned(one_hot, "one_hot", labels.copy())
    expect(out.ndim == 2, f"for 5 labels your function returned shape {out.shape}; it should "
           "be one row per label, ten columns: (5, 10)")
    expect(out.shape == (5, 10), f"for 5 labels your function returned shape {out.shape}; it "
           "should be one row per label and one column per digit, (5, 10)")
    expect(out.dtype != bool, "your rows hold True and False; use numbers (float32, as "
           "to_categorical gives), not True/False: e.g. `.astype('float32')`")
    expect(np.isin(out, (0, 1)).all(), "every entry of a one-hot row should be 0 or 1")
    expect((out.sum(axis=1) == 1).all(), "each row should hold exactly one 1")
    for label, row in zip(labels, out):
        expect(row[label] == 1, f"the row for label {label} has its 1 in column "
               f"{int(row.argmax())}; it belongs in column {label}")
    return "your rows match keras.utils.to_categorical's, column for column"


def _judge_holdout(y_holdout, env):
    y_train = env.get("y_train")
    if y_train is None:
        raise NotAttempted("run the lesson's cells from the top first, so that `y_train` exists")
    y_train = np.asarray(y_train)
    expect(not (isinstance(y_holdout, (list, tuple)) and len(y_holdout) == 2
                and all(isinstance(part, np.ndarray) for part in y_holdout)),
           "`y_holdout` holds two arrays: train_test_split returns both parts, the 80% and the "
           "20%; unpack them, as in `first, second = train_test_split(...)`")
    expect(isinstance(y_holdout, (np.ndarray, list, tuple)),
           f"`y_holdout` should be an array of labels, but it is {type(y_holdout).__name__}")
    try:
        held = np.asarray(y_holdout)
    except ValueError:
        held = np.asarray(None)
    expect(held.ndim == 1 and np.issubdtype(held.dtype, np.integer),
           f"`y_holdout` should be a flat array of whole-number labels, not shape {held.shape} "
           f"of {held.dtype}")
    expect(len(held) > 0, "`y_holdout` is empty")
    expect(held.min() >= 0 and (held.max() <= 9 or held.max() >= len(y_train)),
           f"`y_holdout` holds numbers up to {held.max():,}: those look like positions of "
           "images, not their labels; split the labels, y_train, themselves")
    expect(held.max() <= 9, "labels are digits from 0 to 9")
    n = len(y_train)
    expect(abs(len(held) - 0.8 * n) > 1 or abs(len(held) - 0.2 * n) <= 1,
           "that is the 80% part; `y_holdout` is the 20% held out")
    expect(abs(len(held) - 0.2 * n) <= 1, f"`y_holdout` holds {len(held):,} labels, but 20% of "
           f"the {n:,} in y_train is {0.2 * n:,.0f}: use test_size=0.2")
    want = 0.2 * np.bincount(y_train, minlength=10)
    got = np.bincount(held, minlength=10)
    worst = int(np.abs(got - want).argmax())
    expect(abs(got[worst] - want[worst]) <= 1.5,
           f"not stratified: the digit {worst} is {got[worst] / len(held):.2%} of your held-out "
           f"labels but {want[worst] / want.sum():.2%} of y_train; pass stratify=y_train")
    shares = np.abs(got / len(held) - want / want.sum()).max()
    return (f"every digit keeps its share: the largest difference from y_train's shares "
            f"is {shares:.3%}")


EXERCISES = [
    Exercise(
        id="02.1",
        names=("scale",),
        judge=_judge_scale,
        hints=["Two steps, as in the lesson: `reshape` to add the channel axis, then divide by 255.",
               "`images.reshape(-1, 28, 28, 1).astype('float32') / 255` does both; -1 lets NumPy "
               "work out how many images there are."],
        answer="def scale(images):\n"
               "    return images.reshape(-1, 28, 28, 1).astype(\"float32\") / 255\n",
        why="reshape adds the channel axis without copying, astype gives float32 numbers that "
            "can hold fractions, and dividing by 255, the largest pixel value, maps 0..255 onto 0..1.",
        wrong=["def scale(images):\n    return images.reshape(-1, 28, 28, 1)\n",
               "def scale(images):\n    return images.astype(\"float32\") / 255\n"],
    ),
    Exercise(
        id="02.2",
        names=("one_hot",),
        judge=_judge_one_hot,
        hints=["Start from a (number of labels, 10) array of zeros and set one entry per row to 1.",
               "Row k of the 10 x 10 identity matrix `np.eye(10)` is the one-hot row of the digit "
               "k, so `np.eye(10)[labels]` picks one row per label."],
        answer="def one_hot(labels):\n"
               "    return np.eye(10, dtype=\"float32\")[labels]\n\n"
               "print(np.array_equal(one_hot(y_train[:5]), keras.utils.to_categorical(y_train[:5], 10)))\n",
        why="Indexing the identity matrix with the labels picks, for each label k, the row with "
            "its 1 in column k: exactly what to_categorical returns.",
        wrong=["def one_hot(labels):\n    return np.eye(10)[labels].T\n",
               "def one_hot(labels):\n    return np.eye(10)[9 - labels]\n"],
    ),
    Exercise(
        id="02.3",
        names=("y_holdout",),
        judge=_judge_holdout,
        hints=["`train_test_split` can split the labels alone: give it `y_train` once as the "
               "array to split and once as `stratify=`.",
               "`_, y_holdout = train_test_split(y_train, test_size=0.2, stratify=y_train, "
               "random_state=0)`; then compare `np.bincount(y_holdout) / len(y_holdout)` with "
               "the same shares of `y_train`."],
        answer="_, y_holdout = train_test_split(y_train, test_size=0.2, stratify=y_train, random_state=0)\n"
               "print(np.bincount(y_holdout) / len(y_holdout))\n"
               "print(np.bincount(y_train) / len(y_train))\n",
        why="With stratify=y_train, scikit-learn draws 20% of each digit's labels separately, so "
            "each digit's share of the held-out part matches its share of y_train to within one "
            "image.",
        wrong=["_, y_holdout = train_test_split(y_train, test_size=0.2, random_state=0)\n",
               "y_holdout, _ = train_test_split(y_train, test_size=0.2, stratify=y_train, random_state=0)\n"],
    ),
]
