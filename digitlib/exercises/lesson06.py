"""Exercises of lesson 06: fool the network by moving a digit, invert and scale a photo, turn a digit."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from . import Exercise, Incorrect, NotAttempted, expect, is_blank

SIZE = 28
#: How far outside [0, 1] a pixel may stray (ndimage's default blending overshoots a little).
OVERSHOOT = 0.05


def _lesson(env):
    missing = [name for name in ("net", "x_test", "y_test") if env.get(name) is None]
    if missing:
        raise NotAttempted("run the lesson's cells above first: the check needs "
                           + ", ".join(f"`{name}`" for name in missing))
    return env["net"], env["x_test"], env["y_test"]


def _read(net, images) -> np.ndarray:
    images = np.asarray(images, dtype=np.float32).reshape(-1, SIZE, SIZE, 1)
    return net.predict(images, verbose=0).argmax(axis=1)


def _image(value, name: str) -> np.ndarray:
    expect(isinstance(value, np.ndarray), f"`{name}` is a {type(value).__name__}, not a NumPy array")
    expect(not (value.ndim >= 3 and value.shape[0] > 1 and value.size > SIZE * SIZE),
           f"`{name}` holds {value.shape[0]} images: give one 28 x 28 image, not a batch")
    expect(np.squeeze(value).shape == (SIZE, SIZE),
           f"`{name}` has shape {value.shape}; give one 28 x 28 image")
    expect(np.issubdtype(value.dtype, np.number), f"`{name}` holds {value.dtype}, not numbers")
    value = value.reshape(SIZE, SIZE).astype(np.float64)
    expect(np.isfinite(value).all(), f"`{name}` holds nan or infinite values")
    low, high = value.min(), value.max()
    expect(high <= 1 + OVERSHOOT, f"`{name}` has pixel values up to {high:g}; the network reads values in "
           "[0, 1]: " + ("divide the test digit by 255" if high > 2 else "np.clip(image, 0, 1) cuts off the rest"))
    expect(low >= -OVERSHOOT, f"`{name}` has pixel values down to {low:g}; the network reads values in "
           "[0, 1]: np.clip(image, 0, 1) cuts off what ndimage's smooth blending (its default, order=3) "
           "overshoots")
    return np.clip(value, 0, 1)  # a blend's slight overshoot is no mistake


def _made_from(image: np.ndarray, original: np.ndarray) -> bool:
    """Return whether the ink of ``image`` lies on the original's ink moved by some shift."""
    ink = image > 0.3
    near = ndimage.binary_dilation(original > 0.1, iterations=1)
    allowed = max(2, int(0.05 * ink.sum()))
    for dy in range(-SIZE + 1, SIZE):
        rows = np.roll(near, dy, axis=0)
        for dx in range(-SIZE + 1, SIZE):
            if (ink & ~np.roll(rows, dx, axis=1)).sum() <= allowed:
                return True
    return False


def _judge_misread(index, misread, env):
    net, x_test, y_test = _lesson(env)
    expect(isinstance(index, (int, np.integer)) and not isinstance(index, bool),
           f"`index` is a {type(index).__name__}; it should be the position of a test digit, an int")
    expect(0 <= index < len(x_test), f"`index` is {index}; the test digits are numbered 0 to {len(x_test) - 1}")
    image = _image(misread, "misread")
    original = np.asarray(x_test[index], dtype=np.float64).reshape(SIZE, SIZE)
    original = original / 255 if original.max() > 1 else original
    label = int(y_test[index])
    expect(_read(net, original)[0] == label, f"the network already misreads test digit {index} as it is; "
           "start from one it reads right")
    expect((image > 0.3).sum() >= max(10, 0.15 * (original > 0.3).sum()),
           "your image has hardly any ink left: thin or move the digit, don't erase it")
    expect(_made_from(image, original), f"your image's ink is not where test digit {index}'s ink would "
           "be after a shift: make it from that digit by shifting or thinning it")
    answer = int(_read(net, image)[0])
    expect(answer != label, f"the network still reads your image as a {label}: move it further, or thin it more")
    return f"the network reads your {label} as a {answer}"


def _judge_invert(invert_and_scale, env):
    expect(callable(invert_and_scale), "`invert_and_scale` should be a function that takes a grey image")
    rng = np.random.default_rng(0)
    ink = np.zeros((60, 50), dtype=bool)
    ink[10:50, 22:28] = True  # a 1
    ink[10:14, 16:28] = True  # with a flag
    white = np.where(ink, 0.0, 1.0)
    grey = np.clip(np.where(ink, 0.25, 0.75) + rng.normal(0, 0.01, ink.shape), 0, 1)
    for name, photo in (("black ink on white paper", white), ("dark ink on grey paper", grey)):
        got = invert_and_scale(photo.copy())
        if is_blank(got):
            raise NotAttempted("fill in the ____ in `invert_and_scale`, run that cell, then this check again.")
        expect(got is not None, "your function returned None: did you forget `return`?")
        got = np.asarray(got)
        expect(got.shape == photo.shape, f"for {name} your function returned shape {got.shape}, "
               f"not the photo's {photo.shape}")
        expect(np.issubdtype(got.dtype, np.number) and np.isfinite(got).all(),
               f"for {name} your function returned values that are not finite numbers")
        expect(got.min() >= 0 and got.max() <= 1.0001, f"for {name} your values run from {got.min():.2f} "
               f"to {got.max():.2f}; keep them in [0, 1] (np.clip)")
        paper, strokes = float(got[~ink].mean()), float(got[ink].mean())
        expect(strokes > paper, f"for {name} the ink came out darker than the paper: invert it, "
               "MNIST's ink is bright")
        expect(paper < 0.05, f"for {name} the paper comes out at {paper:.2f} on average, not 0: "
               "subtract the paper's typical level, the median of the photo (its brightest pixel may be noise)")
        expect(strokes > 0.9, f"for {name} the ink comes out at {strokes:.2f} on average, not near 1: "
               "scale so that the darkest ink becomes 1")
    return "paper 0 and ink near 1, whatever the paper's grey"


ANGLES = range(10, 181, 10)  # the angles exercise 3 tries, in degrees


def _first_changes(net, images: np.ndarray, labels: np.ndarray) -> list:
    """Return, per image, the first angles of ANGLES that change the answer (0 if none), for two interpolations."""
    turned = [ndimage.rotate(image, angle, reshape=False, order=order)
              for image in images for order in (3, 1) for angle in ANGLES]  # the default, and linear
    reads = _read(net, turned).reshape(len(images), 2, len(ANGLES))
    found = []
    for read, label in zip(reads, labels):
        changed = [np.flatnonzero(r != label) for r in read]
        found.append({ANGLES[c[0]] if c.size else 0 for c in changed})
    return found


def _judge_rotation(smallest_rotation, env):
    expect(callable(smallest_rotation), "`smallest_rotation` should be a function of an image and its label")
    net, x_test, y_test = _lesson(env)
    images = np.asarray(x_test[:100], dtype=np.float32).reshape(-1, SIZE, SIZE)
    images = images / 255 if images.max() > 1 else images
    labels = np.asarray(y_test[:100]).astype(int)
    right = np.flatnonzero(_read(net, images) == labels)[:20]
    if len(right) < 2:
        raise NotAttempted("the network reads too few of the first test digits right to check this")
    first = dict(zip(right.tolist(), _first_changes(net, images[right], labels[right])))
    changing = sorted((min(a for a in found if a), i) for i, found in first.items() if any(found))
    never = [i for i, found in first.items() if found == {0}]
    picked = [i for _, i in changing[:2]] + never[:1]  # short loops, and a digit no angle changes
    for index in picked:
        expected, label = first[index], int(labels[index])
        got = smallest_rotation(images[index].copy(), label)
        if got is None:
            raise Incorrect(f"for test digit {index} (a {label}) your function returned None: return the "
                            "angle, and 0 after the loop when no angle up to 180 changes the answer")
        if is_blank(got):
            raise NotAttempted("fill in the ____ in `smallest_rotation`, run that cell, then this check again.")
        expect(isinstance(got, (int, float, np.integer, np.floating)) and not isinstance(got, bool),
               f"for test digit {index} (a {label}) your function returned {type(got).__name__}: "
               "return the angle in degrees, or 0 when no angle up to 180 changes the answer")
        if got not in expected:
            hint = ("no angle up to 180 changes the answer: return 0 then" if expected == {0}
                    else "a smaller angle already changes the answer" if got > max(expected)
                    else "at that angle the network still gives the digit's label" if got > 0
                    else "some angle up to 180 does change the answer")
            raise Incorrect(f"for test digit {index} (a {label}) your function returned {got:g}: {hint} "
                            "(turn the image with ndimage.rotate and ask `net.predict` about it)")
    return f"right on {len(picked)} test digits, including one that changes answer at {changing[0][0]} " \
        "degrees" if changing else f"right on {len(picked)} test digits"


EXERCISES = [
    Exercise(
        id="06.1",
        names=("index", "misread"),
        judge=_judge_misread,
        hints=["Take a test digit the network reads right, `x_test[index] / 255`, and move it to the "
               "right a few pixels at a time, asking the network after each step.",
               "To move it by s pixels: `moved = np.zeros_like(digit); moved[:, s:] = digit[:, :28 - s]`; "
               "ask with `net.predict(moved.reshape(1, 28, 28, 1), verbose=0).argmax()`."],
        answer="""\
reads = net.predict(x_test[:100].reshape(-1, 28, 28, 1) / 255, verbose=0).argmax(axis=1)
index = int(np.flatnonzero(reads == y_test[:100])[0])  # the first test digit read right
digit = x_test[index] / 255


def moved_right(image, s):
    moved = np.zeros_like(image)
    moved[:, s:] = image[:, :28 - s]
    return moved


shift = next(s for s in range(1, 28)  # the first shift the network reads as another digit
             if net.predict(moved_right(digit, s).reshape(1, 28, 28, 1), verbose=0).argmax() != y_test[index])
misread = moved_right(digit, shift)
""",
        why="The network saw every training digit centred by its mass, moved by at most 2 pixels while "
            "it trained; further off centre, the strokes fall where its filters learned other digits' "
            "strokes. That is why to_mnist centres.",
        wrong=["""\
index = 0
misread = x_test[index] / 255
""", """\
index = 0
misread = np.zeros((28, 28))
"""],
    ),
    Exercise(
        id="06.2",
        names=("invert_and_scale",),
        judge=_judge_invert,
        hints=["Most of a photo is paper, so `np.median(gray)` is the paper's level, and the darkest "
               "pixel, `gray.min()`, is the ink's.",
               "`(paper - gray) / (paper - ink)` is 0 on the paper and 1 on the darkest ink; "
               "`np.clip(..., 0, 1)` removes what lies beyond."],
        answer="""\
def invert_and_scale(gray):
    paper, ink = np.median(gray), gray.min()
    return np.clip((paper - gray) / (paper - ink), 0, 1)
""",
        why="Subtracting from the paper's level inverts the image (dark ink becomes large) and puts the "
            "paper at 0; dividing by the ink's distance from the paper brings the darkest ink to 1.",
        wrong=["""\
def invert_and_scale(gray):
    return 1 - gray
"""],
    ),
    Exercise(
        id="06.3",
        names=("smallest_rotation",),
        judge=_judge_rotation,
        hints=["Loop over the angles 10, 20, …, 180; turn the image with "
               "`ndimage.rotate(image, angle, reshape=False)`, ask `net.predict`, and return the first "
               "angle at which the argmax is not `label`. After the loop, return 0.",
               "`net.predict(turned.reshape(1, 28, 28, 1), verbose=0).argmax()` is the network's answer "
               "for one image."],
        answer="""\
def smallest_rotation(image, label):
    for angle in range(10, 181, 10):
        turned = ndimage.rotate(image, angle, reshape=False)
        if net.predict(turned.reshape(1, 28, 28, 1), verbose=0).argmax() != label:
            return angle
    return 0
""",
        why="The loop tries the angles from the smallest up, so the first that changes the argmax is "
            "the smallest; the network learned digits upright, and a few tens of degrees often suffice.",
        wrong=["""\
def smallest_rotation(image, label):
    for angle in range(10, 181, 10):
        turned = ndimage.rotate(image, angle, reshape=False)
        if net.predict(turned.reshape(1, 28, 28, 1), verbose=0).argmax() != label:
            return angle - 10
    return 0
""", """\
def smallest_rotation(image, label):
    return 180
"""],
    ),
]
