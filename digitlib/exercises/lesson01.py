"""Lesson 1's exercises: count a digit, find the faintest image, measure the background."""

from __future__ import annotations

import numbers

import numpy as np

from . import Exercise, NotAttempted, expect


def _mnist(env):
    mnist = env.get("mnist")
    if mnist is None:
        raise NotAttempted("run the lesson's cells from the top first, so that `mnist` is loaded")
    return mnist


def _whole_number(value, name):
    expect(not isinstance(value, bool) and isinstance(value, (numbers.Integral, np.integer)) or (
        isinstance(value, (float, np.floating)) and float(value).is_integer()),
        f"`{name}` should be a whole number, but it is {type(value).__name__}")
    return int(value)


def _judge_sevens(n_sevens, env):
    mnist = _mnist(env)
    expect(not isinstance(n_sevens, np.ndarray) or n_sevens.size == 1,
           f"`n_sevens` should be one number, but it holds {np.size(n_sevens)} values")
    got = _whole_number(n_sevens.item() if isinstance(n_sevens, np.ndarray) else n_sevens,
                        "n_sevens")
    train, test = mnist.y_train, mnist.y_test
    expect(got != int((test == 7).sum()) or got == int((train == 7).sum()),
           "that is how many 7s the test set holds; count them in the training set, mnist.y_train")
    expect(got != 7 or int((train == 7).sum()) == 7, "7 is the digit, not how many times it occurs: count the labels equal to 7")
    expect(got != int((train != 7).sum()), "that counts the labels that are *not* 7")
    expect(got == int((train == 7).sum()), f"the training labels hold a different number of 7s "
           f"than {got:,}; compare mnist.y_train with 7 and count the matches")
    return f"{got:,} of the {len(train):,} training images are 7s"


def _judge_faintest(faintest, env):
    mnist = _mnist(env)
    x = mnist.x_train
    expect(not isinstance(faintest, np.ndarray) or faintest.size == 1,
           f"`faintest` should be one position, but it holds {np.size(faintest)} values")
    if isinstance(faintest, np.ndarray):
        faintest = faintest.item()
    expect(isinstance(faintest, (numbers.Real, np.number)) and not isinstance(faintest, bool),
           f"`faintest` should be a whole number, a position, but it is {type(faintest).__name__}")
    ink = x.reshape(len(x), -1).sum(axis=1, dtype=np.int64)
    value = float(faintest)
    expect(value != ink.min() or ink[ink.argmin()] == value and int(ink.argmin()) == value,
           "you gave the amount of ink of the faintest image, not its position: "
           "`argmin` gives the position of the smallest value, `min` the value itself")
    expect(value != ink.max(), "that is the largest amount of ink, and a value, not a position: "
           "you want the position of the image with the least ink, `argmin`")
    index = _whole_number(faintest, "faintest")
    expect(0 <= index < len(x), f"`faintest` should be a position from 0 to {len(x) - 1:,} "
           f"in mnist.x_train, but it is {index:,}")
    expect(ink[index] != ink.max(), f"image {index:,} has the *most* ink of all; you want the least")
    expect(ink[index] == ink.min(), f"image {index:,} holds {ink[index]:,} in total pixel value, "
           "but some training images hold less: sum every pixel of each image, then take the "
           "position of the smallest sum")
    return f"image {index:,} (a {int(mnist.y_train[index])}) has the least ink, {ink[index]:,} in all"


def _judge_zero_share(zero_share, env):
    x = _mnist(env).x_train
    expect(isinstance(zero_share, (numbers.Real, np.number)) and not isinstance(zero_share, bool)
           or (isinstance(zero_share, np.ndarray) and zero_share.size == 1
               and np.issubdtype(zero_share.dtype, np.number)),
           f"`zero_share` should be one number, but it is {type(zero_share).__name__}")
    value = float(np.asarray(zero_share).item() if isinstance(zero_share, np.ndarray) else zero_share)
    expect(np.isfinite(value), f"`zero_share` is {value} (not a number you can compare): "
           "divide the count of 0 pixels by the count of all pixels")
    share = float((x == 0).mean())
    expect(abs(value - 100 * share) > 0.5, "that looks like a percentage; give the share as a "
           "fraction between 0 and 1")
    expect(0 <= value <= 1, "a share is a fraction between 0 and 1")
    expect(abs(value - (1 - share)) > 0.005, "that is the share of pixels with some ink (not 0); "
           "you want the pixels that are exactly 0")
    test_share = float((_mnist(env).x_test == 0).mean())
    expect(abs(value - test_share) > 1e-9 or abs(value - share) < 1e-6,
           "that is the share in the test images; use the training images, mnist.x_train")
    expect(abs(value - share) < 0.005, "not quite: count the pixels of mnist.x_train equal to 0 "
           "and divide by the number of all its pixels")
    if abs(value - share) >= 1e-6:
        return f"close enough for a rounded value; unrounded it is {share:.6f}"
    return f"{share:.1%} of all training pixels are background: no ink at all"


EXERCISES = [
    Exercise(
        id="01.1",
        names=("n_sevens",),
        judge=_judge_sevens,
        hints=["`mnist.y_train == 7` gives an array of True and False, one per training image.",
               "Python counts True as 1, so summing that array counts the 7s: "
               "`(mnist.y_train == 7).sum()`; `np.bincount` counts every digit at once."],
        answer="n_sevens = (mnist.y_train == 7).sum()\n",
        why="Comparing the labels with 7 marks each 7 with True, and the sum of the marks is "
            "how many there are; it agrees with the 8th number `np.bincount` printed above.",
        wrong=["n_sevens = (mnist.y_test == 7).sum()\n", "n_sevens = 7\n"],
    ),
    Exercise(
        id="01.2",
        names=("faintest",),
        judge=_judge_faintest,
        hints=["The ink of an image is the sum of its pixel values: `mnist.x_train[0].sum()` is "
               "the first image's. Sum over the two pixel axes, `axis=(1, 2)`, to get all "
               "60,000 sums at once.",
               "`np.argmin` gives the position of the smallest value in an array: "
               "`mnist.x_train.sum(axis=(1, 2)).argmin()`, as the lesson found the class "
               "with the fewest images."],
        answer="ink = mnist.x_train.sum(axis=(1, 2))  # one total per image\n"
               "faintest = int(ink.argmin())\n"
               "fig = dl.plots.sample_grid(mnist.x_train[[faintest]], mnist.y_train[[faintest]], n=1, cols=1)\n",
        why="Each image's total pixel value measures its ink; `argmin` returns the position of "
            "the smallest total, and `sample_grid` of that one image shows how faint it is.",
        wrong=["faintest = mnist.x_train.sum(axis=(1, 2)).argmax()\n",
               "faintest = mnist.x_train.sum(axis=(1, 2)).min()\n"],
    ),
    Exercise(
        id="01.3",
        names=("zero_share",),
        judge=_judge_zero_share,
        hints=["`mnist.x_train == 0` marks every background pixel with True.",
               "The mean of an array of True and False is the share of True: "
               "`(mnist.x_train == 0).mean()`."],
        answer="zero_share = (mnist.x_train == 0).mean()\n",
        why="The comparison marks each pixel that is exactly 0, and the mean of those marks "
            "over all 60,000 x 28 x 28 pixels is the share of background.",
        wrong=["zero_share = 100 * (mnist.x_train == 0).mean()\n",
               "zero_share = (mnist.x_train > 0).mean()\n"],
    ),
]
