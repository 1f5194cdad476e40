"""Exercises of lesson 08: a layer's maps through a sub-model, the strongest filter, occlusion."""

from __future__ import annotations

import numbers

import numpy as np

from . import Exercise, Incorrect, NotAttempted, expect, is_blank


def _lesson(env, *names):
    values = [env.get(name) for name in names]
    if any(value is None for value in values):
        raise NotAttempted("run the lesson's cells above first: the check needs "
                           + ", ".join(f"`{name}`" for name in names))
    return values


def _returned(value, name: str):
    """Return ``value``, or raise when the learner's function gave None or the blank."""
    expect(value is not None, "your function returned None: did you forget `return`?")
    if is_blank(value):
        raise NotAttempted(f"fill in the ____ in `{name}`, run that cell, then this check again")
    return value


def _array(value, what: str) -> np.ndarray:
    import keras

    try:
        return np.asarray(keras.ops.convert_to_numpy(value), dtype=np.float32)
    except Exception:
        raise Incorrect(f"{what} is a {type(value).__name__}, not an array of numbers") from None


def _maps(network, layer, image) -> np.ndarray:
    import keras

    probe = keras.Model(network.inputs[0], layer.output)
    return keras.ops.convert_to_numpy(probe(image[None], training=False))[0]


def _judge_maps(maps_of, env):
    expect(callable(maps_of), "`maps_of` should be a function of an image and a layer")
    network, shown, x_test = _lesson(env, "network", "shown", "x_test")
    for layer in (shown[0], shown[-1]):
        for image in (x_test[0], x_test[1]):
            got = _returned(maps_of(image, layer), "maps_of")
            got = _array(got, f"what maps_of returns for {layer.name}")
            want = _maps(network, layer, image)
            expect(got.shape != (1, *want.shape), f"for {layer.name} you return shape {got.shape}: "
                   "the first axis is the batch of one digit; take its only element")
            expect(got.shape == want.shape, f"for {layer.name} you return shape {got.shape}, which "
                   "is not the shape of that layer's output for one digit")
            expect(np.allclose(got, want, rtol=1e-3, atol=1e-4),
                   f"the right shape, but not the values {layer.name} computes for the digit")
    return f"the output of any layer, here {shown[0].name} and {shown[-1].name}, for any digit"


def _as_int(value, what: str) -> int:
    expect(isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool),
           f"{what} is a {type(value).__name__}, not a whole number")
    return int(value)


def _judge_strongest(strongest_filter, env):
    expect(callable(strongest_filter), "`strongest_filter` should be a function of an image")
    network, first, x_test = _lesson(env, "network", "first", "x_test")
    count = first.filters
    images, answers = [], set()
    for image in x_test[:50]:  # digits whose strongest filters differ, so no constant passes
        want = int(_maps(network, first, image).sum(axis=(0, 1)).argmax())
        if want not in answers or len(images) < 2:
            images.append((image, want))
            answers.add(want)
        if len(images) == 4:
            break
    for image, want in images:
        got = _returned(strongest_filter(image), "strongest_filter")
        got = _as_int(got, "what strongest_filter returns")
        expect(0 <= got < count, f"{got} is no filter of {first.name}: they are numbered 0 to "
               f"{count - 1} (take the argmax over the filters, not over every value of the maps)")
        expect(got == want, "for some digit another filter's map has a larger sum: add up each "
               "map over its height and width, then take the filter with the largest total")
    return "the filter whose map adds up to the most, for every digit tried"


def _judge_where(where_it_looks, env):
    import keras

    expect(callable(where_it_looks), "`where_it_looks` should be a function of image, label, size")
    net, x_test, y_test = _lesson(env, "net", "x_test", "y_test")
    for index, size in ((0, 6), (1, 8)):
        image, label = x_test[index], int(y_test[index])
        got = _returned(where_it_looks(image, label, size), "where_it_looks")
        expect(isinstance(got, (tuple, list)) and len(got) == 2,
               f"where_it_looks returned {type(got).__name__}; return a place, a pair (row, col)")
        row, col = (_as_int(v, "each of row and col") for v in got)
        last = 28 - size
        expect(0 <= row <= last and 0 <= col <= last, f"({row}, {col}) is no place for a "
               f"{size} × {size} square: its top left runs from 0 to {last} each way")
        places = [(r, c) for r in range(last + 1) for c in range(last + 1)]
        covered = np.stack([image.copy() for _ in places])
        for k, (r, c) in enumerate(places):
            covered[k, r:r + size, c:c + size] = 0.5
        p = keras.ops.convert_to_numpy(net(covered, training=False))[:, label]
        if p[places.index((row, col))] > p.min() + 1e-4:
            expect(p[places.index((row, col))] < p.max() - 1e-4, "that is where covering "
                   f"*raises* the probability of {label} most: you want where it drops most")
            raise Incorrect(f"for test digit {index}, another place lowers the probability of "
                            f"{label} more")
    return "the square that hides what the network needs most"


EXERCISES = [
    Exercise(
        id="08.1",
        names=("maps_of",),
        judge=_judge_maps,
        hints=["Make a sub-model that ends at `layer`, as the lesson did for the first "
               "convolution, and give it a batch of one digit.",
               "`keras.Model(network.inputs[0], layer.output).predict(image[None], verbose=0)` "
               "returns a batch of one; `[0]` takes its only element."],
        answer="""\
def maps_of(image, layer):
    probe = keras.Model(network.inputs[0], layer.output)
    return probe.predict(image[None], verbose=0)[0]
""",
        why="The sub-model shares the network's layers and weights and stops at `layer`, so it "
            "computes that layer's output; `image[None]` makes a batch of one and `[0]` takes it out.",
        wrong=["""\
def maps_of(image, layer):
    return keras.Model(network.inputs[0], layer.output).predict(image[None], verbose=0)
""", """\
def maps_of(image, layer):
    return keras.Model(network.inputs[0], first.output).predict(image[None], verbose=0)[0]
"""],
    ),
    Exercise(
        id="08.2",
        names=("strongest_filter",),
        judge=_judge_strongest,
        hints=["`first_maps` gives the first convolution's maps: shape (1, height, width, filters) "
               "for a batch of one. Add each map up, then find the largest.",
               "`maps.sum(axis=(0, 1))` adds up each of the maps of one digit; `argmax` gives the "
               "position, the filter's number."],
        answer="""\
def strongest_filter(image):
    maps = first_maps.predict(image[None], verbose=0)[0]
    return int(maps.sum(axis=(0, 1)).argmax())
""",
        why="The last axis of the maps counts the filters: summing over height and width leaves one "
            "total per filter, and argmax names the largest.",
        wrong=["""\
def strongest_filter(image):
    return int(first_maps.predict(image[None], verbose=0).argmax())
"""],
    ),
    Exercise(
        id="08.3",
        names=("where_it_looks",),
        judge=_judge_where,
        hints=["Cover the digit at every place with `occlude`, as `occlusion_map` does, and give "
               "all the covered copies to `net.predict` at once.",
               "`net.predict(covered, verbose=0)[:, label]` is the probability of `label` for each "
               "place; `argmin` finds where it is lowest."],
        answer="""\
def where_it_looks(image, label, size):
    places = [(r, c) for r in range(28 - size + 1) for c in range(28 - size + 1)]
    covered = np.stack([occlude(image, r, c, size) for r, c in places])
    p = net.predict(covered, verbose=0)[:, label]
    return places[int(p.argmin())]
""",
        why="Each covered copy hides one square; the copy with the lowest probability of the true "
            "digit hides what the network needed most, and its place is the answer.",
        wrong=["""\
def where_it_looks(image, label, size):
    places = [(r, c) for r in range(28 - size + 1) for c in range(28 - size + 1)]
    covered = np.stack([occlude(image, r, c, size) for r, c in places])
    return places[int(net.predict(covered, verbose=0)[:, label].argmax())]
"""],
    ),
]
