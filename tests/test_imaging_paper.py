"""Photos on notebook paper, and photos of several digits (issue 27): lines never decide."""

import numpy as np
import pytest
from PIL import Image

import digitlib as dl
from digitlib import imaging
from digitlib.errors import ImageError


@pytest.fixture(scope="module")
def digits():
    """Return 20 real MNIST test digits and labels (the sample, always there offline)."""
    mnist = dl.load_mnist("sample")
    return mnist.x_test[:20], mnist.y_test[:20]


def alike(a, b, at_least=0.85):
    """Return whether two 28 x 28 images correlate, placed within a pixel of each other."""
    best = max(np.corrcoef(np.roll(a, (dy, dx), axis=(0, 1)).ravel(), np.ravel(b))[0, 1]
               for dy in (-1, 0, 1) for dx in (-1, 0, 1))
    return float(best) >= at_least


def page(*digits, scale=5, gap=60, margin=80, rules=None, squares=None, tilt=0.0):
    """Return an RGB photo of dark-blue ink digits, side by side, on white paper.

    ``rules``/``squares``: the spacing in pixels of light-blue horizontal (and, for
    squared paper, vertical) lines 2 pixels wide, tilted by ``tilt`` pixels per 100.
    """
    side = 28 * scale
    height, width = side + 2 * margin, len(digits) * side + (len(digits) - 1) * gap + 2 * margin
    rgb = np.ones((height, width, 3)) * np.array([0.97, 0.96, 0.93])
    rows, cols = np.indices((height, width))
    for spacing, across in ((rules, rows + tilt / 100 * cols), (squares, cols)):
        if spacing:
            line = (across % spacing) < 2
            rgb[line] = [0.55, 0.7, 0.95]  # light blue, like a school notebook's rules
    for k, digit in enumerate(digits):
        ink = np.asarray(Image.fromarray(digit).resize((side, side),
                                                       Image.Resampling.BICUBIC)) / 255.0
        left = margin + k * (side + gap)
        box = (slice(margin, margin + side), slice(left, left + side))
        rgb[box] = rgb[box] * (1 - ink[..., None]) + np.array([0.05, 0.08, 0.3]) * ink[..., None]
    return np.round(rgb * 255).astype(np.uint8)


@pytest.mark.parametrize("paper", [dict(rules=32), dict(rules=24, tilt=1.5),
                                   dict(rules=30, squares=30)],
                         ids=["ruled", "ruled-tilted", "squared"])
def test_lines_of_the_paper_are_erased(digits, paper):
    for digit in digits[0][:10]:
        plain = imaging.to_mnist(page(digit))
        lined = imaging.to_mnist(page(digit, **paper))
        assert alike(lined, plain), "the paper's lines changed the digit the network reads"
        assert alike(lined, digit / 255.0, at_least=0.7)  # 0.7: thick digits come back thinner


def test_a_digit_whose_bar_is_long_keeps_its_bar():
    """A 7's bar runs straight, but not from edge to edge: it is no ruled line."""
    ink = np.zeros((200, 200), dtype=np.float32)
    ink[40:46, 30:170] = 1.0  # the bar, 70% of the width
    for row in range(46, 170):  # the stem, slanting down to the left
        col = 165 - (row - 46) // 2
        ink[row, col - 3:col + 3] = 1.0
    assert np.array_equal(imaging.erase_rules(ink), ink)


def test_two_digits_side_by_side_are_refused_in_one_line(digits):
    x, _ = digits
    with pytest.raises(ImageError) as caught:
        imaging.to_mnist(page(x[1], x[2]), name="42.png")
    message = str(caught.value)
    assert message.startswith("42.png: holds 2 digits side by side") and "\n" not in message


def test_split_digits_reads_each_left_to_right(digits):
    x, _ = digits
    for trio in (x[0:3], x[3:6]):
        split = imaging.split_digits(page(*trio, rules=30))
        assert len(split) == 3
        for got, digit in zip(split, trio):
            assert got.shape == (28, 28) and alike(got, digit / 255.0)


def test_one_digit_is_one_digit_even_in_pieces():
    ink = np.zeros((200, 200), dtype=bool)
    ink[40:50, 60:140] = True  # the detached top bar of a 5 ...
    ink[60:160, 60:75] = True  # ... its body ...
    ink[150:158, 150:158] = True  # ... and a full stop after it
    assert imaging.digit_columns(ink) == [slice(60, 158)]
    ink[:, 100:] = False
    ink[40:160, 150:165] = True  # a 1 beside it, well apart: two digits
    assert imaging.digit_columns(ink) == [slice(60, 100), slice(150, 165)]


def test_split_digits_of_one_digit_is_to_mnist(digits):
    photo = page(digits[0][4], rules=28)
    (one,) = imaging.split_digits(photo)
    assert np.array_equal(one, imaging.to_mnist(photo))
